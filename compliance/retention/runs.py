"""The record of retention runs: the proof that the policy was applied.

A run opens its row in ``retention_runs`` when it starts (with the digest of the policy it
applies) and closes it with its :class:`RunReport`; operators and officers read it back
with :func:`list_runs`.

A run over every tenant records, besides its operator-facing ``error`` text, one outcome
per tenant: a status and a failure *kind* from a fixed vocabulary, never an exception's
words. An officer sees only their tenant's outcome, phrased from that vocabulary, so a
run report never tells one tenant anything about another (not even that it exists).
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import msgspec
from sqlalchemy import func, select, update
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from compliance.encryption.envelope import EnvelopeError
from compliance.encryption.master import MasterKeyError
from compliance.retention.lock import RetentionLocked
from compliance.retention.models import RetentionRun
from compliance.transactions import begin_write, commit
from policies.retention import RetentionPolicy, Stage

RELEASED_HOLDS = "released_holds"
"""The run's count of legal holds purged (released or lapsed longer than the window)."""


class TenantFailure(enum.StrEnum):
    """Why a run did not finish one tenant: what is stored per tenant, nothing more."""

    KEY_UNAVAILABLE = "key_unavailable"
    DATABASE = "database"
    INTERRUPTED = "interrupted"
    NOT_REACHED = "not_reached"
    INTERNAL = "internal"


TENANT_FAILURE_TEXT = {
    TenantFailure.KEY_UNAVAILABLE: (
        "a data key of your tenant could not be opened with the configured master keys; "
        "the operator has been alerted"
    ),
    TenantFailure.DATABASE: "the database failed during your tenant's retention",
    TenantFailure.INTERRUPTED: "the run was interrupted before it finished your tenant",
    TenantFailure.NOT_REACHED: "the run stopped before it reached your tenant",
    TenantFailure.INTERNAL: "retention failed for your tenant; the operator has the details",
}
"""What an officer reads for each kind. A later run finishes what a failed one left."""

RUN_INCOMPLETE_TEXT = "the run did not complete for your tenant"
"""For a failed run that recorded no outcome for the tenant (it failed before listing
tenants, was interrupted, or was recorded before per-tenant outcomes existed)."""


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


async def open_run_record(
    sessions: async_sessionmaker[AsyncSession],
    report: RunReport,
    *,
    tenant_filter: str | None,
    actor: str,
    policy: RetentionPolicy,
) -> None:
    """Mark runs left ``running`` (their process ended) failed, and record this one as
    running, with the policy it applies."""
    async with sessions() as session:
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
                id=report.run_id,
                started_at=datetime.now(UTC),
                status="running",
                dry_run=report.dry_run,
                as_of=report.as_of,
                tenant_filter=tenant_filter,
                actor=actor,
                policy_digest=report.policy_digest,
                policy=msgspec.json.encode(policy.describe()).decode(),
            )
        )
        await commit(session, operation="retention_run_record")


async def close_run_record(sessions: async_sessionmaker[AsyncSession], report: RunReport) -> None:
    """Record how the run ended and what it did."""
    async with sessions() as session:
        await begin_write(session)
        await session.execute(
            update(RetentionRun)
            .where(RetentionRun.id == report.run_id)
            .values(
                status=report.status,
                finished_at=datetime.now(UTC),
                counts=msgspec.json.encode(report.counts).decode(),
                keys_destroyed=msgspec.json.encode(report.keys_destroyed).decode(),
                error=report.error,
                tenant_outcomes=msgspec.json.encode(report.outcomes).decode(),
            )
        )
        await commit(session, operation="retention_run_record")


def failure_kind(exc: Exception) -> TenantFailure:
    """What an officer of the failed tenant may learn: a kind, never the exception's text."""
    if isinstance(exc, MasterKeyError | EnvelopeError):
        return TenantFailure.KEY_UNAVAILABLE
    if isinstance(exc, DBAPIError | OSError | TimeoutError):
        return TenantFailure.DATABASE
    return TenantFailure.INTERNAL


def describe_failure(exc: Exception) -> str:
    """A failure's description for the run record: our own errors say what happened;
    anything else gives only its type (driver messages can quote stored data)."""
    if isinstance(exc, (RetentionLocked, ValueError)) or type(exc).__module__.startswith(
        ("compliance.", "policies.")
    ):
        return f"{type(exc).__name__}: {exc}"
    return type(exc).__name__


@dataclass(frozen=True, slots=True, kw_only=True)
class TenantOutcome:
    status: str
    error: TenantFailure | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class RunSummary:
    id: str
    started_at: datetime
    finished_at: datetime | None
    status: str
    dry_run: bool
    as_of: datetime
    tenant_filter: str | None
    actor: str
    policy_digest: str
    counts: dict[str, dict[str, int]]
    keys_destroyed: list[dict[str, Any]]
    error: str | None
    """For operators: may name tenants and quote our own errors. Never shown to officers."""
    outcomes: dict[str, TenantOutcome]

    def outcome_for(self, tenant_id: str) -> TenantOutcome:
        """The run as it concerns one tenant."""
        recorded = self.outcomes.get(tenant_id)
        if recorded is not None:
            return recorded
        if self.status == "failed":
            return TenantOutcome(status="failed")
        return TenantOutcome(status=self.status)

    def for_tenant(self, tenant_id: str) -> RunSummary:
        """What this run did to one tenant, and nothing about any other: its status and
        error are that tenant's outcome, the error a fixed phrase."""
        outcome = self.outcome_for(tenant_id)
        error = None
        if outcome.status == "failed":
            error = TENANT_FAILURE_TEXT[outcome.error] if outcome.error else RUN_INCOMPLETE_TEXT
        return RunSummary(
            id=self.id,
            started_at=self.started_at,
            finished_at=self.finished_at,
            status=outcome.status,
            dry_run=self.dry_run,
            as_of=self.as_of,
            tenant_filter=self.tenant_filter if self.tenant_filter == tenant_id else None,
            actor=self.actor,
            policy_digest=self.policy_digest,
            counts={tenant_id: self.counts.get(tenant_id, {})},
            keys_destroyed=[k for k in self.keys_destroyed if k.get("tenant_id") == tenant_id],
            error=error,
            outcomes={tenant_id: outcome},
        )


def _summary(row: RetentionRun) -> RunSummary:
    return RunSummary(
        id=row.id,
        started_at=row.started_at,
        finished_at=row.finished_at,
        status=row.status,
        dry_run=row.dry_run,
        as_of=row.as_of,
        tenant_filter=row.tenant_filter,
        actor=row.actor,
        policy_digest=row.policy_digest,
        counts=msgspec.json.decode(row.counts or "{}"),
        keys_destroyed=msgspec.json.decode(row.keys_destroyed or "[]"),
        error=row.error,
        outcomes=_outcomes(row.tenant_outcomes),
    )


_KINDS = frozenset(kind.value for kind in TenantFailure)


def _outcomes(stored: str | None) -> dict[str, TenantOutcome]:
    outcomes: dict[str, TenantOutcome] = {}
    for tenant_id, value in msgspec.json.decode(stored or "{}").items():
        kind = value.get("error")
        outcomes[tenant_id] = TenantOutcome(
            status=str(value.get("status", "failed")),
            error=TenantFailure(kind) if kind in _KINDS else None,
        )
    return outcomes


async def list_runs(
    session: AsyncSession, *, limit: int, offset: int = 0, tenant_id: str | None = None
) -> tuple[list[RunSummary], int]:
    """Runs newest first. With ``tenant_id``: runs over all tenants or that tenant only."""
    statement = select(RetentionRun)
    counting = select(func.count()).select_from(RetentionRun)
    if tenant_id is not None:
        visible = RetentionRun.tenant_filter.is_(None) | (RetentionRun.tenant_filter == tenant_id)
        statement = statement.where(visible)
        counting = counting.where(visible)
    rows = (
        await session.execute(
            statement.order_by(RetentionRun.started_at.desc(), RetentionRun.id.desc())
            .limit(limit)
            .offset(offset)
        )
    ).scalars()
    total = int(await session.scalar(counting) or 0)
    runs = [_summary(row) for row in rows]
    if tenant_id is not None:
        runs = [run.for_tenant(tenant_id) for run in runs]
    return runs, total
