"""The retention run lock: at most one run at a time per database.

On PostgreSQL a session-level advisory lock, held by a connection of its own for the whole
run; on SQLite a row in ``retention_locks`` whose heartbeat each batch refreshes, taken over
once it is stale (its process died). A run that finds the lock taken raises
:class:`RetentionLocked` and does nothing; a run that loses it mid-run raises
:class:`RetentionLockLost` (a :class:`RetentionFailed`) and stops at once.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import delete, text, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from compliance.retention.models import RetentionLock
from compliance.transactions import begin_write, commit

logger = logging.getLogger("commlog.retention")

ADVISORY_LOCK_KEY = 0x636F6D6D6C6F67  # "commlog"
LOCK_NAME = "retention"
STALE_LOCK_AFTER = timedelta(minutes=15)


class RetentionLocked(Exception):
    """Another run holds the lock; this one did nothing."""


class RetentionFailed(Exception):
    """The run failed; what it finished stays done and is recorded."""


class RetentionLockLost(RetentionFailed):
    """The run's lock went away mid-run (its connection dropped, or a stale takeover):
    another run may have started, so this one stops at once."""


LockCheck = Callable[[], Awaitable[None]]


@asynccontextmanager
async def _postgres_lock(engine: AsyncEngine) -> AsyncIterator[LockCheck]:
    async with engine.connect() as connection:
        taken = await connection.scalar(
            text("SELECT pg_try_advisory_lock(:key)"), {"key": ADVISORY_LOCK_KEY}
        )
        await connection.commit()
        if not taken:
            raise RetentionLocked("another retention run is in progress on this database")

        async def still_held() -> None:
            # A session-level advisory lock lives exactly as long as its connection.
            try:
                await connection.scalar(text("SELECT 1"))
                await connection.commit()
            except Exception:
                raise RetentionLockLost("the run lock's connection was lost") from None

        try:
            yield still_held
        finally:
            try:
                await connection.execute(
                    text("SELECT pg_advisory_unlock(:key)"), {"key": ADVISORY_LOCK_KEY}
                )
                await connection.commit()
            except Exception as exc:
                # A failed statement leaves the connection in a failed transaction: the
                # unlock never ran, and returned to the pool the connection would keep the
                # session-level lock for whoever borrows it next. Closing it frees the lock.
                logger.warning("retention lock release failed: %s", type(exc).__name__)
                await connection.invalidate()


async def touch_sqlite_lock(session: AsyncSession, run_id: str) -> None:
    """Refresh ``run_id``'s lock row in ``session``'s transaction; if the row is no
    longer this run's (taken over as stale), raise :class:`RetentionLockLost`."""
    result = await session.execute(
        update(RetentionLock)
        .where(RetentionLock.name == LOCK_NAME, RetentionLock.run_id == run_id)
        .values(heartbeat_at=datetime.now(UTC))
    )
    if not getattr(result, "rowcount", 0):
        raise RetentionLockLost("the run lock was taken over as stale")


@asynccontextmanager
async def _sqlite_lock(
    sessions: async_sessionmaker[AsyncSession], run_id: str
) -> AsyncIterator[LockCheck]:
    now = datetime.now(UTC)
    async with sessions() as session:
        await begin_write(session)
        current = await session.get(RetentionLock, LOCK_NAME)
        if current is not None and now - current.heartbeat_at < STALE_LOCK_AFTER:
            raise RetentionLocked(
                f"another retention run is in progress on this database ({current.run_id})"
            )
        if current is not None:  # its process died: the lock is stale
            await session.delete(current)
            await session.flush()
        session.add(RetentionLock(name=LOCK_NAME, run_id=run_id, acquired_at=now, heartbeat_at=now))
        try:
            await commit(session, operation="retention_lock")
        except IntegrityError:
            raise RetentionLocked("another retention run is in progress on this database") from None

    async def still_held() -> None:
        async with sessions() as session:
            await begin_write(session)
            await touch_sqlite_lock(session, run_id)
            await commit(session, operation="retention_lock")

    try:
        yield still_held
    finally:
        async with sessions() as session:
            await begin_write(session)
            await session.execute(
                delete(RetentionLock).where(
                    RetentionLock.name == LOCK_NAME, RetentionLock.run_id == run_id
                )
            )
            await commit(session, operation="retention_lock")


def run_lock(engine: AsyncEngine, sessions: async_sessionmaker[AsyncSession], run_id: str) -> Any:
    """At most one retention run per database."""
    if engine.dialect.name == "postgresql":
        return _postgres_lock(engine)
    return _sqlite_lock(sessions, run_id)
