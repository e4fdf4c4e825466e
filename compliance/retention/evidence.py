"""What a retention run leaves in the audit trail: the evidence of its erasure.

GDPR Art. 5(2): every batch that erases or deletes appends a ``retention.batch`` audit
event in its own transaction (stage, count, SHA-256 of the ids it touched), so a crash can
never leave an erased batch unaccounted; when a tenant is done (or failed) one
``retention.tenant_outcome`` event sums it up with, per stage, the count and the SHA-256
over all the ids it erased (``compliance.retention.digest``). A dry run records one
``retention.dry_run`` event per tenant with its counts. After the tenants, audit events
older than the trail's own window go, under signed checkpoints (``compliance.audit.retention``).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import timedelta

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from compliance.audit.retention import audit_chains, expire_chain
from compliance.audit.trail import append_event
from compliance.encryption.master import MasterKeyring
from compliance.retention.digest import ErasedIds
from compliance.retention.lock import LockCheck, RetentionLockLost
from compliance.retention.runs import RunReport, describe_failure
from compliance.transactions import begin_write, commit
from policies.audit_chain import Actor
from policies.retention import Stage

logger = logging.getLogger("commlog.retention")


@dataclass(slots=True)
class RunEvidence:
    """The audit events of one retention run, and the ids each stage erased for the
    tenant in hand (their digest goes into the tenant's outcome event)."""

    sessions: async_sessionmaker[AsyncSession]
    master: MasterKeyring
    report: RunReport
    actor: Actor
    erased: dict[str, ErasedIds] = field(default_factory=dict)

    def start_tenant(self) -> None:
        """A new tenant: its per-stage digests start empty."""
        self.erased = {stage.value: ErasedIds() for stage in Stage}

    def committed(self, stage: Stage, ids: list[str]) -> None:
        """A batch's ids, once its transaction committed, join the tenant's digest."""
        self.erased[stage.value].add(ids)

    async def record_outcome(self, tenant_id: str, failures: list[str]) -> None:
        """The tenant's ``retention.tenant_outcome`` (or ``retention.dry_run``) audit event,
        in a short transaction of its own right after the tenant's last write: status,
        counts per stage, keys destroyed and, per stage, the count and SHA-256 of the ids
        erased or deleted (also for a failed or interrupted tenant: what was done). The
        batches were each recorded with their own transaction already, so an outcome that
        cannot be written (the database went away) loses no erasure's evidence."""
        erased = {stage: ids.summary() for stage, ids in self.erased.items()}
        for ids in self.erased.values():
            ids.close()
        self.erased = {}
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
            "as_of": self.report.as_of.isoformat(),
        }
        if "error" in outcome:
            details["error"] = outcome["error"]
        if self.report.dry_run:
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
                describe_failure(exc),
            )
            failures.append(
                f"tenant {tenant_id}: audit outcome not recorded: {describe_failure(exc)}"
            )

    async def record_batch(
        self, session: AsyncSession, tenant_id: str, stage: Stage, ids: list[str], why: str
    ) -> None:
        """In a batch's own transaction: what it erased or deleted, so a crash after the
        commit still leaves the batch accounted for. (The caller hands the ids to
        :meth:`committed` once the batch committed.)"""
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

    async def expire_audit_trail(
        self,
        failures: list[str],
        *,
        window: timedelta | None,
        tenant_id: str | None,
        batch_size: int,
        beat: LockCheck,
    ) -> None:
        """Remove audit events past the trail's own window, chain by chain (only the
        tenant's chain when the run is limited to one tenant)."""
        if window is None:
            return
        try:
            if tenant_id is not None:
                chains = [tenant_id]
            else:
                async with self.sessions() as session:
                    chains = await audit_chains(session)
        except Exception as exc:
            failures.append(f"audit trail retention: {describe_failure(exc)}")
            return
        for chain in chains:
            try:
                await beat()
                expiry = await expire_chain(
                    self.sessions,
                    self.master,
                    tenant_id=chain,
                    before=self.report.as_of - window,
                    actor=self.actor,
                    batch_size=batch_size,
                    target=self.report.run_id,
                )
            except RetentionLockLost as exc:
                failures.append(str(exc))
                return
            except Exception as exc:
                name = chain or "(system)"
                logger.error("audit trail retention failed for %s: %s", name, describe_failure(exc))
                failures.append(f"audit trail of {name}: {describe_failure(exc)}")
                continue
            if expiry.removed:
                self.report.audit_events_removed[chain] = expiry.removed
