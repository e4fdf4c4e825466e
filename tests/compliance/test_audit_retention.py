"""Retention of the audit trail: old events go under a signed checkpoint, what stays still
verifies, nothing else can delete, and master-key rotation keeps signatures checkable."""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest
from advanced_alchemy.extensions.litestar import SQLAlchemyAsyncConfig
from sqlalchemy import delete, select, update
from sqlalchemy.exc import DBAPIError

from compliance.audit.models import AuditChainHead, AuditCheckpoint, AuditEventRow
from compliance.audit.retention import AuditSignatureInvalid, expire_chain, resign_audit_trail
from compliance.audit.trail import append_event
from compliance.encryption.keystore import UnwrappedKeyCache
from compliance.encryption.master import (
    MasterKeyring,
    new_master_key_entry,
    parse_master_keys,
)
from compliance.retention.job import RunOptions, run_retention
from compliance.transactions import begin_write, commit
from policies.audit_chain import SYSTEM_CHAIN, Actor, ActorKind
from policies.retention import DEFAULT_POLICY
from service.persistence.database import create_database_config
from tests.audit_chains import assert_chain_verifies, chain_events, details
from tests.conftest import TEST_MASTER_KEY_ENTRY

OFFICER = Actor(id="usr_officer", kind=ActorKind.OFFICER)
RETENTION = Actor(id="retention", kind=ActorKind.SYSTEM)


def _fresh_tenant() -> str:
    return "tnt_" + secrets.token_hex(6)


async def _append(
    database: SQLAlchemyAsyncConfig, master: MasterKeyring, tenant_id: str, n: int
) -> None:
    for index in range(n):
        async with database.get_session() as session:
            await begin_write(session)
            await append_event(
                session,
                master,
                tenant_id=tenant_id,
                actor=OFFICER,
                action="export.completed",
                target=f"exp_{index}",
                details={"rows": index},
            )
            await commit(session, operation="test_audit")


async def test_events_past_the_window_go_under_a_signed_checkpoint_and_the_rest_verify(
    database: SQLAlchemyAsyncConfig, master_keys: MasterKeyring
) -> None:
    tenant = _fresh_tenant()
    await _append(database, master_keys, tenant, 5)
    boundary = datetime.now(UTC)
    await _append(database, master_keys, tenant, 3)
    old = [row.sequence for row in await chain_events(database, tenant)][:5]
    assert old == [1, 2, 3, 4, 5]

    expiry = await expire_chain(
        database.get_session,
        master_keys,
        tenant_id=tenant,
        before=boundary,
        actor=RETENTION,
        batch_size=2,
    )

    assert (expiry.removed, expiry.through_sequence, expiry.checkpoints) == (5, 5, 3)
    events = await assert_chain_verifies(database, master_keys, tenant)
    # Events 6-8 stay; each batch appended one audit.checkpoint (9-11).
    assert [e.sequence for e in events] == [6, 7, 8, 9, 10, 11]
    checkpoints = [details(e) for e in events if e.action == "audit.checkpoint"]
    assert [(c["removed"], c["through_sequence"]) for c in checkpoints] == [(2, 2), (2, 4), (1, 5)]


async def test_a_delete_without_a_covering_checkpoint_is_still_refused(
    database: SQLAlchemyAsyncConfig, master_keys: MasterKeyring
) -> None:
    tenant = _fresh_tenant()
    await _append(database, master_keys, tenant, 2)
    boundary = datetime.now(UTC)
    await _append(database, master_keys, tenant, 2)
    await expire_chain(
        database.get_session, master_keys, tenant_id=tenant, before=boundary, actor=RETENTION
    )
    async with database.get_session() as session:
        await begin_write(session)
        with pytest.raises(DBAPIError, match="append-only"):
            await session.execute(
                delete(AuditEventRow).where(
                    AuditEventRow.tenant_id == tenant, AuditEventRow.sequence == 3
                )
            )
        await session.rollback()
    assert [e.sequence for e in await chain_events(database, tenant)] == [3, 4, 5]


async def test_the_retention_job_removes_audit_events_past_the_trails_window(
    database: SQLAlchemyAsyncConfig, master_keys: MasterKeyring
) -> None:
    tenant = _fresh_tenant()
    await _append(database, master_keys, tenant, 4)
    window = timedelta(days=2_190)
    later = datetime.now(UTC) + window + timedelta(days=1)  # every event so far is past it

    report = await run_retention(
        database.get_engine(),
        master_keys,
        UnwrappedKeyCache(),
        DEFAULT_POLICY,
        RunOptions(actor="ops", tenant_id=tenant, clock=lambda: later, audit_retention=window),
    )

    # The 4 events and the run's own outcome for the tenant went; the checkpoint's event stays.
    assert report.audit_events_removed == {tenant: 5}
    (event,) = await assert_chain_verifies(database, master_keys, tenant)
    assert event.action == "audit.checkpoint"
    assert event.target == report.run_id
    assert details(event)["removed"] == 5


@pytest.fixture
async def private(private_database_url: str) -> AsyncIterator[SQLAlchemyAsyncConfig]:
    """Master-key rotation re-signs every chain: a database of the test's own."""
    config = create_database_config(private_database_url)
    yield config
    await config.get_engine().dispose()


async def test_rotating_the_master_key_re_signs_chain_heads_and_checkpoints(
    private: SQLAlchemyAsyncConfig, master_keys: MasterKeyring
) -> None:
    tenant = _fresh_tenant()
    await _append(private, master_keys, tenant, 3)
    await _append(private, master_keys, SYSTEM_CHAIN, 1)
    await expire_chain(
        private.get_session,
        master_keys,
        tenant_id=tenant,
        before=datetime.now(UTC),
        actor=RETENTION,
    )
    entry = new_master_key_entry("rotated")
    rotated = parse_master_keys(entry + "," + TEST_MASTER_KEY_ENTRY, source="test")
    async with private.get_session() as session:
        await begin_write(session)
        replaced = await resign_audit_trail(session, rotated)
        await commit(session, operation="test_resign")
    assert replaced == 3  # two heads and one checkpoint

    # The old key can go: everything verifies under the new one alone.
    new_only = parse_master_keys(entry, source="test")
    async with private.get_session() as session:
        heads = list((await session.execute(select(AuditChainHead))).scalars())
        checkpoints = list((await session.execute(select(AuditCheckpoint))).scalars())
    assert all(rotated.signed_by(h.signature or "") == "rotated" for h in heads)
    assert all(rotated.signed_by(c.signature) == "rotated" for c in checkpoints)
    await assert_chain_verifies(private, new_only, tenant)
    await assert_chain_verifies(private, new_only, SYSTEM_CHAIN)


async def test_a_head_whose_signature_does_not_verify_stops_master_rotation(
    private: SQLAlchemyAsyncConfig, master_keys: MasterKeyring
) -> None:
    tenant = _fresh_tenant()
    await _append(private, master_keys, tenant, 2)
    async with private.get_session() as session:
        await begin_write(session)
        await session.execute(
            update(AuditChainHead).where(AuditChainHead.tenant_id == tenant).values(hash="f" * 64)
        )
        await commit(session, operation="test_tamper")
    rotated = parse_master_keys(
        new_master_key_entry("rotated") + "," + TEST_MASTER_KEY_ENTRY, source="test"
    )
    async with private.get_session() as session:
        await begin_write(session)
        with pytest.raises(AuditSignatureInvalid, match=tenant):
            await resign_audit_trail(session, rotated)
