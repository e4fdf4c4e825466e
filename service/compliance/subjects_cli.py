"""``commlog subject …``: data-subject requests from the command line, with the same rules
as ``/compliance/subject-requests`` and the CLI actor (``--actor``, OS user, host) in the
audit trail."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import click
from litestar import Litestar
from litestar.cli._utils import LitestarGroup

from compliance.encryption.keystore import KeyStore
from compliance.records.sealing import RecordSealer
from compliance.subjects.access import SubjectAccessFile, record_access
from compliance.subjects.erasure import DEFAULT_BATCH_SIZE, ErasureOptions, run_erasure
from compliance.subjects.requests import (
    SubjectRequest,
    SubjectRequestError,
    create_request,
    get_request,
    list_requests,
    view,
)
from compliance.transactions import CommitFailed, begin_write, commit
from policies.audit_chain import Actor
from policies.channels import Channel
from policies.identifiers import NO_NUL_RULE, has_nul, identifier_problem
from policies.instants import RANGE_TEXT, accepted_instant
from policies.recipients import InvalidRecipient
from policies.subject_requests import RequestStatus, RequestType
from service.cli import EXIT_USAGE, _fail, _run_async, actor_option, cli_actor
from service.settings import Settings

_BATCH = click.option(
    "--batch-size",
    default=DEFAULT_BATCH_SIZE,
    show_default=True,
    type=click.IntRange(1, 10_000),
    help="records erased per committed batch",
)


def _due(text: str | None) -> datetime | None:
    if text is None:
        return None
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        _fail("--due must be an ISO 8601 timestamp with a time zone", code=EXIT_USAGE)
    if moment.tzinfo is None:
        _fail("--due needs a time zone (e.g. a trailing Z for UTC)", code=EXIT_USAGE)
    accepted = accepted_instant(moment)
    if accepted is None:
        _fail(f"--due must be {RANGE_TEXT}", code=EXIT_USAGE)
    return accepted


def _check(**options: str | None) -> None:
    for option, value in options.items():
        if value is None:
            continue
        free_text = option in ("reference", "recipient")
        problem = (
            (NO_NUL_RULE if has_nul(value) else None) if free_text else identifier_problem(value)
        )
        if problem is not None:
            _fail(f"--{option} {problem}", code=EXIT_USAGE)


def _line(request: SubjectRequest) -> str:
    now = datetime.now(UTC)
    subject = (
        f"user={request.user_id}"
        if request.user_id is not None
        else "recipient=" + ",".join(f"{m.masked} ({m.channel.value})" for m in request.recipients)
    )
    counts = " ".join(
        f"{name}={value}" for name, value in sorted(request.outcome.items()) if name != "cursor"
    )
    return (
        f"{request.id}  {request.type.value}  {request.status.value}"
        + ("  OVERDUE" if request.overdue_at(now) else "")
        + f"  {subject}  due {request.due_at:%Y-%m-%dT%H:%MZ}"
        + f"  by {request.created_by} at {request.created_at:%Y-%m-%dT%H:%MZ}"
        + (f"  {counts}" if counts else "")
    )


@click.group(cls=LitestarGroup, name="subject")
def subject_group() -> None:
    """Data-subject requests: access (GDPR Art. 15, PIPL Art. 45) and erasure (GDPR
    Art. 17, PIPL Art. 47)."""


async def _erase(app: Litestar, request_id: str, actor: Actor, batch_size: int) -> SubjectRequest:
    settings: Settings = app.state["settings"]
    async with app.state["database"].get_session() as session:
        sealer = RecordSealer(KeyStore(session, settings.master_keys, app.state["key_cache"]))
        try:
            return await run_erasure(
                session,
                sealer,
                settings.master_keys,
                request_id,
                actor=actor,
                options=ErasureOptions(batch_size=batch_size),
            )
        except CommitFailed as exc:
            raise SubjectRequestError(
                f"{request_id}: erasure interrupted ({exc.cause}); what committed stays done: "
                f"run 'commlog subject run {request_id}' to finish it"
            ) from None


@click.command(name="create")
@click.option("--tenant", "tenant_id", required=True)
@click.option("--type", "kind", required=True, type=click.Choice([t.value for t in RequestType]))
@click.option("--recipient", default=None, help="the subject's phone number, email or token")
@click.option(
    "--channel",
    type=click.Choice([c.value for c in Channel]),
    default=None,
    help="the recipient's channel (default: every channel it is a valid recipient for)",
)
@click.option("--user", "user_id", default=None, help="the subject's user id (account closure)")
@click.option("--reference", required=True, help="your case reference (kept; audited as SHA-256)")
@click.option("--due", default=None, help="ISO 8601 deadline (default 30 days, at most 90)")
@_BATCH
@actor_option
def subject_create_command(
    app: Litestar,
    tenant_id: str,
    kind: str,
    recipient: str | None,
    channel: str | None,
    user_id: str | None,
    reference: str,
    due: str | None,
    batch_size: int,
    actor: str,
) -> None:
    """Record a request (prints its id); an erasure runs at once, in committed batches."""
    _check(tenant=tenant_id, user=user_id, recipient=recipient, reference=reference)
    if (recipient is None) == (user_id is None):
        _fail("name the subject by exactly one of --recipient or --user", code=EXIT_USAGE)
    if channel is not None and recipient is None:
        _fail("--channel goes with --recipient", code=EXIT_USAGE)
    due_at = _due(due)
    settings: Settings = app.state["settings"]
    who = cli_actor(actor)

    async def operation() -> SubjectRequest:
        async with app.state["database"].get_session() as session:
            await begin_write(session)
            sealer = RecordSealer(KeyStore(session, settings.master_keys, app.state["key_cache"]))
            request = await create_request(
                session,
                sealer,
                settings.master_keys,
                tenant_id=tenant_id,
                actor=who,
                type=RequestType(kind),
                reference=reference,
                recipient=recipient,
                channel=Channel(channel) if channel else None,
                user_id=user_id,
                due_at=due_at,
            )
            await commit(session, operation="subject_request_create")
        if request.type is RequestType.ERASURE:
            click.echo(request.id)
            return await _erase(app, request.id, who, batch_size)
        return request

    try:
        request = _run_async(app, operation(), verify_keys=True)
    except (SubjectRequestError, InvalidRecipient) as exc:
        _fail(str(exc))
    if request.type is RequestType.ACCESS:
        click.echo(request.id)
    else:
        click.echo(_line(request))


@click.command(name="run")
@click.argument("request_id")
@_BATCH
@actor_option
def subject_run_command(app: Litestar, request_id: str, batch_size: int, actor: str) -> None:
    """Finish an interrupted erasure (from its last committed batch)."""
    _check(id=request_id)
    try:
        request = _run_async(
            app, _erase(app, request_id, cli_actor(actor), batch_size), verify_keys=True
        )
    except SubjectRequestError as exc:
        _fail(str(exc))
    click.echo(_line(request))


@click.command(name="list")
@click.option("--tenant", "tenant_id", required=True)
@click.option("--status", type=click.Choice([s.value for s in RequestStatus]), default=None)
@click.option("--type", "kind", type=click.Choice([t.value for t in RequestType]), default=None)
@click.option("--overdue", is_flag=True, help="only open requests past their deadline")
@click.option("--limit", default=100, show_default=True, type=click.IntRange(1, 10_000))
def subject_list_command(
    app: Litestar,
    tenant_id: str,
    status: str | None,
    kind: str | None,
    overdue: bool,
    limit: int,
) -> None:
    """One request per line, newest first (recipients masked, references not shown)."""

    async def operation() -> list[SubjectRequest]:
        async with app.state["database"].get_session() as session:
            requests, _ = await list_requests(
                session,
                tenant_id,
                status=RequestStatus(status) if status else None,
                type=RequestType(kind) if kind else None,
                overdue_at=datetime.now(UTC) if overdue else None,
                limit=limit,
                offset=0,
            )
        return requests

    for request in _run_async(app, operation(), verify_keys=False):
        click.echo(_line(request))


@click.command(name="show")
@click.argument("request_id")
def subject_show_command(app: Litestar, request_id: str) -> None:
    """One request, with its reference and outcome."""
    _check(id=request_id)

    async def operation() -> SubjectRequest:
        async with app.state["database"].get_session() as session:
            return view(await get_request(session, request_id))

    try:
        request = _run_async(app, operation(), verify_keys=False)
    except SubjectRequestError as exc:
        _fail(str(exc))
    click.echo(_line(request))
    click.echo(f"reference: {request.reference}")
    if request.audit_event_id:
        click.echo(f"audit event: {request.audit_event_id}")


@click.command(name="records")
@click.argument("request_id")
@click.option(
    "--out",
    required=True,
    type=click.Path(dir_okay=False, writable=True, path_type=Path),
    help="where to write the access file (JSONL, unmasked)",
)
@actor_option
def subject_records_command(app: Litestar, request_id: str, out: Path, actor: str) -> None:
    """Write an access request's file (the subject's records, unmasked); recorded as a
    reveal in the audit trail with its row count and SHA-256."""
    _check(id=request_id)
    settings: Settings = app.state["settings"]
    who = cli_actor(actor)
    try:
        file = out.open("wb")
    except OSError as exc:
        _fail(f"cannot write {out}: {exc.strerror or type(exc).__name__}")

    async def operation() -> tuple[int, str, str]:
        async with app.state["database"].get_session() as session:
            request = view(await get_request(session, request_id))
        access = SubjectAccessFile(
            request,
            sessions=app.state["database"].get_session,
            master_keys=settings.master_keys,
            key_cache=app.state["key_cache"],
            templates=app.state["template_cache"],
        )
        try:
            with file:
                async for chunk in access:
                    file.write(chunk)
        finally:
            await access.aclose()
            async with app.state["database"].get_session() as session:
                event_id = await record_access(
                    session,
                    settings.master_keys,
                    request_id,
                    actor=who,
                    rows=access.rows,
                    sha256=access.sha256,
                    complete=access.finished,
                )
                await commit(session, operation="subject_request_access")
        return access.rows, access.sha256, event_id

    try:
        rows, sha256, event_id = _run_async(app, operation(), verify_keys=True)
    except SubjectRequestError as exc:
        file.close()
        _fail(str(exc))
    click.echo(
        f"{request_id}: {rows} records written to {out}; sha256 {sha256}; audit event {event_id}"
    )


for _command in (
    subject_create_command,
    subject_list_command,
    subject_show_command,
    subject_records_command,
    subject_run_command,
):
    subject_group.add_command(_command)  # type: ignore[arg-type]  # rich-click types
