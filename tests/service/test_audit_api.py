"""``GET /compliance/audit-events``: an officer reads their own tenant's trail, paged and
filtered, newest first; nobody else reads it, and another tenant's event does not exist."""

from __future__ import annotations

import hashlib
import secrets
from datetime import timedelta
from typing import Any

import msgspec
from advanced_alchemy.extensions.litestar import SQLAlchemyAsyncConfig

from compliance.audit.trail import append_event
from compliance.encryption.master import MasterKeyring
from compliance.transactions import begin_write, commit
from policies.audit_chain import GENESIS_HASH, Actor, ActorKind, ChainedEvent
from tests.factories import Caller

EVENT_FIELDS = {
    *("id", "tenant_id", "sequence", "occurred_at", "actor", "actor_kind", "actor_origin"),
    *("action", "target", "details", "previous_hash", "hash"),
}
PAGINATION = {"page", "page_size", "total", "total_pages", "has_next", "has_prev"}
ACTIONS = [
    ("usr_officer", "legal_hold.placed"),
    ("usr_officer", "export.completed"),
    ("usr_other", "legal_hold.released"),
    ("retention", "retention.tenant_outcome"),
    ("usr_other", "legal_hold.placed"),
]


async def _record(
    database: SQLAlchemyAsyncConfig, master: MasterKeyring, tenant_id: str
) -> list[ChainedEvent]:
    events = []
    for index, (actor, action) in enumerate(ACTIONS):
        async with database.get_session() as session:
            await begin_write(session)
            events.append(
                await append_event(
                    session,
                    master,
                    tenant_id=tenant_id,
                    actor=Actor(
                        id=actor,
                        kind=ActorKind.SYSTEM if actor == "retention" else ActorKind.OFFICER,
                        origin={"request_id": f"req_{index}"},
                    ),
                    action=action,
                    target=f"hold_{index}",
                    details={"index": index, "理由": "诉讼", "nested": {"ok": True}},
                )
            )
            await commit(session, operation="test_audit")
    return events


def _officer(caller: Caller, tenant_id: str | None = None) -> dict[str, str]:
    return caller.auth("usr_officer", "compliance_officer", tenant_id=tenant_id)


async def _list(caller: Caller, **params: Any) -> dict[str, Any]:
    response = await caller.client.get(
        "/compliance/audit-events", params=params, headers=_officer(caller)
    )
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


async def test_an_officer_pages_through_the_trail_newest_first_with_every_field(
    caller: Caller, database: SQLAlchemyAsyncConfig, master_keys: MasterKeyring
) -> None:
    await _record(database, master_keys, caller.tenant_id)
    first = await _list(caller, page=1, page_size=2)
    assert set(first) == {"code", "message", "timestamp", "items", "total", "pagination"}
    assert first["pagination"] == {
        "page": 1,
        "page_size": 2,
        "total": 5,
        "total_pages": 3,
        "has_next": True,
        "has_prev": False,
    }
    seen = [
        item
        for page in (1, 2, 3)
        for item in (await _list(caller, page=page, page_size=2))["items"]
    ]
    assert [item["sequence"] for item in seen] == [5, 4, 3, 2, 1]
    assert all(set(item) == EVENT_FIELDS for item in seen)
    assert seen[-1]["previous_hash"] == GENESIS_HASH
    assert seen[-1]["details"] == {"index": 0, "理由": "诉讼", "nested": {"ok": True}}
    assert seen[-1]["actor_origin"] == {"request_id": "req_0"}
    everything = [item["id"] for item in seen]
    for size in (1, 3, 4, 6):
        paged = [
            item["id"]
            for page in range(1, -(-len(ACTIONS) // size) + 2)  # one page past the end
            for item in (await _list(caller, page=page, page_size=size))["items"]
        ]
        assert paged == everything, size  # pages partition the result, in order


async def test_the_hash_can_be_recomputed_from_what_the_api_returns(
    caller: Caller, database: SQLAlchemyAsyncConfig, master_keys: MasterKeyring
) -> None:
    await _record(database, master_keys, caller.tenant_id)
    for item in (await _list(caller))["items"]:
        document = {key: value for key, value in item.items() if key != "hash"}
        canonical = msgspec.json.encode({"format": 1, **document}, order="sorted")
        assert hashlib.sha256(canonical).hexdigest() == item["hash"]


async def test_filters_by_action_prefix_actor_and_time(
    caller: Caller, database: SQLAlchemyAsyncConfig, master_keys: MasterKeyring
) -> None:
    events = await _record(database, master_keys, caller.tenant_id)

    def sequences(body: dict[str, Any]) -> list[int]:
        return [item["sequence"] for item in body["items"]]

    assert sequences(await _list(caller, action="legal_hold.placed")) == [5, 1]
    assert sequences(await _list(caller, action="legal_hold.")) == [5, 3, 1]
    assert sequences(await _list(caller, action="legal_hold")) == []  # not a prefix
    assert sequences(await _list(caller, actor="usr_other")) == [5, 3]
    third = events[2].occurred_at
    since = third.isoformat().replace("+00:00", "Z")
    assert sequences(await _list(caller, since=since)) == [5, 4, 3]
    assert sequences(await _list(caller, until=since)) == [2, 1]
    shifted = (third + timedelta(hours=8)).isoformat().replace("+00:00", "+08:00")
    assert sequences(await _list(caller, until=shifted)) == [2, 1]  # the same instant
    body = await _list(caller, action="legal_hold.", actor="usr_other", since=since)
    assert (sequences(body), body["total"]) == ([5, 3], 2)


async def test_bad_filters_are_400_in_the_envelope(caller: Caller) -> None:
    for params in (
        {"since": "2026-12-07T10:00:00"},  # no offset
        {"until": "0001-01-01T00:00:00Z"},
        {"since": "yesterday"},
        {"action": "Legal Hold"},
        {"page_size": "0"},
    ):
        response = await caller.client.get(
            "/compliance/audit-events", params=params, headers=_officer(caller)
        )
        assert response.status_code == 400, params
        assert set(response.json()) == {"code", "message", "timestamp"}


async def test_an_officer_reads_one_event_and_another_tenants_is_not_found(
    caller: Caller, database: SQLAlchemyAsyncConfig, master_keys: MasterKeyring
) -> None:
    mine = await _record(database, master_keys, caller.tenant_id)
    other_tenant = "tnt_" + secrets.token_hex(6)
    theirs = await _record(database, master_keys, other_tenant)
    response = await caller.client.get(
        f"/compliance/audit-events/{mine[1].id}", headers=_officer(caller)
    )
    assert response.status_code == 200
    assert response.json()["data"]["hash"] == mine[1].hash
    foreign = await caller.client.get(
        f"/compliance/audit-events/{theirs[1].id}", headers=_officer(caller)
    )
    missing = await caller.client.get(
        "/compliance/audit-events/aud_000000000000000000000000", headers=_officer(caller)
    )
    assert foreign.status_code == missing.status_code == 404
    assert foreign.json()["message"] == missing.json()["message"]
    listed = await _list(caller, page_size=100)
    assert {item["tenant_id"] for item in listed["items"]} == {caller.tenant_id}
    assert listed["total"] == len(ACTIONS)


async def test_users_and_sending_services_may_not_read_the_trail(
    caller: Caller, database: SQLAlchemyAsyncConfig, master_keys: MasterKeyring
) -> None:
    events = await _record(database, master_keys, caller.tenant_id)
    for roles in (("user",), ("ingest",), ("user", "ingest")):
        headers = caller.auth("usr_alice", *roles)
        for path in ("/compliance/audit-events", f"/compliance/audit-events/{events[0].id}"):
            response = await caller.client.get(path, headers=headers)
            assert response.status_code == 403, (roles, path)
            assert events[0].hash not in response.text
    anonymous = await caller.client.get("/compliance/audit-events")
    assert anonymous.status_code == 401


async def test_a_time_filter_outside_the_range_names_the_parameter(caller: Caller) -> None:
    response = await caller.client.get(
        "/compliance/audit-events",
        params={"until": "9999-06-01T00:00:00Z"},
        headers=_officer(caller),
    )
    assert response.status_code == 400
    assert response.json()["message"] == (
        "invalid request: query parameter 'until' must be an RFC 3339 time with a UTC offset, "
        "between 1970-01-01T00:00:00Z and 9999-01-01T00:00:00Z"
    )
