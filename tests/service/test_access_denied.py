"""Refused requests to compliance endpoints are recorded as ``access.denied``: 401s on
the system chain, 403s on the token's tenant chain; never a token, never a failed
response when the trail cannot be written."""

from __future__ import annotations

import logging
import time
from pathlib import Path
from typing import Any

import pytest
from advanced_alchemy.extensions.litestar import SQLAlchemyAsyncConfig
from litestar.testing import AsyncTestClient
from sqlalchemy import select

from compliance.audit.models import AuditEventRow
from policies.audit_chain import SYSTEM_CHAIN
from service.app import create_app
from service.auth import TokenCodec
from service.settings import Settings
from tests.audit_chains import chain_events, details
from tests.conftest import TEST_JWT_SECRET, TEST_MASTER_KEYS
from tests.factories import Caller

HOLDS = "/compliance/legal-holds"


async def _denials_of_request(
    database: SQLAlchemyAsyncConfig, tenant_id: str, request_id: str
) -> list[AuditEventRow]:
    async with database.get_session() as session:
        rows = (
            await session.execute(
                select(AuditEventRow).where(
                    AuditEventRow.tenant_id == tenant_id, AuditEventRow.action == "access.denied"
                )
            )
        ).scalars()
        return [row for row in rows if request_id in row.actor_origin]


@pytest.mark.parametrize(
    ("headers", "reason"),
    [
        ({}, "missing"),
        ({"Authorization": "Bearer not-a-token"}, "invalid"),
        ("expired", "expired"),
    ],
)
async def test_a_401_on_a_compliance_endpoint_is_recorded_on_the_system_chain_without_the_token(
    caller: Caller,
    tokens: TokenCodec,
    database: SQLAlchemyAsyncConfig,
    headers: Any,
    reason: str,
) -> None:
    if headers == "expired":
        token = tokens.issue(
            tenant_id=caller.tenant_id,
            user_id="usr_officer",
            roles=["compliance_officer"],
            ttl_seconds=60,
            now=int(time.time()) - 3600,
        )
        headers = {"Authorization": f"Bearer {token}"}
    response = await caller.client.get(HOLDS, headers=headers)
    assert response.status_code == 401

    (event,) = await _denials_of_request(database, SYSTEM_CHAIN, response.headers["x-request-id"])
    assert (event.actor, event.actor_kind) == ("anonymous", "anonymous")
    assert details(event) == {
        "status": 401,
        "method": "GET",
        "route": HOLDS,
        "reason": reason,
        "client": "testclient",
    }
    if "Authorization" in headers:
        token_text = headers["Authorization"].removeprefix("Bearer ")
        assert token_text not in event.details + event.actor_origin


async def test_a_403_on_a_compliance_endpoint_is_recorded_on_the_tokens_tenant_chain(
    caller: Caller, database: SQLAlchemyAsyncConfig
) -> None:
    response = await caller.client.get(HOLDS, headers=caller.auth("usr_bob", "ingest"))
    assert response.status_code == 403

    (event,) = await chain_events(database, caller.tenant_id)
    assert event.action == "access.denied"
    assert (event.actor, event.actor_kind) == ("usr_bob", "ingest")
    assert response.headers["x-request-id"] in event.actor_origin
    assert details(event) == {
        "status": 403,
        "method": "GET",
        "route": HOLDS,
        "missing_role": "compliance_officer",
    }


async def test_refusals_outside_the_compliance_endpoints_are_not_recorded(
    caller: Caller, database: SQLAlchemyAsyncConfig
) -> None:
    response = await caller.client.get("/communication/logs")
    assert response.status_code == 401
    assert await _denials_of_request(database, SYSTEM_CHAIN, response.headers["x-request-id"]) == []
    forbidden = await caller.client.post(
        "/communication/logs", json={}, headers=caller.auth("usr_bob", "user")
    )
    assert forbidden.status_code == 403
    assert await chain_events(database, caller.tenant_id) == []


async def test_a_refusal_is_answered_the_same_when_the_trail_cannot_be_written(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    unreachable = f"sqlite+aiosqlite:///{tmp_path / 'missing' / 'dir' / 'commlog.db'}"
    settings = Settings(
        database_url=unreachable,
        jwt_secret=TEST_JWT_SECRET,
        var_dir=tmp_path,
        master_keys=TEST_MASTER_KEYS,
        db_connect_timeout=1.0,
    )
    with caplog.at_level(logging.WARNING, logger="commlog.audit"):
        async with AsyncTestClient(app=create_app(settings)) as client:
            response = await client.get(HOLDS, headers={"Authorization": "Bearer stolen-token"})
    assert response.status_code == 401
    assert response.json()["code"] == 401
    lines = [r.getMessage() for r in caplog.records if r.name == "commlog.audit"]
    assert lines == ["access.denied not recorded in the audit trail: OperationalError (status 401)"]
    assert all("stolen-token" not in line for line in lines)
