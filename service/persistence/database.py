"""Engine and session configuration for both supported databases."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from advanced_alchemy.config import AlembicAsyncConfig, AsyncSessionConfig
from advanced_alchemy.extensions.litestar import SQLAlchemyAsyncConfig
from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from compliance.transactions import WRITE_TRANSACTION
from service.persistence.unit_of_work import rollback_before_send

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"
SQLITE_BUSY_TIMEOUT_MS = 10_000
"""The lock wait of engines without :class:`DatabaseTimeouts` (migrations, tests' own)."""
CLIENT_TIMEOUT_GRACE_SECONDS = 1.0
"""asyncpg's own deadline comes this long after the server's ``statement_timeout``: the
server cancels a slow statement cleanly; the client deadline only fires when the server
cannot answer at all (frozen, partitioned)."""


@dataclass(frozen=True, slots=True)
class DatabaseTimeouts:
    """How long the service waits for the database before it answers 503 instead.

    ``connect``: opening a connection (TCP, TLS, authentication); ``pool``: waiting for a
    free connection of the pool; ``statement``: one statement (on SQLite: waiting for the
    write lock, ``busy_timeout``). Seconds.
    """

    connect: float
    pool: float
    statement: float


def _configure_sqlite(engine: AsyncEngine, busy_timeout_ms: int = SQLITE_BUSY_TIMEOUT_MS) -> None:
    """Make SQLite behave like a database that can be trusted with a compliance log.

    The stdlib driver does not emit ``BEGIN`` before a SELECT, so two reads in one session
    could see two different states; emitting it ourselves makes a session one snapshot,
    which the seed's ``items``/``total`` consistency needs. WAL lets readers proceed while
    a writer commits; foreign keys are off by default in SQLite.
    """

    @event.listens_for(engine.sync_engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute(f"PRAGMA busy_timeout={busy_timeout_ms}")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    @event.listens_for(engine.sync_engine, "begin")
    def _on_begin(connection: Any) -> None:
        # A transaction that will write takes the write lock up front: a deferred one
        # that read first would fail with SQLITE_BUSY_SNAPSHOT, not wait, when another
        # writer committed in between.
        immediate = connection.get_execution_options().get(WRITE_TRANSACTION, False)
        connection.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")


def create_engine(
    database_url: str, *, pool_size: int = 10, timeouts: DatabaseTimeouts | None = None
) -> AsyncEngine:
    """An async engine that never echoes SQL parameters (they carry personal data).

    With ``timeouts`` (the service's engine) no wait on the database is unbounded: a
    frozen or unreachable database becomes an error the service answers with 503.
    Without (migrations), statements may run as long as they need.
    """
    options: dict[str, Any] = {"hide_parameters": True, "pool_pre_ping": True}
    postgres = database_url.startswith("postgresql")
    if postgres:
        options.update(pool_size=pool_size, max_overflow=pool_size)
    busy_timeout_ms = SQLITE_BUSY_TIMEOUT_MS
    if timeouts is not None:
        options["pool_timeout"] = timeouts.pool
        if postgres:
            options["connect_args"] = {
                "timeout": timeouts.connect,
                "command_timeout": timeouts.statement + CLIENT_TIMEOUT_GRACE_SECONDS,
                "server_settings": {"statement_timeout": str(round(timeouts.statement * 1000))},
            }
        else:
            busy_timeout_ms = round(timeouts.statement * 1000)
            options["connect_args"] = {"timeout": timeouts.statement}
    engine = create_async_engine(database_url, **options)
    if engine.dialect.name == "sqlite":
        _configure_sqlite(engine, busy_timeout_ms)
    return engine


def create_database_config(
    database_url: str, timeouts: DatabaseTimeouts | None = None
) -> SQLAlchemyAsyncConfig:
    """The advanced-alchemy configuration: sessions per request, Alembic migrations.

    Write handlers commit themselves, before their response is built
    (:func:`service.persistence.unit_of_work.commit`); whatever is still open when the
    response starts is rolled back, never committed.
    """
    # advanced-alchemy makes these keys unique per process by appending _1, _2, … to the
    # default, recursively: a process that builds a thousand configurations (the test
    # suite, a CLI that runs many commands) exceeds Python's recursion limit. A key that is
    # unique from the start is taken as it is.
    unique = secrets.token_hex(6)
    config = SQLAlchemyAsyncConfig(
        session_scope_key=f"_sqlalchemy_db_session_{unique}",
        engine_app_state_key=f"db_engine_{unique}",
        session_maker_app_state_key=f"session_maker_class_{unique}",
        engine_instance=create_engine(database_url, timeouts=timeouts),
        session_config=AsyncSessionConfig(expire_on_commit=False),
        enable_touch_updated_timestamp_listener=False,
        alembic_config=AlembicAsyncConfig(
            script_location=str(MIGRATIONS_DIR),
            script_config=str(MIGRATIONS_DIR / "alembic.ini"),
            version_table_name="alembic_versions",
        ),
    )
    # The scope key is made unique per configuration only once it exists.
    config.before_send_handler = rollback_before_send(config.session_scope_key)
    return config


def upgrade_database(database_url: str) -> None:
    """Apply every migration (what ``commlog database upgrade`` does). Call without a
    running event loop: Alembic's environment runs its own."""
    from advanced_alchemy.alembic.commands import AlembicCommands

    AlembicCommands(sqlalchemy_config=create_database_config(database_url)).upgrade("head")


def schema_head() -> str:
    """The migration revision this code brings a database to (``commlog version``)."""
    from alembic.script import ScriptDirectory

    return ",".join(sorted(ScriptDirectory(str(MIGRATIONS_DIR)).get_heads())) or "none"
