"""Verifying the audit trail as stored: an untouched chain verifies; a row changed,
removed, added or moved behind the append-only guard (trigger bypassed, as the table's
owner could) is reported at the first sequence it affects."""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta
from typing import Any

import pytest
from advanced_alchemy.extensions.litestar import SQLAlchemyAsyncConfig
from sqlalchemy import delete, select, text, update
from sqlalchemy.ext.asyncio import AsyncSession

from compliance.audit.models import AuditChainHead, AuditCheckpoint, AuditEventRow
from compliance.audit.trail import AuditChainBroken, append_event, stored_event
from compliance.audit.verify import sign_unsigned_heads, verify_stored_chain, verify_trail
from compliance.encryption.master import MasterKeyring, new_master_key_entry, parse_master_keys
from compliance.transactions import begin_write, commit
from policies.audit_chain import Actor, ActorKind, checkpoint_statement, next_event
from policies.audit_verification import BreakKind, ChainReport

CHAIN_LENGTH = 4
OFFICER = Actor(id="usr_officer", kind=ActorKind.OFFICER, origin={"request_id": "req_1"})


def fresh_tenant() -> str:
    return "tnt_" + secrets.token_hex(5)


async def append_chain(
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
                action="legal_hold.placed" if index % 2 else "export.completed",
                target=f"log_{index}",
                details={"rows": index, "理由": "诉讼保全", "filters": {"channel": "sms"}},
            )
            await commit(session, operation="test_audit")


@asynccontextmanager
async def owner_bypassing_the_guard(
    database: SQLAlchemyAsyncConfig,
) -> AsyncIterator[AsyncSession]:
    """A write transaction in which the append-only triggers are off, as the table's
    owner can make them: what a tamperer with the database's credentials can do."""
    async with database.get_session() as session:
        await begin_write(session)
        if session.get_bind().dialect.name == "postgresql":
            await session.execute(text("ALTER TABLE audit_events DISABLE TRIGGER USER"))
            yield session
            await session.execute(text("ALTER TABLE audit_events ENABLE TRIGGER USER"))
        else:
            triggers = (
                await session.execute(
                    text(
                        "SELECT name, sql FROM sqlite_master "
                        "WHERE type = 'trigger' AND tbl_name = 'audit_events'"
                    )
                )
            ).all()
            assert triggers
            for name, _ in triggers:
                await session.execute(text(f'DROP TRIGGER "{name}"'))
            yield session
            for _, sql in triggers:
                await session.execute(text(sql))
        await commit(session, operation="test_tamper")


async def verify(
    database: SQLAlchemyAsyncConfig, master: MasterKeyring, tenant_id: str
) -> ChainReport:
    async with database.get_session() as session:
        return await verify_stored_chain(session, master, tenant_id, batch_size=3)


def _changed_value(row: AuditEventRow, column: str, length: int) -> Any:
    value = getattr(row, column)
    match column:
        case "sequence":
            return length + 100
        case "occurred_at":
            return value + timedelta(seconds=1)
        case "actor_origin" | "details":
            return '{"forged":"是"}'
        case "previous_hash" | "hash":
            return ("f" if value[0] != "f" else "e") + value[1:]
        case "tenant_id":
            return fresh_tenant()
        case _:
            return value + "x"


COLUMNS = (
    *("id", "tenant_id", "sequence", "occurred_at", "actor", "actor_kind", "actor_origin"),
    *("action", "target", "details", "previous_hash", "hash"),
)
POSITIONS = (1, 2, CHAIN_LENGTH)


async def test_an_untouched_chain_verifies_batch_after_batch(
    database: SQLAlchemyAsyncConfig, master_keys: MasterKeyring
) -> None:
    tenant = fresh_tenant()
    await append_chain(database, master_keys, tenant, 7)
    report = await verify(database, master_keys, tenant)
    assert report.broken is None
    assert (report.events, report.head_sequence) == (7, 7)


@pytest.mark.parametrize("position", POSITIONS)
@pytest.mark.parametrize("column", COLUMNS)
async def test_a_changed_column_is_reported_at_its_event(
    database: SQLAlchemyAsyncConfig, master_keys: MasterKeyring, column: str, position: int
) -> None:
    tenant = fresh_tenant()
    await append_chain(database, master_keys, tenant, CHAIN_LENGTH)
    async with owner_bypassing_the_guard(database) as session:
        row = (
            await session.execute(
                select(AuditEventRow).where(
                    AuditEventRow.tenant_id == tenant, AuditEventRow.sequence == position
                )
            )
        ).scalar_one()
        await session.execute(
            update(AuditEventRow)
            .where(AuditEventRow.id == row.id)
            .values({column: _changed_value(row, column, CHAIN_LENGTH)})
        )
    report = await verify(database, master_keys, tenant)
    assert report.broken is not None
    assert report.broken.sequence == position, report.broken


@pytest.mark.parametrize("position", POSITIONS)
async def test_a_removed_event_is_reported_at_its_sequence(
    database: SQLAlchemyAsyncConfig, master_keys: MasterKeyring, position: int
) -> None:
    tenant = fresh_tenant()
    await append_chain(database, master_keys, tenant, CHAIN_LENGTH)
    async with owner_bypassing_the_guard(database) as session:
        await session.execute(
            delete(AuditEventRow).where(
                AuditEventRow.tenant_id == tenant, AuditEventRow.sequence == position
            )
        )
    report = await verify(database, master_keys, tenant)
    assert report.broken is not None
    assert report.broken.sequence == position


async def test_an_event_added_without_the_heads_lock_is_reported(
    database: SQLAlchemyAsyncConfig, master_keys: MasterKeyring
) -> None:
    """A well-formed, well-linked event inserted after the head (no trigger stops an
    INSERT): the signed head does not name it."""
    tenant = fresh_tenant()
    await append_chain(database, master_keys, tenant, CHAIN_LENGTH)
    async with database.get_session() as session:
        await begin_write(session)
        last = stored_event(
            (
                await session.execute(
                    select(AuditEventRow).where(
                        AuditEventRow.tenant_id == tenant,
                        AuditEventRow.sequence == CHAIN_LENGTH,
                    )
                )
            ).scalar_one()
        )
        forged = next_event(
            event_id="aud_" + secrets.token_hex(12),
            tenant_id=tenant,
            head_sequence=last.sequence,
            head_hash=last.hash,
            occurred_at=last.occurred_at,
            actor=OFFICER,
            action="legal_hold.released",
            target=None,
            details={},
        )
        session.add(
            AuditEventRow(
                **{
                    name: getattr(forged, name)
                    for name in COLUMNS
                    if name not in ("actor_origin", "details")
                },
                actor_origin='{"request_id":"req_1"}',
                details="{}",
            )
        )
        await commit(session, operation="test_forge")
    report = await verify(database, master_keys, tenant)
    assert report.broken is not None
    assert (report.broken.sequence, report.broken.kind) == (CHAIN_LENGTH + 1, BreakKind.HEAD)


@pytest.mark.parametrize(("first", "second"), [(1, 2), (1, CHAIN_LENGTH), (2, 3)])
async def test_two_events_that_swapped_places_are_reported_at_the_earlier(
    database: SQLAlchemyAsyncConfig, master_keys: MasterKeyring, first: int, second: int
) -> None:
    tenant = fresh_tenant()
    await append_chain(database, master_keys, tenant, CHAIN_LENGTH)
    mine = AuditEventRow.tenant_id == tenant
    async with owner_bypassing_the_guard(database) as session:
        for old, new in ((first, -1), (second, first), (-1, second)):
            await session.execute(
                update(AuditEventRow)
                .where(mine, AuditEventRow.sequence == old)
                .values(sequence=new)
            )
    report = await verify(database, master_keys, tenant)
    assert report.broken is not None
    assert report.broken.sequence == first


async def test_a_head_rewritten_without_the_master_key_is_reported(
    database: SQLAlchemyAsyncConfig, master_keys: MasterKeyring
) -> None:
    tenant = fresh_tenant()
    await append_chain(database, master_keys, tenant, CHAIN_LENGTH)
    async with owner_bypassing_the_guard(database) as session:
        await session.execute(
            delete(AuditEventRow).where(
                AuditEventRow.tenant_id == tenant, AuditEventRow.sequence == CHAIN_LENGTH
            )
        )
        previous = (
            await session.execute(
                select(AuditEventRow.hash).where(
                    AuditEventRow.tenant_id == tenant,
                    AuditEventRow.sequence == CHAIN_LENGTH - 1,
                )
            )
        ).scalar_one()
        await session.execute(
            update(AuditChainHead)
            .where(AuditChainHead.tenant_id == tenant)
            .values(sequence=CHAIN_LENGTH - 1, hash=previous)
        )
    report = await verify(database, master_keys, tenant)
    assert report.broken is not None
    assert (report.broken.sequence, report.broken.kind) == (CHAIN_LENGTH - 1, BreakKind.HEAD)
    assert "signature" in report.broken.detail
    other = parse_master_keys(new_master_key_entry("elsewhere-1"), source="tests")
    unknown = (await verify(database, other, tenant)).broken
    assert unknown is not None
    assert unknown.kind is BreakKind.UNKNOWN_KEY


async def test_a_chain_verifies_after_its_oldest_events_went_under_a_signed_checkpoint(
    database: SQLAlchemyAsyncConfig, master_keys: MasterKeyring
) -> None:
    tenant = fresh_tenant()
    await append_chain(database, master_keys, tenant, 5)
    async with database.get_session() as session:
        await begin_write(session)
        third = (
            await session.execute(
                select(AuditEventRow).where(
                    AuditEventRow.tenant_id == tenant, AuditEventRow.sequence == 3
                )
            )
        ).scalar_one()
        made_at = third.occurred_at
        session.add(
            AuditCheckpoint(
                tenant_id=tenant,
                sequence=3,
                hash=third.hash,
                made_at=made_at,
                signature=master_keys.sign(checkpoint_statement(tenant, 3, third.hash, made_at)),
            )
        )
        await session.flush()
        # the guard lets events a checkpoint covers go
        await session.execute(
            delete(AuditEventRow).where(
                AuditEventRow.tenant_id == tenant, AuditEventRow.sequence <= 3
            )
        )
        await commit(session, operation="test_checkpoint")
    report = await verify(database, master_keys, tenant)
    assert report.broken is None
    assert (report.events, report.checkpoint_sequence) == (2, 3)


async def test_concurrent_writers_on_many_connections_leave_chains_that_verify(
    database: SQLAlchemyAsyncConfig, master_keys: MasterKeyring
) -> None:
    tenants = [fresh_tenant() for _ in range(3)]
    await asyncio.gather(
        *(
            append_chain(database, master_keys, tenants[writer % len(tenants)], 6)
            for writer in range(12)
        )
    )
    reports = [
        report
        async for report in verify_trail(database.get_session, master_keys)
        if report.tenant_id in tenants
    ]
    assert [(r.tenant_id, r.events, r.broken) for r in reports] == [
        (tenant, 24, None) for tenant in sorted(tenants)
    ]


async def _unsign(database: SQLAlchemyAsyncConfig, tenant_id: str) -> None:
    async with database.get_session() as session:
        await begin_write(session)
        await session.execute(
            update(AuditChainHead)
            .where(AuditChainHead.tenant_id == tenant_id)
            .values(signature=None)
        )
        await commit(session, operation="test_unsign")


async def test_an_unsigned_head_is_reported_and_signed_only_if_its_chain_verifies(
    database: SQLAlchemyAsyncConfig, master_keys: MasterKeyring
) -> None:
    """A migration holds no master key: the heads it writes are unsigned until signed."""
    sound, broken = fresh_tenant(), fresh_tenant()
    for tenant in (sound, broken):
        await append_chain(database, master_keys, tenant, 3)
        await _unsign(database, tenant)
    async with owner_bypassing_the_guard(database) as session:
        await session.execute(
            update(AuditEventRow)
            .where(AuditEventRow.tenant_id == broken, AuditEventRow.sequence == 2)
            .values(actor="usr_forger")
        )
    report = await verify(database, master_keys, sound)
    assert report.broken is not None
    assert (report.broken.sequence, report.broken.kind) == (3, BreakKind.UNSIGNED)
    async with database.get_session() as session:
        await begin_write(session)
        signed = await sign_unsigned_heads(session, master_keys)
        await commit(session, operation="test_sign_heads")
    assert sound in signed
    assert broken not in signed
    assert (await verify(database, master_keys, sound)).broken is None
    still = (await verify(database, master_keys, broken)).broken
    assert still is not None
    assert still.sequence == 2


async def _append_once(
    database: SQLAlchemyAsyncConfig, master: MasterKeyring, tenant_id: str
) -> None:
    async with database.get_session() as session:
        await begin_write(session)
        await append_event(
            session, master, tenant_id=tenant_id, actor=OFFICER, action="export.completed"
        )
        await commit(session, operation="test_audit")


async def test_nothing_is_appended_to_a_chain_cut_back_behind_the_triggers(
    database: SQLAlchemyAsyncConfig, master_keys: MasterKeyring
) -> None:
    # The attack: delete the newest events, point the head at what is left, unsigned,
    # and let the next ordinary action sign the shortened chain.
    tenant = fresh_tenant()
    await append_chain(database, master_keys, tenant, 6)
    async with owner_bypassing_the_guard(database) as session:
        kept = (
            await session.execute(
                select(AuditEventRow).where(
                    AuditEventRow.tenant_id == tenant, AuditEventRow.sequence == 4
                )
            )
        ).scalar_one()
        await session.execute(
            delete(AuditEventRow).where(
                AuditEventRow.tenant_id == tenant, AuditEventRow.sequence > 4
            )
        )
        await session.execute(
            update(AuditChainHead)
            .where(AuditChainHead.tenant_id == tenant)
            .values(sequence=4, hash=kept.hash, signature=None)
        )
    with pytest.raises(AuditChainBroken, match="not validly signed"):
        await _append_once(database, master_keys, tenant)
    assert not (await verify(database, master_keys, tenant)).intact


async def test_nothing_is_appended_when_the_heads_event_was_rewritten(
    database: SQLAlchemyAsyncConfig, master_keys: MasterKeyring
) -> None:
    tenant = fresh_tenant()
    await append_chain(database, master_keys, tenant, 3)
    async with owner_bypassing_the_guard(database) as session:
        await session.execute(
            update(AuditEventRow)
            .where(AuditEventRow.tenant_id == tenant, AuditEventRow.sequence == 3)
            .values(hash="0" * 63 + "1")
        )
    with pytest.raises(AuditChainBroken, match="does not end where its head says"):
        await _append_once(database, master_keys, tenant)
    async with owner_bypassing_the_guard(database) as session:
        await session.execute(
            delete(AuditEventRow).where(
                AuditEventRow.tenant_id == tenant, AuditEventRow.sequence == 3
            )
        )
    with pytest.raises(AuditChainBroken, match="lost its last event"):
        await _append_once(database, master_keys, tenant)


async def test_an_intact_chain_keeps_growing(
    database: SQLAlchemyAsyncConfig, master_keys: MasterKeyring
) -> None:
    tenant = fresh_tenant()
    await append_chain(database, master_keys, tenant, 2)
    await _append_once(database, master_keys, tenant)
    report = await verify(database, master_keys, tenant)
    assert report.intact
