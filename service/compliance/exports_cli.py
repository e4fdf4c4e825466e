"""``commlog export``: an officer's audit export from the command line, into a file.

The same stream as the API (:class:`compliance.exports.stream.LogExport`), the same
masking, reveal rules and audit events, with the CLI actor (``--actor`` plus the
operating-system user and host). The file appears only whole: it is written to a
temporary file next to ``--out``, flushed to disk, the ``export.completed`` event is
committed, and only then is it renamed into place. A failed or interrupted export leaves
no file and records ``export.interrupted``.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

import click
from litestar import Litestar

from compliance.audit.trail import new_event_id
from compliance.exports.audit import Interruption, record_export
from compliance.exports.stream import ExportRequest, LogExport, SessionFactory
from policies.audit_chain import Actor
from policies.channels import Channel, DeliveryStatus
from policies.exports import ExportFilters, ExportFormat
from service.cli import EXIT_FAILED, EXIT_USAGE, _fail, _run_async, actor_option, cli_actor
from service.compliance.retention_cli import _check_identifiers, _when
from service.settings import Settings


class ExportFileError(Exception):
    """The file could not be written or put in place (one line, no data in it)."""


@dataclass(frozen=True, slots=True)
class Exported:
    rows: int
    byte_count: int
    sha256: str
    event_id: str


def _durable_write(file: BinaryIO) -> None:
    file.flush()
    os.fsync(file.fileno())


def _sync_directory(directory: Path) -> None:
    """The rename itself survives a crash only once the directory is on disk (POSIX)."""
    with contextlib.suppress(OSError):
        descriptor = os.open(directory, os.O_RDONLY)
        try:
            os.fsync(descriptor)
        finally:
            os.close(descriptor)


def _remove(path: Path) -> None:
    path.unlink(missing_ok=True)


def _put_in_place(temporary: Path, out: Path, *, force: bool) -> None:
    """Rename ``temporary`` to ``out``; without ``force`` never over an existing file
    (a hard link fails when ``out`` exists, even one made since the command started)."""
    if force:
        os.replace(temporary, out)
        return
    os.link(temporary, out)
    temporary.unlink()


async def _export_to_file(
    export: LogExport,
    out: Path,
    *,
    force: bool,
    sessions: SessionFactory,
    app: Litestar,
    actor: Actor,
    reason: str | None,
) -> Exported:
    settings: Settings = app.state["settings"]
    event_id = new_event_id()
    descriptor, name = tempfile.mkstemp(prefix=f".{out.name}.", suffix=".part", dir=out.parent)
    temporary = Path(name)
    interruption: Interruption | None = Interruption.FAILED
    failure: BaseException | None = None
    try:
        with os.fdopen(descriptor, "wb") as file:
            async for chunk in export:
                try:
                    file.write(chunk)
                except OSError as exc:
                    failure = exc
                    raise ExportFileError(
                        f"cannot write {out.parent}: {exc.strerror or type(exc).__name__}"
                    ) from None
            try:
                _durable_write(file)
            except OSError as exc:
                failure = exc
                raise ExportFileError(
                    f"cannot write {out.parent}: {exc.strerror or type(exc).__name__}"
                ) from None
        interruption = None
        await record_export(
            sessions,
            settings.master_keys,
            export,
            actor=actor,
            event_id=event_id,
            reason=reason,
            operation="export_cli_audit",
        )
        try:
            _put_in_place(temporary, out, force=force)
        except FileExistsError:
            raise ExportFileError(
                f"{out} appeared while exporting; nothing was overwritten (audit event "
                f"{event_id} records the export; use --force to replace the file)"
            ) from None
        except OSError as exc:
            raise ExportFileError(
                f"cannot rename into {out}: {exc.strerror or type(exc).__name__} (audit event "
                f"{event_id} records the export)"
            ) from None
        _sync_directory(out.parent)
        return Exported(export.rows, export.byte_count, export.sha256, event_id)
    except BaseException as exc:
        if interruption is not None:
            if isinstance(exc, asyncio.CancelledError | KeyboardInterrupt):
                interruption = Interruption.CANCELLED
            await export.aclose()
            # The failure itself is what the operator is told; if the database is what
            # failed, this record fails too and changes nothing of that.
            with contextlib.suppress(Exception):
                await record_export(
                    sessions,
                    settings.master_keys,
                    export,
                    actor=actor,
                    event_id=event_id,
                    reason=reason,
                    interruption=interruption,
                    failure=type(failure or exc).__name__,
                    operation="export_cli_audit",
                )
        raise
    finally:
        _remove(temporary)  # once renamed, there is nothing left to remove


@click.command(name="export")
@click.option("--tenant", "tenant_id", required=True, help="the tenant whose records to export")
@click.option(
    "--format",
    "export_format",
    required=True,
    type=click.Choice([f.value for f in ExportFormat]),
    help="csv (RFC 4180, UTF-8 with BOM) or jsonl (one API item per line)",
)
@click.option(
    "--out",
    required=True,
    type=click.Path(dir_okay=False, path_type=Path),
    help="the file to write (refused if it exists, unless --force)",
)
@click.option("--since", default=None, help="created at or after this ISO 8601 time")
@click.option("--until", default=None, help="created before this ISO 8601 time")
@click.option("--channel", type=click.Choice([c.value for c in Channel]), default=None)
@click.option("--status", type=click.Choice([s.value for s in DeliveryStatus]), default=None)
@click.option("--user", "user_id", default=None, help="only this user's records")
@click.option(
    "--reveal",
    is_flag=True,
    help="recipients and content in clear (needs --reason and the tenant's policy)",
)
@click.option("--reason", default=None, help="why (recorded in the audit event)")
@click.option("--force", is_flag=True, help="replace --out if it exists")
@actor_option
def export_command(
    app: Litestar,
    tenant_id: str,
    export_format: str,
    out: Path,
    since: str | None,
    until: str | None,
    channel: str | None,
    status: str | None,
    user_id: str | None,
    reveal: bool,
    reason: str | None,
    force: bool,
    actor: str,
) -> None:
    """Export a tenant's send records to a file; prints rows, bytes, SHA-256 and the
    audit event's id."""
    _check_identifiers(tenant=tenant_id, user=user_id, reason=reason, actor=actor)
    if reason is not None and not reason.strip():
        reason = None
    if reveal and reason is None:
        _fail("--reveal needs a non-blank --reason (it is recorded)", code=EXIT_USAGE)
    filters = ExportFilters(
        since=_when(since, "--since"),
        until=_when(until, "--until"),
        channel=None if channel is None else Channel(channel),
        status=None if status is None else DeliveryStatus(status),
        user_id=user_id,
    )
    problem = filters.problem()
    if problem is not None:
        _fail(problem.replace("'since'", "--since").replace("'until'", "--until"), code=EXIT_USAGE)
    settings: Settings = app.state["settings"]
    if reveal and not settings.retention_policy.reveal_allowed(tenant_id):
        _fail(
            f"tenant {tenant_id}'s policy does not allow reveal (reveal = true in its table "
            "of COMMLOG_RETENTION_POLICY_FILE); nothing was exported"
        )
    out = out.absolute()
    if not out.parent.is_dir():
        _fail(f"no such directory: {out.parent}")
    if out.exists() and not force:
        _fail(f"{out} exists; nothing was exported (use --force to replace it)")

    sessions: SessionFactory = app.state["database"].get_session
    export = LogExport(
        ExportRequest(
            tenant_id=tenant_id, format=ExportFormat(export_format), filters=filters, reveal=reveal
        ),
        sessions=sessions,
        master_keys=settings.master_keys,
        key_cache=app.state["key_cache"],
        templates=app.state["template_cache"],
    )
    try:
        exported = _run_async(
            app,
            _export_to_file(
                export,
                out,
                force=force,
                sessions=sessions,
                app=app,
                actor=cli_actor(actor),
                reason=reason,
            ),
            verify_keys=True,
        )
    except ExportFileError as exc:
        _fail(str(exc), code=EXIT_FAILED)
    click.echo(f"file: {out}")
    click.echo(f"rows: {exported.rows}")
    click.echo(f"bytes: {exported.byte_count}")
    click.echo(f"sha256: {exported.sha256}")
    click.echo(f"audit event: {exported.event_id}")
