"""The audit trail's append: one unforked, hash-linked, signed chain per tenant, and a
table that refuses to be rewritten."""

from __future__ import annotations

import asyncio
import itertools
import secrets

import pytest
from advanced_alchemy.extensions.litestar import SQLAlchemyAsyncConfig
from sqlalchemy import delete, select, text, update
from sqlalchemy.exc import DBAPIError, IntegrityError

from compliance.audit.models import AuditChainHead, AuditEventRow
from compliance.audit.trail import append_event, stored_event
from compliance.encryption.master import MasterKeyring
from compliance.transactions import begin_write, commit
from policies.audit_chain import GENESIS_HASH, Actor, ActorKind, head_statement

CHAINED_COLUMNS = (
    *("tenant_id", "sequence", "occurred_at", "actor", "actor_kind", "actor_origin"),
    *("action", "target", "details", "previous_hash", "hash"),
)
OFFICER = Actor(id="usr_officer", kind=ActorKind.OFFICER)


async def _append(
    database: SQLAlchemyAsyncConfig, master: MasterKeyring, tenant_id: str, n: int = 1
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
                target=f"log_{index}",
                details={"rows": index, "filters": {"channel": "sms"}, "名": "数据"},
            )
            await commit(session, operation="test_audit")


def _fresh_tenant() -> str:
    """The suite shares one database per kind: each test writes its own tenants' chains."""
    return "tenant_" + secrets.token_hex(4)


async def _chain(database: SQLAlchemyAsyncConfig, tenant_id: str) -> list[AuditEventRow]:
    async with database.get_session() as session:
        rows = await session.execute(
            select(AuditEventRow)
            .where(AuditEventRow.tenant_id == tenant_id)
            .order_by(AuditEventRow.sequence)
        )
        return list(rows.scalars())


async def test_events_form_one_hash_linked_chain_per_tenant(
    database: SQLAlchemyAsyncConfig, master_keys: MasterKeyring
) -> None:
    tenant_a, tenant_b = _fresh_tenant(), _fresh_tenant()
    await _append(database, master_keys, tenant_a, 3)
    await _append(database, master_keys, tenant_b, 2)
    for tenant_id, length in ((tenant_a, 3), (tenant_b, 2)):
        chain = await _chain(database, tenant_id)
        assert [row.sequence for row in chain] == list(range(1, length + 1))
        previous = GENESIS_HASH
        for row in chain:
            event = stored_event(row)
            assert event.previous_hash == previous
            assert event.computed_hash() == row.hash  # recomputed from the stored columns
            previous = row.hash
        async with database.get_session() as session:
            head = await session.get(AuditChainHead, tenant_id)
        assert head is not None
        assert (head.sequence, head.hash) == (length, previous)
        assert head.signature is not None
        assert master_keys.verify(head.signature, head_statement(tenant_id, length, previous))
        assert not master_keys.verify(head.signature, head_statement(tenant_id, length, "f" * 64))


async def test_stored_events_cannot_be_updated_or_deleted(
    database: SQLAlchemyAsyncConfig, master_keys: MasterKeyring
) -> None:
    tenant = _fresh_tenant()
    await _append(database, master_keys, tenant, 2)
    mine = AuditEventRow.tenant_id == tenant
    for statement in (
        update(AuditEventRow).where(mine).values(actor="someone_else"),
        delete(AuditEventRow).where(mine),
    ):
        async with database.get_session() as session:
            await begin_write(session)
            with pytest.raises(DBAPIError, match="append-only"):
                await session.execute(statement)
            await session.rollback()
    assert len(await _chain(database, tenant)) == 2
    if database.get_engine().dialect.name == "postgresql":
        async with database.get_session() as session:
            with pytest.raises(DBAPIError, match="append-only"):
                await session.execute(text("TRUNCATE audit_events"))


async def test_a_second_event_at_the_same_sequence_is_refused(
    database: SQLAlchemyAsyncConfig, master_keys: MasterKeyring
) -> None:
    tenant = _fresh_tenant()
    await _append(database, master_keys, tenant, 1)
    (first,) = await _chain(database, tenant)
    async with database.get_session() as session:
        await begin_write(session)
        session.add(
            AuditEventRow(
                **{column: getattr(first, column) for column in CHAINED_COLUMNS},
                id="aud_fork",
            )
        )
        with pytest.raises(IntegrityError):
            await session.flush()


async def test_concurrent_writers_never_fork_a_chain(
    database: SQLAlchemyAsyncConfig, master_keys: MasterKeyring
) -> None:
    writers, each = 8, 5
    await asyncio.gather(
        *(_append(database, master_keys, "tenant_c", each) for _ in range(writers))
    )
    chain = await _chain(database, "tenant_c")
    assert [row.sequence for row in chain] == list(range(1, writers * each + 1))
    assert all(later.previous_hash == earlier.hash for earlier, later in itertools.pairwise(chain))
