"""Appending to the audit trail: one event, in the caller's transaction, under the chain
head's lock.

An event is appended in the same transaction as the change it records, so the change and
its evidence commit together or not at all (GDPR Art. 5(2), accountability). The head row
of the tenant's chain is locked (``SELECT … FOR UPDATE`` on PostgreSQL; SQLite's write
transactions are serial already) while the next event is computed, so concurrent writers
take turns and a chain never forks; ``uq_audit_events_chain`` refuses a fork even if a
writer skipped the lock.
"""

from __future__ import annotations

import secrets
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

import msgspec
from sqlalchemy import select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from compliance.audit.models import AuditChainHead, AuditCheckpoint, AuditEventRow
from compliance.encryption.master import MasterKeyring
from policies.audit_chain import (
    EVENT_ID_PREFIX,
    GENESIS_HASH,
    Actor,
    ChainedEvent,
    canonical_json,
    head_statement,
    next_event,
)


class AuditChainBroken(Exception):
    """A chain's head does not hold up (its signature is missing or wrong, or it names an
    event that is not stored as it says): nothing is appended on top of it.

    Appending would sign whatever the head says, so a rewritten or truncated chain would
    come out of the next ordinary action signed and verifying. The action it was to record
    fails instead, and ``commlog audit verify`` names the broken link. The message names
    the tenant and the sequence, never an event's content."""


def new_event_id() -> str:
    """A fresh event id (pre-allocated when a response header must name the event before
    the event can be written, as an export's ``X-Audit-Event-Id``)."""
    return EVENT_ID_PREFIX + secrets.token_hex(12)


def utc_now() -> datetime:
    return datetime.now(UTC)


async def _locked_head(session: AsyncSession, tenant_id: str) -> AuditChainHead:
    """The tenant's chain head, created at (0, genesis) if the chain is new, locked for
    the rest of the transaction."""
    dialect = session.get_bind().dialect.name
    values = {"tenant_id": tenant_id, "sequence": 0, "hash": GENESIS_HASH, "updated_at": utc_now()}
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    await session.execute(
        insert(AuditChainHead).values(**values).on_conflict_do_nothing(index_elements=["tenant_id"])
    )
    head = (
        await session.execute(
            select(AuditChainHead)
            .where(AuditChainHead.tenant_id == tenant_id)
            .with_for_update()
            .execution_options(populate_existing=True)
        )
    ).scalar_one()
    return head


async def _check_head(session: AsyncSession, master: MasterKeyring, head: AuditChainHead) -> None:
    """Refuse to extend a head that is unsigned, signed wrongly, or that names an event
    whose stored hash differs (a chain cut back or rewritten behind the triggers' back).

    A head left unsigned by migration 0006 is signed by ``commlog database upgrade`` once
    its chain verifies; until then nothing is appended to it."""
    if head.sequence == 0:
        return
    where = f"tenant {head.tenant_id!r} at sequence {head.sequence}"
    statement = head_statement(head.tenant_id, head.sequence, head.hash)
    if head.signature is None or not master.verify(head.signature, statement):
        raise AuditChainBroken(f"the audit chain head of {where} is not validly signed")
    stored = await session.scalar(
        select(AuditEventRow.hash).where(
            AuditEventRow.tenant_id == head.tenant_id, AuditEventRow.sequence == head.sequence
        )
    )
    if stored is not None and stored != head.hash:
        raise AuditChainBroken(f"the audit chain of {where} does not end where its head says")
    if stored is None and not await _behind_checkpoint(session, head):
        raise AuditChainBroken(f"the audit chain of {where} lost its last event")


async def _behind_checkpoint(session: AsyncSession, head: AuditChainHead) -> bool:
    """Whether audit retention removed the head's event under a checkpoint (a chain
    whose every event is past the window)."""
    covering = await session.scalar(
        select(AuditCheckpoint.id)
        .where(
            AuditCheckpoint.tenant_id == head.tenant_id,
            AuditCheckpoint.sequence == head.sequence,
            AuditCheckpoint.hash == head.hash,
        )
        .limit(1)
    )
    return covering is not None


def stored_event(row: AuditEventRow) -> ChainedEvent:
    """A stored row as the chain sees it (its JSON columns parsed)."""
    return ChainedEvent(
        id=row.id,
        tenant_id=row.tenant_id,
        sequence=row.sequence,
        occurred_at=row.occurred_at,
        actor=row.actor,
        actor_kind=row.actor_kind,
        actor_origin=msgspec.json.decode(row.actor_origin),
        action=row.action,
        target=row.target,
        details=msgspec.json.decode(row.details),
        previous_hash=row.previous_hash,
        hash=row.hash,
    )


async def append_event(
    session: AsyncSession,
    master: MasterKeyring,
    *,
    tenant_id: str,
    actor: Actor,
    action: str,
    target: str | None = None,
    details: Mapping[str, Any] | None = None,
    event_id: str | None = None,
) -> ChainedEvent:
    """Append one event to ``tenant_id``'s chain in ``session``'s (write) transaction.

    ``details`` must never hold a recipient, content or key in clear: name records by id
    and recipients by their keyed hash. Raises
    :class:`policies.audit_chain.ChainFormatError` for details the chain cannot encode.
    """
    head = await _locked_head(session, tenant_id)
    await _check_head(session, master, head)
    event = next_event(
        event_id=event_id or new_event_id(),
        tenant_id=tenant_id,
        head_sequence=head.sequence,
        head_hash=head.hash,
        occurred_at=utc_now(),
        actor=actor,
        action=action,
        target=target,
        details=details or {},
    )
    session.add(
        AuditEventRow(
            id=event.id,
            tenant_id=event.tenant_id,
            sequence=event.sequence,
            occurred_at=event.occurred_at,
            actor=event.actor,
            actor_kind=event.actor_kind,
            actor_origin=canonical_json(dict(event.actor_origin)).decode(),
            action=event.action,
            target=event.target,
            details=canonical_json(dict(event.details)).decode(),
            previous_hash=event.previous_hash,
            hash=event.hash,
        )
    )
    head.sequence = event.sequence
    head.hash = event.hash
    head.signature = master.sign(head_statement(tenant_id, event.sequence, event.hash))
    head.updated_at = event.occurred_at
    await session.flush()
    return event


__all__ = ["AuditChainBroken", "append_event", "new_event_id", "stored_event"]
