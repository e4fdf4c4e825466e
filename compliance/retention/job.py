"""The retention job: applies every due stage in bounded batches and leaves proof.

Each batch is one short transaction (a crash loses at most the batch in flight, and a
rerun finishes the work); at most one run at a time per database (a PostgreSQL advisory
lock, or a lock row on SQLite); every run, dry or real, is recorded in
``retention_runs`` with the digest of the policy it applied.

Order per tenant: records past their ``record`` window are deleted first, then the
recipient and content stages erase fields of the records that remain, then month keys
that are wholly past their window are destroyed, after moving held records under a hold
key, so that erasure reaches every backup too (crypto-shredding).

The run lock is ``compliance.retention.lock``, the run record ``compliance.retention.runs``
and the evidence each batch and tenant leaves in the audit trail (GDPR Art. 5(2))
``compliance.retention.evidence``.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import ColumnElement, and_, delete, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from compliance.encryption.keystore import (
    BLIND_INDEX_EPOCH,
    HOLD_EPOCH,
    KeyPurpose,
    KeyState,
    KeyStore,
    TenantKey,
    UnwrappedKeyCache,
)
from compliance.encryption.master import MasterKeyring
from compliance.records.models import CommunicationLog
from compliance.records.repository import open_records
from compliance.records.sealing import RecordSealer
from compliance.retention.evidence import RunEvidence
from compliance.retention.hold_matching import held, not_held, purgeable
from compliance.retention.holds import purge_holds
from compliance.retention.lock import (
    LockCheck,
    RetentionFailed,
    RetentionLocked,
    RetentionLockLost,
    run_lock,
    touch_sqlite_lock,
)
from compliance.retention.models import LegalHold
from compliance.retention.runs import (
    RELEASED_HOLDS,
    RunReport,
    TenantFailure,
    close_run_record,
    describe_failure,
    failure_kind,
    open_run_record,
)
from compliance.templates.repository import TemplateCache, TemplateStore
from compliance.transactions import begin_write, commit
from policies.audit_chain import Actor, ActorKind
from policies.channels import Channel
from policies.holds import DEFAULT_RELEASED_HOLD_DAYS
from policies.retention import RetentionPolicy, Stage, cutoff, month_wholly_past

logger = logging.getLogger("commlog.retention")

DEFAULT_BATCH_SIZE = 5_000
RUN_ID_PREFIX = "run_"
PROCESSING_ORDER = (Stage.RECORD, Stage.RECIPIENT, Stage.CONTENT)
KEY_STAGES = ((KeyPurpose.CONTENT, Stage.CONTENT), (KeyPurpose.RECIPIENT, Stage.RECIPIENT))


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
        clock = options.clock or (lambda: datetime.now(UTC))
        self.now = (options.as_of or clock()).astimezone(UTC)
        self.report = RunReport(
            run_id=RUN_ID_PREFIX + secrets.token_hex(12),
            status="running",
            dry_run=options.dry_run,
            as_of=self.now,
            policy_digest=policy.digest(),
        )
        self.evidence = RunEvidence(self.sessions, master, self.report, self.actor)

    async def run(self) -> RunReport:
        if self.options.as_of is not None and not self.options.dry_run:
            raise ValueError("--as-of previews a date and is only allowed with --dry-run")
        async with run_lock(self.engine, self.sessions, self.report.run_id) as lock_check:
            self._lock_check = lock_check
            await open_run_record(
                self.sessions,
                self.report,
                tenant_filter=self.options.tenant_id,
                actor=self.options.actor,
                policy=self.policy,
            )
            failures: list[str] = []
            lock_lost = False
            try:
                tenants = await self._tenants()
            except Exception as exc:
                tenants, failures = [], [describe_failure(exc)]
            for index, tenant_id in enumerate(tenants):
                # One tenant's failure must not keep the others from their erasure.
                self.evidence.start_tenant()
                try:
                    await self._beat()
                    await self._apply_to_tenant(tenant_id)
                except RetentionLockLost as exc:
                    failures.append(str(exc))
                    lock_lost = True
                    self.report.tenant_done(tenant_id, TenantFailure.INTERRUPTED)
                    for later in tenants[index + 1 :]:
                        self.report.tenant_done(later, TenantFailure.NOT_REACHED)
                    await self.evidence.record_outcome(tenant_id, failures)
                    break
                except Exception as exc:
                    logger.error(
                        "retention failed for tenant %s: %s", tenant_id, describe_failure(exc)
                    )
                    failures.append(f"tenant {tenant_id}: {describe_failure(exc)}")
                    self.report.tenant_done(tenant_id, failure_kind(exc))
                else:
                    self.report.tenant_done(tenant_id)
                await self.evidence.record_outcome(tenant_id, failures)
            if not lock_lost and not self.options.dry_run:
                await self.evidence.expire_audit_trail(
                    failures,
                    window=self.options.audit_retention,
                    tenant_id=self.options.tenant_id,
                    batch_size=self.options.batch_size,
                    beat=self._beat,
                )
            self.report.status = "failed" if failures else "succeeded"
            self.report.error = "; ".join(failures) or None
            await close_run_record(self.sessions, self.report)
        if self.report.error is not None:
            raise (RetentionLockLost if lock_lost else RetentionFailed)(self.report.error)
        return self.report

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
                await self.evidence.record_batch(
                    session, tenant_id, stage, touched, "window passed"
                )
                await self._heartbeat(session)
                await commit(session, operation="retention_batch")
            self.evidence.committed(stage, touched)
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
                await self.evidence.record_batch(
                    session, tenant_id, stage, erased, "month key retired"
                )
                await commit(session, operation="retention_batch")
            self.evidence.committed(stage, erased)
            self.report.add(tenant_id, stage.value, len(erased))
            last_id = rows[-1].id


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
        raise RetentionFailed(describe_failure(exc)) from exc
