"""A retention run over every tenant tells each tenant's officer only about their tenant.

Runs here span every tenant of the database, so each test has a database of its own.
"""

from __future__ import annotations

from datetime import UTC, datetime

import msgspec
import pytest
from advanced_alchemy.extensions.litestar import SQLAlchemyAsyncConfig
from sqlalchemy import select

from compliance.encryption.keystore import KeyPurpose, TenantKey, UnwrappedKeyCache
from compliance.encryption.master import MasterKeyring
from compliance.retention.job import RunOptions, run_retention
from compliance.retention.lock import RetentionFailed
from compliance.retention.models import RetentionRun
from compliance.retention.runs import TENANT_FAILURE_TEXT, TenantFailure
from policies.retention import DEFAULT_POLICY
from tests.factories import Caller, hold_body

SECRET_TENANT = "tnt_secretbank"
JANUARY = "2026-01-15T10:00:00Z"
AS_OF = datetime(2026, 11, 20, tzinfo=UTC)


@pytest.fixture
def database_url(private_database_url: str) -> str:
    return private_database_url


async def _corrupt_content_key(database: SQLAlchemyAsyncConfig, tenant_id: str) -> None:
    async with database.get_session() as session:
        key = (
            await session.execute(
                select(TenantKey).where(
                    TenantKey.tenant_id == tenant_id,
                    TenantKey.purpose == KeyPurpose.CONTENT,
                    TenantKey.epoch == "2026-01",
                )
            )
        ).scalar_one()
        assert key.wrapped_key is not None
        key.wrapped_key = key.wrapped_key[:-1] + bytes([key.wrapped_key[-1] ^ 1])
        await session.commit()


async def _runs_seen_by_officer(caller: Caller, tenant_id: str) -> tuple[str, list[dict]]:  # type: ignore[type-arg]
    response = await caller.client.get(
        "/compliance/retention-runs",
        headers=caller.auth("usr_officer", "compliance_officer", tenant_id=tenant_id),
    )
    assert response.status_code == 200
    return response.text, response.json()["items"]


async def test_an_officer_sees_no_word_of_another_tenants_retention_failure(
    caller: Caller, database: SQLAlchemyAsyncConfig, master_keys: MasterKeyring
) -> None:
    await caller.create(created_at=JANUARY)
    secret = Caller(client=caller.client, tokens=caller.tokens, tenant_id=SECRET_TENANT)
    await secret.create(user_id="usr_held", created_at=JANUARY, content="keep 424242")
    hold = await caller.client.post(
        "/compliance/legal-holds",
        json=hold_body(reason="litigation", scope="user", user_id="usr_held"),
        headers=secret.auth("usr_officer", "compliance_officer"),
    )
    assert hold.status_code == 201
    # Moving the held record off January's key must open that key: it fails.
    await _corrupt_content_key(database, SECRET_TENANT)

    with pytest.raises(RetentionFailed, match=SECRET_TENANT):
        await run_retention(
            database.get_engine(),
            master_keys,
            UnwrappedKeyCache(),
            DEFAULT_POLICY,
            RunOptions(actor="scheduler", clock=lambda: AS_OF),
        )

    text, items = await _runs_seen_by_officer(caller, caller.tenant_id)
    assert len(items) == 1
    assert items[0]["status"] == "succeeded"
    assert items[0]["error"] is None
    assert items[0]["counts"]["content"] == 1
    for word in ("secretbank", SECRET_TENANT, "MasterKey", "master key", "test-1", "tenant "):
        assert word not in text

    text, items = await _runs_seen_by_officer(caller, SECRET_TENANT)
    assert items[0]["status"] == "failed"
    assert items[0]["error"] == TENANT_FAILURE_TEXT[TenantFailure.KEY_UNAVAILABLE]
    assert caller.tenant_id not in text
    assert "MasterKeyMismatch" not in text

    async with database.get_session() as session:
        run = (await session.execute(select(RetentionRun))).scalar_one()
    assert msgspec.json.decode(run.tenant_outcomes) == {
        caller.tenant_id: {"status": "succeeded"},
        SECRET_TENANT: {"status": "failed", "error": "key_unavailable"},
    }
    assert run.error is not None
    assert run.error.startswith(f"tenant {SECRET_TENANT}: MasterKeyMismatch")  # operators


async def test_a_failed_run_without_an_outcome_for_the_tenant_says_only_that_it_did_not_complete(
    caller: Caller, database: SQLAlchemyAsyncConfig
) -> None:
    async with database.get_session() as session:
        session.add(
            RetentionRun(
                id="run_legacy",
                started_at=AS_OF,
                finished_at=AS_OF,
                status="failed",
                dry_run=False,
                as_of=AS_OF,
                actor="scheduler",
                policy_digest=DEFAULT_POLICY.digest(),
                policy="{}",
                counts="{}",
                keys_destroyed="[]",
                error=f"tenant {SECRET_TENANT}: MasterKeyMismatch: master key 'test-1' ...",
            )
        )
        await session.commit()
    text, items = await _runs_seen_by_officer(caller, caller.tenant_id)
    assert [(i["id"], i["status"]) for i in items] == [("run_legacy", "failed")]
    assert items[0]["error"] == "the run did not complete for your tenant"
    assert SECRET_TENANT not in text
    assert "MasterKey" not in text
