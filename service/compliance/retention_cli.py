"""``commlog holds …`` and ``commlog retention …``: legal holds and the retention job."""

from __future__ import annotations

import asyncio
import logging
import sys
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta

import click
from litestar import Litestar
from litestar.cli._utils import LitestarGroup

from compliance.encryption.keystore import KeyStore
from compliance.records.sealing import RecordSealer
from compliance.retention.holds import HoldError, add_hold, list_holds, release_hold
from compliance.retention.job import (
    RetentionFailed,
    RetentionLocked,
    RunOptions,
    RunReport,
    run_retention,
)
from compliance.retention.runs import list_runs
from compliance.transactions import begin_write, commit
from policies.audit_chain import Actor, ActorKind
from policies.channels import Channel
from policies.identifiers import NO_NUL_RULE, has_nul, identifier_problem
from policies.instants import RANGE_TEXT, accepted_instant
from policies.retention import STAGE_ORDER, next_daily_run
from service.cli import (
    EXIT_FAILED,
    EXIT_LOCKED,
    EXIT_USAGE,
    _fail,
    _run_async,
    actor_option,
    cli_actor,
)
from service.persistence.failures import database_unusable, describe_database_failure
from service.settings import Settings

logger = logging.getLogger("commlog.retention")


def _when(text: str | None, option: str) -> datetime | None:
    if text is None:
        return None
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        _fail(
            f"{option} must be an ISO 8601 timestamp with a time zone, e.g. 2027-01-31T00:00Z",
            code=EXIT_USAGE,
        )
    if moment.tzinfo is None:
        _fail(f"{option} needs a time zone (e.g. a trailing Z for UTC)", code=EXIT_USAGE)
    accepted = accepted_instant(moment)
    if accepted is None:
        _fail(f"{option} must be {RANGE_TEXT}", code=EXIT_USAGE)
    return accepted


def _check_identifiers(**options: str | None) -> None:
    """The API's rules for ids and free text (``policies.identifiers``), option by option."""
    for option, value in options.items():
        if value is None:
            continue
        if option in ("reason", "recipient"):
            problem = NO_NUL_RULE if has_nul(value) else None
        else:
            problem = identifier_problem(value)
        if problem is not None:
            _fail(f"--{option} {problem}", code=EXIT_USAGE)


def _guess_channel(recipient: str) -> Channel:
    if "@" in recipient:
        return Channel.EMAIL
    if recipient.lstrip("+").replace(" ", "").replace("-", "").isdigit():
        return Channel.SMS
    return Channel.PUSH


@click.group(cls=LitestarGroup, name="holds")
def holds_group() -> None:
    """Legal holds: keep records from retention (GDPR Art. 17(3)(b), (e))."""


@click.command(name="add")
@click.option("--tenant", "tenant_id", required=True)
@click.option("--user", "user_id", default=None, help="only this user's records")
@click.option("--recipient", default=None, help="only this recipient's records")
@click.option(
    "--channel",
    type=click.Choice([c.value for c in Channel]),
    default=None,
    help="the recipient's channel (guessed from its shape when omitted)",
)
@click.option(
    "--whole-tenant",
    is_flag=True,
    help="hold every record of the tenant (instead of --user/--recipient)",
)
@click.option("--reason", required=True)
@click.option("--expires", default=None, help="ISO 8601 time the hold lapses by itself")
@actor_option
def holds_add_command(
    app: Litestar,
    tenant_id: str,
    user_id: str | None,
    recipient: str | None,
    channel: str | None,
    whole_tenant: bool,
    reason: str,
    expires: str | None,
    actor: str,
) -> None:
    """Place a hold on --user, --recipient (or both), or --whole-tenant; prints its id."""
    _check_identifiers(tenant=tenant_id, user=user_id, recipient=recipient, reason=reason)
    if whole_tenant and (user_id is not None or recipient is not None):
        _fail("--whole-tenant cannot be combined with --user or --recipient", code=EXIT_USAGE)
    if not whole_tenant and user_id is None and recipient is None:
        _fail(
            "say what the hold keeps: --user, --recipient (or both), or --whole-tenant",
            code=EXIT_USAGE,
        )
    settings: Settings = app.state["settings"]
    expires_at = _when(expires, "--expires")
    chosen = None
    if recipient is not None:
        chosen = Channel(channel) if channel else _guess_channel(recipient)

    async def operation() -> str:
        async with app.state["database"].get_session() as session:
            await begin_write(session)
            sealer = RecordSealer(KeyStore(session, settings.master_keys, app.state["key_cache"]))
            hold = await add_hold(
                session,
                sealer,
                tenant_id=tenant_id,
                reason=reason,
                actor=actor,
                user_id=user_id,
                channel=chosen,
                recipient=recipient,
                whole_tenant=whole_tenant,
                expires_at=expires_at,
            )
            await commit(session, operation="holds_add")
            return hold.id

    try:
        click.echo(_run_async(app, operation(), verify_keys=True))
    except (HoldError, ValueError) as exc:
        _fail(str(exc))


@click.command(name="list")
@click.option("--tenant", "tenant_id", required=True)
def holds_list_command(app: Litestar, tenant_id: str) -> None:
    """One hold per line, id first."""

    async def operation() -> list[str]:
        async with app.state["database"].get_session() as session:
            holds = await list_holds(session, tenant_id)
        now = datetime.now(UTC)
        lines = []
        for hold in holds:
            scope = []
            if hold.user_id:
                scope.append(f"user={hold.user_id}")
            if hold.recipient:
                scope.append(f"recipient={hold.recipient} ({hold.channel})")
            state = (
                "active" if hold.active_at(now) else ("released" if hold.released_at else "expired")
            )
            lines.append(
                f"{hold.id}  {state}  {' '.join(scope) or 'whole tenant'}  "
                f"by {hold.created_by} at {hold.created_at:%Y-%m-%dT%H:%MZ}"
                + (f"  expires {hold.expires_at:%Y-%m-%dT%H:%MZ}" if hold.expires_at else "")
                + f"  reason: {hold.reason}"
            )
        return lines

    for line in _run_async(app, operation(), verify_keys=False):
        click.echo(line)


@click.command(name="release")
@click.argument("hold_id")
@actor_option
def holds_release_command(app: Litestar, hold_id: str, actor: str) -> None:
    """Release a hold: its records are eligible on the next run."""

    async def operation() -> str:
        async with app.state["database"].get_session() as session:
            await begin_write(session)
            hold = await release_hold(session, hold_id, actor=actor)
            await commit(session, operation="holds_release")
            return hold.id

    try:
        click.echo(f"released {_run_async(app, operation(), verify_keys=False)}")
    except HoldError as exc:
        _fail(str(exc))


for _command in (holds_add_command, holds_list_command, holds_release_command):
    holds_group.add_command(_command)  # type: ignore[arg-type]  # rich-click types


@click.group(cls=LitestarGroup, name="retention")
def retention_group() -> None:
    """The retention job (ePrivacy Art. 6, GDPR Art. 5(1)(e), PIPL Art. 19)."""


def _print_report(report: RunReport) -> None:
    mode = "dry run (nothing changed)" if report.dry_run else "run"
    click.echo(
        f"{report.run_id}: {mode} as of {report.as_of:%Y-%m-%dT%H:%M:%SZ}, "
        f"policy {report.policy_digest}, {report.status}"
    )
    verb = {"record": "deleted", "recipient": "recipients erased", "content": "contents erased"}
    if report.dry_run:
        verb = {k: "would be " + v for k, v in verb.items()}
    for tenant_id, counts in sorted(report.counts.items()):
        parts = [f"{counts.get(stage.value, 0)} {verb[stage.value]}" for stage in STAGE_ORDER]
        click.echo(f"  {tenant_id}: " + ", ".join(parts))
    for key in report.keys_destroyed:
        prefix = "would destroy" if report.dry_run else "destroyed"
        click.echo(
            f"  {key['tenant_id']}: {prefix} {key['purpose']} keys of {key['epoch']}"
            f" ({key['held_records_moved']} held records moved to the hold key)"
        )
    for chain, removed in sorted(report.audit_events_removed.items()):
        click.echo(
            f"  audit trail of {chain or '(system)'}: {removed} events past "
            "COMMLOG_AUDIT_RETENTION_DAYS removed under a signed checkpoint"
        )


async def _run_once(app: Litestar, options: RunOptions) -> RunReport:
    settings: Settings = app.state["settings"]
    return await run_retention(
        app.state["database"].get_engine(),
        settings.master_keys,
        app.state["key_cache"],
        settings.retention_policy,
        options,
    )


@click.command(name="run")
@click.option("--dry-run", is_flag=True, help="report what would happen; change nothing")
@click.option("--as-of", default=None, help="with --dry-run: preview this instant (ISO 8601)")
@click.option("--tenant", "tenant_id", default=None, help="only this tenant")
@click.option("--batch-size", default=5000, show_default=True, type=click.IntRange(1, 100_000))
@click.option(
    "--pause-ms",
    default=0,
    show_default=True,
    type=click.IntRange(0, 60_000),
    help="rest between batches, to leave the database to the service",
)
@actor_option
def retention_run_command(
    app: Litestar,
    dry_run: bool,
    as_of: str | None,
    tenant_id: str | None,
    batch_size: int,
    pause_ms: int,
    actor: str,
) -> None:
    """Apply every due retention stage once. Exit 0 done, 1 failed, 3 another run holds
    the lock."""
    settings: Settings = app.state["settings"]
    if as_of is not None and not dry_run:
        _fail("--as-of previews a date and is only allowed with --dry-run", code=EXIT_USAGE)
    options = RunOptions(
        actor=actor,
        audit_actor=cli_actor(actor),
        audit_retention=timedelta(days=settings.audit_retention_days),
        dry_run=dry_run,
        as_of=_when(as_of, "--as-of"),
        tenant_id=tenant_id,
        batch_size=batch_size,
        pause_seconds=pause_ms / 1000,
    )
    try:
        report = _run_async(app, _run_once(app, options), verify_keys=True)
    except RetentionLocked as exc:
        click.echo(f"commlog: {exc}; nothing was done", err=True)
        sys.exit(EXIT_LOCKED)
    except RetentionFailed as exc:
        cause = exc.__cause__
        if cause is not None and database_unusable(cause):
            # The run could not even be recorded: nothing to see in 'retention runs'.
            _fail(describe_database_failure(cause, settings.database_location) or str(exc))
        click.echo(f"commlog: retention run failed: {exc} (see 'commlog retention runs')", err=True)
        sys.exit(EXIT_FAILED)
    _print_report(report)


@click.command(name="runs")
@click.option("--limit", default=20, show_default=True, type=click.IntRange(1, 1000))
def retention_runs_command(app: Litestar, limit: int) -> None:
    """Recorded runs, newest first, one per line."""

    async def operation() -> list[str]:
        async with app.state["database"].get_session() as session:
            runs, _ = await list_runs(session, limit=limit)
        lines = []
        for run in runs:
            totals = {stage.value: 0 for stage in STAGE_ORDER}
            for counts in run.counts.values():
                for stage, count in counts.items():
                    totals[stage] = totals.get(stage, 0) + count
            lines.append(
                f"{run.id}  {run.status}{' (dry run)' if run.dry_run else ''}  "
                f"started {run.started_at:%Y-%m-%dT%H:%M:%SZ}  "
                f"as of {run.as_of:%Y-%m-%dT%H:%M:%SZ}  "
                f"deleted {totals['record']}, recipients erased {totals['recipient']}, "
                f"contents erased {totals['content']}, keys destroyed {len(run.keys_destroyed)}"
                f"  policy {run.policy_digest}" + (f"  error: {run.error}" if run.error else "")
            )
        return lines

    for line in _run_async(app, operation(), verify_keys=False):
        click.echo(line)


@click.command(name="schedule")
@actor_option
def retention_schedule_command(app: Litestar, actor: str) -> None:
    """Run the job daily at COMMLOG_RETENTION_AT (UTC) in the foreground (a sidecar)."""
    settings: Settings = app.state["settings"]
    click.echo(f"retention: daily at {settings.retention_at:%H:%M} UTC; Ctrl-C to stop")
    asyncio.run(schedule_forever(app, actor))


async def schedule_forever(
    app: Litestar,
    actor: str,
    *,
    runs: int | None = None,
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
) -> None:
    """Sleep until the next daily time, run, repeat (``runs`` and ``sleep`` for tests)."""
    settings: Settings = app.state["settings"]
    # The scheduled job acts as the system; where it runs is recorded with it.
    system = Actor(id=actor, kind=ActorKind.SYSTEM, origin=cli_actor(actor).origin)
    done = 0
    while runs is None or done < runs:
        now = datetime.now(UTC)
        wake = next_daily_run(now, settings.retention_at)
        await sleep(max(0.0, (wake - now).total_seconds()))
        try:
            report = await _run_once(
                app,
                RunOptions(
                    actor=actor,
                    audit_actor=system,
                    audit_retention=timedelta(days=settings.audit_retention_days),
                ),
            )
            _print_report(report)
        except RetentionLocked as exc:
            logger.warning("scheduled retention run skipped: %s", exc)
        except RetentionFailed as exc:
            logger.error("scheduled retention run failed: %s", exc)
        except Exception as exc:  # a sidecar outlives a bad night; the next run retries
            logger.error("scheduled retention run failed: %s", type(exc).__name__)
        done += 1


for _command in (retention_run_command, retention_runs_command, retention_schedule_command):
    retention_group.add_command(_command)  # type: ignore[arg-type]  # rich-click types
