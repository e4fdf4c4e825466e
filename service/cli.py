"""``commlog``: the Litestar CLI with the app preset, plus commlog's own commands."""

from __future__ import annotations

import asyncio
import functools
import getpass
import importlib.metadata
import logging
import os
import shlex
import socket
import sys
import threading
from collections.abc import Callable, Coroutine, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any, NoReturn, TypeVar

import click
from litestar.cli._utils import LitestarGroup
from sqlalchemy.exc import DBAPIError

from compliance.encryption.master import MasterKeyError
from compliance.transactions import CommitFailed, begin_write, commit
from policies.audit_chain import Actor, ActorKind
from service.app import CommlogPlugin
from service.logging import configure_logging, serve_json_logs_only
from service.persistence.failures import describe_database_failure
from service.settings import ConfigurationError, Settings

if TYPE_CHECKING:
    from litestar import Litestar

T = TypeVar("T")
APP_PATH = "service.app:create_app"
DEVELOPMENT_TOKEN_TTL = 24 * 3600
DEFAULT_TOKEN_TTL = 3600

# Exit codes (README, "CLI"): 0 done; 1 the operation failed (a domain error, the database
# unavailable); 2 the command was wrong (click's own usage-error code) or the
# configuration is; 3 another retention run holds the lock.
EXIT_FAILED = 1
EXIT_USAGE = 2
EXIT_CONFIGURATION = 2
EXIT_LOCKED = 3


def _fail(message: str, *, code: int = EXIT_FAILED) -> NoReturn:
    """One line on stderr, then exit (default 1: the operation failed)."""
    click.echo(f"commlog: {message}", err=True)
    sys.exit(code)


@contextmanager
def _database_errors(settings: Settings) -> Iterator[None]:
    """An unreachable or unmigrated database is one line naming no secret, and exit 1."""
    try:
        yield
    except (DBAPIError, OSError) as exc:
        line = describe_database_failure(exc, settings.database_location)
        if line is None:  # pragma: no cover - every DBAPIError and OSError is described
            raise
        _fail(line)


def _with_database_errors(callback: Callable[..., T]) -> Callable[..., T]:
    """Wrap a command of advanced-alchemy's ``database`` group like our own commands."""

    @functools.wraps(callback)
    def wrapped(*args: Any, **kwargs: Any) -> T:
        env = click.get_current_context().find_root().obj  # the LitestarEnv: app loaded
        with _database_errors(env.app.state["settings"]):
            return callback(*args, **kwargs)

    wrapped.commlog_database_errors = True  # type: ignore[attr-defined]
    return wrapped


def _then_hash_legacy_idempotency_keys(upgrade: Callable[..., T]) -> Callable[..., T]:
    """``database upgrade``, then replace idempotency keys stored in clear (rows from before
    keys were hashed) by their digests and sign the audit chain heads migration 0006 left
    unsigned; not with ``--sql``, which only prints SQL."""

    @functools.wraps(upgrade)
    def wrapped(*args: Any, **kwargs: Any) -> T:
        result = upgrade(*args, **kwargs)
        if not kwargs.get("sql"):
            _hash_legacy_idempotency_keys(click.get_current_context().find_root().obj.app)
        return result

    return wrapped


def _hash_legacy_idempotency_keys(app: Litestar) -> None:
    from compliance.records.idempotency_keys import hash_legacy_keys

    report = _run_async(
        app,
        hash_legacy_keys(
            app.state["database"].get_session,
            app.state["settings"].master_keys,
            app.state["key_cache"],
        ),
        verify_keys=True,
    )
    if report.hashed or report.cleared:
        click.echo(
            f"idempotency keys stored in clear: {report.hashed} replaced by their keyed "
            f"digest, {report.cleared} of shredded tenants cleared"
        )
    _sign_migrated_chain_heads(app)


def _sign_migrated_chain_heads(app: Litestar) -> None:
    """Sign the audit chain heads a migration left unsigned (0006 folds ``key_events``
    into the chains but holds no master key), each only if its chain verifies otherwise
    (``compliance.audit.verify.sign_unsigned_heads``)."""
    from compliance.audit.verify import sign_unsigned_heads

    async def operation() -> list[str]:
        async with app.state["database"].get_session() as session:
            await begin_write(session)
            signed = await sign_unsigned_heads(session, app.state["settings"].master_keys)
            await commit(session, operation="audit_sign_heads")
            return signed

    signed = _run_async(app, operation(), verify_keys=True)
    if signed:
        click.echo(f"audit trail: signed {len(signed)} chain heads the migration left unsigned")


def _wrap_database_group() -> None:
    from advanced_alchemy.extensions.litestar.cli import database_group

    for name, command in database_group.commands.items():
        callback = command.callback
        if callback is not None and not getattr(callback, "commlog_database_errors", False):
            if name == "upgrade":
                callback = _then_hash_legacy_idempotency_keys(callback)
            command.callback = _with_database_errors(callback)


def _default_actor() -> str:
    try:
        return "cli:" + getpass.getuser()
    except (KeyError, OSError):
        return "cli"


def cli_actor(actor: str) -> Actor:
    """The audit trail's actor for a command: the free-text ``--actor`` as given, with the
    operating-system user and host it ran as next to it (a claimed name alone proves
    nothing)."""
    try:
        os_user = getpass.getuser()
    except (KeyError, OSError):
        os_user = f"uid:{os.getuid()}" if hasattr(os, "getuid") else "unknown"
    return Actor(
        id=actor, kind=ActorKind.CLI, origin={"os_user": os_user, "host": socket.gethostname()}
    )


def record_cli_action(
    app: Litestar,
    *,
    tenant_id: str,
    actor: str,
    action: str,
    target: str | None = None,
    details: dict[str, object] | None = None,
) -> None:
    """Append one audit event for a command that changes nothing else in the database
    (issuing a token), in a short transaction of its own; exits 1 (one line) if it cannot
    be recorded, before the command prints its result."""
    from compliance.audit.trail import append_event

    async def operation() -> None:
        async with app.state["database"].get_session() as session:
            await begin_write(session)
            await append_event(
                session,
                app.state["settings"].master_keys,
                tenant_id=tenant_id,
                actor=cli_actor(actor),
                action=action,
                target=target,
                details=details,
            )
            await commit(session, operation="cli_audit_event")

    _run_async(app, operation(), verify_keys=True)


actor_option = click.option(
    "--actor",
    default=_default_actor,
    show_default="cli:<login name>",
    help="who is doing this (recorded in the audit trail with the OS user and host)",
)


@click.command(name="token")
@click.option("--tenant", "tenant_id", required=True, help="tenant id (the token's tenant_id)")
@click.option("--user", "user_id", required=True, help="user id (the token's sub)")
@click.option(
    "--role",
    "roles",
    multiple=True,
    type=click.Choice(["user", "ingest", "compliance_officer"]),
    help="a role; repeat for several (default: user)",
)
@click.option(
    "--ttl",
    default=None,
    type=click.IntRange(min=1),
    help=f"lifetime in seconds (default {DEFAULT_TOKEN_TTL}; at most COMMLOG_JWT_MAX_LIFETIME)",
)
@actor_option
def token_command(
    app: Litestar,
    tenant_id: str,
    user_id: str,
    roles: tuple[str, ...],
    ttl: int | None,
    actor: str,
) -> None:
    """Print a signed JWT for the configured HS256 secret.

    Issuing a credential is recorded (``token.issued`` on the tenant's audit chain: the
    subject, roles and lifetime, never the token); a token that cannot be recorded is not
    printed."""
    from service.auth import TokenCodec
    from service.errors import Unauthenticated

    maximum = app.state["settings"].jwt_max_lifetime
    if ttl is not None and ttl > maximum:
        _fail(
            f"--ttl {ttl} exceeds COMMLOG_JWT_MAX_LIFETIME ({maximum} seconds): "
            "the service would refuse the token",
            code=EXIT_USAGE,
        )
    codec: TokenCodec = app.state["tokens"]
    granted = list(roles) or ["user"]
    lifetime = ttl or min(DEFAULT_TOKEN_TTL, maximum)
    try:
        token = codec.issue(
            tenant_id=tenant_id, user_id=user_id, roles=granted, ttl_seconds=lifetime
        )
    except Unauthenticated:
        _fail(
            "cannot sign tokens: only COMMLOG_JWT_PUBLIC_KEY is configured (no HS256 secret)",
            code=EXIT_CONFIGURATION,
        )
    record_cli_action(
        app,
        tenant_id=tenant_id,
        actor=actor,
        action="token.issued",
        target=user_id,
        details={"sub": user_id, "roles": granted, "ttl_seconds": lifetime},
    )
    click.echo(token)


@click.group(cls=LitestarGroup, name="demo")
def demo_group() -> None:
    """Demo data for development."""


@click.command(name="seed")
@click.option("--host", default="127.0.0.1", show_default=True, help="host for the printed curl")
@click.option("--port", default=8000, show_default=True, help="port for the printed curl")
@actor_option
def demo_seed_command(app: Litestar, host: str, port: int, actor: str) -> None:
    """Add the demo tenant's records (once) and print a curl command to read them.

    Recorded like any command (``demo.seeded`` with the records added, and
    ``token.issued`` for the printed token) on the demo tenant's chain."""
    from service.demo import DEMO_TENANT, DEMO_USER, seed_demo

    settings = app.state["settings"]
    if not settings.is_development:
        _fail("demo data is only seeded when COMMLOG_ENV=development", code=EXIT_CONFIGURATION)
    added = _run_async(
        app, seed_demo(app.state["database"], settings.master_keys), verify_keys=True
    )
    lifetime = min(DEVELOPMENT_TOKEN_TTL, settings.jwt_max_lifetime)
    token = app.state["tokens"].issue(
        tenant_id=DEMO_TENANT, user_id=DEMO_USER, roles=["user"], ttl_seconds=lifetime
    )
    record_cli_action(
        app,
        tenant_id=DEMO_TENANT,
        actor=actor,
        action="demo.seeded",
        details={"records_added": added},
    )
    record_cli_action(
        app,
        tenant_id=DEMO_TENANT,
        actor=actor,
        action="token.issued",
        target=DEMO_USER,
        details={"sub": DEMO_USER, "roles": ["user"], "ttl_seconds": lifetime},
    )
    click.echo(f"demo: {added} send records added" if added else "demo: demo data already present")
    url = f"http://{host}:{port}/communication/logs?page=1&page_size=5"
    click.echo("\nRead the demo user's send log (masked) with:\n")
    click.echo(f"  curl -s -H {shlex.quote('Authorization: Bearer ' + token)} '{url}'\n")


demo_group.add_command(demo_seed_command)  # type: ignore[arg-type]  # rich-click types


def _run_async(app: Litestar, operation: Coroutine[Any, Any, T], *, verify_keys: bool) -> T:
    """Run one async operation against the app's database in its own event loop.

    With ``verify_keys`` the master keys are checked first: a problem is one line and
    exit 2 before anything is written (a wrong primary key must never wrap new data
    keys). An unreachable database is one line and exit 1. The engine is disposed in the
    same loop its connections were made in.
    """
    plugin = app.plugins.get(CommlogPlugin)

    async def run() -> T:
        try:
            if verify_keys:
                await plugin.check_master_keys()
            return await operation
        finally:
            operation.close()
            await plugin.database.get_engine().dispose()

    # A failed commit is reported below in one line; its log line would say it twice.
    storage_log = logging.getLogger("commlog.storage")
    storage_log.disabled = True
    try:
        with _database_errors(app.state["settings"]):
            return asyncio.run(run())
    except MasterKeyError as exc:
        _fail(str(exc), code=EXIT_CONFIGURATION)
    except CommitFailed as exc:
        # Never a success line for a write the database did not confirm.
        _fail(str(exc))
    finally:
        storage_log.disabled = False


@click.group(cls=LitestarGroup, name="keys")
def keys_group() -> None:
    """Data keys: rotation, re-encryption and status (no key material is ever printed)."""


@click.command(name="rotate-master")
@actor_option
def rotate_master_command(app: Litestar, actor: str) -> None:
    """Re-wrap every data key under the primary master key (rows are not rewritten), and
    re-sign the audit trail's chain heads and checkpoints with it."""
    from compliance.audit.retention import AuditSignatureInvalid, resign_audit_trail
    from compliance.encryption.keystore import KeyStore

    master = app.state["settings"].master_keys

    async def operation() -> tuple[int, int]:
        async with app.state["database"].get_session() as session:
            await begin_write(session)
            count = await KeyStore(session, master, app.state["key_cache"]).rotate_master(
                cli_actor(actor)
            )
            signatures = await resign_audit_trail(session, master)
            await commit(session, operation="keys_rotate_master")
            return count, signatures

    try:
        count, signatures = _run_async(app, operation(), verify_keys=True)
    except AuditSignatureInvalid as exc:
        _fail(f"{exc}; nothing was re-wrapped")
    click.echo(
        f"re-wrapped {count} data keys and re-signed {signatures} audit signatures "
        f"under master key '{master.primary_id}'"
    )


@click.command(name="rotate")
@click.option("--tenant", "tenant_id", required=True, help="the tenant whose keys rotate")
@actor_option
def rotate_command(app: Litestar, tenant_id: str, actor: str) -> None:
    """Start a new data-key version for the tenant's new writes."""
    from compliance.encryption.keystore import KeyStore

    async def operation() -> int:
        async with app.state["database"].get_session() as session:
            await begin_write(session)
            version = await KeyStore(
                session, app.state["settings"].master_keys, app.state["key_cache"]
            ).rotate_tenant(tenant_id, cli_actor(actor))
            await commit(session, operation="keys_rotate")
            return version

    version = _run_async(app, operation(), verify_keys=True)
    click.echo(
        f"tenant {tenant_id}: new writes use key version {version}; "
        "run 'commlog keys reencrypt' to move existing rows"
    )


@click.command(name="reencrypt")
@click.option("--tenant", "tenant_id", default=None, help="only this tenant (default: all)")
@click.option("--batch-size", default=500, show_default=True, type=click.IntRange(1, 10_000))
@click.option(
    "--max-batches", default=None, type=click.IntRange(min=1), help="stop after this many"
)
@actor_option
def reencrypt_command(
    app: Litestar, tenant_id: str | None, batch_size: int, max_batches: int | None, actor: str
) -> None:
    """Rewrite rows to the current key versions, in bounded batches (resumable)."""
    from compliance.encryption.lifecycle import reencrypt

    report = _run_async(
        app,
        reencrypt(
            app.state["database"].get_session,
            app.state["settings"].master_keys,
            app.state["key_cache"],
            actor=cli_actor(actor),
            tenant_id=tenant_id,
            batch_size=batch_size,
            max_batches=max_batches,
        ),
        verify_keys=True,
    )
    state = "finished" if report.finished else "stopped early; run again to continue"
    click.echo(
        f"re-encrypted {report.rows_rewritten} rows in {report.batches} batches ({state})"
        + (
            f"; {report.rows_left_unreadable} rows have unreadable fields and keep their keys"
            if report.rows_left_unreadable
            else ""
        )
        + (
            f"; {report.rows_left_without_views} rows cannot get masked views and are masked"
            " when read"
            if report.rows_left_without_views
            else ""
        )
    )


@click.command(name="status")
@click.option("--tenant", "tenant_id", default=None, help="only this tenant")
def status_command(app: Litestar, tenant_id: str | None) -> None:
    """Per tenant, purpose and epoch: key versions, state and rows each still protects."""
    from compliance.encryption.lifecycle import key_status

    async def operation() -> list[Any]:
        async with app.state["database"].get_session() as session:
            return await key_status(session, tenant_id)

    rows = _run_async(app, operation(), verify_keys=False)
    header = ("tenant", "purpose", "epoch", "version", "state", "master key", "rows")
    table = [header] + [
        (
            r.tenant_id,
            r.purpose,
            r.epoch,
            str(r.version),
            r.state,
            r.master_key_id or "-",
            str(r.rows),
        )
        for r in rows
    ]
    widths = [max(len(line[i]) for line in table) for i in range(len(header))]
    for line in table:
        click.echo("  ".join(cell.ljust(width) for cell, width in zip(line, widths, strict=True)))


for _command in (rotate_master_command, rotate_command, reencrypt_command, status_command):
    keys_group.add_command(_command)  # type: ignore[arg-type]  # rich-click types


@click.group(cls=LitestarGroup, name="tenant")
def tenant_group() -> None:
    """Tenant lifecycle."""


@click.command(name="shred")
@click.option("--tenant", "tenant_id", required=True, help="the tenant to shred")
@click.option("--confirm", required=True, help="repeat the tenant id to confirm")
@actor_option
def shred_command(app: Litestar, tenant_id: str, confirm: str, actor: str) -> None:
    """Destroy all of a tenant's data keys: its personal fields become unrecoverable."""
    from compliance.encryption.lifecycle import shred_tenant

    if confirm != tenant_id:
        _fail("--confirm must repeat the tenant id exactly; nothing was destroyed", code=EXIT_USAGE)

    async def operation() -> int:
        async with app.state["database"].get_session() as session:
            count = await shred_tenant(
                session,
                app.state["settings"].master_keys,
                app.state["key_cache"],
                tenant_id=tenant_id,
                actor=cli_actor(actor),
            )
            await commit(session, operation="tenant_shred")
            return count

    count = _run_async(app, operation(), verify_keys=True)
    if count == 0:  # an unknown tenant, a typo, or one shredded before: nothing happened
        _fail(f"no data keys for tenant {tenant_id}: nothing to shred")
    click.echo(f"tenant {tenant_id}: destroyed {count} data keys; its personal fields are gone")


tenant_group.add_command(shred_command)  # type: ignore[arg-type]  # rich-click types


@click.command(name="version")
@click.option("--short", is_flag=True, help="only commlog's version number")
def version_command(short: bool) -> None:
    """Show commlog's version and database schema head, then Litestar's version."""
    from service.persistence.database import schema_head

    version = importlib.metadata.version("commlog")
    if short:
        click.echo(version)
        return
    click.echo(f"commlog {version} (database schema {schema_head()})")
    click.echo(f"litestar {importlib.metadata.version('litestar')}")


def register_commands(cli: click.Group) -> None:
    from service.compliance.audit_cli import audit_group
    from service.compliance.exports_cli import export_command
    from service.compliance.processing_record_cli import processing_record_command
    from service.compliance.retention_cli import holds_group, retention_group
    from service.compliance.subjects_cli import subject_group

    _wrap_database_group()
    cli.add_command(version_command)  # instead of Litestar's, which prints only its own
    cli.add_command(holds_group)
    cli.add_command(retention_group)
    cli.add_command(export_command)
    cli.add_command(subject_group)
    cli.add_command(processing_record_command)
    cli.add_command(audit_group)
    cli.add_command(token_command)
    cli.add_command(demo_group)
    cli.add_command(keys_group)
    cli.add_command(tenant_group)


def _preflight_master_keys() -> None:
    """Before serving: wrong or missing master keys stop ``commlog run`` with one line."""
    from service.settings import load_settings

    plugin = CommlogPlugin(load_settings())

    async def verify() -> None:
        try:
            await plugin.verify_master_keys()
        finally:
            await plugin.database.get_engine().dispose()

    try:
        asyncio.run(verify())
    except MasterKeyError as exc:
        _fail(str(exc), code=EXIT_CONFIGURATION)


def _quiet_driver_threads_after_a_failed_connect() -> None:
    """aiosqlite's worker thread, after a connection that failed to open, answers on an
    event loop that ``asyncio.run`` may have closed already and prints that traceback
    under our one line (a race in aiosqlite, most often after Alembic's own loop)."""
    default_hook = threading.excepthook

    def hook(args: threading.ExceptHookArgs) -> None:
        if (
            args.exc_type is RuntimeError
            and str(args.exc_value) == "Event loop is closed"
            and args.thread is not None
            and "_connection_worker_thread" in args.thread.name
        ):
            return
        default_hook(args)

    threading.excepthook = hook


def _serve_without_server_header() -> None:
    """uvicorn answers with ``server: uvicorn`` unless told not to, and Litestar's ``run`` has
    no option for it: it calls ``uvicorn.run`` in this process, or with ``--wc``/``--reload``
    starts ``python -m uvicorn``, which reads ``UVICORN_*`` variables."""
    import uvicorn

    os.environ.setdefault("UVICORN_SERVER_HEADER", "false")
    uvicorn.run = functools.partial(uvicorn.run, server_header=False)


def main() -> None:
    """Entry point of the ``commlog`` console script."""
    _quiet_driver_threads_after_a_failed_connect()
    if sys.argv[1:2] == ["version"]:
        # Without loading the app: the version is what one asks for when the
        # configuration is what is broken.
        version_command.main(sys.argv[2:], prog_name="commlog version")
    os.environ.setdefault("LITESTAR_APP", APP_PATH)
    from litestar.cli.main import litestar_group

    serving = sys.argv[1:2] == ["run"] or sys.argv[1:3] == ["retention", "schedule"]
    configure_logging(logging.INFO if serving else logging.WARNING)

    try:
        if sys.argv[1:2] == ["run"]:
            serve_json_logs_only()
            _preflight_master_keys()
            _serve_without_server_header()
        litestar_group(prog_name="commlog")
    except ConfigurationError as exc:
        for problem in exc.problems:  # all of them, one line each
            click.echo(f"commlog: configuration error: {problem}", err=True)
        sys.exit(EXIT_CONFIGURATION)
