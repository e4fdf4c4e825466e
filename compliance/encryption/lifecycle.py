"""Key lifecycle operations over the whole send log: re-encryption, status, shredding.

Each runs in bounded batches, one short transaction each, so the service keeps serving
while they run, and a run cut short loses at most its current batch: a rerun finishes.
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import and_, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from compliance.encryption.envelope import IDEMPOTENCY_DIGEST_PREFIX
from compliance.encryption.keystore import (
    KeyPurpose,
    KeyState,
    KeyStore,
    TenantKey,
    UnwrappedKeyCache,
)
from compliance.encryption.master import MasterKeyring
from compliance.records.models import CommunicationLog
from compliance.records.repository import open_records
from compliance.records.sealing import SEALED_COLUMNS, RecordSealer
from compliance.templates.repository import TemplateCache, TemplateStore
from compliance.transactions import begin_write, commit
from policies.audit_chain import SYSTEM_CHAIN, Actor
from policies.disclosure import RULES_VERSION, stored_form

SessionFactory = Callable[[], AbstractAsyncContextManager[AsyncSession]]
DEFAULT_BATCH_SIZE = 500
ROW_KEY_PURPOSES = (KeyPurpose.RECIPIENT, KeyPurpose.CONTENT)


@dataclass(frozen=True, slots=True)
class ReencryptReport:
    rows_rewritten: int
    batches: int
    rows_left_unreadable: int
    finished: bool
    rows_left_without_views: int = 0
    """Rows whose keys are current that cannot get masked views (a damaged field, or a
    templated send whose template version is missing): left as they are, masked on read."""


@dataclass(frozen=True, slots=True)
class KeyStatus:
    tenant_id: str
    purpose: str
    epoch: str
    version: int
    state: str
    master_key_id: str | None
    created_at: datetime
    destroyed_at: datetime | None
    rows: int


async def stale_key_ids(session: AsyncSession, tenant_id: str | None) -> set[int]:
    """Live row keys older than their tenant's current version."""
    current = (
        select(TenantKey.tenant_id, func.max(TenantKey.version).label("version"))
        .where(TenantKey.purpose.in_(ROW_KEY_PURPOSES))
        .group_by(TenantKey.tenant_id)
        .subquery()
    )
    statement = (
        select(TenantKey.id)
        .join(current, current.c.tenant_id == TenantKey.tenant_id)
        .where(
            TenantKey.purpose.in_(ROW_KEY_PURPOSES),
            TenantKey.state == KeyState.ACTIVE,
            TenantKey.version < current.c.version,
        )
    )
    if tenant_id is not None:
        statement = statement.where(TenantKey.tenant_id == tenant_id)
    return set((await session.execute(statement)).scalars())


async def reencrypt(
    sessions: SessionFactory,
    master: MasterKeyring,
    cache: UnwrappedKeyCache,
    *,
    actor: Actor,
    tenant_id: str | None = None,
    batch_size: int = DEFAULT_BATCH_SIZE,
    max_batches: int | None = None,
) -> ReencryptReport:
    """Rewrite rows sealed with old key versions under their tenant's current keys, and
    rows without the masked views of the current disclosure rules (stored before views
    were kept, or under older rules: ``policies.disclosure.RULES_VERSION``), which get them.

    Rows are visited in primary-key order, ``batch_size`` at a time, each batch locked and
    committed on its own. ``max_batches`` stops early (an operator's time box; tests use it
    to cut a run short); running again picks up what is left.

    When the run ends, one ``keys.reencrypted`` audit event per tenant whose rows it
    rewrote (or for ``tenant_id`` even when there were none; on the system chain for an
    all-tenant run that found nothing) says how many rows and batches. A run killed
    mid-way records nothing for its committed batches: re-encryption changes how rows
    are sealed, not what they hold, and the rerun that finishes the work records it.
    """
    async with sessions() as session:
        stale = await stale_key_ids(session, tenant_id)
    # Rows without the masked views of the current rules (stored before views were kept,
    # or under older rules) are rewritten too: re-sealing stores their views.
    log = CommunicationLog
    without_views = and_(
        or_(log.shown_version.is_(None), log.shown_version != RULES_VERSION),
        or_(*(getattr(log, column).is_not(None) for column in SEALED_COLUMNS)),
    )
    rewritten = batches = left_unreadable = left_without_views = 0
    per_tenant: dict[str, int] = {} if tenant_id is None else {tenant_id: 0}
    last_id = ""
    finished = True
    while True:
        if max_batches is not None and batches >= max_batches:
            finished = False
            break
        async with sessions() as session:
            await begin_write(session)
            statement = (
                select(CommunicationLog)
                .where(
                    CommunicationLog.id > last_id,
                    or_(
                        CommunicationLog.recipient_key_id.in_(stale),
                        CommunicationLog.content_key_id.in_(stale),
                        without_views,
                    ),
                )
                .order_by(CommunicationLog.id)
                .limit(batch_size)
                .with_for_update()
            )
            if tenant_id is not None:
                statement = statement.where(CommunicationLog.tenant_id == tenant_id)
            rows = list((await session.execute(statement)).scalars())
            if not rows:
                break
            sealer = RecordSealer(KeyStore(session, master, cache))
            templates = TemplateStore(session, TemplateCache())
            opened_rows = await open_records(rows, sealer=sealer, templates=templates)
            for row, opened in zip(rows, opened_rows, strict=True):
                keys_current = row.recipient_key_id not in stale and row.content_key_id not in stale
                if keys_current and stored_form(opened).view_version is None:
                    # Picked for its views, but it cannot have any (a damaged field, or
                    # its template version is missing): rewriting it would change nothing.
                    left_without_views += 1
                    continue
                await sealer.reseal_all(row, opened)
                if opened.unreadable:
                    left_unreadable += 1
                else:
                    rewritten += 1
                    per_tenant[row.tenant_id] = per_tenant.get(row.tenant_id, 0) + 1
            await commit(session, operation="reencrypt_batch")
            last_id = rows[-1].id
            batches += 1
    async with sessions() as session:
        await begin_write(session)
        keys = KeyStore(session, master, cache)
        for chain, count in sorted((per_tenant or {SYSTEM_CHAIN: 0}).items()):
            await keys.record_event(
                actor,
                "keys.reencrypted",
                chain,
                rows=count,
                batches=batches,
                finished=finished,
                all_tenants=tenant_id is None,
            )
        await commit(session, operation="reencrypt_event")
    return ReencryptReport(rewritten, batches, left_unreadable, finished, left_without_views)


async def key_status(session: AsyncSession, tenant_id: str | None = None) -> list[KeyStatus]:
    """Every data key with how many rows it still protects. No key material."""
    keys_statement = select(TenantKey).order_by(
        TenantKey.tenant_id, TenantKey.purpose, TenantKey.epoch, TenantKey.version
    )
    if tenant_id is not None:
        keys_statement = keys_statement.where(TenantKey.tenant_id == tenant_id)
    keys = list((await session.execute(keys_statement)).scalars())
    counts: dict[int, int] = {}
    for column in (CommunicationLog.recipient_key_id, CommunicationLog.content_key_id):
        statement = select(column, func.count()).where(column.is_not(None)).group_by(column)
        if tenant_id is not None:
            statement = statement.where(CommunicationLog.tenant_id == tenant_id)
        for key_id, count in (await session.execute(statement)).all():
            if key_id is not None:
                counts[key_id] = counts.get(key_id, 0) + count
    return [
        KeyStatus(
            tenant_id=key.tenant_id,
            purpose=key.purpose,
            epoch=key.epoch,
            version=key.version,
            state=key.state,
            master_key_id=key.master_key_id,
            created_at=key.created_at,
            destroyed_at=key.destroyed_at,
            rows=counts.get(key.id, 0),
        )
        for key in keys
    ]


async def shred_tenant(
    session: AsyncSession,
    master: MasterKeyring,
    cache: UnwrappedKeyCache,
    *,
    tenant_id: str,
    actor: Actor,
) -> int:
    """Destroy every data key of a tenant (offboarding); returns how many were destroyed.

    The tenant's rows stay; their sealed fields can no longer be opened and read back as
    ``None``. Blind indexes are cleared too: without their key they identify nobody, but
    they would still show which records shared a recipient. Idempotency keys stored as
    digests stay, matching nothing; any still stored in clear are cleared. One
    ``tenant.shredded`` audit event on the tenant's chain, in the same transaction.
    """
    await begin_write(session)
    destroyed = await KeyStore(session, master, cache).destroy(
        tenant_id, actor, reason="tenant shredded", action="tenant.shredded"
    )
    await session.execute(
        update(CommunicationLog)
        .where(
            CommunicationLog.tenant_id == tenant_id, CommunicationLog.recipient_index.is_not(None)
        )
        .values(recipient_index=None)
        .execution_options(synchronize_session=False)
    )
    # Idempotency-key digests are useless without the destroyed index key; a key still
    # stored in clear (a row from before keys were hashed) would not be, and is cleared.
    await session.execute(
        update(CommunicationLog)
        .where(
            CommunicationLog.tenant_id == tenant_id,
            CommunicationLog.idempotency_key.is_not(None),
            ~CommunicationLog.idempotency_key.startswith(
                IDEMPOTENCY_DIGEST_PREFIX, autoescape=True
            ),
        )
        .values(idempotency_key=None)
        .execution_options(synchronize_session=False)
    )
    cache.clear()
    return destroyed
