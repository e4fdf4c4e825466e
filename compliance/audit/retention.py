"""Retention of the audit trail itself: the oldest events go, a signed checkpoint stays.

Evidence is personal data too (actors, record ids, keyed recipient hashes), so the trail
is not kept for ever (GDPR Art. 5(1)(e)); it is kept at least as long as the records it
speaks about and at least six months (the issue cites China's Cybersecurity Law Art. 21(3)
for network logs), see ``service.settings`` ``COMMLOG_AUDIT_RETENTION_DAYS``.

Removing events must not break verification. Each batch, in one transaction: the chain's
head is locked (no append can interleave), a checkpoint naming the sequence and hash of
the last event to go is written and signed by the primary master key, the events up to it
are deleted (the append-only trigger allows ``DELETE`` only of events a checkpoint
covers), and an ``audit.checkpoint`` event says how many went. A verifier starts from the
newest checkpoint: the first remaining event's ``previous_hash`` must equal its hash.
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from compliance.audit.models import AuditChainHead, AuditCheckpoint, AuditEventRow
from compliance.audit.trail import append_event, utc_now
from compliance.encryption.master import MasterKeyring
from compliance.transactions import begin_write, commit
from policies.audit_chain import Actor, checkpoint_statement, head_statement

DEFAULT_AUDIT_BATCH_SIZE = 5_000
SessionFactory = Callable[[], AbstractAsyncContextManager[AsyncSession]]


@dataclass(frozen=True, slots=True, kw_only=True)
class TrailExpiry:
    """What one chain's expiry removed."""

    tenant_id: str
    removed: int
    through_sequence: int | None
    checkpoints: int


async def audit_chains(session: AsyncSession) -> list[str]:
    """Every chain with a head (the system chain ``""`` included), sorted."""
    return sorted((await session.execute(select(AuditChainHead.tenant_id))).scalars())


async def _expiring_prefix(
    session: AsyncSession, tenant_id: str, before: datetime, limit: int, ceiling: int
) -> tuple[int, str] | None:
    """(sequence, hash) of the last of the longest run of the chain's oldest events that all
    occurred before ``before``, at most ``limit`` of them; ``None`` if the oldest is
    younger. Only a prefix goes: a verifier must see an unbroken chain after the
    checkpoint even if a clock once stepped back. Nothing after ``ceiling`` (the head
    when the expiry began) goes: not the expiry's own ``audit.checkpoint`` events."""
    rows = (
        await session.execute(
            select(AuditEventRow.sequence, AuditEventRow.hash, AuditEventRow.occurred_at)
            .where(AuditEventRow.tenant_id == tenant_id, AuditEventRow.sequence <= ceiling)
            .order_by(AuditEventRow.sequence)
            .limit(limit)
        )
    ).all()
    last: tuple[int, str] | None = None
    for sequence, event_hash, occurred_at in rows:
        if occurred_at >= before:
            break
        last = (sequence, event_hash)
    return last


async def expire_chain(
    sessions: SessionFactory,
    master: MasterKeyring,
    *,
    tenant_id: str,
    before: datetime,
    actor: Actor,
    batch_size: int = DEFAULT_AUDIT_BATCH_SIZE,
    target: str | None = None,
) -> TrailExpiry:
    """Remove ``tenant_id``'s events that occurred before ``before``, oldest first, in
    batches of at most ``batch_size``, each under a signed checkpoint (see the module).

    A crash loses at most the batch in flight (its checkpoint, deletion and event commit
    together or not at all); the next run continues.
    """
    removed = checkpoints = 0
    through: int | None = None
    ceiling: int | None = None
    while True:
        async with sessions() as session:
            await begin_write(session)
            # The head's lock first: appends to this chain wait until the batch commits.
            head = await session.scalar(
                select(AuditChainHead.sequence)
                .where(AuditChainHead.tenant_id == tenant_id)
                .with_for_update()
            )
            if ceiling is None:
                ceiling = int(head or 0)
            prefix = await _expiring_prefix(session, tenant_id, before, batch_size, ceiling)
            if prefix is None:
                return TrailExpiry(
                    tenant_id=tenant_id,
                    removed=removed,
                    through_sequence=through,
                    checkpoints=checkpoints,
                )
            sequence, event_hash = prefix
            made_at = utc_now()
            session.add(
                AuditCheckpoint(
                    tenant_id=tenant_id,
                    sequence=sequence,
                    hash=event_hash,
                    made_at=made_at,
                    signature=master.sign(
                        checkpoint_statement(tenant_id, sequence, event_hash, made_at)
                    ),
                )
            )
            await session.flush()  # the trigger looks for it before it lets a row go
            result = await session.execute(
                delete(AuditEventRow)
                .where(AuditEventRow.tenant_id == tenant_id, AuditEventRow.sequence <= sequence)
                .execution_options(synchronize_session=False)
            )
            deleted = int(getattr(result, "rowcount", 0) or 0)
            await append_event(
                session,
                master,
                tenant_id=tenant_id,
                actor=actor,
                action="audit.checkpoint",
                target=target,
                details={
                    "removed": deleted,
                    "through_sequence": sequence,
                    "through_hash": event_hash,
                    "before": before.isoformat(),
                },
            )
            await commit(session, operation="audit_retention_batch")
        removed += deleted
        through = sequence
        checkpoints += 1


class AuditSignatureInvalid(Exception):
    """A stored head or checkpoint signature does not verify: re-signing it would launder
    a tampered trail, so master-key rotation stops."""


async def resign_audit_trail(session: AsyncSession, master: MasterKeyring) -> int:
    """Re-sign every chain head and checkpoint not signed by the primary master key
    (``keys rotate-master``, in its transaction): once the old key is removed from the
    configuration, what it signed could no longer be checked.

    Each old signature is verified first (with the old key, still configured during
    rotation); one that fails raises :class:`AuditSignatureInvalid` and nothing is
    re-signed. A head without a signature (chains migrated from ``key_events``, never
    appended to since) stays unsigned: only an append signs it, after the chain was
    extended by the service itself. Returns how many signatures were replaced.
    """
    replaced = 0
    heads = (
        await session.execute(
            select(AuditChainHead)
            .where(AuditChainHead.signature.is_not(None))
            .order_by(AuditChainHead.tenant_id)
            .with_for_update()
        )
    ).scalars()
    for head in heads:
        signature = head.signature
        if signature is None or master.signed_by(signature) == master.primary_id:
            continue
        statement = head_statement(head.tenant_id, head.sequence, head.hash)
        if not master.verify(signature, statement):
            raise AuditSignatureInvalid(
                f"the audit chain head of tenant {head.tenant_id or '(system)'} does not "
                "verify: run 'commlog audit verify' before rotating the master key"
            )
        head.signature = master.sign(statement)
        replaced += 1
    checkpoints = (
        await session.execute(select(AuditCheckpoint).order_by(AuditCheckpoint.id))
    ).scalars()
    for checkpoint in checkpoints:
        if master.signed_by(checkpoint.signature) == master.primary_id:
            continue
        statement = checkpoint_statement(
            checkpoint.tenant_id, checkpoint.sequence, checkpoint.hash, checkpoint.made_at
        )
        if not master.verify(checkpoint.signature, statement):
            raise AuditSignatureInvalid(
                f"audit checkpoint {checkpoint.id} of tenant "
                f"{checkpoint.tenant_id or '(system)'} does not verify"
            )
        checkpoint.signature = master.sign(statement)
        replaced += 1
    await session.flush()
    return replaced


__all__ = [
    "AuditSignatureInvalid",
    "TrailExpiry",
    "audit_chains",
    "expire_chain",
    "resign_audit_trail",
]
