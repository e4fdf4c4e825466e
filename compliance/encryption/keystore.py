"""Tenant data keys: generated on first use, stored only wrapped, destroyed for shredding.

A data key belongs to one tenant, one purpose and one key epoch:

- purpose ``recipient`` protects the recipient; ``content`` protects content, error and
  response; ``blind_index`` is the HMAC key of the recipient's blind index (epoch ``*``);
- the epoch of a record is the calendar month (UTC) of its ``created_at``, so retention can
  destroy one month of content (and every backup copy of it) by destroying one key;
- a version per tenant counts rotations: new writes use the tenant's newest version, older
  versions stay readable until ``keys reencrypt`` has moved their rows.

Destroying keeps the row (``wrapped_key`` NULL, ``state`` destroyed) so the key is never
re-created: a record later written into a destroyed epoch is stored with those fields
already erased.
"""

from __future__ import annotations

import asyncio
import enum
import hashlib
import os
from collections import OrderedDict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import cast

import msgspec
from advanced_alchemy.base import DefaultBase
from advanced_alchemy.types import DateTimeUTC
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from sqlalchemy import (
    BigInteger,
    Index,
    Integer,
    LargeBinary,
    String,
    UniqueConstraint,
    func,
    select,
    update,
)
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapped, Session, SessionTransaction, mapped_column

from compliance.audit.trail import append_event
from compliance.encryption.gate import MasterKeyGate
from compliance.encryption.master import (
    MasterKeyError,
    MasterKeyMismatch,
    MasterKeyMissing,
    MasterKeyring,
)
from policies.audit_chain import SYSTEM_CHAIN, Actor

DATA_KEY_BYTES = 32
BLIND_INDEX_EPOCH = "*"
HOLD_EPOCH = "hold"
"""Keys of records under legal hold whose month's key retention destroyed."""
CACHE_SIZE = 4096
VERIFY_BATCH_SIZE = 1000


class KeyPurpose(enum.StrEnum):
    RECIPIENT = "recipient"
    CONTENT = "content"
    BLIND_INDEX = "blind_index"


class KeyState(enum.StrEnum):
    ACTIVE = "active"
    DESTROYED = "destroyed"


def epoch_of(moment: datetime) -> str:
    """The key epoch of a record: the UTC calendar month of its ``created_at``."""
    return moment.astimezone(UTC).strftime("%Y-%m")


def utc_now() -> datetime:
    return datetime.now(UTC)


class TenantKey(DefaultBase):
    """One wrapped data key. No column ever holds key material in clear."""

    __tablename__ = "tenant_keys"
    __table_args__ = (
        UniqueConstraint("tenant_id", "purpose", "epoch", "version", name="uq_tenant_keys_slot"),
        Index("ix_tenant_keys_master", "master_key_id"),
    )

    id: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True
    )
    tenant_id: Mapped[str] = mapped_column(String(128), nullable=False)
    purpose: Mapped[str] = mapped_column(String(16), nullable=False)
    epoch: Mapped[str] = mapped_column(String(16), nullable=False)
    version: Mapped[int] = mapped_column(Integer, nullable=False)
    state: Mapped[str] = mapped_column(String(16), nullable=False)
    master_key_id: Mapped[str | None] = mapped_column(String(64))
    wrapped_key: Mapped[bytes | None] = mapped_column(LargeBinary)
    created_at: Mapped[datetime] = mapped_column(DateTimeUTC(timezone=True), nullable=False)
    destroyed_at: Mapped[datetime | None] = mapped_column(DateTimeUTC(timezone=True))


@dataclass(frozen=True, slots=True)
class DataKey:
    """An unwrapped data key, ready to seal and open. Never printed."""

    key_id: int
    epoch: str
    aead: AESGCM = field(repr=False)


class _Absent:
    """Marks a key id that is not one of the tenant's (tampering, never a key)."""


ABSENT = _Absent()


@dataclass(frozen=True, slots=True)
class BlindIndexKey:
    key_id: int
    secret: bytes = field(repr=False)


def _wrap_context(tenant_id: str, purpose: str, epoch: str, version: int) -> bytes:
    return msgspec.json.encode(["commlog/data-key/v1", tenant_id, purpose, epoch, version])


class UnwrappedKeyCache:
    """A bounded, process-wide cache of unwrapped keys.

    Entries are keyed by the wrapped bytes' digest, so a re-wrap (master rotation) or a
    destruction (no wrapped bytes left) can never be answered from a stale entry.
    """

    def __init__(self, size: int = CACHE_SIZE) -> None:
        self._size = size
        self._entries: OrderedDict[tuple[int, bytes], bytes] = OrderedDict()

    def get(self, key_id: int, wrapped: bytes) -> bytes | None:
        slot = (key_id, hashlib.sha256(wrapped).digest())
        raw = self._entries.get(slot)
        if raw is not None:
            self._entries.move_to_end(slot)
        return raw

    def put(self, key_id: int, wrapped: bytes, raw: bytes) -> None:
        self._entries[(key_id, hashlib.sha256(wrapped).digest())] = raw
        if len(self._entries) > self._size:
            self._entries.popitem(last=False)

    def clear(self) -> None:
        self._entries.clear()


_TRANSACTION_KEYS = "commlog_transaction_keys"
_MISSING = object()


class _TransactionKeys:
    """What the key stores of one session learnt in its open transaction.

    Kept in ``session.info``, so every :class:`KeyStore` on a session shares it (a key
    destroyed through one store is never written with through another). Each entry is
    bound to the innermost transaction or savepoint open when it was read and is valid
    only while that one stays open: a commit or rollback ends it, and the next
    transaction reads the key table again and sees every change committed meanwhile by
    any session (the view a REPEATABLE READ transaction has); a key created in a
    savepoint that was rolled back is never reused.
    """

    __slots__ = ("entries", "root")

    def __init__(self) -> None:
        self.root: SessionTransaction | None = None
        self.entries: dict[tuple[object, ...], tuple[SessionTransaction, object]] = {}

    def get(self, session: Session, slot: tuple[object, ...]) -> object:
        entry = self.entries.get(slot)
        if entry is None:
            return _MISSING
        transaction, value = entry
        if transaction is self.root and transaction.is_active:
            return value
        current = session.get_nested_transaction()
        while current is not None and current is not transaction:
            current = current.parent
        if current is not None and current.is_active:
            return value
        del self.entries[slot]
        return _MISSING

    def put(self, session: Session, slot: tuple[object, ...], value: object) -> None:
        transaction = session.get_nested_transaction() or session.get_transaction()
        if transaction is not None:
            self.entries[slot] = (transaction, value)


@dataclass(frozen=True, slots=True)
class KeyStoreCheck:
    """What verifying the master keys against the stored data keys found."""

    opened: int
    unreadable: frozenset[int]
    """Keys that failed to open although other keys of their master key opened: corrupt
    rows (one tenant's problem), not a wrong master key."""


class KeyStore:
    """Data keys of every tenant, read and written through one database session.

    With a ``gate`` (the service's requests) nothing is unwrapped or created before the
    gate says the master keys were verified. Without one the caller verified them itself
    (the CLI runs :meth:`verify_master_keys` before it writes).
    """

    def __init__(
        self,
        session: AsyncSession,
        master: MasterKeyring,
        cache: UnwrappedKeyCache,
        gate: MasterKeyGate | None = None,
    ) -> None:
        self.session = session
        self.master = master
        self.cache = cache
        self.gate = gate

    def _known(self) -> _TransactionKeys:
        """Keys already read in this session's open transaction (see _TransactionKeys).

        Without it every sealed record cost a version query and three key queries (a
        bulk insert ran at a few hundred records per second); with it a transaction
        reads each key once.
        """
        sync = self.session.sync_session
        known = sync.info.get(_TRANSACTION_KEYS)
        if not isinstance(known, _TransactionKeys):
            known = sync.info[_TRANSACTION_KEYS] = _TransactionKeys()
        root = sync.get_transaction()
        if known.root is not root:  # a new transaction: nothing learnt before holds
            known.entries.clear()
            known.root = root
        return known

    def _cached(self, slot: tuple[object, ...]) -> object:
        value = self._known().get(self.session.sync_session, slot)
        if value is not _MISSING and self.gate is not None:
            self.gate.require()
        return value

    def _remember(self, slot: tuple[object, ...], value: object) -> None:
        self._known().put(self.session.sync_session, slot, value)

    def forget(self) -> None:
        """Drop what this session's stores remember (after a change to the key table)."""
        self._known().entries.clear()

    # -- reading -----------------------------------------------------------------------

    def _unwrap(self, row: TenantKey) -> bytes | None:
        if self.gate is not None:
            self.gate.require()
        if row.state == KeyState.DESTROYED or row.wrapped_key is None or row.master_key_id is None:
            return None
        raw = self.cache.get(row.id, row.wrapped_key)
        if raw is None:
            try:
                raw = self.master.unwrap(
                    row.master_key_id,
                    row.wrapped_key,
                    _wrap_context(row.tenant_id, row.purpose, row.epoch, row.version),
                )
            except MasterKeyMismatch:
                if self.gate is not None:
                    self.gate.report_unreadable(row.id)
                raise
            self.cache.put(row.id, row.wrapped_key, raw)
        return raw

    async def keys_by_id(self, tenant_id: str, key_ids: Iterable[int]) -> dict[int, DataKey | None]:
        """The data keys ``key_ids`` that belong to ``tenant_id``.

        A destroyed key maps to ``None`` (its data is erased); an id that is not one of the
        tenant's keys is absent, which callers treat as tampering.
        """
        wanted = set(key_ids)
        found: dict[int, DataKey | None] = {}
        missing = set()
        for key_id in wanted:
            entry = self._cached(("seen", tenant_id, key_id))
            if entry is _MISSING:
                missing.add(key_id)
            elif not isinstance(entry, _Absent):
                found[key_id] = cast("DataKey | None", entry)
        if missing:
            rows = (
                await self.session.execute(
                    select(TenantKey).where(
                        TenantKey.id.in_(missing), TenantKey.tenant_id == tenant_id
                    )
                )
            ).scalars()
            fetched: dict[int, DataKey | _Absent | None] = dict.fromkeys(missing, ABSENT)
            for row in rows:
                raw = self._unwrap(row)
                fetched[row.id] = None if raw is None else DataKey(row.id, row.epoch, AESGCM(raw))
            for key_id, entry in fetched.items():
                self._remember(("seen", tenant_id, key_id), entry)
                if not isinstance(entry, _Absent):
                    found[key_id] = entry
        return found

    async def tenant_version(self, tenant_id: str) -> int:
        """The tenant's current key version (1 until the first rotation)."""
        cached = self._cached(("version", tenant_id))
        if cached is not _MISSING:
            return cast("int", cached)
        newest = await self.session.scalar(
            select(func.max(TenantKey.version)).where(
                TenantKey.tenant_id == tenant_id, TenantKey.purpose != KeyPurpose.BLIND_INDEX
            )
        )
        version = int(newest or 1)
        if newest is not None:  # no key yet: the first one may still be created meanwhile
            self._remember(("version", tenant_id), version)
        return version

    async def _slot_rows(self, tenant_id: str, purpose: str, epoch: str) -> list[TenantKey]:
        return list(
            (
                await self.session.execute(
                    select(TenantKey).where(
                        TenantKey.tenant_id == tenant_id,
                        TenantKey.purpose == purpose,
                        TenantKey.epoch == epoch,
                    )
                )
            ).scalars()
        )

    async def _create(self, tenant_id: str, purpose: str, epoch: str, version: int) -> None:
        if self.gate is not None:
            self.gate.require()  # never wrap a new key under an unproven master key
        raw = os.urandom(DATA_KEY_BYTES)
        master_id, wrapped = self.master.wrap(
            raw, _wrap_context(tenant_id, purpose, epoch, version)
        )
        row = TenantKey(
            tenant_id=tenant_id,
            purpose=purpose,
            epoch=epoch,
            version=version,
            state=KeyState.ACTIVE,
            master_key_id=master_id,
            wrapped_key=wrapped,
            created_at=utc_now(),
        )
        try:
            async with self.session.begin_nested():
                self.session.add(row)
                await self.session.flush()
        except IntegrityError:
            pass  # a concurrent writer created the same slot first: use theirs

    async def writing_key(
        self, tenant_id: str, purpose: KeyPurpose, epoch: str, *, version: int | None = None
    ) -> DataKey | None:
        """The key new writes of ``epoch`` use, created on first use.

        ``None`` when the epoch's keys were destroyed: such data is erased on arrival.
        """
        wanted = version if version is not None else await self.tenant_version(tenant_id)
        slot = ("writing", tenant_id, str(purpose), epoch, wanted)
        cached = self._cached(slot)
        if cached is not _MISSING:
            return cast("DataKey | None", cached)
        key = await self._writing_key(tenant_id, purpose, epoch, wanted)
        self._remember(slot, key)
        return key

    async def _writing_key(
        self, tenant_id: str, purpose: KeyPurpose, epoch: str, wanted: int
    ) -> DataKey | None:
        for attempt in range(2):
            rows = await self._slot_rows(tenant_id, purpose, epoch)
            if any(row.state == KeyState.DESTROYED for row in rows):
                return None
            current = next((row for row in rows if row.version == wanted), None)
            if current is not None:
                raw = self._unwrap(current)
                return None if raw is None else DataKey(current.id, current.epoch, AESGCM(raw))
            if attempt == 0:
                await self._create(tenant_id, purpose, epoch, wanted)
        raise RuntimeError("data key could not be created")  # pragma: no cover

    async def blind_index_key(self, tenant_id: str) -> BlindIndexKey | None:
        """The tenant's blind-index key (kept apart from encryption keys); None if shredded."""
        cached = self._cached(("blind", tenant_id))
        if cached is not _MISSING:
            return cast("BlindIndexKey | None", cached)
        key = await self._blind_index_key(tenant_id)
        self._remember(("blind", tenant_id), key)
        return key

    async def _blind_index_key(self, tenant_id: str) -> BlindIndexKey | None:
        for attempt in range(2):
            rows = await self._slot_rows(tenant_id, KeyPurpose.BLIND_INDEX, BLIND_INDEX_EPOCH)
            if rows:
                raw = self._unwrap(rows[0])
                return None if raw is None else BlindIndexKey(rows[0].id, raw)
            if attempt == 0:
                await self._create(tenant_id, KeyPurpose.BLIND_INDEX, BLIND_INDEX_EPOCH, 1)
        raise RuntimeError("blind index key could not be created")  # pragma: no cover

    # -- lifecycle -----------------------------------------------------------------------

    async def record_event(
        self,
        actor: Actor,
        action: str,
        tenant_id: str,
        *,
        target: str | None = None,
        **detail: object,
    ) -> None:
        """Append a key event (``keys.*``, ``tenant.shredded``) to ``tenant_id``'s audit
        chain (:data:`~policies.audit_chain.SYSTEM_CHAIN` for master-key events) in this
        session's transaction, so the change and its evidence commit together. Details
        name keys by purpose, epoch and version, never their material."""
        await append_event(
            self.session,
            self.master,
            tenant_id=tenant_id,
            actor=actor,
            action=action,
            target=target,
            details=detail,
        )

    async def rotate_tenant(self, tenant_id: str, actor: Actor) -> int:
        """Start a new key version for the tenant's new writes; returns the new version."""
        self.forget()
        version = await self.tenant_version(tenant_id) + 1
        epoch = epoch_of(utc_now())
        for purpose in (KeyPurpose.RECIPIENT, KeyPurpose.CONTENT):
            await self.writing_key(tenant_id, purpose, epoch, version=version)
        self.forget()  # the new version is the tenant's from now on, in this transaction too
        await self.record_event(actor, "keys.data_key_rotated", tenant_id, version=version)
        return version

    async def rotate_master(self, actor: Actor) -> int:
        """Re-wrap every live data key under the primary master key; returns how many."""
        self.forget()
        rows = (
            await self.session.execute(
                select(TenantKey).where(
                    TenantKey.state == KeyState.ACTIVE,
                    TenantKey.master_key_id != self.master.primary_id,
                )
            )
        ).scalars()
        count = 0
        for row in rows:
            raw = self._unwrap(row)
            if raw is None:  # pragma: no cover - active rows always have a wrapped key
                continue
            context = _wrap_context(row.tenant_id, row.purpose, row.epoch, row.version)
            row.master_key_id, row.wrapped_key = self.master.wrap(raw, context)
            count += 1
        await self.session.flush()
        await self.record_event(
            actor,
            "keys.master_key_rotated",
            SYSTEM_CHAIN,
            primary=self.master.primary_id,
            rewrapped=count,
        )
        return count

    async def destroy(
        self,
        tenant_id: str,
        actor: Actor,
        *,
        purpose: KeyPurpose | None = None,
        epoch: str | None = None,
        reason: str,
        action: str = "keys.data_keys_destroyed",
        target: str | None = None,
    ) -> int:
        """Destroy data keys (all of the tenant's, or one purpose and epoch); returns count.

        The audit event (``action``, default ``keys.data_keys_destroyed``; shredding says
        ``tenant.shredded``) is appended in the same transaction."""
        self.forget()
        conditions = [TenantKey.tenant_id == tenant_id, TenantKey.state == KeyState.ACTIVE]
        if purpose is not None:
            conditions.append(TenantKey.purpose == purpose)
        if epoch is not None:
            conditions.append(TenantKey.epoch == epoch)
        result = await self.session.execute(
            update(TenantKey)
            .where(*conditions)
            .values(
                state=KeyState.DESTROYED,
                wrapped_key=None,
                master_key_id=None,
                destroyed_at=utc_now(),
            )
            .execution_options(synchronize_session=False)
        )
        count = int(getattr(result, "rowcount", 0) or 0)
        self.forget()
        await self.record_event(
            actor,
            action,
            tenant_id,
            target=target,
            purpose=purpose.value if purpose else "all",
            epoch=epoch or "all",
            keys=count,
            reason=reason,
        )
        return count

    async def verify_master_keys(self) -> KeyStoreCheck:
        """Open every live data key; fail with one clear line if a master key is wrong.

        A master key is wrong (:class:`MasterKeyMismatch`) when none of the keys it wrapped
        opens, and missing (:class:`MasterKeyMissing`) when keys name it but it is not
        configured. Keys that fail while others of the same master key open are corrupt
        rows: they are reported in the result, not raised. An empty key table verifies.
        Keys already in the unwrapped-key cache with the same wrapped bytes are not
        opened again, so a re-check costs one read of the table.
        """
        opened: dict[str, int] = {}
        failed: dict[str, list[int]] = {}
        last_id = 0
        while True:
            rows = (
                await self.session.execute(
                    select(
                        TenantKey.id,
                        TenantKey.tenant_id,
                        TenantKey.purpose,
                        TenantKey.epoch,
                        TenantKey.version,
                        TenantKey.master_key_id,
                        TenantKey.wrapped_key,
                    )
                    .where(
                        TenantKey.id > last_id,
                        TenantKey.state == KeyState.ACTIVE,
                        TenantKey.wrapped_key.is_not(None),
                        TenantKey.master_key_id.is_not(None),
                    )
                    .order_by(TenantKey.id)
                    .limit(VERIFY_BATCH_SIZE)
                )
            ).all()
            if not rows:
                break
            for key_id, tenant_id, purpose, epoch, version, master_id, wrapped in rows:
                if master_id is None or wrapped is None:  # pragma: no cover - filtered above
                    continue
                if self.cache.get(key_id, wrapped) is not None:
                    opened[master_id] = opened.get(master_id, 0) + 1
                    continue
                try:
                    raw = self.master.unwrap(
                        master_id, wrapped, _wrap_context(tenant_id, purpose, epoch, version)
                    )
                except MasterKeyMissing:
                    raise
                except MasterKeyError:
                    failed.setdefault(master_id, []).append(key_id)
                    continue
                self.cache.put(key_id, wrapped, raw)
                opened[master_id] = opened.get(master_id, 0) + 1
            last_id = rows[-1][0]
            await asyncio.sleep(0)  # a large key table must not stall the event loop
        for master_id in sorted(failed):
            if not opened.get(master_id):
                raise MasterKeyMismatch(
                    f"master key '{master_id}' does not match the data keys it is said "
                    "to have wrapped"
                )
        unreadable = frozenset(key_id for ids in failed.values() for key_id in ids)
        return KeyStoreCheck(opened=sum(opened.values()), unreadable=unreadable)
