"""The retention job: applies every due stage in bounded batches and leaves proof.

Each batch is one short transaction (a crash loses at most the batch in flight, and a
rerun finishes the work); at most one run at a time per database (a PostgreSQL advisory
lock, or a lock row on SQLite); every run, dry or real, is recorded in
``retention_runs`` with the digest of the policy it applied.

Order per tenant: records past their ``record`` window are deleted first, then the
recipient and content stages erase fields of the records that remain, then month keys
that are wholly past their window are destroyed, after moving held records under a hold
key, so that erasure reaches every backup too (crypto-shredding).

Evidence (GDPR Art. 5(2)): every batch that erases or deletes appends a ``retention.batch``
audit event in its own transaction (stage, count, SHA-256 of the ids it touched), so a
crash can never leave an erased batch unaccounted; when a tenant is done (or failed) one
``retention.tenant_outcome`` event sums it up with, per stage, the count and the SHA-256
over all the ids it erased (``compliance.retention.digest``). A dry run records one
``retention.dry_run`` event per tenant with its counts. After the tenants, audit events
older than the trail's own window go, under signed checkpoints (``compliance.audit.retention``).
"""

from __future__ import annotations

import asyncio
import logging
import secrets
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import msgspec
from sqlalchemy import ColumnElement, and_, delete, func, or_, select, text, update
from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from compliance.audit.retention import audit_chains, expire_chain
from compliance.audit.trail import append_event
from compliance.encryption.envelope import EnvelopeError
from compliance.encryption.keystore import (
    BLIND_INDEX_EPOCH,
    HOLD_EPOCH,
    KeyPurpose,
    KeyState,
    KeyStore,
    TenantKey,
    UnwrappedKeyCache,
)
from compliance.encryption.master import MasterKeyError, MasterKeyring
from compliance.records.models import CommunicationLog
from compliance.records.repository import open_records
from compliance.records.sealing import RecordSealer
from compliance.retention.digest import ErasedIds
from compliance.retention.hold_matching import held, not_held, purgeable
from compliance.retention.holds import purge_holds
from compliance.retention.models import LegalHold, RetentionLock, RetentionRun
from compliance.retention.runs import TenantFailure
from compliance.templates.repository import TemplateCache, TemplateStore
from compliance.transactions import begin_write, commit
from policies.audit_chain import Actor, ActorKind
from policies.channels import Channel
from policies.holds import DEFAULT_RELEASED_HOLD_DAYS
from policies.retention import RetentionPolicy, Stage, cutoff, month_wholly_past

logger = logging.getLogger("commlog.retention")

ADVISORY_LOCK_KEY = 0x636F6D6D6C6F67  # "commlog"
LOCK_NAME = "retention"
STALE_LOCK_AFTER = timedelta(minutes=15)
DEFAULT_BATCH_SIZE = 5_000
RUN_ID_PREFIX = "run_"
PROCESSING_ORDER = (Stage.RECORD, Stage.RECIPIENT, Stage.CONTENT)
KEY_STAGES = ((KeyPurpose.CONTENT, Stage.CONTENT), (KeyPurpose.RECIPIENT, Stage.RECIPIENT))
RELEASED_HOLDS = "released_holds"
"""The run's count of legal holds purged (released or lapsed longer than the window)."""


class RetentionLocked(Exception):
    """Another run holds the lock; this one did nothing."""


class RetentionFailed(Exception):
    """The run failed; what it finished stays done and is recorded."""


class RetentionLockLost(RetentionFailed):
    """The run's lock went away mid-run (its connection dropped, or a stale takeover):
    another run may have started, so this one stops at once."""


@dataclass(frozen=True, slots=True, kw_only=True)
class RunOptions:
    actor: str
    dry_run: bool = False
    as_of: datetime | None = None
    tenant_id: str | None = None
    batch_size: int = DEFAULT_BATCH_SIZE
    pause_seconds: float = 0.0
    """Rest between batches, leaving the database (and a small machine's CPUs) to the
    service: the job's share of the machine in exchange for its speed."""
    after_batch: Callable[[], Awaitable[None]] | None = None
    """Called after each committed batch (progress reporting; tests use it to crash)."""
    clock: Callable[[], datetime] | None = None
    """Where a real run's "now" comes from (tests pin it to test window edges)."""
    audit_actor: Actor | None = None
    """Who the audit trail names (the CLI: ``cli_actor(--actor)``); default ``actor`` as
    the system (the scheduled job)."""
    audit_retention: timedelta | None = None
    """The audit trail's own window (``COMMLOG_AUDIT_RETENTION_DAYS``): events older than
    this go, under signed checkpoints. ``None`` keeps the trail as it is."""
    released_holds_kept: timedelta = timedelta(days=DEFAULT_RELEASED_HOLD_DAYS)
    """How long a released (or lapsed) legal hold is kept before the run purges it
    (``COMMLOG_RELEASED_HOLD_DAYS``)."""


@dataclass(slots=True, kw_only=True)
class RunReport:
    run_id: str
    status: str
    dry_run: bool
    as_of: datetime
    policy_digest: str
    counts: dict[str, dict[str, int]] = field(default_factory=dict)
    keys_destroyed: list[dict[str, Any]] = field(default_factory=list)
    error: str | None = None
    outcomes: dict[str, dict[str, str]] = field(default_factory=dict)
    """Per tenant: ``{"status": "succeeded"|"failed", "error": <TenantFailure kind>}``."""
    seconds: dict[str, float] = field(default_factory=dict)
    """Wall-clock time spent per stage (and on keys), for operators and benchmarks."""
    erased_ids: dict[str, dict[str, dict[str, object]]] = field(default_factory=dict)
    """Per tenant and stage: ``{"ids": n, "ids_sha256": hex}`` as recorded in the audit
    trail's ``retention.tenant_outcome`` event."""
    audit_events_removed: dict[str, int] = field(default_factory=dict)
    """Per audit chain (``""`` is the system chain): events removed by the trail's window."""

    def tenant_done(self, tenant_id: str, failure: TenantFailure | None = None) -> None:
        if failure is None:
            self.outcomes[tenant_id] = {"status": "succeeded"}
        else:
            self.outcomes[tenant_id] = {"status": "failed", "error": failure.value}

    def add(self, tenant_id: str, stage: str, count: int) -> None:
        stages = self.counts.setdefault(
            tenant_id, {**{s.value: 0 for s in Stage}, RELEASED_HOLDS: 0}
        )
        stages[stage] = stages.get(stage, 0) + count


# -- the lock --------------------------------------------------------------------------


LockCheck = Callable[[], Awaitable[None]]


@asynccontextmanager
async def _postgres_lock(engine: AsyncEngine) -> AsyncIterator[LockCheck]:
    async with engine.connect() as connection:
        taken = await connection.scalar(
            text("SELECT pg_try_advisory_lock(:key)"), {"key": ADVISORY_LOCK_KEY}
        )
        await connection.commit()
        if not taken:
            raise RetentionLocked("another retention run is in progress on this database")

        async def still_held() -> None:
            # A session-level advisory lock lives exactly as long as its connection.
            try:
                await connection.scalar(text("SELECT 1"))
                await connection.commit()
            except Exception:
                raise RetentionLockLost("the run lock's connection was lost") from None

        try:
            yield still_held
        finally:
            try:
                await connection.execute(
                    text("SELECT pg_advisory_unlock(:key)"), {"key": ADVISORY_LOCK_KEY}
                )
                await connection.commit()
            except Exception as exc:
                # A failed statement leaves the connection in a failed transaction: the
                # unlock never ran, and returned to the pool the connection would keep the
                # session-level lock for whoever borrows it next. Closing it frees the lock.
                logger.warning("retention lock release failed: %s", type(exc).__name__)
                await connection.invalidate()


async def touch_sqlite_lock(session: AsyncSession, run_id: str) -> None:
    """Refresh ``run_id``'s lock row in ``session``'s transaction; if the row is no
    longer this run's (taken over as stale), raise :class:`RetentionLockLost`."""
    result = await session.execute(
        update(RetentionLock)
        .where(RetentionLock.name == LOCK_NAME, RetentionLock.run_id == run_id)
        .values(heartbeat_at=datetime.now(UTC))
    )
    if not getattr(result, "rowcount", 0):
        raise RetentionLockLost("the run lock was taken over as stale")


@asynccontextmanager
async def _sqlite_lock(
    sessions: async_sessionmaker[AsyncSession], run_id: str
) -> AsyncIterator[LockCheck]:
    now = datetime.now(UTC)
    async with sessions() as session:
        await begin_write(session)
        current = await session.get(RetentionLock, LOCK_NAME)
        if current is not None and now - current.heartbeat_at < STALE_LOCK_AFTER:
            raise RetentionLocked(
                f"another retention run is in progress on this database ({current.run_id})"
            )
        if current is not None:  # its process died: the lock is stale
            await session.delete(current)
            await session.flush()
        session.add(RetentionLock(name=LOCK_NAME, run_id=run_id, acquired_at=now, heartbeat_at=now))
        try:
            await commit(session, operation="retention_lock")
        except IntegrityError:
            raise RetentionLocked("another retention run is in progress on this database") from None

    async def still_held() -> None:
        async with sessions() as session:
            await begin_write(session)
            await touch_sqlite_lock(session, run_id)
            await commit(session, operation="retention_lock")

    try:
        yield still_held
    finally:
        async with sessions() as session:
            await begin_write(session)
            await session.execute(
                delete(RetentionLock).where(
                    RetentionLock.name == LOCK_NAME, RetentionLock.run_id == run_id
                )
            )
            await commit(session, operation="retention_lock")


def run_lock(engine: AsyncEngine, sessions: async_sessionmaker[AsyncSession], run_id: str) -> Any:
    """At most one retention run per database."""
    if engine.dialect.name == "postgresql":
        return _postgres_lock(engine)
    return _sqlite_lock(sessions, run_id)


# -- the stages --------------------------------------------------------------------------


def _stage_filter(
    stage: Stage, policy: RetentionPolicy, tenant_id: str, channel: Channel, now: datetime
) -> list[ColumnElement[bool]]:
    windows = policy.windows_for(tenant_id, channel)
    log = CommunicationLog
    due: ColumnElement[bool] = log.created_at <= cutoff(windows, stage, now)
    if stage is Stage.CONTENT:
        # A template may keep its sends' content for less than the tenant's window.
        due = or_(due, and_(log.content_erase_after.is_not(None), log.content_erase_after <= now))
    conditions: list[ColumnElement[bool]] = [
        log.tenant_id == tenant_id,
        log.channel == channel.value,
        due,
        not_held(now, stage),
    ]
    if stage is not Stage.RECORD:
        # Records due for deletion are deleted, not first erased field by field.
        conditions.append(log.created_at > cutoff(windows, Stage.RECORD, now))
    if stage is Stage.RECIPIENT:
        conditions.append(
            or_(
                log.recipient.is_not(None),
                log.shown_recipient.is_not(None),
                log.recipient_index.is_not(None),
            )
        )
    if stage is Stage.CONTENT:
        conditions.append(
            or_(
                log.content.is_not(None),
                log.error.is_not(None),
                log.response.is_not(None),
                log.template_params.is_not(None),
                log.shown_content.is_not(None),
            )
        )
    return conditions


_ERASE = {
    Stage.RECIPIENT: {
        "recipient": None,
        "shown_recipient": None,
        "recipient_index": None,
        "recipient_key_id": None,
    },
    Stage.CONTENT: {
        "content": None,
        "error": None,
        "response": None,
        "template_params": None,
        "shown_content": None,
        "content_key_id": None,
    },
}


class RetentionJob:
    """One run of the retention policy over one database."""

    def __init__(
        self,
        engine: AsyncEngine,
        master: MasterKeyring,
        cache: UnwrappedKeyCache,
        policy: RetentionPolicy,
        options: RunOptions,
    ) -> None:
        self.engine = engine
        self.sessions = async_sessionmaker(engine, expire_on_commit=False)
        self.master = master
        self.cache = cache
        self.policy = policy
        self.options = options
        self._lock_check: LockCheck | None = None
        self.actor = options.audit_actor or Actor(id=options.actor, kind=ActorKind.SYSTEM)
        # The ids each stage erased for the tenant in hand (see compliance.retention.digest).
        self._erased: dict[str, ErasedIds] = {}
        clock = options.clock or (lambda: datetime.now(UTC))
        self.now = (options.as_of or clock()).astimezone(UTC)
        self.report = RunReport(
            run_id=RUN_ID_PREFIX + secrets.token_hex(12),
            status="running",
            dry_run=options.dry_run,
            as_of=self.now,
            policy_digest=policy.digest(),
        )

    async def run(self) -> RunReport:
        if self.options.as_of is not None and not self.options.dry_run:
            raise ValueError("--as-of previews a date and is only allowed with --dry-run")
        async with run_lock(self.engine, self.sessions, self.report.run_id) as lock_check:
            self._lock_check = lock_check
            await self._open_run_record()
            failures: list[str] = []
            lock_lost = False
            try:
                tenants = await self._tenants()
            except Exception as exc:
                tenants, failures = [], [_describe(exc)]
            for index, tenant_id in enumerate(tenants):
                # One tenant's failure must not keep the others from their erasure.
                self._erased = {stage.value: ErasedIds() for stage in Stage}
                try:
                    await self._beat()
                    await self._apply_to_tenant(tenant_id)
                except RetentionLockLost as exc:
                    failures.append(str(exc))
                    lock_lost = True
                    self.report.tenant_done(tenant_id, TenantFailure.INTERRUPTED)
                    for later in tenants[index + 1 :]:
                        self.report.tenant_done(later, TenantFailure.NOT_REACHED)
                    await self._record_outcome(tenant_id, failures)
                    break
                except Exception as exc:
                    logger.error("retention failed for tenant %s: %s", tenant_id, _describe(exc))
                    failures.append(f"tenant {tenant_id}: {_describe(exc)}")
                    self.report.tenant_done(tenant_id, _failure_kind(exc))
                else:
                    self.report.tenant_done(tenant_id)
                await self._record_outcome(tenant_id, failures)
            if not lock_lost and not self.options.dry_run:
                await self._expire_audit_trail(failures)
            self.report.status = "failed" if failures else "succeeded"
            self.report.error = "; ".join(failures) or None
            await self._close_run_record()
        if self.report.error is not None:
            raise (RetentionLockLost if lock_lost else RetentionFailed)(self.report.error)
        return self.report

    async def _open_run_record(self) -> None:
        async with self.sessions() as session:
            await begin_write(session)
            await session.execute(
                update(RetentionRun)
                .where(RetentionRun.status == "running")
                .values(
                    status="failed",
                    finished_at=datetime.now(UTC),
                    error="interrupted: the process ended before the run finished",
                )
            )
            session.add(
                RetentionRun(
                    id=self.report.run_id,
                    started_at=datetime.now(UTC),
                    status="running",
                    dry_run=self.options.dry_run,
                    as_of=self.now,
                    tenant_filter=self.options.tenant_id,
                    actor=self.options.actor,
                    policy_digest=self.report.policy_digest,
                    policy=msgspec.json.encode(self.policy.describe()).decode(),
                )
            )
            await commit(session, operation="retention_run_record")

    async def _close_run_record(self) -> None:
        async with self.sessions() as session:
            await begin_write(session)
            await session.execute(
                update(RetentionRun)
                .where(RetentionRun.id == self.report.run_id)
                .values(
                    status=self.report.status,
                    finished_at=datetime.now(UTC),
                    counts=msgspec.json.encode(self.report.counts).decode(),
                    keys_destroyed=msgspec.json.encode(self.report.keys_destroyed).decode(),
                    error=self.report.error,
                    tenant_outcomes=msgspec.json.encode(self.report.outcomes).decode(),
                )
            )
            await commit(session, operation="retention_run_record")

    async def _record_outcome(self, tenant_id: str, failures: list[str]) -> None:
        """The tenant's ``retention.tenant_outcome`` (or ``retention.dry_run``) audit event,
        in a short transaction of its own right after the tenant's last write: status,
        counts per stage, keys destroyed and, per stage, the count and SHA-256 of the ids
        erased or deleted (also for a failed or interrupted tenant: what was done). The
        batches were each recorded with their own transaction already, so an outcome that
        cannot be written (the database went away) loses no erasure's evidence."""
        erased = {stage: ids.summary() for stage, ids in self._erased.items()}
        for ids in self._erased.values():
            ids.close()
        self._erased = {}
        outcome = self.report.outcomes.get(tenant_id, {"status": "failed"})
        counts = self.report.counts.get(tenant_id, {stage.value: 0 for stage in Stage})
        keys = [
            {k: v for k, v in key.items() if k != "tenant_id"}
            for key in self.report.keys_destroyed
            if key["tenant_id"] == tenant_id
        ]
        details: dict[str, object] = {
            "status": outcome["status"],
            "counts": dict(counts),
            "keys_destroyed": keys,
            "policy_digest": self.report.policy_digest,
            "as_of": self.now.isoformat(),
        }
        if "error" in outcome:
            details["error"] = outcome["error"]
        if self.options.dry_run:
            action = "retention.dry_run"
        else:
            action = "retention.tenant_outcome"
            details["erased"] = erased
            self.report.erased_ids[tenant_id] = erased
        try:
            async with self.sessions() as session:
                await begin_write(session)
                await append_event(
                    session,
                    self.master,
                    tenant_id=tenant_id,
                    actor=self.actor,
                    action=action,
                    target=self.report.run_id,
                    details=details,
                )
                await commit(session, operation="retention_audit_outcome")
        except Exception as exc:
            logger.error(
                "retention outcome of tenant %s not recorded in the audit trail: %s",
                tenant_id,
                _describe(exc),
            )
            failures.append(f"tenant {tenant_id}: audit outcome not recorded: {_describe(exc)}")

    async def _record_batch(
        self, session: AsyncSession, tenant_id: str, stage: Stage, ids: list[str], why: str
    ) -> None:
        """In a batch's own transaction: what it erased or deleted, so a crash after the
        commit still leaves the batch accounted for. (The caller adds the ids to the
        tenant's per-stage digest once the batch committed.)"""
        if not ids:
            return
        batch = ErasedIds()
        batch.add(ids)
        await append_event(
            session,
            self.master,
            tenant_id=tenant_id,
            actor=self.actor,
            action="retention.batch",
            target=self.report.run_id,
            details={"stage": stage.value, "why": why, **batch.summary()},
        )
        batch.close()

    async def _expire_audit_trail(self, failures: list[str]) -> None:
        """Remove audit events past the trail's own window, chain by chain (only the
        tenant's chain when the run is limited to one tenant)."""
        window = self.options.audit_retention
        if window is None:
            return
        try:
            if self.options.tenant_id is not None:
                chains = [self.options.tenant_id]
            else:
                async with self.sessions() as session:
                    chains = await audit_chains(session)
        except Exception as exc:
            failures.append(f"audit trail retention: {_describe(exc)}")
            return
        for chain in chains:
            try:
                await self._beat()
                expiry = await expire_chain(
                    self.sessions,
                    self.master,
                    tenant_id=chain,
                    before=self.now - window,
                    actor=self.actor,
                    batch_size=self.options.batch_size,
                    target=self.report.run_id,
                )
            except RetentionLockLost as exc:
                failures.append(str(exc))
                return
            except Exception as exc:
                name = chain or "(system)"
                logger.error("audit trail retention failed for %s: %s", name, _describe(exc))
                failures.append(f"audit trail of {name}: {_describe(exc)}")
                continue
            if expiry.removed:
                self.report.audit_events_removed[chain] = expiry.removed

    async def _tenants(self) -> list[str]:
        if self.options.tenant_id is not None:
            return [self.options.tenant_id]
        async with self.sessions() as session:
            logs = select(CommunicationLog.tenant_id).distinct()
            keys = select(TenantKey.tenant_id).where(TenantKey.state == KeyState.ACTIVE).distinct()
            holds = select(LegalHold.tenant_id).distinct()
            found = set((await session.execute(logs)).scalars())
            found |= set((await session.execute(keys)).scalars())
            found |= set((await session.execute(holds)).scalars())
        return sorted(found)

    async def _apply_to_tenant(self, tenant_id: str) -> None:
        for stage in PROCESSING_ORDER:
            for channel in Channel:
                conditions = _stage_filter(stage, self.policy, tenant_id, channel, self.now)
                started = time.perf_counter()
                if self.options.dry_run:
                    count = await self._count(conditions)
                else:
                    count = await self._apply(tenant_id, stage, conditions)
                self._took(stage.value, started)
                self.report.add(tenant_id, stage.value, count)
        started = time.perf_counter()
        for purpose, stage in KEY_STAGES:
            await self._retire_month_keys(tenant_id, purpose, stage)
        self._took("keys", started)
        started = time.perf_counter()
        self.report.add(tenant_id, RELEASED_HOLDS, await self._purge_released_holds(tenant_id))
        self._took(RELEASED_HOLDS, started)

    async def _purge_released_holds(self, tenant_id: str) -> int:
        """Delete the tenant's holds released (or lapsed) longer ago than the window, with
        their reason text and masked recipient, in batches; a dry run only counts them."""
        due = purgeable(tenant_id, self.now, self.options.released_holds_kept)
        if self.options.dry_run:
            async with self.sessions() as session:
                statement = select(func.count()).select_from(LegalHold).where(due)
                return int(await session.scalar(statement) or 0)
        done = 0
        while True:
            async with self.sessions() as session:
                await begin_write(session)
                ids = list(
                    (
                        await session.execute(
                            select(LegalHold.id)
                            .where(due)
                            .order_by(LegalHold.id)
                            .limit(self.options.batch_size)
                        )
                    ).scalars()
                )
                if not ids:
                    return done
                purged = await purge_holds(
                    session,
                    self.master,
                    ids,
                    actor=Actor(id=self.options.actor, kind=ActorKind.SYSTEM),
                )
                await self._heartbeat(session)
                await commit(session, operation="retention_purge_holds")
            done += purged
            if self.options.after_batch is not None:
                await self.options.after_batch()

    def _took(self, what: str, started: float) -> None:
        elapsed = time.perf_counter() - started
        self.report.seconds[what] = self.report.seconds.get(what, 0.0) + elapsed

    async def _count(self, conditions: list[ColumnElement[bool]]) -> int:
        async with self.sessions() as session:
            statement = select(func.count()).select_from(CommunicationLog).where(*conditions)
            return int(await session.scalar(statement) or 0)

    async def _apply(
        self, tenant_id: str, stage: Stage, conditions: list[ColumnElement[bool]]
    ) -> int:
        done = 0
        while True:
            async with self.sessions() as session:
                await begin_write(session)
                ids = list(
                    (
                        await session.execute(
                            select(CommunicationLog.id)
                            .where(*conditions)
                            .order_by(CommunicationLog.created_at, CommunicationLog.id)
                            .limit(self.options.batch_size)
                        )
                    ).scalars()
                )
                if not ids:
                    return done
                # Held again in the statement itself: a hold committed since the SELECT wins.
                # RETURNING names exactly the rows that went, for the audit trail.
                target = (CommunicationLog.id.in_(ids), not_held(self.now, stage))
                statement = (
                    delete(CommunicationLog).where(*target)
                    if stage is Stage.RECORD
                    else update(CommunicationLog).where(*target).values(_ERASE[stage])
                )
                touched = list(
                    (
                        await session.execute(
                            statement.returning(CommunicationLog.id).execution_options(
                                synchronize_session=False
                            )
                        )
                    ).scalars()
                )
                await self._record_batch(session, tenant_id, stage, touched, "window passed")
                await self._heartbeat(session)
                await commit(session, operation="retention_batch")
            self._erased[stage.value].add(touched)
            done += len(touched)
            if self.options.after_batch is not None:
                await self.options.after_batch()
            if self.engine.dialect.name == "postgresql":
                await self._beat()
            if self.options.pause_seconds > 0:
                await asyncio.sleep(self.options.pause_seconds)

    async def _heartbeat(self, session: AsyncSession) -> None:
        """Inside a batch's transaction: keep this run's SQLite lock row fresh, and stop
        (rolling the batch back) if another run took it over. PostgreSQL's advisory lock
        is checked after the batch instead (:meth:`_beat`)."""
        if self.engine.dialect.name != "postgresql":
            await touch_sqlite_lock(session, self.report.run_id)

    async def _beat(self) -> None:
        """Between tenants and months: prove the run still holds its lock."""
        if self._lock_check is not None:
            await self._lock_check()

    async def _retire_month_keys(self, tenant_id: str, purpose: KeyPurpose, stage: Stage) -> None:
        """Destroy a month's key once every channel's window has passed the whole month.

        Held records still sealed with that month's key move to the tenant's hold key
        first; anything else still sealed with it is past its window and is erased.
        """
        window = self.policy.longest(tenant_id, stage)
        async with self.sessions() as session:
            epochs = set(
                (
                    await session.execute(
                        select(TenantKey.epoch)
                        .where(
                            TenantKey.tenant_id == tenant_id,
                            TenantKey.purpose == purpose,
                            TenantKey.state == KeyState.ACTIVE,
                            TenantKey.epoch.not_in((HOLD_EPOCH, BLIND_INDEX_EPOCH)),
                        )
                        .distinct()
                    )
                ).scalars()
            )
        for epoch in sorted(e for e in epochs if month_wholly_past(e, window, self.now)):
            await self._beat()
            moved = await self._move_held_out_of(tenant_id, purpose, epoch, stage)
            if not self.options.dry_run:
                async with self.sessions() as session:
                    await begin_write(session)
                    # Checked again where the key dies: a hold placed since, or a held
                    # record that could not be moved, keeps the month's key alive.
                    still_held = await session.scalar(
                        select(func.count())
                        .select_from(CommunicationLog)
                        .where(*self._sealed_with(tenant_id, purpose, epoch), held(self.now, stage))
                    )
                    if still_held:
                        logger.warning(
                            "tenant %s: %s keys of %s kept: %d held records still use them",
                            tenant_id,
                            purpose.value,
                            epoch,
                            still_held,
                        )
                        continue
                    await KeyStore(session, self.master, self.cache).destroy(
                        tenant_id,
                        self.actor,
                        purpose=purpose,
                        epoch=epoch,
                        reason=f"{stage.value} window passed",
                        target=self.report.run_id,
                    )
                    await commit(session, operation="retention_destroy_keys")
            self.report.keys_destroyed.append(
                {
                    "tenant_id": tenant_id,
                    "purpose": purpose.value,
                    "epoch": epoch,
                    "held_records_moved": moved,
                }
            )

    def _sealed_with(
        self, tenant_id: str, purpose: KeyPurpose, epoch: str
    ) -> list[ColumnElement[bool]]:
        """SQL: the tenant's records with a field sealed under a key of (purpose, epoch)."""
        column = (
            CommunicationLog.content_key_id
            if purpose is KeyPurpose.CONTENT
            else CommunicationLog.recipient_key_id
        )
        month_keys = (
            select(TenantKey.id)
            .where(
                TenantKey.tenant_id == tenant_id,
                TenantKey.purpose == purpose,
                TenantKey.epoch == epoch,
            )
            .scalar_subquery()
        )
        return [CommunicationLog.tenant_id == tenant_id, column.in_(month_keys)]

    async def _move_held_out_of(
        self, tenant_id: str, purpose: KeyPurpose, epoch: str, stage: Stage
    ) -> int:
        sealed_here = self._sealed_with(tenant_id, purpose, epoch)
        if self.options.dry_run:
            return await self._count([*sealed_here, held(self.now, stage)])
        moved = 0
        last_id = ""
        while True:
            async with self.sessions() as session:
                await begin_write(session)
                rows = list(
                    (
                        await session.execute(
                            select(CommunicationLog)
                            .where(*sealed_here, CommunicationLog.id > last_id)
                            .order_by(CommunicationLog.id)
                            .limit(self.options.batch_size)
                            .with_for_update()
                        )
                    ).scalars()
                )
                if not rows:
                    return moved
                held_ids = set(
                    (
                        await session.execute(
                            select(CommunicationLog.id).where(
                                CommunicationLog.id.in_([r.id for r in rows]),
                                held(self.now, stage),
                            )
                        )
                    ).scalars()
                )
                sealer = RecordSealer(KeyStore(session, self.master, self.cache))
                erased: list[str] = []
                templates = TemplateStore(session, TemplateCache())
                opened_rows = await open_records(rows, sealer=sealer, templates=templates)
                for row, opened in zip(rows, opened_rows, strict=True):
                    if row.id in held_ids:
                        await sealer.reseal_all(row, opened, epoch=HOLD_EPOCH)
                        moved += 1
                    else:
                        # Past its window by the month's (all channels') longest window:
                        # erased here, and counted under its stage like any erasure.
                        for name, value in _ERASE[stage].items():
                            setattr(row, name, value)
                        erased.append(row.id)
                await self._record_batch(session, tenant_id, stage, erased, "month key retired")
                await commit(session, operation="retention_batch")
            self._erased[stage.value].add(erased)
            self.report.add(tenant_id, stage.value, len(erased))
            last_id = rows[-1].id


def _failure_kind(exc: Exception) -> TenantFailure:
    """What an officer of the failed tenant may learn: a kind, never the exception's text."""
    if isinstance(exc, MasterKeyError | EnvelopeError):
        return TenantFailure.KEY_UNAVAILABLE
    if isinstance(exc, DBAPIError | OSError | TimeoutError):
        return TenantFailure.DATABASE
    return TenantFailure.INTERNAL


def _describe(exc: Exception) -> str:
    """A failure's description for the run record: our own errors say what happened;
    anything else gives only its type (driver messages can quote stored data)."""
    if isinstance(exc, (RetentionLocked, ValueError)) or type(exc).__module__.startswith(
        ("compliance.", "policies.")
    ):
        return f"{type(exc).__name__}: {exc}"
    return type(exc).__name__


async def run_retention(
    engine: AsyncEngine,
    master: MasterKeyring,
    cache: UnwrappedKeyCache,
    policy: RetentionPolicy,
    options: RunOptions,
) -> RunReport:
    """Apply ``policy`` once. Raises :class:`RetentionLocked` or :class:`RetentionFailed`
    (also when the database cannot be reached to take the lock or record the run)."""
    job = RetentionJob(engine, master, cache, policy, options)
    try:
        return await job.run()
    except (RetentionLocked, RetentionFailed, ValueError):
        raise
    except Exception as exc:
        raise RetentionFailed(_describe(exc)) from exc
