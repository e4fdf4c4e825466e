"""Data-subject requests through ``/compliance/subject-requests``, on SQLite and PostgreSQL:
access finds exactly the subject's records, unmasked; erasure clears exactly the personal
fields of the subject's records and nothing else, never a held record's; tenants and
roles are isolated; every request leaves its evidence in the audit trail."""

from __future__ import annotations

import hashlib
import logging
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import msgspec
import pytest
from advanced_alchemy.extensions.litestar import SQLAlchemyAsyncConfig
from httpx import Response
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select, update

from compliance.audit.models import AuditEventRow
from compliance.records.models import CommunicationLog
from compliance.subjects.erasure import ERASED_FIELDS
from compliance.subjects.models import SubjectRequestRow
from policies.subject_requests import DEFAULT_DUE_DAYS, ids_digest
from tests.factories import EMAIL_RECIPIENT, SMS_RECIPIENT, Caller, put_template, templated_send
from tests.faults import refusing_audit_events

OTHER_SMS = "+8613900001111"
REFERENCE = "DSR-2026-0117 Zhang Wei"


def hold_on(user_id: str) -> dict[str, str]:
    """A bounded hold on one user's records (i9-holds: explicit scope, a review date)."""
    return {
        "reason": "litigation 44",
        "scope": "user",
        "user_id": user_id,
        "review_by": (datetime.now(UTC) + timedelta(days=30)).isoformat(),
    }


HOLD_ON_ALICE = hold_on("usr_alice")


def _officer(caller: Caller, tenant_id: str | None = None) -> dict[str, str]:
    return caller.auth("usr_officer", "compliance_officer", tenant_id=tenant_id)


async def _request(caller: Caller, tenant_id: str | None = None, **body: Any) -> Response:
    return await caller.client.post(
        "/compliance/subject-requests",
        json={"reference": REFERENCE, **body},
        headers=_officer(caller, tenant_id),
    )


async def _created(caller: Caller, **body: Any) -> dict[str, Any]:
    response = await _request(caller, **body)
    assert response.status_code == 201, response.text
    data: dict[str, Any] = response.json()["data"]
    return data


async def _rows(database: SQLAlchemyAsyncConfig, tenant_id: str) -> dict[str, dict[str, Any]]:
    async with database.get_session() as session:
        result = await session.execute(
            select(CommunicationLog.__table__).where(CommunicationLog.tenant_id == tenant_id)
        )
        return {row.id: dict(row._mapping) for row in result}


async def _events(
    database: SQLAlchemyAsyncConfig, tenant_id: str, action: str
) -> list[AuditEventRow]:
    async with database.get_session() as session:
        return list(
            (
                await session.execute(
                    select(AuditEventRow)
                    .where(AuditEventRow.tenant_id == tenant_id, AuditEventRow.action == action)
                    .order_by(AuditEventRow.sequence)
                )
            ).scalars()
        )


async def test_access_returns_exactly_the_subjects_records_unmasked_and_is_recorded(
    caller: Caller, database: SQLAlchemyAsyncConfig
) -> None:
    mine = [
        await caller.create(content="您的验证码是123456"),
        await caller.create(recipient="+86 138-1234-8000", content="order 8842 shipped"),
    ]
    await caller.create(recipient=OTHER_SMS)
    await caller.create(channel="email", recipient=EMAIL_RECIPIENT, content="hello")

    request = await _created(caller, type="access", recipient="+86 138 1234 8000")
    assert request["status"] == "open"
    # One entry per stored form of the number it is searched in, E.164 first.
    assert request["recipients"][0] == {
        "channel": "sms",
        "recipient": "+8613******000",
        "form": "e164",
    }
    # an access request never matches on the national digits (another country's number)
    assert [r["form"] for r in request["recipients"]] == ["e164", "international_00"]
    assert request["reference"] == REFERENCE
    assert "12348000" not in str(request)

    fetched = await caller.client.get(
        f"/compliance/subject-requests/{request['id']}/records", headers=_officer(caller)
    )
    assert fetched.status_code == 200
    assert fetched.headers["content-type"].startswith("application/x-ndjson")
    lines = [msgspec.json.decode(line) for line in fetched.content.splitlines()]
    assert sorted(line["id"] for line in lines) == sorted(r["id"] for r in mine)
    by_content = {line["content"]: line for line in lines}
    assert set(by_content) == {"您的验证码是123456", "order 8842 shipped"}
    assert {line["recipient"] for line in lines} == {"+8613812348000"}

    event_id = fetched.headers["X-Audit-Event-Id"]
    (event,) = await _events(database, caller.tenant_id, "subject_request.access")
    assert event.id == event_id
    details = msgspec.json.decode(event.details)
    assert details["rows"] == 2
    assert details["sha256"] == hashlib.sha256(fetched.content).hexdigest()
    assert details["complete"] is True
    assert details["reference_sha256"] == hashlib.sha256(REFERENCE.encode()).hexdigest()
    assert details["counted"] == "handed_to_transport"
    assert event.actor == "usr_officer"
    assert event.actor_kind == "officer"
    (started,) = await _events(database, caller.tenant_id, "subject_request.access_started")
    assert started.sequence < event.sequence
    assert details["started_event_id"] == started.id
    assert msgspec.json.decode(started.details) == {
        "request_id": request["id"],
        "reference_sha256": details["reference_sha256"],
        "final_event_id": event_id,
    }
    assert (started.actor, started.actor_kind, started.target) == (
        "usr_officer",
        "officer",
        request["id"],
    )

    shown = await caller.client.get(
        f"/compliance/subject-requests/{request['id']}", headers=_officer(caller)
    )
    data = shown.json()["data"]
    assert data["status"] == "completed"
    assert data["outcome"]["rows"] == 2
    assert data["outcome"]["fetches"] == 1
    assert data["outcome"]["sha256"] == details["sha256"]
    assert data["audit_event_id"] == event_id


async def test_an_access_file_whose_started_event_the_database_refuses_is_a_503_and_sends_nothing(
    caller: Caller, database: SQLAlchemyAsyncConfig
) -> None:
    await caller.create(content="您的验证码是123456")
    request = await _created(caller, type="access", recipient=SMS_RECIPIENT)
    path = f"/compliance/subject-requests/{request['id']}/records"
    async with refusing_audit_events(database, caller.tenant_id, "subject_request.access%"):
        refused = await caller.client.get(path, headers=_officer(caller))
    assert refused.status_code == 503, refused.text
    body = refused.json()
    assert set(body) == {"code", "message", "timestamp"}
    assert "nothing was sent" in body["message"]
    assert "x-audit-event-id" not in refused.headers
    assert "123456" not in refused.text
    assert "12348000" not in refused.text
    for action in ("subject_request.access_started", "subject_request.access"):
        assert await _events(database, caller.tenant_id, action) == []
    shown = await caller.client.get(
        f"/compliance/subject-requests/{request['id']}", headers=_officer(caller)
    )
    assert shown.json()["data"]["status"] == "open"

    fetched = await caller.client.get(path, headers=_officer(caller))
    assert fetched.status_code == 200
    assert b"123456" in fetched.content
    assert len(await _events(database, caller.tenant_id, "subject_request.access_started")) == 1


async def test_access_on_every_channel_the_recipient_is_valid_for(caller: Caller) -> None:
    email = await caller.create(channel="email", recipient="Alice@Example.com", content="hi")
    await caller.create(channel="email", recipient="bob@example.com", content="hi")
    request = await _created(caller, type="access", recipient="alice@example.COM")
    assert {r["channel"] for r in request["recipients"]} == {"email", "push"}
    fetched = await caller.client.get(
        f"/compliance/subject-requests/{request['id']}/records", headers=_officer(caller)
    )
    lines = [msgspec.json.decode(line) for line in fetched.content.splitlines()]
    assert [line["id"] for line in lines] == [email["id"]]


async def test_a_templated_send_is_revealed_with_its_personal_values_but_never_a_secret(
    caller: Caller,
) -> None:
    assert (await put_template(caller)).status_code == 201
    await caller.create(**templated_send())
    request = await _created(caller, type="access", recipient=SMS_RECIPIENT, channel="sms")
    fetched = await caller.client.get(
        f"/compliance/subject-requests/{request['id']}/records", headers=_officer(caller)
    )
    (line,) = [msgspec.json.decode(line) for line in fetched.content.splitlines()]
    assert "王芳" in line["content"]
    assert "482913" not in fetched.text


async def test_a_blind_index_collision_is_neither_returned_nor_erased(
    caller: Caller, database: SQLAlchemyAsyncConfig
) -> None:
    subject = await caller.create()
    stranger = await caller.create(recipient=OTHER_SMS, content="not the subject's")
    async with database.get_session() as session:
        index = await session.scalar(
            select(CommunicationLog.recipient_index).where(CommunicationLog.id == subject["id"])
        )
        # The stranger's truncated index now equals the subject's, as a collision would.
        await session.execute(
            update(CommunicationLog)
            .where(CommunicationLog.id == stranger["id"])
            .values(recipient_index=index)
        )
        await session.commit()

    access = await _created(caller, type="access", recipient=SMS_RECIPIENT, channel="sms")
    fetched = await caller.client.get(
        f"/compliance/subject-requests/{access['id']}/records", headers=_officer(caller)
    )
    assert [msgspec.json.decode(x)["id"] for x in fetched.content.splitlines()] == [subject["id"]]
    assert "not the subject" not in fetched.text

    erasure = await _created(caller, type="erasure", recipient=SMS_RECIPIENT, channel="sms")
    assert erasure["outcome"]["matched"] == 1
    assert erasure["outcome"]["erased"] == 1
    assert erasure["outcome"]["unconfirmed"] == 1
    rows = await _rows(database, caller.tenant_id)
    assert rows[stranger["id"]]["recipient"] is not None
    assert rows[stranger["id"]]["content"] is not None
    assert rows[subject["id"]]["recipient"] is None


async def test_erasure_clears_the_personal_fields_of_the_subjects_records_and_nothing_else(
    caller: Caller, database: SQLAlchemyAsyncConfig
) -> None:
    mine = [await caller.create(), await caller.create(content="second")]
    await caller.set_status(mine[0]["id"], status="failed", error="timeout", response="{}")
    others = [await caller.create(recipient=OTHER_SMS), await caller.create(user_id="usr_bob")]
    others = others[:1]  # usr_bob's send went to the subject's number too: it is theirs
    before = await _rows(database, caller.tenant_id)

    request = await _created(caller, type="erasure", recipient=SMS_RECIPIENT)
    assert request["status"] == "completed"
    outcome = request["outcome"]
    assert outcome["matched"] == 3
    assert outcome["erased"] == 3
    assert outcome["held"] == 0
    assert outcome["held_by"] == {}

    after = await _rows(database, caller.tenant_id)
    erased_ids = sorted(set(before) - {o["id"] for o in others})
    for record_id in erased_ids:
        for column, value in after[record_id].items():
            if column in ERASED_FIELDS:
                assert value is None, column
            else:
                assert value == before[record_id][column], column
    for other in others:
        assert after[other["id"]] == before[other["id"]]

    (event,) = await _events(database, caller.tenant_id, "subject_request.erasure")
    details = msgspec.json.decode(event.details)
    assert details["erased"] == 3
    assert details["erased_ids_sha256"] == ids_digest(erased_ids)
    assert details["held_by"] == {}
    assert request["audit_event_id"] == event.id
    assert outcome["erased_ids_sha256"] == ids_digest(erased_ids)
    texts = b"".join(
        e.details.encode()
        for e in await _events(database, caller.tenant_id, "subject_request.created")
    )
    assert b"12348000" not in texts + event.details.encode()
    assert REFERENCE.encode() not in texts + event.details.encode()

    listed = await caller.list_logs()
    shown = {item["id"]: item for item in listed.json()["items"]}
    assert shown[mine[0]["id"]]["recipient"] is None
    assert shown[mine[0]["id"]]["content"] is None
    assert shown[mine[0]["id"]]["status"] == "failed"


async def test_erasure_by_user_id_closes_the_account_on_every_channel(
    caller: Caller, database: SQLAlchemyAsyncConfig
) -> None:
    mine = [
        await caller.create(user_id="usr_leaving"),
        await caller.create(user_id="usr_leaving", channel="email", recipient=EMAIL_RECIPIENT),
    ]
    kept = await caller.create(user_id="usr_staying")
    request = await _created(caller, type="erasure", user_id="usr_leaving")
    assert request["outcome"]["erased"] == 2
    rows = await _rows(database, caller.tenant_id)
    assert all(rows[m["id"]]["recipient"] is None for m in mine)
    assert rows[kept["id"]]["recipient"] is not None
    again = await _created(caller, type="erasure", user_id="usr_leaving")
    assert again["outcome"]["matched"] == 2
    assert again["outcome"]["already_erased"] == 2
    assert again["outcome"]["erased"] == 0


async def test_erasure_skips_held_records_names_the_hold_and_a_later_request_erases_them(
    caller: Caller, database: SQLAlchemyAsyncConfig
) -> None:
    held = await caller.create()
    free = await caller.create(user_id="usr_bob")
    hold = await caller.client.post(
        "/compliance/legal-holds",
        json=HOLD_ON_ALICE,
        headers=_officer(caller),
    )
    assert hold.status_code == 201
    hold_id = hold.json()["data"]["id"]

    first = await _created(caller, type="erasure", recipient=SMS_RECIPIENT, channel="sms")
    assert first["outcome"]["matched"] == 2
    assert first["outcome"]["erased"] == 1
    assert first["outcome"]["held"] == 1
    assert first["outcome"]["held_by"] == {hold_id: 1}
    rows = await _rows(database, caller.tenant_id)
    assert rows[held["id"]]["recipient"] is not None
    assert rows[held["id"]]["content"] is not None
    assert rows[free["id"]]["recipient"] is None
    (event,) = await _events(database, caller.tenant_id, "subject_request.erasure")
    details = msgspec.json.decode(event.details)
    assert details["held_by"] == {hold_id: 1}
    assert details["erased_ids_sha256"] == ids_digest([free["id"]])

    released = await caller.client.delete(
        f"/compliance/legal-holds/{hold_id}", headers=_officer(caller)
    )
    assert released.status_code == 200
    second = await _created(caller, type="erasure", recipient=SMS_RECIPIENT, channel="sms")
    assert second["outcome"]["erased"] == 1
    assert second["outcome"]["held"] == 0
    assert (await _rows(database, caller.tenant_id))[held["id"]]["recipient"] is None


async def test_another_tenants_identical_recipient_is_untouched_and_invisible(
    caller: Caller, database: SQLAlchemyAsyncConfig
) -> None:
    other = Caller(client=caller.client, tokens=caller.tokens, tenant_id=caller.tenant_id + "x")
    theirs = await other.create()
    their_request = await _created(other, type="access", recipient=SMS_RECIPIENT)
    await caller.create()

    erasure = await _created(caller, type="erasure", recipient=SMS_RECIPIENT)
    assert erasure["outcome"]["erased"] == 1
    assert (await _rows(database, other.tenant_id))[theirs["id"]]["recipient"] is not None

    for path in ("", "/records"):
        response = await caller.client.get(
            f"/compliance/subject-requests/{their_request['id']}{path}", headers=_officer(caller)
        )
        assert response.status_code == 404
    run = await caller.client.post(
        f"/compliance/subject-requests/{their_request['id']}/run", headers=_officer(caller)
    )
    assert run.status_code == 404
    listing = await caller.client.get("/compliance/subject-requests", headers=_officer(caller))
    assert [item["id"] for item in listing.json()["items"]] == [erasure["id"]]
    fetched = await other.client.get(
        f"/compliance/subject-requests/{their_request['id']}/records", headers=_officer(other)
    )
    assert [msgspec.json.decode(x)["id"] for x in fetched.content.splitlines()] == [theirs["id"]]


@pytest.mark.parametrize("roles", [("user",), ("ingest",), ()])
async def test_only_compliance_officers_reach_subject_requests(
    caller: Caller, roles: tuple[str, ...]
) -> None:
    headers = caller.auth("usr_alice", *roles)
    calls = [
        caller.client.post(
            "/compliance/subject-requests",
            json={"type": "access", "user_id": "usr_alice", "reference": "x"},
            headers=headers,
        ),
        caller.client.get("/compliance/subject-requests", headers=headers),
        caller.client.get("/compliance/subject-requests/dsr_x", headers=headers),
        caller.client.get("/compliance/subject-requests/dsr_x/records", headers=headers),
        caller.client.post("/compliance/subject-requests/dsr_x/run", headers=headers),
    ]
    for call in calls:
        response = await call
        assert response.status_code == 403
        assert set(response.json()) == {"code", "message", "timestamp"}


async def test_a_request_is_due_in_30_days_unless_an_earlier_date_is_given(
    caller: Caller,
) -> None:
    request = await _created(caller, type="access", user_id="usr_alice")
    created = datetime.fromisoformat(request["created_at"].replace("Z", "+00:00"))
    due = datetime.fromisoformat(request["due_at"].replace("Z", "+00:00"))
    assert due - created == timedelta(days=DEFAULT_DUE_DAYS)
    assert request["overdue"] is False
    soon = (datetime.now(UTC) + timedelta(days=10)).replace(microsecond=0)
    given = await _created(
        caller, type="access", user_id="usr_alice", due_at=soon.isoformat().replace("+00:00", "Z")
    )
    assert given["due_at"] == soon.isoformat().replace("+00:00", "Z")


@pytest.mark.parametrize(
    ("body", "fragment"),
    [
        ({"type": "access"}, "exactly one of 'recipient' or 'user_id'"),
        (
            {"type": "access", "user_id": "usr_a", "recipient": SMS_RECIPIENT},
            "exactly one of 'recipient' or 'user_id'",
        ),
        ({"type": "access", "user_id": "usr_a", "channel": "sms"}, "'channel' goes with"),
        ({"type": "access", "user_id": "usr_a", "due_at": "2020-01-01T00:00:00Z"}, "future"),
        ({"type": "access", "user_id": "usr_a", "due_at": "2099-01-01T00:00:00Z"}, "90 days"),
        ({"type": "access", "recipient": "not a number", "channel": "sms"}, "phone number"),
        ({"type": "access", "recipient": "\u3000 \u3000"}, "not a valid"),
        ({"type": "delete", "user_id": "usr_a"}, "type"),
        ({"type": "access", "user_id": "usr_a", "extra": 1}, "extra"),
        ({"type": "access", "user_id": "usr_a", "reference": ""}, "reference"),
    ],
)
async def test_invalid_subject_requests_are_400(
    caller: Caller, body: dict[str, Any], fragment: str
) -> None:
    response = await caller.client.post(
        "/compliance/subject-requests",
        json={"reference": REFERENCE, **body},
        headers=_officer(caller),
    )
    assert response.status_code == 400, response.text
    assert set(response.json()) == {"code", "message", "timestamp"}
    assert fragment in response.json()["message"]
    assert "not a number" not in response.json()["message"]


async def test_open_requests_past_their_deadline_are_listed_as_overdue(
    caller: Caller, database: SQLAlchemyAsyncConfig
) -> None:
    late = await _created(caller, type="access", user_id="usr_alice")
    await _created(caller, type="access", user_id="usr_bob")
    erasure = await _created(caller, type="erasure", user_id="usr_carol")
    async with database.get_session() as session:
        await session.execute(
            update(SubjectRequestRow)
            .where(SubjectRequestRow.id.in_([late["id"], erasure["id"]]))
            .values(due_at=datetime.now(UTC) - timedelta(days=1))
        )
        await session.commit()
    overdue = await caller.client.get(
        "/compliance/subject-requests", params={"overdue": "true"}, headers=_officer(caller)
    )
    assert [item["id"] for item in overdue.json()["items"]] == [late["id"]]
    assert overdue.json()["items"][0]["overdue"] is True
    by_type = await caller.client.get(
        "/compliance/subject-requests",
        params={"type": "erasure", "status": "completed"},
        headers=_officer(caller),
    )
    assert [item["id"] for item in by_type.json()["items"]] == [erasure["id"]]
    assert by_type.json()["items"][0]["overdue"] is False
    paged = await caller.client.get(
        "/compliance/subject-requests", params={"page_size": 2}, headers=_officer(caller)
    )
    assert paged.json()["total"] == 3
    assert paged.json()["pagination"]["has_next"] is True


async def test_an_access_request_has_no_run_and_an_erasure_no_file(caller: Caller) -> None:
    access = await _created(caller, type="access", user_id="usr_alice")
    erasure = await _created(caller, type="erasure", user_id="usr_alice")
    run = await caller.client.post(
        f"/compliance/subject-requests/{access['id']}/run", headers=_officer(caller)
    )
    assert run.status_code == 409
    records = await caller.client.get(
        f"/compliance/subject-requests/{erasure['id']}/records", headers=_officer(caller)
    )
    assert records.status_code == 409
    again = await caller.client.post(
        f"/compliance/subject-requests/{erasure['id']}/run", headers=_officer(caller)
    )
    assert again.status_code == 200
    assert again.json()["data"]["audit_event_id"] == erasure["audit_event_id"]


async def test_no_log_line_holds_the_reference_or_the_recipient(
    caller: Caller, caplog: pytest.LogCaptureFixture
) -> None:
    for name in ("commlog", "litestar", "advanced_alchemy", "sqlalchemy"):
        caplog.set_level(logging.DEBUG, logger=name)
    await caller.create(content="secret words")
    access = await _created(caller, type="access", recipient=SMS_RECIPIENT)
    fetched = await caller.client.get(
        f"/compliance/subject-requests/{access['id']}/records", headers=_officer(caller)
    )
    assert fetched.status_code == 200
    await _created(caller, type="erasure", recipient=SMS_RECIPIENT)
    service = [r for r in caplog.records if not r.name.startswith(("httpx", "httpcore"))]
    assert service
    for record in service:
        text = record.getMessage() + repr(getattr(record, "fields", ""))
        for private in ("Zhang Wei", "12348000", "secret words"):
            assert private not in text, record.name


SENDS = st.lists(
    st.tuples(st.sampled_from([SMS_RECIPIENT, OTHER_SMS]), st.sampled_from(["usr_a", "usr_b"])),
    min_size=1,
    max_size=6,
)


@settings(
    max_examples=8,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(sends=SENDS, held_users=st.sets(st.sampled_from(["usr_a", "usr_b"])))
async def test_erasure_erases_exactly_the_subjects_unheld_records(
    caller: Caller,
    database: SQLAlchemyAsyncConfig,
    sends: list[tuple[str, str]],
    held_users: set[str],
) -> None:
    tenant = Caller(
        client=caller.client, tokens=caller.tokens, tenant_id=f"tnt_{uuid.uuid4().hex[:12]}"
    )
    created = [
        (await tenant.create(recipient=recipient, user_id=user), recipient, user)
        for recipient, user in sends
    ]
    holds = {}
    for user in held_users:
        placed = await tenant.client.post(
            "/compliance/legal-holds", json=hold_on(user), headers=_officer(tenant)
        )
        assert placed.status_code == 201, placed.text
        holds[user] = placed.json()["data"]["id"]
    before = await _rows(database, tenant.tenant_id)

    request = await _created(tenant, type="erasure", recipient=SMS_RECIPIENT, channel="sms")

    after = await _rows(database, tenant.tenant_id)
    subjects = [(r["id"], user) for r, recipient, user in created if recipient == SMS_RECIPIENT]
    expected = sorted(i for i, user in subjects if user not in held_users)
    erased = sorted(i for i in after if after[i]["recipient"] is None)
    assert erased == expected
    for record_id in set(after) - set(expected):
        assert after[record_id] == before[record_id]
    outcome = request["outcome"]
    assert outcome["matched"] == len(subjects)
    assert outcome["erased"] == len(expected)
    assert outcome["held"] == len(subjects) - len(expected)
    assert outcome["held_by"] == {
        holds[user]: count
        for user in held_users
        if (count := sum(1 for _, u in subjects if u == user))
    }
    assert outcome["erased_ids_sha256"] == ids_digest(expected)
