"""Verifying the audit trail against the database: every chain, or one tenant's.

Each chain is read in sequence order in bounded batches (keyset on ``sequence``, plain
rows, no identity map), so memory stays constant however long the chain; the pure
:class:`policies.audit_verification.ChainVerifier` judges each event as it arrives. A
chain is read in one snapshot (one SQLite read transaction; ``REPEATABLE READ`` on
PostgreSQL), so an event appended meanwhile is not mistaken for one added behind the
head's back.

Head and checkpoint signatures are checked with the configured master keys: whoever can
write the database but not sign cannot rewrite a chain and its head unnoticed
(GDPR Art. 5(2), accountability; PIPL Art. 54).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Mapping
from contextlib import AbstractAsyncContextManager
from typing import Any

import msgspec
from sqlalchemy import Row, select, union
from sqlalchemy.ext.asyncio import AsyncSession

from compliance.audit.models import AuditChainHead, AuditCheckpoint, AuditEventRow
from compliance.encryption.master import MasterKeyMissing, MasterKeyring
from policies.audit_chain import ChainedEvent, checkpoint_statement, head_statement
from policies.audit_verification import (
    BreakKind,
    ChainReport,
    ChainVerifier,
    SignatureCheck,
    SignedMark,
)

SessionFactory = Callable[[], AbstractAsyncContextManager[AsyncSession]]
BATCH_SIZE = 1000
_EVENTS = AuditEventRow.__table__


def _json_object(text: str) -> Mapping[str, Any]:
    """A stored JSON column; text that is not a JSON object cannot hash to the stored
    hash, so it is kept in a form that makes the mismatch show."""
    try:
        value = msgspec.json.decode(text)
    except msgspec.DecodeError:
        return {"(not JSON)": text}
    return value if isinstance(value, dict) else {"(not an object)": text}


def event_from_row(row: Row[Any]) -> ChainedEvent:
    """A stored row (plain columns) as the chain sees it."""
    return ChainedEvent(
        id=row.id,
        tenant_id=row.tenant_id,
        sequence=row.sequence,
        occurred_at=row.occurred_at,
        actor=row.actor,
        actor_kind=row.actor_kind,
        actor_origin=_json_object(row.actor_origin),
        action=row.action,
        target=row.target,
        details=_json_object(row.details),
        previous_hash=row.previous_hash,
        hash=row.hash,
    )


def _signature(master: MasterKeyring, signature: str | None, statement: bytes) -> SignatureCheck:
    if signature is None:
        return SignatureCheck.MISSING
    try:
        valid = master.verify(signature, statement)
    except MasterKeyMissing:
        return SignatureCheck.UNKNOWN_KEY
    return SignatureCheck.VALID if valid else SignatureCheck.INVALID


async def chain_ids(session: AsyncSession) -> list[str]:
    """Every chain that has a head or an event (a chain whose head was deleted still
    shows through its events), sorted; the system chain ``""`` first."""
    query = union(select(AuditChainHead.tenant_id), select(_EVENTS.c.tenant_id).distinct())
    return sorted((await session.execute(query)).scalars())


async def _snapshot(session: AsyncSession) -> None:
    if session.get_bind().dialect.name == "postgresql" and not session.in_transaction():
        await session.connection(execution_options={"isolation_level": "REPEATABLE READ"})


async def verify_stored_chain(
    session: AsyncSession, master: MasterKeyring, tenant_id: str, *, batch_size: int = BATCH_SIZE
) -> ChainReport:
    """Verify ``tenant_id``'s chain as stored, in ``session``'s (read) transaction."""
    await _snapshot(session)
    head_row = await session.get(AuditChainHead, tenant_id)
    head = (
        SignedMark(
            sequence=head_row.sequence,
            hash=head_row.hash,
            signature=_signature(
                master,
                head_row.signature,
                head_statement(tenant_id, head_row.sequence, head_row.hash),
            ),
            key_id=master.signed_by(head_row.signature) if head_row.signature else None,
        )
        if head_row is not None
        else None
    )
    latest = (
        await session.execute(
            select(AuditCheckpoint)
            .where(AuditCheckpoint.tenant_id == tenant_id)
            .order_by(AuditCheckpoint.sequence.desc(), AuditCheckpoint.id.desc())
            .limit(1)
        )
    ).scalar_one_or_none()
    checkpoint = (
        SignedMark(
            sequence=latest.sequence,
            hash=latest.hash,
            signature=_signature(
                master,
                latest.signature,
                checkpoint_statement(tenant_id, latest.sequence, latest.hash, latest.made_at),
            ),
            key_id=master.signed_by(latest.signature),
        )
        if latest is not None
        else None
    )
    verifier = ChainVerifier(tenant_id, checkpoint=checkpoint)
    after: int | None = None
    while verifier.broken is None:
        query = select(_EVENTS).where(_EVENTS.c.tenant_id == tenant_id)
        if after is not None:
            query = query.where(_EVENTS.c.sequence > after)
        rows = (await session.execute(query.order_by(_EVENTS.c.sequence).limit(batch_size))).all()
        for row in rows:
            verifier.feed(event_from_row(row))
            if verifier.broken is not None:
                break
        if len(rows) < batch_size:
            break
        after = rows[-1].sequence
    return verifier.finish(head)


async def sign_unsigned_heads(session: AsyncSession, master: MasterKeyring) -> list[str]:
    """Sign, with the primary master key, every chain head that has no signature and whose
    chain verifies otherwise (call in a write transaction, then commit); the chains
    signed. A migration holds no master key, so heads it writes are unsigned; a chain
    that is broken in any other way is left unsigned, and ``commlog audit verify`` keeps
    reporting it."""
    unsigned = (
        (
            await session.execute(
                select(AuditChainHead.tenant_id)
                .where(AuditChainHead.signature.is_(None))
                .order_by(AuditChainHead.tenant_id)
            )
        )
        .scalars()
        .all()
    )
    signed = []
    for tenant_id in unsigned:
        report = await verify_stored_chain(session, master, tenant_id)
        if report.broken is None or report.broken.kind is not BreakKind.UNSIGNED:
            continue
        head = await session.get(
            AuditChainHead, tenant_id, with_for_update=True, populate_existing=True
        )
        if head is None or head.signature is not None:
            continue
        head.signature = master.sign(head_statement(tenant_id, head.sequence, head.hash))
        signed.append(tenant_id)
    await session.flush()
    return signed


async def verify_trail(
    sessions: SessionFactory,
    master: MasterKeyring,
    *,
    tenant_id: str | None = None,
    batch_size: int = BATCH_SIZE,
) -> AsyncIterator[ChainReport]:
    """One report per chain (only ``tenant_id``'s when given), each chain in a session
    and snapshot of its own."""
    if tenant_id is None:
        async with sessions() as session:
            tenants = await chain_ids(session)
    else:
        tenants = [tenant_id]
    for tenant in tenants:
        async with sessions() as session:
            yield await verify_stored_chain(session, master, tenant, batch_size=batch_size)


__all__ = [
    "chain_ids",
    "event_from_row",
    "sign_unsigned_heads",
    "verify_stored_chain",
    "verify_trail",
]
