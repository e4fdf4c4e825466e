"""A phone number stored in several forms (ingest keeps the form given: ``+86…``,
``0086…``, national digits) against legal holds and subject requests, on SQLite and
PostgreSQL: holds and requests must name the number with its country code; a request
searches every stored form; a hold on any form keeps a record from a subject erasure."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import msgspec
import phonenumbers
from advanced_alchemy.extensions.litestar import SQLAlchemyAsyncConfig
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from compliance.records.models import CommunicationLog
from compliance.retention.hold_matching import held
from policies.recipients import UNAMBIGUOUS_PHONE_FORMS, phone_forms
from tests.factories import Caller

E164 = "+8613812348004"
NATIONAL = "13812348004"
WITH_00 = "008613812348004"
OTHER_NATIONAL = "13900001111"


def _officer(caller: Caller) -> dict[str, str]:
    return caller.auth("usr_officer", "compliance_officer")


def _fresh(caller: Caller) -> Caller:
    return Caller(
        client=caller.client, tokens=caller.tokens, tenant_id=f"tnt_{uuid.uuid4().hex[:12]}"
    )


def _hold(recipient: str) -> dict[str, str]:
    return {
        "reason": "litigation 2026-117",
        "scope": "recipient",
        "channel": "sms",
        "recipient": recipient,
        "review_by": (datetime.now(UTC) + timedelta(days=30)).isoformat(),
    }


async def _request(caller: Caller, **body: Any) -> dict[str, Any]:
    response = await caller.client.post(
        "/compliance/subject-requests",
        json={"reference": "DSR-9", **body},
        headers=_officer(caller),
    )
    assert response.status_code == 201, response.text
    data: dict[str, Any] = response.json()["data"]
    return data


async def _recipients(database: SQLAlchemyAsyncConfig, tenant_id: str) -> dict[str, Any]:
    """Each record's stored (sealed) recipient, ``None`` once erased."""
    async with database.get_session() as session:
        rows = await session.execute(
            select(CommunicationLog.id, CommunicationLog.recipient).where(
                CommunicationLog.tenant_id == tenant_id
            )
        )
        return {row.id: row.recipient for row in rows}


async def test_a_hold_on_a_number_without_country_code_is_400_and_never_echoes_it(
    caller: Caller,
) -> None:
    response = await caller.client.post(
        "/compliance/legal-holds", json=_hold(NATIONAL), headers=_officer(caller)
    )
    assert response.status_code == 400
    assert "country code" in response.json()["message"]
    assert NATIONAL not in response.text


async def test_a_subject_request_for_a_number_without_country_code_is_400(
    caller: Caller,
) -> None:
    for body in (
        {"recipient": NATIONAL, "channel": "sms"},
        {"recipient": NATIONAL},
        {"recipient": "138 1234 8004", "channel": "sms"},
    ):
        response = await caller.client.post(
            "/compliance/subject-requests",
            json={"reference": "DSR-9", "type": "erasure", **body},
            headers=_officer(caller),
        )
        assert response.status_code == 400, body
        assert "country code" in response.json()["message"]
        # The answer's timestamp is digits of its own: leave it out of the search.
        body = {k: v for k, v in response.json().items() if k != "timestamp"}
        assert NATIONAL not in json.dumps(body, ensure_ascii=False)
        assert "1234" not in json.dumps(body, ensure_ascii=False)


async def test_a_hold_by_e164_keeps_records_from_an_erasure_named_by_the_00_form(
    caller: Caller, database: SQLAlchemyAsyncConfig
) -> None:
    tenant = _fresh(caller)
    record = await tenant.create(recipient=E164)
    placed = await tenant.client.post(
        "/compliance/legal-holds", json=_hold(E164), headers=_officer(tenant)
    )
    assert placed.status_code == 201, placed.text
    hold_id = placed.json()["data"]["id"]
    assert placed.json()["data"]["other_forms_found"] == 0

    erasure = await _request(tenant, type="erasure", recipient=WITH_00, channel="sms")
    assert erasure["outcome"]["held"] == 1
    assert erasure["outcome"]["erased"] == 0
    assert erasure["outcome"]["held_by"] == {hold_id: 1}
    assert (await _recipients(database, tenant.tenant_id))[record["id"]] is not None


async def test_an_e164_access_request_finds_the_number_only_in_forms_with_its_country_code(
    caller: Caller,
) -> None:
    # The national digits may be another country's number, someone else's: an access
    # file never holds a record matched on them (GDPR Art. 15(4)).
    tenant = _fresh(caller)
    created = {
        form: (await tenant.create(recipient=form))["id"] for form in (E164, NATIONAL, WITH_00)
    }
    await tenant.create(recipient=OTHER_NATIONAL)
    request = await _request(tenant, type="access", recipient=E164, channel="sms")
    fetched = await tenant.client.get(
        f"/compliance/subject-requests/{request['id']}/records", headers=_officer(tenant)
    )
    assert fetched.status_code == 200
    lines = [msgspec.json.decode(line) for line in fetched.content.splitlines()]
    assert {line["id"] for line in lines} == {created[E164], created[WITH_00]}
    assert {line["recipient"] for line in lines} == {E164, WITH_00}


async def test_a_national_form_record_under_an_e164_hold_is_not_erased_by_a_subject_erasure(
    caller: Caller, database: SQLAlchemyAsyncConfig
) -> None:
    tenant = _fresh(caller)
    national = await tenant.create(recipient=NATIONAL)
    international = await tenant.create(recipient=E164)
    placed = await tenant.client.post(
        "/compliance/legal-holds", json=_hold(E164), headers=_officer(tenant)
    )
    assert placed.status_code == 201, placed.text
    hold = placed.json()["data"]
    # The hold keeps the forms with the country code; it says the national-form record
    # (possibly another country's number) exists.
    assert hold["other_forms_found"] == 1

    erasure = await _request(tenant, type="erasure", recipient=E164, channel="sms")
    outcome = erasure["outcome"]
    assert outcome["matched"] == 2
    assert outcome["erased"] == 0
    assert outcome["held"] == 2
    assert outcome["held_by"] == {hold["id"]: 2}
    assert outcome["matched_by_form"] == {"e164": 1, "national": 1}
    stored = await _recipients(database, tenant.tenant_id)
    assert stored[national["id"]] is not None
    assert stored[international["id"]] is not None


async def test_without_a_hold_an_e164_erasure_erases_every_stored_form(
    caller: Caller, database: SQLAlchemyAsyncConfig
) -> None:
    tenant = _fresh(caller)
    ids = [(await tenant.create(recipient=form))["id"] for form in (E164, NATIONAL, WITH_00)]
    other = await tenant.create(recipient=OTHER_NATIONAL)
    erasure = await _request(tenant, type="erasure", recipient=E164, channel="sms")
    assert erasure["outcome"]["erased"] == 3
    assert erasure["outcome"]["matched_by_form"] == {
        "e164": 1,
        "national": 1,
        "international_00": 1,
    }
    stored = await _recipients(database, tenant.tenant_id)
    assert all(stored[i] is None for i in ids)
    assert stored[other["id"]] is not None


REGIONS = ["CN", "GB", "DE", "US", "IT", "FR", "IN", "BR"]


def _example(region: str) -> str:
    number = phonenumbers.example_number_for_type(region, phonenumbers.PhoneNumberType.MOBILE)
    assert number is not None
    e164: str = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
    return e164


@settings(
    max_examples=8,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(region=st.sampled_from(REGIONS), data=st.data())
async def test_a_hold_on_the_number_keeps_a_record_stored_in_any_of_its_forms(
    caller: Caller, database: SQLAlchemyAsyncConfig, region: str, data: st.DataObject
) -> None:
    e164 = _example(region)
    forms = phone_forms(e164)
    form_name = data.draw(st.sampled_from(sorted(forms)))
    stored_form = forms[form_name]
    with_country_code = form_name in UNAMBIGUOUS_PHONE_FORMS
    named = data.draw(st.sampled_from([e164, "00" + e164[1:]]))
    tenant = _fresh(caller)
    record = await tenant.create(recipient=stored_form)
    placed = await tenant.client.post(
        "/compliance/legal-holds", json=_hold(named), headers=_officer(tenant)
    )
    assert placed.status_code == 201, placed.text
    assert placed.json()["data"]["other_forms_found"] == (0 if with_country_code else 1)
    # The retention job's hold check: every form with the country code is held, a national
    # form (possibly another country's number) is not.
    async with database.get_session() as session:
        held_ids = set(
            (
                await session.execute(
                    select(CommunicationLog.id).where(
                        CommunicationLog.tenant_id == tenant.tenant_id, held(datetime.now(UTC))
                    )
                )
            ).scalars()
        )
    assert (record["id"] in held_ids) is with_country_code
    erasure = await _request(
        tenant, type="erasure", recipient=data.draw(st.sampled_from([e164, "00" + e164[1:]]))
    )
    assert erasure["outcome"]["matched"] == 1
    assert erasure["outcome"]["held"] == 1
    assert (await _recipients(database, tenant.tenant_id))[record["id"]] is not None
