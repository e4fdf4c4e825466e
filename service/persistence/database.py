"""Engine and session configuration for both supported databases."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from advanced_alchemy.config import AlembicAsyncConfig, AsyncSessionConfig
from advanced_alchemy.extensions.litestar import SQLAlchemyAsyncConfig
from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from compliance.transactions import WRITE_TRANSACTION

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"
SQLITE_BUSY_TIMEOUT_MS = 10_000


def _configure_sqlite(engine: AsyncEngine) -> None:
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
        cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
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


def create_engine(database_url: str, *, pool_size: int = 10) -> AsyncEngine:
    """An async engine that never echoes SQL parameters (they carry personal data)."""
    options: dict[str, Any] = {"hide_parameters": True, "pool_pre_ping": True}
    if database_url.startswith("postgresql"):
        options.update(pool_size=pool_size, max_overflow=pool_size)
    engine = create_async_engine(database_url, **options)
    if engine.dialect.name == "sqlite":
        _configure_sqlite(engine)
    return engine


def create_database_config(database_url: str) -> SQLAlchemyAsyncConfig:
    """The advanced-alchemy configuration: sessions per request, Alembic migrations."""
    return SQLAlchemyAsyncConfig(
        engine_instance=create_engine(database_url),
        session_config=AsyncSessionConfig(expire_on_commit=False),
        before_send_handler="autocommit",
        enable_touch_updated_timestamp_listener=False,
        alembic_config=AlembicAsyncConfig(
            script_location=str(MIGRATIONS_DIR),
            script_config=str(MIGRATIONS_DIR / "alembic.ini"),
            version_table_name="alembic_versions",
        ),
    )


def upgrade_database(database_url: str) -> None:
    """Apply every migration (what ``commlog database upgrade`` does). Call without a
    running event loop: Alembic's environment runs its own."""
    from advanced_alchemy.alembic.commands import AlembicCommands

    AlembicCommands(sqlalchemy_config=create_database_config(database_url)).upgrade("head")


def schema_head() -> str:
    """The migration revision this code brings a database to (``commlog version``)."""
    from alembic.script import ScriptDirectory

    return ",".join(sorted(ScriptDirectory(str(MIGRATIONS_DIR)).get_heads())) or "none"
