"""``commlog audit …``: verify the audit trail's hash chains, and list a tenant's events."""

from __future__ import annotations

import click
from litestar import Litestar
from litestar.cli._utils import LitestarGroup

from compliance.audit.events import EventFilter, list_events
from compliance.audit.verify import verify_trail
from policies.audit_chain import (
    SYSTEM_CHAIN,
    ChainedEvent,
    canonical_json,
    canonical_time,
    chain_label,
)
from policies.audit_verification import BreakKind, ChainReport
from service.cli import EXIT_CONFIGURATION, EXIT_FAILED, _run_async
from service.compliance.retention_cli import _check_identifiers, _when

SYSTEM_LABEL = chain_label(SYSTEM_CHAIN)


def _chain_id(tenant: str | None) -> str | None:
    """``--tenant '(system)'`` names the system chain (events of no tenant)."""
    if tenant is None or tenant == SYSTEM_LABEL:
        return SYSTEM_CHAIN if tenant is not None else None
    _check_identifiers(tenant=tenant)
    return tenant


@click.group(cls=LitestarGroup, name="audit")
def audit_group() -> None:
    """The audit trail: verify its hash chains, list events (GDPR Art. 5(2))."""


def _chain_line(report: ChainReport) -> str:
    label = chain_label(report.tenant_id)
    head = (
        f"head {report.head_sequence} {report.head_hash}"
        if report.head_hash is not None
        else "no head"
    )
    after = (
        f", from checkpoint {report.checkpoint_sequence}"
        if report.checkpoint_sequence is not None
        else ""
    )
    if report.broken is None:
        state = "intact"
    elif report.broken.kind is BreakKind.UNKNOWN_KEY:
        state = "NOT CHECKED"
    else:
        state = "BROKEN"
    return f"{label}: {report.events} events, {head}{after}: {state}"


@click.command(name="verify")
@click.option(
    "--tenant", default=None, help="only this tenant's chain ('(system)' for the system chain)"
)
def verify_command(app: Litestar, tenant: str | None) -> None:
    """Recompute every chain (or one) and print the first broken link of a broken one.

    Exit 0 when every chain is intact, 1 when one is broken, 2 when a signature was made
    by a master key that is not configured (it cannot be checked here)."""
    tenant_id = _chain_id(tenant)

    async def operation() -> list[ChainReport]:
        return [
            report
            async for report in verify_trail(
                app.state["database"].get_session,
                app.state["settings"].master_keys,
                tenant_id=tenant_id,
            )
        ]

    reports = _run_async(app, operation(), verify_keys=False)
    broken = unchecked = 0
    for report in reports:
        click.echo(_chain_line(report))
        if report.broken is not None:
            where = report.broken
            if where.kind is BreakKind.UNKNOWN_KEY:
                unchecked += 1
            else:
                broken += 1
            click.echo(
                f"commlog: audit chain {chain_label(where.tenant_id)} broken at sequence "
                f"{where.sequence}: {where.detail}"
                if where.kind is not BreakKind.UNKNOWN_KEY
                else f"commlog: audit chain {chain_label(where.tenant_id)} cannot be checked "
                f"at sequence {where.sequence}: {where.detail}",
                err=True,
            )
    if not reports:
        click.echo("no audit events")
    if broken:
        raise SystemExit(EXIT_FAILED)
    if unchecked:
        raise SystemExit(EXIT_CONFIGURATION)


def _event_line(event: ChainedEvent) -> str:
    origin = ",".join(f"{key}={value}" for key, value in sorted(event.actor_origin.items()))
    return "  ".join(
        (
            canonical_time(event.occurred_at),
            str(event.sequence),
            event.id,
            f"{event.actor} ({event.actor_kind}{'; ' + origin if origin else ''})",
            event.action,
            event.target or "-",
            canonical_json(dict(event.details)).decode(),
        )
    )


@click.command(name="list")
@click.option(
    "--tenant", required=True, help="the tenant whose events to list ('(system)' for none)"
)
@click.option("--action", default=None, help="exact action, or a prefix ending in '.'")
@click.option("--actor", default=None, help="only events by this actor id")
@click.option("--since", default=None, help="from this time on (ISO 8601 with a time zone)")
@click.option("--until", default=None, help="before this time (ISO 8601 with a time zone)")
@click.option("--limit", default=50, show_default=True, type=click.IntRange(1, 10_000))
def list_command(
    app: Litestar,
    tenant: str,
    action: str | None,
    actor: str | None,
    since: str | None,
    until: str | None,
    limit: int,
) -> None:
    """A tenant's audit events, newest first, one per line: time, sequence, id, actor,
    action, target, details."""
    tenant_id = _chain_id(tenant)
    assert tenant_id is not None
    _check_identifiers(action=action, actor=actor)
    where = EventFilter(
        tenant_id=tenant_id,
        action=action,
        actor=actor,
        since=_when(since, "--since"),
        until=_when(until, "--until"),
    )

    async def operation() -> list[ChainedEvent]:
        async with app.state["database"].get_session() as session:
            events, _ = await list_events(session, where, limit=limit)
            return events

    events = _run_async(app, operation(), verify_keys=False)
    for event in events:
        click.echo(_event_line(event))
    if not events:
        click.echo(f"no audit events for {chain_label(tenant_id)}", err=True)


for _command in (verify_command, list_command):
    audit_group.add_command(_command)  # type: ignore[arg-type]  # rich-click types

__all__ = ["audit_group"]
