"""Legal holds with bounds, through the API on SQLite and PostgreSQL: an end or a review date
within the maximum, what a hold keeps (created_before), changing a hold, the review list,
and the purge of released holds by the retention job."""

from __future__ import annotations

import hashlib
import json
import re
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from advanced_alchemy.extensions.litestar import SQLAlchemyAsyncConfig
from httpx import Response
from sqlalchemy import select, update

from compliance.audit.models import AuditEventRow
from compliance.encryption.keystore import UnwrappedKeyCache
from compliance.encryption.master import MasterKeyring
from compliance.records.models import CommunicationLog
from compliance.retention.job import RunOptions, run_retention
from compliance.retention.models import LegalHold
from compliance.retention.runs import RunReport
from compliance.transactions import begin_write
from policies.retention import DEFAULT_POLICY
from tests.factories import Caller, hold_body, in_days

DAY = timedelta(days=1)


def _officer(caller: Caller, tenant_id: str | None = None) -> dict[str, str]:
    return caller.auth("usr_officer", "compliance_officer", tenant_id=tenant_id)


async def _place(caller: Caller, **body: Any) -> Response:
    return await caller.client.post(
        "/compliance/legal-holds", json=hold_body(**body), headers=_officer(caller)
    )


async def _change(caller: Caller, hold_id: str, **body: Any) -> Response:
    return await caller.client.patch(
        f"/compliance/legal-holds/{hold_id}", json=body, headers=_officer(caller)
    )


async def _run(
    database: SQLAlchemyAsyncConfig, master_keys: MasterKeyring, caller: Caller, **options: Any
) -> RunReport:
    return await run_retention(
        database.get_engine(),
        master_keys,
        UnwrappedKeyCache(),
        DEFAULT_POLICY,
        RunOptions(actor="test", tenant_id=caller.tenant_id, **options),
    )


async def _set(database: SQLAlchemyAsyncConfig, hold_id: str, **values: Any) -> None:
    """Move a hold's dates behind the API's back (the API only accepts future dates)."""
    async with database.get_session() as session:
        await begin_write(session)
        await session.execute(update(LegalHold).where(LegalHold.id == hold_id).values(**values))
        await session.commit()


async def _hold_ids(database: SQLAlchemyAsyncConfig, tenant_id: str) -> set[str]:
    async with database.get_session() as session:
        rows = await session.execute(select(LegalHold.id).where(LegalHold.tenant_id == tenant_id))
        return set(rows.scalars())


async def _log_ids(database: SQLAlchemyAsyncConfig, tenant_id: str) -> set[str]:
    async with database.get_session() as session:
        statement = select(CommunicationLog.id).where(CommunicationLog.tenant_id == tenant_id)
        return set((await session.execute(statement)).scalars())


# --- bounds ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("bounds", "message"),
    [
        ({"review_by": ...}, "a hold needs 'expires_at' or 'review_by' (or both)"),
        ({"review_by": in_days(-1)}, "'review_by' must be in the future"),
        ({"review_by": ..., "expires_at": in_days(-1)}, "'expires_at' must be in the future"),
        (
            {"review_by": in_days(731)},
            "'review_by' must be within 730 days (the configured maximum)",
        ),
        (
            {"expires_at": in_days(731)},
            "'expires_at' must be within 730 days (the configured maximum)",
        ),
    ],
)
async def test_a_hold_without_an_end_or_review_within_the_maximum_is_400(
    caller: Caller, bounds: dict[str, Any], message: str
) -> None:
    response = await _place(caller, **bounds)
    assert response.status_code == 400, response.text
    assert response.json()["message"] == message
    listing = await caller.client.get("/compliance/legal-holds", headers=_officer(caller))
    assert listing.json()["total"] == 0


@pytest.mark.parametrize(
    "bounds",
    [
        {"review_by": in_days(729)},
        {"review_by": ..., "expires_at": in_days(729)},
        {"review_by": in_days(30), "expires_at": in_days(365)},
    ],
)
async def test_a_hold_with_an_end_or_a_review_date_within_the_maximum_is_placed(
    caller: Caller, bounds: dict[str, Any]
) -> None:
    response = await _place(caller, **bounds)
    assert response.status_code == 201, response.text
    hold = response.json()["data"]
    assert (hold["review_by"] is None) is (bounds.get("review_by", ...) is ...)
    assert (hold["expires_at"] is None) is ("expires_at" not in bounds)


# --- what a hold keeps -------------------------------------------------------------------------


async def test_created_before_limits_a_hold_to_older_records(
    caller: Caller, database: SQLAlchemyAsyncConfig, master_keys: MasterKeyring
) -> None:
    now = datetime.now(UTC)
    older = await caller.create(created_at=(now - 500 * DAY).isoformat())
    newer = await caller.create(created_at=(now - 450 * DAY).isoformat())
    placed = await _place(caller, created_before=(now - 480 * DAY).isoformat())
    assert placed.status_code == 201, placed.text
    assert placed.json()["data"]["created_before"] is not None

    report = await _run(database, master_keys, caller)
    assert report.counts[caller.tenant_id]["record"] == 1
    assert await _log_ids(database, caller.tenant_id) == {older["id"]}
    assert newer["id"] not in await _log_ids(database, caller.tenant_id)


async def test_a_user_hold_on_one_recipient_keeps_only_that_users_sends_to_them(
    caller: Caller, database: SQLAlchemyAsyncConfig, master_keys: MasterKeyring
) -> None:
    old = (datetime.now(UTC) - 500 * DAY).isoformat()
    kept = await caller.create(user_id="usr_alice", recipient="+8613811112222", created_at=old)
    other_user = await caller.create(user_id="usr_bob", recipient="+8613811112222", created_at=old)
    other_recipient = await caller.create(
        user_id="usr_alice", recipient="+8613833334444", created_at=old
    )
    placed = await _place(
        caller, scope="recipient", user_id="usr_alice", channel="sms", recipient="+8613811112222"
    )
    assert placed.status_code == 201, placed.text
    await _run(database, master_keys, caller)
    remaining = await _log_ids(database, caller.tenant_id)
    assert kept["id"] in remaining
    assert other_user["id"] not in remaining
    assert other_recipient["id"] not in remaining


async def test_a_passed_review_date_does_not_end_a_hold(
    caller: Caller, database: SQLAlchemyAsyncConfig, master_keys: MasterKeyring
) -> None:
    record = await caller.create(created_at=(datetime.now(UTC) - 500 * DAY).isoformat())
    hold_id = (await _place(caller)).json()["data"]["id"]
    await _set(database, hold_id, review_by=datetime.now(UTC) - DAY)
    await _run(database, master_keys, caller)
    assert record["id"] in await _log_ids(database, caller.tenant_id)


# --- changing a hold ---------------------------------------------------------------------------


async def test_an_officer_extends_shortens_and_amends_a_hold(caller: Caller) -> None:
    hold = (await _place(caller, expires_at=in_days(100))).json()["data"]
    later = in_days(700)
    changed = await _change(caller, hold["id"], review_by=later, reason="amended: case 2026-18")
    assert changed.status_code == 200, changed.text
    data = changed.json()["data"]
    assert data["review_by"].startswith(later[:16])
    assert data["expires_at"] == hold["expires_at"]
    assert data["reason"] == "amended: case 2026-18"
    assert data["changed_by"] == "usr_officer"
    assert data["changed_at"] is not None

    shorter = await _change(caller, hold["id"], expires_at=in_days(10), review_by=None)
    assert shorter.status_code == 200, shorter.text
    assert shorter.json()["data"]["review_by"] is None
    assert shorter.json()["data"]["expires_at"].startswith(in_days(10)[:13])


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (
            {"review_by": in_days(731)},
            "'review_by' must be within 730 days (the configured maximum)",
        ),
        ({"expires_at": in_days(-1)}, "'expires_at' must be in the future"),
        ({"review_by": None}, "a hold needs 'expires_at' or 'review_by' (or both)"),
        ({}, "nothing to change: give 'expires_at', 'review_by' or 'reason'"),
    ],
)
async def test_a_change_follows_the_same_bounds(
    caller: Caller, body: dict[str, Any], message: str
) -> None:
    hold = (await _place(caller)).json()["data"]
    response = await _change(caller, hold["id"], **body)
    assert response.status_code == 400, response.text
    assert response.json()["message"] == message
    listing = await caller.client.get("/compliance/legal-holds", headers=_officer(caller))
    assert listing.json()["items"][0]["review_by"] == hold["review_by"]


async def test_a_change_names_only_known_fields(caller: Caller) -> None:
    hold = (await _place(caller)).json()["data"]
    response = await _change(caller, hold["id"], scope="user")
    assert response.status_code == 400
    assert "scope" in response.json()["message"]


async def test_a_released_or_expired_hold_cannot_be_changed(
    caller: Caller, database: SQLAlchemyAsyncConfig
) -> None:
    released = (await _place(caller)).json()["data"]["id"]
    await caller.client.delete(f"/compliance/legal-holds/{released}", headers=_officer(caller))
    response = await _change(caller, released, review_by=in_days(60))
    assert response.status_code == 409
    assert response.json()["message"] == "this legal hold was released"

    expired = (await _place(caller, expires_at=in_days(1))).json()["data"]["id"]
    await _set(database, expired, expires_at=datetime.now(UTC) - DAY)
    response = await _change(caller, expired, expires_at=in_days(60))
    assert response.status_code == 409
    assert response.json()["message"] == "this legal hold has expired"

    missing = await _change(caller, "hold_000000000000000000000000", reason="x")
    assert missing.status_code == 404


# --- the review list ---------------------------------------------------------------------------


async def test_the_review_list_shows_active_holds_due_soonest_first(
    caller: Caller, database: SQLAlchemyAsyncConfig
) -> None:
    soon = (await _place(caller, review_by=in_days(5))).json()["data"]["id"]
    expiring = (await _place(caller, review_by=..., expires_at=in_days(20))).json()["data"]["id"]
    later = (await _place(caller, review_by=in_days(60))).json()["data"]["id"]
    overdue = (await _place(caller, review_by=in_days(1))).json()["data"]["id"]
    await _set(database, overdue, review_by=datetime.now(UTC) - 3 * DAY)
    released = (await _place(caller, review_by=in_days(2))).json()["data"]["id"]
    await caller.client.delete(f"/compliance/legal-holds/{released}", headers=_officer(caller))

    async def due(**params: Any) -> list[str]:
        response = await caller.client.get(
            "/compliance/legal-holds",
            params={"due_for_review": "true", **params},
            headers=_officer(caller),
        )
        assert response.status_code == 200, response.text
        items = response.json()["items"]
        assert all(item["due_for_review"] or params for item in items)
        return [item["id"] for item in items]

    assert await due() == [overdue, soon, expiring]
    assert await due(within_days=90) == [overdue, soon, expiring, later]
    assert await due(within_days=0) == [overdue]
    bad = await caller.client.get(
        "/compliance/legal-holds",
        params={"due_for_review": "true", "within_days": "-1"},
        headers=_officer(caller),
    )
    assert bad.status_code == 400
    other = await caller.client.get(
        "/compliance/legal-holds",
        params={"due_for_review": "true"},
        headers=_officer(caller, caller.tenant_id + "_b"),
    )
    assert other.json()["items"] == []


# --- purge -------------------------------------------------------------------------------------


async def test_released_holds_are_purged_after_the_window_and_not_before(
    caller: Caller, database: SQLAlchemyAsyncConfig, master_keys: MasterKeyring
) -> None:
    released = (await _place(caller, reason="released long ago")).json()["data"]["id"]
    await caller.client.delete(f"/compliance/legal-holds/{released}", headers=_officer(caller))
    lapsed = (await _place(caller, review_by=..., expires_at=in_days(1))).json()["data"]["id"]
    active = (await _place(caller)).json()["data"]["id"]
    now = datetime.now(UTC)
    await _set(database, released, released_at=now - 365 * DAY + DAY)
    await _set(database, lapsed, expires_at=now - 365 * DAY + DAY)

    early = await _run(database, master_keys, caller)
    assert early.counts[caller.tenant_id]["released_holds"] == 0
    assert await _hold_ids(database, caller.tenant_id) == {released, lapsed, active}

    preview = await _run(database, master_keys, caller, dry_run=True, as_of=now + 2 * DAY)
    assert preview.counts[caller.tenant_id]["released_holds"] == 2
    assert await _hold_ids(database, caller.tenant_id) == {released, lapsed, active}

    later = now + 2 * DAY
    purged = await _run(database, master_keys, caller, clock=lambda: later, batch_size=1)
    assert purged.counts[caller.tenant_id]["released_holds"] == 2
    assert await _hold_ids(database, caller.tenant_id) == {active}


async def test_the_purge_window_is_the_configured_one(
    caller: Caller, database: SQLAlchemyAsyncConfig, master_keys: MasterKeyring
) -> None:
    released = (await _place(caller)).json()["data"]["id"]
    await caller.client.delete(f"/compliance/legal-holds/{released}", headers=_officer(caller))
    await _set(database, released, released_at=datetime.now(UTC) - 11 * DAY)
    kept = await _run(database, master_keys, caller, released_holds_kept=12 * DAY)
    assert kept.counts[caller.tenant_id]["released_holds"] == 0
    gone = await _run(database, master_keys, caller, released_holds_kept=10 * DAY)
    assert gone.counts[caller.tenant_id]["released_holds"] == 1
    assert await _hold_ids(database, caller.tenant_id) == set()


# --- audit -------------------------------------------------------------------------------------


async def _events(database: SQLAlchemyAsyncConfig, tenant_id: str) -> list[AuditEventRow]:
    async with database.get_session() as session:
        statement = (
            select(AuditEventRow)
            .where(
                AuditEventRow.tenant_id == tenant_id,
                AuditEventRow.action.startswith("legal_hold."),  # not the runs' own events
            )
            .order_by(AuditEventRow.sequence)
        )
        return list((await session.execute(statement)).scalars())


async def test_every_hold_action_appends_an_audit_event_without_recipient_or_reason(
    caller: Caller, database: SQLAlchemyAsyncConfig, master_keys: MasterKeyring
) -> None:
    reason = "subpoena 2026-44 about 王芳"
    placed = await _place(
        caller,
        reason=reason,
        scope="recipient",
        user_id="usr_alice",
        channel="sms",
        recipient="+86 138 1234 8000",
        created_before=in_days(-1),
    )
    hold_id = placed.json()["data"]["id"]
    request_id = placed.headers["x-request-id"]
    await _change(caller, hold_id, review_by=in_days(60), reason="amended")
    await caller.client.delete(f"/compliance/legal-holds/{hold_id}", headers=_officer(caller))
    await _set(database, hold_id, released_at=datetime.now(UTC) - 400 * DAY)
    await _run(database, master_keys, caller)

    events = await _events(database, caller.tenant_id)
    assert [(e.action, e.target) for e in events] == [
        ("legal_hold.placed", hold_id),
        ("legal_hold.changed", hold_id),
        ("legal_hold.released", hold_id),
        ("legal_hold.purged", hold_id),
    ]
    assert [(e.actor, e.actor_kind) for e in events] == [
        ("usr_officer", "officer"),
        ("usr_officer", "officer"),
        ("usr_officer", "officer"),
        ("test", "system"),
    ]
    assert json.loads(events[0].actor_origin) == {"request_id": request_id}
    placed_details = json.loads(events[0].details)
    assert placed_details["scope"] == "recipient"
    assert placed_details["user_id"] == "usr_alice"
    assert placed_details["channel"] == "sms"
    assert re.fullmatch(r"[0-9a-f]{16}", placed_details["recipient_index"])
    assert placed_details["reason_sha256"] == hashlib.sha256(reason.encode()).hexdigest()
    assert placed_details["reason_chars"] == len(reason)
    assert placed_details["keep_short_lived_content"] is False
    assert placed_details["created_before"] is not None
    changed = json.loads(events[1].details)
    assert changed["changed"] == ["review_by", "reason"]
    assert changed["reason_sha256"] == hashlib.sha256(b"amended").hexdigest()
    released = json.loads(events[2].details)
    assert released["recipient_index"] == placed_details["recipient_index"]
    for event in events:
        stored = event.details + event.actor_origin + (event.target or "")
        for personal in ("12348000", "138", "subpoena", "王芳", "amended"):
            # keyed hashes and digests are hex, times are digits of their own: only what
            # is left may not name anyone
            left = re.sub(r"\d{4}-\d{2}-\d{2}T[0-9:.]+(Z|[+-]\d{2}:\d{2})?", "", stored)
            assert personal not in re.sub(r"[0-9a-f]{16,}", "", left)


async def test_a_refused_hold_action_records_nothing(
    caller: Caller, database: SQLAlchemyAsyncConfig
) -> None:
    assert (await _place(caller, review_by=...)).status_code == 400
    hold_id = (await _place(caller)).json()["data"]["id"]
    assert (await _change(caller, hold_id, review_by=in_days(-1))).status_code == 400
    await caller.client.delete(f"/compliance/legal-holds/{hold_id}", headers=_officer(caller))
    again = await caller.client.delete(
        f"/compliance/legal-holds/{hold_id}", headers=_officer(caller)
    )
    assert again.status_code == 409
    events = await _events(database, caller.tenant_id)
    assert [e.action for e in events] == ["legal_hold.placed", "legal_hold.released"]


async def test_a_dry_run_purges_nothing_and_records_nothing(
    caller: Caller, database: SQLAlchemyAsyncConfig, master_keys: MasterKeyring
) -> None:
    hold_id = (await _place(caller)).json()["data"]["id"]
    await caller.client.delete(f"/compliance/legal-holds/{hold_id}", headers=_officer(caller))
    await _set(database, hold_id, released_at=datetime.now(UTC) - 400 * DAY)
    preview = await _run(database, master_keys, caller, dry_run=True)
    assert preview.counts[caller.tenant_id]["released_holds"] == 1
    assert await _hold_ids(database, caller.tenant_id) == {hold_id}
    assert [e.action for e in await _events(database, caller.tenant_id)] == [
        "legal_hold.placed",
        "legal_hold.released",
    ]
