"""Replacing ``Idempotency-Key`` values stored in clear by their keyed digests.

Rows stored before keys were hashed hold the key as the client sent it (an order number,
sometimes a person's id). ``commlog database upgrade`` runs :func:`hash_legacy_keys`
after the migrations: in bounded batches, one transaction each, every such key becomes
``h1:`` + its HMAC under the tenant's idempotency-key secret
(:func:`compliance.encryption.envelope.idempotency_key_secret`), exactly what a new send
stores, so retries keep finding their record. A shredded tenant's keys (its blind-index
key destroyed) cannot be hashed and are cleared instead: nothing could match them any
more. A run cut short loses at most its current batch; a rerun finishes.
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass

from sqlalchemy import Select, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from compliance.encryption.envelope import IDEMPOTENCY_DIGEST_PREFIX, is_idempotency_digest
from compliance.encryption.keystore import KeyStore, UnwrappedKeyCache
from compliance.encryption.master import MasterKeyring
from compliance.records.models import CommunicationLog
from compliance.records.sealing import RecordSealer
from compliance.transactions import begin_write, commit

SessionFactory = Callable[[], AbstractAsyncContextManager[AsyncSession]]
DEFAULT_BATCH_SIZE = 500
_DIGEST_LENGTH = len(IDEMPOTENCY_DIGEST_PREFIX) + 64


@dataclass(frozen=True, slots=True)
class LegacyKeyReport:
    hashed: int
    cleared: int
    batches: int


def _legacy_rows_after(last_id: str, batch_size: int) -> Select[str, str, str | None]:
    key = CommunicationLog.idempotency_key
    return (
        select(CommunicationLog.id, CommunicationLog.tenant_id, key)
        .where(
            CommunicationLog.id > last_id,
            key.is_not(None),
            or_(
                ~key.startswith(IDEMPOTENCY_DIGEST_PREFIX, autoescape=True),
                func.length(key) != _DIGEST_LENGTH,
            ),
        )
        .order_by(CommunicationLog.id)
        .limit(batch_size)
        .with_for_update()
    )


async def hash_legacy_keys(
    sessions: SessionFactory,
    master: MasterKeyring,
    cache: UnwrappedKeyCache,
    *,
    batch_size: int = DEFAULT_BATCH_SIZE,
) -> LegacyKeyReport:
    """Replace every idempotency key stored in clear by its digest (GDPR Art. 32(1)(a),
    pseudonymisation; Art. 5(1)(c), the key itself is not needed to recognise a retry).

    The caller has verified the master keys (the CLI does before it writes).
    """
    hashed = cleared = batches = 0
    last_id = ""
    while True:
        async with sessions() as session:
            await begin_write(session)
            rows = (await session.execute(_legacy_rows_after(last_id, batch_size))).all()
            if not rows:
                break
            sealer = RecordSealer(KeyStore(session, master, cache))
            for record_id, tenant_id, key in rows:
                if key is None or is_idempotency_digest(key):  # pragma: no cover - filtered
                    continue
                digest = await sealer.idempotency_digest(tenant_id, key)
                await session.execute(
                    update(CommunicationLog)
                    .where(CommunicationLog.id == record_id)
                    .values(idempotency_key=digest)
                    .execution_options(synchronize_session=False)
                )
                if digest is None:
                    cleared += 1
                else:
                    hashed += 1
            await commit(session, operation="hash_idempotency_keys")
            last_id = rows[-1][0]
            batches += 1
    return LegacyKeyReport(hashed=hashed, cleared=cleared, batches=batches)
