"""Transaction conventions every writer and reader of commlog's tables follows."""

from __future__ import annotations

import contextlib
import logging
import sqlite3

from sqlalchemy.exc import DataError, DBAPIError, IntegrityError, ProgrammingError
from sqlalchemy.ext.asyncio import AsyncSession, async_scoped_session

Session = AsyncSession | async_scoped_session[AsyncSession]

WRITE_TRANSACTION = "commlog_write_transaction"
"""Execution option set on a session's first connection when its transaction will write.

On SQLite it makes the engine emit ``BEGIN IMMEDIATE`` (see service.persistence.database):
a deferred transaction that read first fails with SQLITE_BUSY_SNAPSHOT, rather than
waiting, when another writer committed in between.
"""

WRITE_PENDING = "commlog_write_pending"
"""``session.info`` key: set by :func:`begin_write`, cleared by :func:`commit`. A session
that still carries it when a response is sent wrote something nobody committed."""

NOT_CONFIRMED = (
    "not confirmed: the database did not confirm the write, so it is not acknowledged; retry"
)
"""A failed COMMIT may have reached the database or not (a connection lost after it was
sent): either way nothing is acknowledged. A retry of a send with the same
``Idempotency-Key`` stores it exactly once."""

storage_logger = logging.getLogger("commlog.storage")


class CommitFailed(Exception):
    """The database did not confirm a commit: nothing of the transaction is stored.

    ``str(error)`` names the operation and the exception type only. The database's own
    message is never kept: it may quote the statement's parameters (recipients, content).
    """

    def __init__(self, operation: str, cause: str) -> None:
        super().__init__(f"{operation}: {NOT_CONFIRMED} ({cause})")
        self.operation = operation
        self.cause = cause


def _asyncpg_connection_errors() -> tuple[type[BaseException], ...]:
    try:
        from asyncpg import exceptions  # type: ignore[import-untyped]
    except ImportError:  # pragma: no cover - asyncpg is a dependency
        return ()
    return (exceptions.PostgresConnectionError, exceptions.InterfaceError)


_STATEMENT_ERRORS = (IntegrityError, DataError, ProgrammingError)
_STORAGE_ERRORS = (
    DBAPIError,
    OSError,  # includes TimeoutError and ConnectionError
    sqlite3.OperationalError,
    *_asyncpg_connection_errors(),
)


def is_storage_failure(exc: BaseException) -> bool:
    """Whether ``exc`` says the database or its storage failed (full disk, lost connection,
    lock timeout), as opposed to a statement the database rejected on its merits."""
    return isinstance(exc, _STORAGE_ERRORS) and not isinstance(exc, _STATEMENT_ERRORS)


async def begin_write(session: Session) -> None:
    """Declare, before the first statement, that this transaction will write."""
    session.info[WRITE_PENDING] = True
    await session.connection(execution_options={WRITE_TRANSACTION: True})


def write_pending(session: AsyncSession) -> bool:
    """Whether ``session`` holds changes (flushed or not) that no commit confirmed."""
    return bool(
        (session.info.get(WRITE_PENDING) and session.in_transaction())
        or session.new
        or session.dirty
        or session.deleted
    )


async def commit(session: Session, *, operation: str) -> None:
    """Commit, or raise :class:`CommitFailed` when the database does not confirm it.

    Call it before the result of a write is reported to anyone: a success answered before
    the commit is a promise the database may not keep. On failure the transaction is
    rolled back and one line naming the operation and the exception type (never its
    message) is logged on ``commlog.storage``. Failures that are not the storage's (a
    constraint the database enforces at commit) are re-raised as they are, after the
    rollback.
    """
    try:
        await session.commit()
    except Exception as exc:
        session.info.pop(WRITE_PENDING, None)
        with contextlib.suppress(Exception):  # the connection is gone; close() discards it
            await session.rollback()
        if not is_storage_failure(exc):
            raise
        storage_logger.error(
            "commit failed for %s: %s; not acknowledged", operation, type(exc).__name__
        )
        raise CommitFailed(operation, type(exc).__name__) from None
    session.info.pop(WRITE_PENDING, None)


async def begin_consistent_read(session: Session) -> None:
    """Make every statement of this transaction read one snapshot.

    SQLite sessions already are one snapshot (the engine emits ``BEGIN``); PostgreSQL's
    default READ COMMITTED takes a snapshot per statement, so ask for REPEATABLE READ
    before the first statement runs.
    """
    if session.bind is not None and session.bind.dialect.name == "postgresql":
        await session.connection(execution_options={"isolation_level": "REPEATABLE READ"})
