"""Reading the record of retention runs: the proof that the policy was applied."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import msgspec
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from compliance.retention.models import RetentionRun


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

    def for_tenant(self, tenant_id: str) -> RunSummary:
        """What this run did to one tenant, and nothing about any other."""
        return RunSummary(
            id=self.id,
            started_at=self.started_at,
            finished_at=self.finished_at,
            status=self.status,
            dry_run=self.dry_run,
            as_of=self.as_of,
            tenant_filter=self.tenant_filter if self.tenant_filter == tenant_id else None,
            actor=self.actor,
            policy_digest=self.policy_digest,
            counts={tenant_id: self.counts.get(tenant_id, {})},
            keys_destroyed=[k for k in self.keys_destroyed if k.get("tenant_id") == tenant_id],
            error=self.error,
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
    )


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
