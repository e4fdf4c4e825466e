"""A minimal chain check for tests (the full verifier is ``commlog audit verify``): links,
hashes, the newest checkpoint's signature and link, and the head's signature."""

from __future__ import annotations

from typing import Any

import msgspec
from advanced_alchemy.extensions.litestar import SQLAlchemyAsyncConfig
from sqlalchemy import select

from compliance.audit.models import AuditChainHead, AuditCheckpoint, AuditEventRow
from compliance.audit.trail import stored_event
from compliance.audit.verify import verify_stored_chain
from compliance.encryption.master import MasterKeyring
from policies.audit_chain import GENESIS_HASH, checkpoint_statement, head_statement


async def chain_events(database: SQLAlchemyAsyncConfig, tenant_id: str) -> list[AuditEventRow]:
    async with database.get_session() as session:
        rows = await session.execute(
            select(AuditEventRow)
            .where(AuditEventRow.tenant_id == tenant_id)
            .order_by(AuditEventRow.sequence)
        )
        return list(rows.scalars())


def details(row: AuditEventRow) -> dict[str, Any]:
    decoded: dict[str, Any] = msgspec.json.decode(row.details)
    return decoded


async def assert_chain_verifies(
    database: SQLAlchemyAsyncConfig, master: MasterKeyring, tenant_id: str
) -> list[AuditEventRow]:
    """Assert the stored chain verifies from its newest checkpoint (or genesis) to its
    signed head; return its events."""
    events = await chain_events(database, tenant_id)
    async with database.get_session() as session:
        checkpoint = (
            await session.execute(
                select(AuditCheckpoint)
                .where(AuditCheckpoint.tenant_id == tenant_id)
                .order_by(AuditCheckpoint.sequence.desc())
                .limit(1)
            )
        ).scalar_one_or_none()
        head = await session.get(AuditChainHead, tenant_id)
    sequence, previous = 0, GENESIS_HASH
    if checkpoint is not None:
        statement = checkpoint_statement(
            tenant_id, checkpoint.sequence, checkpoint.hash, checkpoint.made_at
        )
        assert master.verify(checkpoint.signature, statement), "checkpoint signature"
        sequence, previous = checkpoint.sequence, checkpoint.hash
    for row in events:
        event = stored_event(row)
        assert event.sequence == sequence + 1, f"gap before {event.sequence}"
        assert event.previous_hash == previous, f"broken link at {event.sequence}"
        assert event.computed_hash() == row.hash, f"hash differs at {event.sequence}"
        sequence, previous = event.sequence, row.hash
    assert head is not None
    assert (head.sequence, head.hash) == (sequence, previous)
    assert head.signature is not None
    assert master.verify(head.signature, head_statement(tenant_id, sequence, previous))
    async with database.get_session() as session:  # and the verifier agrees
        report = await verify_stored_chain(session, master, tenant_id)
    assert report.broken is None, report.broken
    return events
