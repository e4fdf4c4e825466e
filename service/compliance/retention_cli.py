"""``commlog holds …`` and ``commlog retention …``: legal holds and the retention job."""

from __future__ import annotations

import asyncio
import logging
import re
import sys
from collections.abc import Awaitable, Callable
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import click
from litestar import Litestar
from litestar.cli._utils import LitestarGroup

from compliance.encryption.keystore import KeyStore
from compliance.records.sealing import RecordSealer
from compliance.retention.holds import (
    UNCHANGED,
    Hold,
    HoldError,
    change_legal_hold,
    holds_due_for_review,
    list_holds,
    place_legal_hold,
    release_legal_hold,
)
from compliance.retention.job import RunOptions, run_retention
from compliance.retention.lock import RetentionFailed, RetentionLocked
from compliance.retention.runs import RELEASED_HOLDS, RunReport, list_runs
from compliance.transactions import begin_write, commit
from policies.audit_chain import Actor, ActorKind
from policies.channels import Channel
from policies.holds import (
    DEFAULT_REVIEW_WITHIN_DAYS,
    MAX_REVIEW_WITHIN_DAYS,
    HoldScope,
    bounds_problem,
    reason_problem,
    scope_problem,
)
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


def _hold_line(hold: Hold, now: datetime) -> str:
    def stamp(moment: datetime | None) -> str:
        return f"{moment:%Y-%m-%dT%H:%MZ}" if moment is not None else "-"

    names = []
    if hold.user_id:
        names.append(f"user={hold.user_id}")
    if hold.recipient:
        names.append(f"recipient={hold.recipient} ({hold.channel})")
    state = "active" if hold.active_at(now) else ("released" if hold.released_at else "expired")
    return (
        f"{hold.id}  {state}  scope={hold.scope.value}"
        + (f" {' '.join(names)}" if names else "")
        + f"  review-by {stamp(hold.review_by)}  expires {stamp(hold.expires_at)}"
        + (f"  created-before {stamp(hold.created_before)}" if hold.created_before else "")
        + ("  keeps short-lived content" if hold.keep_short_lived_content else "")
        + f"  by {hold.created_by} at {stamp(hold.created_at)}"
        + (f"  changed by {hold.changed_by} at {stamp(hold.changed_at)}" if hold.changed_at else "")
        + f"  reason: {hold.reason}"
    )


@click.command(name="add")
@click.option("--tenant", "tenant_id", required=True)
@click.option(
    "--scope",
    type=click.Choice([scope.value for scope in HoldScope]),
    required=True,
    help="tenant: every record; user: --user's records; recipient: --recipient's (and only "
    "--user's sends to them, if --user is given)",
)
@click.option("--user", "user_id", default=None, help="the user (scope user, or recipient)")
@click.option("--recipient", default=None, help="the recipient (scope recipient)")
@click.option(
    "--channel",
    type=click.Choice([c.value for c in Channel]),
    default=None,
    help="the recipient's channel (guessed from its shape when omitted)",
)
@click.option("--reason", required=True)
@click.option("--expires", default=None, help="ISO 8601 time the hold lapses by itself")
@click.option("--review-by", default=None, help="ISO 8601 time an officer must review it by")
@click.option(
    "--created-before", default=None, help="hold only records created before this ISO 8601 time"
)
@click.option(
    "--keep-short-lived-content",
    is_flag=True,
    help="also keep the content of sends whose template sets content_retention_days",
)
@actor_option
def holds_add_command(
    app: Litestar,
    tenant_id: str,
    scope: str,
    user_id: str | None,
    recipient: str | None,
    channel: str | None,
    reason: str,
    expires: str | None,
    review_by: str | None,
    created_before: str | None,
    keep_short_lived_content: bool,
    actor: str,
) -> None:
    """Place a hold; needs --expires or --review-by (or both); prints its id."""
    _check_identifiers(tenant=tenant_id, user=user_id, recipient=recipient, reason=reason)
    settings: Settings = app.state["settings"]
    chosen = None
    if recipient is not None:
        chosen = Channel(channel) if channel else _guess_channel(recipient)
    hold_scope = HoldScope(scope)
    problem = scope_problem(hold_scope, user_id=user_id, recipient=recipient, channel=chosen)
    if problem is None:
        problem = reason_problem(reason)
    expires_at = _when(expires, "--expires")
    review_at = _when(review_by, "--review-by")
    before = _when(created_before, "--created-before")
    if problem is None:
        problem = bounds_problem(
            expires_at=expires_at,
            review_by=review_at,
            now=datetime.now(UTC),
            max_days=settings.hold_max_days,
        )
    if problem is not None:
        _fail(_cli_words(problem), code=EXIT_USAGE)

    async def operation() -> str:
        async with app.state["database"].get_session() as session:
            await begin_write(session)
            sealer = RecordSealer(KeyStore(session, settings.master_keys, app.state["key_cache"]))
            hold = await place_legal_hold(
                session,
                sealer,
                settings.master_keys,
                actor=cli_actor(actor),
                tenant_id=tenant_id,
                scope=hold_scope,
                reason=reason,
                user_id=user_id,
                channel=chosen,
                recipient=recipient,
                expires_at=expires_at,
                review_by=review_at,
                created_before=before,
                keep_short_lived_content=keep_short_lived_content,
                max_days=settings.hold_max_days,
            )
            await commit(session, operation="holds_add")
            if hold.other_forms_found:
                click.echo(
                    f"warning: {hold.other_forms_found} record(s) of this tenant are stored "
                    "as national digits of this number (no country code: possibly another "
                    "country's number); this hold keeps the forms with the country code "
                    "(E.164, 00) from retention, not these (a subject erasure honours "
                    "every form)",
                    err=True,
                )
            return hold.id

    try:
        click.echo(_run_async(app, operation(), verify_keys=True))
    except (HoldError, ValueError) as exc:
        _fail(_cli_words(str(exc)))


_OPTION_NAMES = {
    "'expires_at'": "--expires",
    "'review_by'": "--review-by",
    "'user_id'": "--user",
    "'recipient'": "--recipient",
    "'channel'": "--channel",
    "'reason'": "--reason",
}


def _cli_words(problem: str) -> str:
    """A rule's message with the API's field names as this command's options."""
    for field, option in _OPTION_NAMES.items():
        # "scope 'recipient'" names a scope, not the option.
        problem = re.sub(rf"(?<!scope ){re.escape(field)}", option, problem)
    return problem


@click.command(name="change")
@click.argument("hold_id")
@click.option("--expires", default=None, help="new ISO 8601 expiry")
@click.option("--review-by", default=None, help="new ISO 8601 review date")
@click.option("--clear-expires", is_flag=True, help="remove the expiry (a review date must remain)")
@click.option(
    "--clear-review-by", is_flag=True, help="remove the review date (an expiry must remain)"
)
@click.option("--reason", default=None, help="the amended reason")
@actor_option
def holds_change_command(
    app: Litestar,
    hold_id: str,
    expires: str | None,
    review_by: str | None,
    clear_expires: bool,
    clear_review_by: bool,
    reason: str | None,
    actor: str,
) -> None:
    """Extend or shorten a hold's expiry or review date, or amend its reason."""
    _check_identifiers(hold=hold_id, reason=reason)
    if clear_expires and expires is not None:
        _fail("--clear-expires cannot be combined with --expires", code=EXIT_USAGE)
    if clear_review_by and review_by is not None:
        _fail("--clear-review-by cannot be combined with --review-by", code=EXIT_USAGE)
    settings: Settings = app.state["settings"]
    new_expires = _when(expires, "--expires") if expires is not None or clear_expires else UNCHANGED
    new_review = (
        _when(review_by, "--review-by") if review_by is not None or clear_review_by else UNCHANGED
    )
    if new_expires is UNCHANGED and new_review is UNCHANGED and reason is None:
        _fail(
            "say what changes: --expires, --review-by, a --clear-… flag or --reason",
            code=EXIT_USAGE,
        )

    async def operation() -> str:
        async with app.state["database"].get_session() as session:
            await begin_write(session)
            hold = await change_legal_hold(
                session,
                settings.master_keys,
                hold_id,
                actor=cli_actor(actor),
                reason=reason,
                max_days=settings.hold_max_days,
                expires_at=new_expires,
                review_by=new_review,
            )
            await commit(session, operation="holds_change")
            return _hold_line(hold, datetime.now(UTC))

    try:
        click.echo(_run_async(app, operation(), verify_keys=False))
    except HoldError as exc:
        _fail(_cli_words(str(exc)))


@click.command(name="list")
@click.option("--tenant", "tenant_id", required=True)
def holds_list_command(app: Litestar, tenant_id: str) -> None:
    """One hold per line, id first: state, scope, review date, expiry, limits, reason."""

    async def operation() -> list[str]:
        async with app.state["database"].get_session() as session:
            holds = await list_holds(session, tenant_id)
        now = datetime.now(UTC)
        return [_hold_line(hold, now) for hold in holds]

    for line in _run_async(app, operation(), verify_keys=False):
        click.echo(line)


@click.command(name="review")
@click.option("--tenant", "tenant_id", required=True)
@click.option(
    "--within-days",
    default=DEFAULT_REVIEW_WITHIN_DAYS,
    show_default=True,
    type=click.IntRange(0, MAX_REVIEW_WITHIN_DAYS),
    help="how many days ahead a review date or expiry counts as due",
)
def holds_review_command(app: Litestar, tenant_id: str, within_days: int) -> None:
    """Active holds due for review or expiring soon (overdue first), one per line."""

    async def operation() -> list[str]:
        async with app.state["database"].get_session() as session:
            holds = await holds_due_for_review(
                session, tenant_id, within=timedelta(days=within_days)
            )
        now = datetime.now(UTC)
        return [_hold_line(hold, now) for hold in holds]

    for line in _run_async(app, operation(), verify_keys=False):
        click.echo(line)


@click.command(name="release")
@click.argument("hold_id")
@actor_option
def holds_release_command(app: Litestar, hold_id: str, actor: str) -> None:
    """Release a hold: its records are eligible on the next run."""
    settings: Settings = app.state["settings"]

    async def operation() -> str:
        async with app.state["database"].get_session() as session:
            await begin_write(session)
            hold = await release_legal_hold(
                session, settings.master_keys, hold_id, actor=cli_actor(actor)
            )
            await commit(session, operation="holds_release")
            return hold.id

    try:
        click.echo(f"released {_run_async(app, operation(), verify_keys=False)}")
    except HoldError as exc:
        _fail(str(exc))


for _command in (
    holds_add_command,
    holds_change_command,
    holds_list_command,
    holds_review_command,
    holds_release_command,
):
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
        purged = counts.get(RELEASED_HOLDS, 0)
        if purged:
            parts.append(f"{purged} released holds {'would be ' if report.dry_run else ''}purged")
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
        replace(
            options,
            released_holds_kept=timedelta(days=settings.released_hold_days),
            audit_retention=timedelta(days=settings.audit_retention_days),
        ),
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
                RunOptions(actor=actor, audit_actor=system),
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
