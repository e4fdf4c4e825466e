"""A recipient hold on a phone number keeps the number's records from the retention job in
every stored form that carries the country code (migration 0011), on SQLite and
PostgreSQL; national digits, which may be another country's number, are not held."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from advanced_alchemy.extensions.litestar import SQLAlchemyAsyncConfig
from sqlalchemy import select, update

from compliance.encryption.master import MasterKeyring
from compliance.retention.hold_matching import holds_covering
from compliance.retention.models import LegalHold, LegalHoldRecipientForm
from compliance.transactions import begin_write
from tests.compliance.test_retention_job import _rows, _run
from tests.factories import Caller, hold_body, in_days

DAY = timedelta(days=1)
HELD = "+8613812345678"
WITH_00 = "008613812345678"
DIGITS = "8613812345678"  # E.164 digits without '+': indexed as the E.164 form
NATIONAL = "13812345678"
OTHER_COUNTRY = "+4913812345678"  # the same national digits under another country code
# Past the content (30 days), recipient (180) and record (365) windows of DEFAULT_POLICY.
STAGE_AGES = {"content": 40 * DAY, "recipient": 200 * DAY, "record": 500 * DAY}


def _officer(caller: Caller) -> dict[str, str]:
    return caller.auth("usr_officer", "compliance_officer")


async def _place(caller: Caller, recipient: str = HELD, **body: Any) -> str:
    placed = await caller.client.post(
        "/compliance/legal-holds",
        json=hold_body(**{"scope": "recipient", "channel": "sms", "recipient": recipient, **body}),
        headers=_officer(caller),
    )
    assert placed.status_code == 201, placed.text
    hold_id: str = placed.json()["data"]["id"]
    return hold_id


async def _forms(database: SQLAlchemyAsyncConfig, hold_id: str) -> set[str]:
    async with database.get_session() as session:
        rows = await session.execute(
            select(LegalHoldRecipientForm.form).where(LegalHoldRecipientForm.hold_id == hold_id)
        )
        return set(rows.scalars())


async def test_a_hold_on_an_e164_number_stores_the_forms_with_its_country_code(
    caller: Caller, database: SQLAlchemyAsyncConfig
) -> None:
    hold_id = await _place(caller)
    assert await _forms(database, hold_id) == {"e164", "international_00"}
    email = await _place(caller, recipient="Someone@Example.com", channel="email")
    assert await _forms(database, email) == {"canonical"}


async def test_every_stage_keeps_a_record_stored_in_the_00_form_of_a_held_number(
    caller: Caller, database: SQLAlchemyAsyncConfig, master_keys: MasterKeyring
) -> None:
    now = datetime.now(UTC) - timedelta(hours=1)
    ids: dict[tuple[str, str], str] = {}
    for stage, age in STAGE_AGES.items():
        for form in (HELD, WITH_00, DIGITS, NATIONAL, OTHER_COUNTRY):
            created = await caller.create(recipient=form, created_at=(now - age).isoformat())
            ids[stage, form] = created["id"]
    await _place(caller)

    report = await _run(database, master_keys, caller, clock=lambda: now)
    assert report.status == "succeeded"
    rows = await _rows(database, caller.tenant_id)
    for stage in STAGE_AGES:
        for form in (HELD, WITH_00, DIGITS):
            row = rows[ids[stage, form]]  # the record stage left it
            assert row.recipient is not None, (stage, form)  # the recipient stage too
            assert row.recipient_index is not None, (stage, form)
            assert row.content is not None, (stage, form)  # and the content stage
    # Not held: the national digits (ambiguous) and the other country's number.
    assert ids["record", NATIONAL] not in rows
    assert ids["record", OTHER_COUNTRY] not in rows
    for form in (NATIONAL, OTHER_COUNTRY):
        assert rows[ids["recipient", form]].recipient is None
        assert rows[ids["content", form]].content is None


async def test_holds_covering_reports_the_hold_for_a_record_in_another_form(
    caller: Caller, database: SQLAlchemyAsyncConfig
) -> None:
    records = {
        form: (await caller.create(recipient=form))["id"]
        for form in (HELD, WITH_00, NATIONAL, OTHER_COUNTRY)
    }
    hold_id = await _place(caller)
    async with database.get_session() as session:
        covering = {
            form: await holds_covering(session, caller.tenant_id, [record], datetime.now(UTC))
            for form, record in records.items()
        }
        together = await holds_covering(
            session, caller.tenant_id, list(records.values()), datetime.now(UTC)
        )
    assert covering == {HELD: {hold_id: 1}, WITH_00: {hold_id: 1}, NATIONAL: {}, OTHER_COUNTRY: {}}
    assert together == {hold_id: 2}


async def test_a_hold_placed_by_the_00_form_keeps_the_e164_record(
    caller: Caller, database: SQLAlchemyAsyncConfig, master_keys: MasterKeyring
) -> None:
    old = (datetime.now(UTC) - 500 * DAY).isoformat()
    record = await caller.create(recipient=HELD, created_at=old)
    await _place(caller, recipient="0086 138 1234 5678")
    await _run(database, master_keys, caller)
    assert record["id"] in await _rows(database, caller.tenant_id)


async def test_releasing_a_hold_deletes_its_forms_and_lets_retention_erase(
    caller: Caller, database: SQLAlchemyAsyncConfig, master_keys: MasterKeyring
) -> None:
    record = await caller.create(
        recipient=WITH_00, created_at=(datetime.now(UTC) - 500 * DAY).isoformat()
    )
    hold_id = await _place(caller)
    released = await caller.client.delete(
        f"/compliance/legal-holds/{hold_id}", headers=_officer(caller)
    )
    assert released.status_code == 200
    assert await _forms(database, hold_id) == set()
    await _run(database, master_keys, caller)
    assert record["id"] not in await _rows(database, caller.tenant_id)


async def test_purging_a_lapsed_hold_deletes_its_forms(
    caller: Caller, database: SQLAlchemyAsyncConfig, master_keys: MasterKeyring
) -> None:
    hold_id = await _place(caller, review_by=..., expires_at=in_days(1))
    assert await _forms(database, hold_id) == {"e164", "international_00"}
    async with database.get_session() as session:
        await begin_write(session)
        await session.execute(
            update(LegalHold)
            .where(LegalHold.id == hold_id)
            .values(expires_at=datetime.now(UTC) - 400 * DAY)
        )
        await session.commit()
    report = await _run(database, master_keys, caller)
    assert report.counts[caller.tenant_id]["released_holds"] == 1
    assert await _forms(database, hold_id) == set()
