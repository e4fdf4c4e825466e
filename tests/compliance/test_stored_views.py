"""Masked views stored with each record (migration 0010): what pages and masked exports
read, kept in step with the fields they show, on both databases.

A view is computed when a record is written (``policies.disclosure.stored_form``) and
sealed under the key of its field. Rows written before views were kept read the same,
masked on read, and get their views when they are written again or re-encrypted; the
retention stages, subject erasure and key destruction erase a view with its field.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from advanced_alchemy.extensions.litestar import SQLAlchemyAsyncConfig
from sqlalchemy import select, update

from compliance.encryption.keystore import KeyStore, UnwrappedKeyCache
from compliance.encryption.lifecycle import ReencryptReport, reencrypt
from compliance.encryption.master import MasterKeyring
from compliance.records.models import CommunicationLog
from compliance.records.repository import SendLogRepository
from compliance.records.sealing import Opening
from compliance.retention.job import RunOptions, run_retention
from compliance.templates.models import MessageTemplateVersion
from policies.channels import Channel
from policies.disclosure import RULES_VERSION, UNREADABLE
from policies.exports import ExportFilters
from policies.retention import DEFAULT_POLICY, Stage
from tests.factories import TEST_ACTOR, Caller, put_template, templated_send

VIEW_COLUMNS = ("shown_recipient", "shown_content")


async def _rows(database: SQLAlchemyAsyncConfig, tenant_id: str) -> dict[str, CommunicationLog]:
    async with database.get_session() as session:
        statement = select(CommunicationLog).where(CommunicationLog.tenant_id == tenant_id)
        return {row.id: row for row in (await session.execute(statement)).scalars()}


async def _page(caller: Caller) -> dict[str, dict[str, Any]]:
    response = await caller.list_logs(page_size=100)
    assert response.status_code == 200
    return {item["id"]: item for item in response.json()["items"]}


async def _forget_views(database: SQLAlchemyAsyncConfig, tenant_id: str) -> None:
    """Make the tenant's rows look like rows written before migration 0010."""
    async with database.get_session() as session:
        await session.execute(
            update(CommunicationLog)
            .where(CommunicationLog.tenant_id == tenant_id)
            .values(shown_recipient=None, shown_content=None, shown_version=None)
        )
        await session.commit()


async def _reencrypt(
    database: SQLAlchemyAsyncConfig, master_keys: MasterKeyring, tenant_id: str
) -> ReencryptReport:
    return await reencrypt(
        database.get_session,
        master_keys,
        UnwrappedKeyCache(),
        actor=TEST_ACTOR,
        tenant_id=tenant_id,
    )


async def _exported(
    database: SQLAlchemyAsyncConfig, master_keys: MasterKeyring, tenant_id: str
) -> list[tuple[Any, ...]]:
    from policies.disclosure import disclosed_values

    async with database.get_session() as session:
        repository = SendLogRepository(
            session=session, keys=KeyStore(session, master_keys, UnwrappedKeyCache())
        )
        rows: list[tuple[Any, ...]] = []
        async for records in repository.stream_for_tenant(
            tenant_id, ExportFilters(), chunk_rows=2, opening=Opening.SHOWN
        ):
            rows += [tuple(disclosed_values(record)) for record in records]
        return rows


async def _mixed_records(caller: Caller) -> list[dict[str, Any]]:
    assert (await put_template(caller)).status_code in (200, 201)
    created = [
        await caller.create(content="Order 5521 shipped to Zelda, call +8613912345678"),
        await caller.create(channel="email", recipient="zelda@example.org", content="Hi, Zelda"),
        await caller.create(**templated_send()),
    ]
    await caller.set_status(created[0]["id"], status="failed", error="timeout for 13912345678")
    await caller.set_status(
        created[1]["id"],
        status="sent",
        response='{"MessageId": "0100018c-abcd", "Message": "to zelda@example.org"}',
    )
    return created


async def test_new_records_are_stored_with_views_and_pages_read_them(
    caller: Caller, database: SQLAlchemyAsyncConfig, master_keys: MasterKeyring
) -> None:
    created = await _mixed_records(caller)
    rows = await _rows(database, caller.tenant_id)
    for record in created:
        row = rows[record["id"]]
        assert row.shown_version == RULES_VERSION
        assert row.shown_recipient is not None
        assert row.shown_content is not None
        assert row.shown_recipient != row.recipient
    # A masked read opens the views and provider answers only.
    async with database.get_session() as session:
        repository = SendLogRepository(
            session=session, keys=KeyStore(session, master_keys, UnwrappedKeyCache())
        )
        chunks = [
            records
            async for records in repository.stream_for_tenant(
                caller.tenant_id, ExportFilters(), chunk_rows=10, opening=Opening.SHOWN
            )
        ]
    (records,) = chunks
    assert all(r.view is not None and r.recipient is None and r.content is None for r in records)
    assert all(r.template_params is None and r.template is None for r in records)


async def test_rows_without_views_read_the_same_and_reencryption_gives_them_views(
    caller: Caller, database: SQLAlchemyAsyncConfig, master_keys: MasterKeyring
) -> None:
    await _mixed_records(caller)
    page = await _page(caller)
    export = await _exported(database, master_keys, caller.tenant_id)
    await _forget_views(database, caller.tenant_id)
    assert await _page(caller) == page  # masked on read
    assert await _exported(database, master_keys, caller.tenant_id) == export

    report = await _reencrypt(database, master_keys, caller.tenant_id)
    assert report.rows_rewritten == 3
    rows = await _rows(database, caller.tenant_id)
    assert all(r.shown_version == RULES_VERSION and r.shown_content for r in rows.values())
    assert await _page(caller) == page
    assert await _exported(database, master_keys, caller.tenant_id) == export
    # Nothing left to do: a second run rewrites nothing.
    again = await _reencrypt(database, master_keys, caller.tenant_id)
    assert again.rows_rewritten == 0


async def test_an_outcome_written_onto_a_row_without_views_gives_it_views(
    caller: Caller, database: SQLAlchemyAsyncConfig
) -> None:
    created = await caller.create(content="Order 5521 shipped, call +8613912345678")
    before = (await _page(caller))[created["id"]]
    await _forget_views(database, caller.tenant_id)
    answer = await caller.set_status(created["id"], status="failed", error="no route")
    assert answer.status_code == 200
    row = (await _rows(database, caller.tenant_id))[created["id"]]
    assert row.shown_version == RULES_VERSION
    assert row.shown_recipient is not None
    assert row.shown_content is not None
    after = (await _page(caller))[created["id"]]
    assert after["content"] == before["content"]
    assert after["recipient"] == before["recipient"]
    assert after["error"] == "no route"


async def test_a_view_of_other_rules_is_not_shown(
    caller: Caller, database: SQLAlchemyAsyncConfig
) -> None:
    # A view computed under other rules (an older version) is ignored: the row is masked
    # when read, from its fields.
    created = await caller.create(content="Order 5521 shipped, call +8613912345678")
    before = (await _page(caller))[created["id"]]
    async with database.get_session() as session:
        await session.execute(
            update(CommunicationLog)
            .where(CommunicationLog.id == created["id"])
            .values(shown_version=RULES_VERSION + 1)
        )
        await session.commit()
    assert (await _page(caller))[created["id"]] == before


async def test_retention_stages_erase_each_view_with_its_field(
    caller: Caller, database: SQLAlchemyAsyncConfig, master_keys: MasterKeyring
) -> None:
    now = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=1)
    windows = DEFAULT_POLICY.windows_for(caller.tenant_id, Channel.SMS)
    # Past the content window, inside the recipient window: the content stage only.
    assert windows.window(Stage.CONTENT) < windows.window(Stage.RECIPIENT)
    content_age = now - windows.window(Stage.CONTENT) - timedelta(days=1)
    recent = await caller.create(created_at=content_age.isoformat().replace("+00:00", "Z"))
    await run_retention(
        database.get_engine(),
        master_keys,
        UnwrappedKeyCache(),
        DEFAULT_POLICY,
        RunOptions(actor="test", tenant_id=caller.tenant_id),
    )
    row = (await _rows(database, caller.tenant_id))[recent["id"]]
    assert row.content is None
    assert row.shown_content is None
    assert row.recipient is not None
    assert row.shown_recipient is not None
    item = (await _page(caller))[recent["id"]]
    assert item["content"] is None
    assert item["recipient"] is not None


async def test_a_rules_version_written_into_the_database_is_not_believed(
    caller: Caller,
    database: SQLAlchemyAsyncConfig,
    master_keys: MasterKeyring,
    caplog: pytest.LogCaptureFixture,
) -> None:
    # A row without views whose shown_version someone set to the current rules: its
    # (absent) views cannot prove it, so nothing of it is taken as already masked.
    created = await caller.create(content="Order 5521 shipped, call +8613912345678")
    await caller.set_status(created["id"], status="sent", response='{"MessageId": "m-1"}')
    await _forget_views(database, caller.tenant_id)
    async with database.get_session() as session:
        await session.execute(
            update(CommunicationLog)
            .where(CommunicationLog.id == created["id"])
            .values(shown_version=RULES_VERSION)
        )
        await session.commit()
    caplog.set_level(logging.WARNING, logger="commlog.integrity")
    item = (await _page(caller))[created["id"]]
    assert item["recipient"] == UNREADABLE
    assert item["content"] == UNREADABLE
    assert f"record {created['id']} views do not open" in caplog.text
    async with database.get_session() as session:
        repository = SendLogRepository(
            session=session, keys=KeyStore(session, master_keys, UnwrappedKeyCache())
        )
        record = await repository.get_in_tenant(caller.tenant_id, created["id"])
    assert record is not None
    assert record.view is None
    assert record.view_version is None  # its answers are reduced again when shown


async def test_reencryption_leaves_a_row_that_cannot_get_views_as_it_is(
    caller: Caller, database: SQLAlchemyAsyncConfig, master_keys: MasterKeyring
) -> None:
    assert (await put_template(caller)).status_code in (200, 201)
    created = await caller.create(**templated_send())
    await _forget_views(database, caller.tenant_id)
    async with database.get_session() as session:  # its template version is lost
        await session.execute(
            update(MessageTemplateVersion)
            .where(MessageTemplateVersion.tenant_id == caller.tenant_id)
            .values(version=99)
        )
        await session.commit()
    before = (await _rows(database, caller.tenant_id))[created["id"]]
    for _ in range(2):
        report = await _reencrypt(database, master_keys, caller.tenant_id)
        assert (report.rows_rewritten, report.rows_left_without_views) == (0, 1)
    after = (await _rows(database, caller.tenant_id))[created["id"]]
    assert (after.template_params, after.shown_version) == (before.template_params, None)
