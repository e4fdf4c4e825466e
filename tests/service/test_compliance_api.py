"""Compliance officers' endpoints: legal holds and retention runs, in the usual envelope."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from advanced_alchemy.extensions.litestar import SQLAlchemyAsyncConfig

from compliance.encryption.keystore import UnwrappedKeyCache
from compliance.encryption.master import MasterKeyring
from compliance.retention.job import RunOptions, run_retention
from policies.retention import DEFAULT_POLICY
from tests.factories import Caller, hold_body

HOLD_FIELDS = {
    "other_forms_found",
    "id",
    "tenant_id",
    "scope",
    "user_id",
    "channel",
    "recipient",
    "reason",
    "created_by",
    "created_at",
    "expires_at",
    "review_by",
    "created_before",
    "keep_short_lived_content",
    "changed_at",
    "changed_by",
    "released_at",
    "released_by",
    "active",
    "due_for_review",
}


def _officer(caller: Caller, tenant_id: str | None = None) -> dict[str, str]:
    return caller.auth("usr_officer", "compliance_officer", tenant_id=tenant_id)


async def test_an_officer_places_lists_and_releases_a_hold(caller: Caller) -> None:
    placed = await caller.client.post(
        "/compliance/legal-holds",
        json=hold_body(
            reason="subpoena 2026-44",
            scope="recipient",
            user_id="usr_alice",
            channel="sms",
            recipient="+86 138 1234 8000",
        ),
        headers=_officer(caller),
    )
    assert placed.status_code == 201
    body = placed.json()
    assert set(body) == {"code", "message", "timestamp", "data"}
    hold = body["data"]
    assert set(hold) == HOLD_FIELDS
    assert hold["id"].startswith("hold_")
    assert hold["tenant_id"] == caller.tenant_id
    assert hold["recipient"] == "+8613******000"
    assert hold["created_by"] == "usr_officer"
    assert hold["active"] is True
    assert hold["scope"] == "recipient"
    assert hold["keep_short_lived_content"] is False
    assert "12348000" not in placed.text

    listing = await caller.client.get("/compliance/legal-holds", headers=_officer(caller))
    assert listing.json()["total"] == 1
    assert listing.json()["items"][0]["id"] == hold["id"]

    released = await caller.client.delete(
        f"/compliance/legal-holds/{hold['id']}", headers=_officer(caller)
    )
    assert released.status_code == 200
    assert released.json()["data"]["active"] is False
    assert released.json()["data"]["released_by"] == "usr_officer"
    again = await caller.client.delete(
        f"/compliance/legal-holds/{hold['id']}", headers=_officer(caller)
    )
    assert again.status_code == 409
    active_only = await caller.client.get(
        "/compliance/legal-holds", params={"include_released": "false"}, headers=_officer(caller)
    )
    assert active_only.json()["items"] == []


@pytest.mark.parametrize(
    ("body", "fragment"),
    [
        ({"reason": ...}, "reason"),
        ({"reason": ""}, "reason"),
        ({"scope": ...}, "scope"),
        ({"scope": "everyone"}, "scope"),
        ({"scope": "recipient", "recipient": "+8613812348000"}, "channel"),
        ({"scope": "recipient", "channel": "sms"}, "recipient"),
        ({"scope": "recipient", "channel": "sms", "recipient": "not a phone"}, "recipient"),
        ({"scope": "user", "user_id": "u", "expires_at": "2020-01-01T00:00:00Z"}, "expires_at"),
        ({"tenant_id": "tnt_other"}, "tenant_id"),
        ({"whole_tenant": True}, "whole_tenant"),
    ],
)
async def test_invalid_holds_are_400(caller: Caller, body: dict[str, str], fragment: str) -> None:
    response = await caller.client.post(
        "/compliance/legal-holds", json=hold_body(**body), headers=_officer(caller)
    )
    assert response.status_code == 400
    assert response.json()["code"] == 400
    assert fragment in response.json()["message"]


async def test_a_hold_on_the_whole_tenant_is_asked_for_explicitly(caller: Caller) -> None:
    unscoped = await caller.client.post(
        "/compliance/legal-holds", json=hold_body(scope=...), headers=_officer(caller)
    )
    assert unscoped.status_code == 400
    assert "scope" in unscoped.json()["message"]
    assert (await caller.client.get("/compliance/legal-holds", headers=_officer(caller))).json()[
        "total"
    ] == 0

    whole = await caller.client.post(
        "/compliance/legal-holds", json=hold_body(scope="tenant"), headers=_officer(caller)
    )
    assert whole.status_code == 201, whole.text
    assert whole.json()["data"]["scope"] == "tenant"
    assert whole.json()["data"]["user_id"] is None
    assert whole.json()["data"]["recipient"] is None


@pytest.mark.parametrize(
    ("scope", "names", "message"),
    [
        (
            "tenant",
            {"user_id": "usr_alice"},
            "scope 'tenant' holds every record: it names no user, recipient or channel",
        ),
        (
            "tenant",
            {"channel": "sms", "recipient": "+8613812348000"},
            "scope 'tenant' holds every record: it names no user, recipient or channel",
        ),
        ("user", {}, "scope 'user' needs 'user_id'"),
        (
            "user",
            {"user_id": "usr_alice", "channel": "sms", "recipient": "+8613812348000"},
            "scope 'user' names no recipient (a user's sends to one recipient are scope "
            "'recipient' with 'user_id')",
        ),
        (
            "recipient",
            {"user_id": "usr_alice"},
            "scope 'recipient' needs 'recipient' and 'channel'",
        ),
    ],
)
async def test_a_holds_scope_and_the_names_it_gives_must_agree(
    caller: Caller, scope: str, names: dict[str, str], message: str
) -> None:
    response = await caller.client.post(
        "/compliance/legal-holds", json=hold_body(scope=scope, **names), headers=_officer(caller)
    )
    assert response.status_code == 400
    assert response.json()["message"] == message
    listing = await caller.client.get("/compliance/legal-holds", headers=_officer(caller))
    assert listing.json()["total"] == 0


@pytest.mark.parametrize("roles", [("user",), ("ingest",), ("user", "ingest")])
async def test_only_compliance_officers_reach_these_endpoints(
    caller: Caller, roles: tuple[str, ...]
) -> None:
    headers = caller.auth("usr_alice", *roles)
    for method, path in [
        ("GET", "/compliance/legal-holds"),
        ("POST", "/compliance/legal-holds"),
        ("DELETE", "/compliance/legal-holds/hold_x"),
        ("PATCH", "/compliance/legal-holds/hold_x"),
        ("GET", "/compliance/retention-runs"),
    ]:
        response = await caller.client.request(
            method,
            path,
            headers=headers,
            json={"reason": "x"} if method in ("POST", "PATCH") else None,
        )
        assert response.status_code == 403, (method, path)
        assert response.json()["code"] == 403
    assert (await caller.client.get("/compliance/legal-holds")).status_code == 401


async def test_another_tenants_hold_is_not_found(caller: Caller) -> None:
    placed = await caller.client.post(
        "/compliance/legal-holds",
        json=hold_body(reason="mine"),
        headers=_officer(caller),
    )
    other = _officer(caller, tenant_id=caller.tenant_id + "_b")
    hold_id = placed.json()["data"]["id"]
    assert (
        await caller.client.delete(f"/compliance/legal-holds/{hold_id}", headers=other)
    ).status_code == 404
    changed = await caller.client.patch(
        f"/compliance/legal-holds/{hold_id}", json={"reason": "theirs"}, headers=other
    )
    assert changed.status_code == 404
    assert (await caller.client.get("/compliance/legal-holds", headers=other)).json()["items"] == []


async def test_retention_runs_show_an_officer_only_their_own_tenants_counts(
    caller: Caller, database: SQLAlchemyAsyncConfig, master_keys: MasterKeyring
) -> None:
    old = (datetime.now(UTC) - timedelta(days=500)).isoformat()
    await caller.create(created_at=old)
    other_tenant = caller.tenant_id + "_b"
    await caller.client.post(
        "/communication/logs",
        json={
            "user_id": "u",
            "channel": "sms",
            "recipient": "+8613812348000",
            "content": "x",
            "created_at": old,
        },
        headers=caller.auth("svc", "ingest", tenant_id=other_tenant),
    )
    for tenant in (caller.tenant_id, other_tenant):
        await run_retention(
            database.get_engine(),
            master_keys,
            UnwrappedKeyCache(),
            DEFAULT_POLICY,
            RunOptions(actor="test", tenant_id=tenant),
        )
    response = await caller.client.get(
        "/compliance/retention-runs", params={"page_size": 100}, headers=_officer(caller)
    )
    assert response.status_code == 200
    body = response.json()
    assert set(body) == {"code", "message", "timestamp", "items", "total", "pagination"}
    mine = [run for run in body["items"] if run["counts"].get("record")]
    assert len(mine) == 1
    assert mine[0]["counts"] == {"content": 0, "recipient": 0, "record": 1, "released_holds": 0}
    assert mine[0]["status"] == "succeeded"
    assert mine[0]["policy_digest"] == DEFAULT_POLICY.digest()
    assert other_tenant not in response.text
