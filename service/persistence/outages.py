"""Which failures mean "the database is unavailable right now" (503), not "a bug" (500).

A request that failed for one of these reasons stored nothing and may be retried: the
database refused or dropped the connection, did not answer within the configured timeouts,
the pool had no free connection in time, or (SQLite) another process held the write lock
longer than the busy timeout, or the file cannot be written (read-only, disk full).
"""

from __future__ import annotations

import sqlite3

import asyncpg  # type: ignore[import-untyped]
from sqlalchemy.exc import DBAPIError
from sqlalchemy.exc import TimeoutError as PoolTimeout

# asyncpg errors that say nothing about the statement and everything about the server:
# the connection is gone or refused (class 08), the server cancelled a statement that
# ran past statement_timeout or is shutting down (57), it is out of connections (53), or
# it is read-only (25006).
_POSTGRES_UNAVAILABLE = (
    asyncpg.exceptions.PostgresConnectionError,
    asyncpg.exceptions.OperatorInterventionError,
    asyncpg.exceptions.InsufficientResourcesError,
    asyncpg.exceptions.InterfaceError,
    asyncpg.exceptions.ConnectionDoesNotExistError,
    asyncpg.exceptions.ReadOnlySQLTransactionError,  # a standby after fail-over
)
# SQLite result codes: busy/locked (another writer beyond busy_timeout), read-only,
# I/O error, disk full, cannot open the file.
_SQLITE_UNAVAILABLE = {5, 6, 8, 10, 13, 14}
_MAX_CHAIN = 8


def _is_unavailable(error: BaseException) -> bool:
    if isinstance(error, PoolTimeout | OSError):  # refused, reset, unreachable, timed out
        return True
    if isinstance(error, DBAPIError) and error.connection_invalidated:
        return True
    if isinstance(error, _POSTGRES_UNAVAILABLE):
        return True
    if isinstance(error, sqlite3.OperationalError):
        code = getattr(error, "sqlite_errorcode", None)
        return code is not None and code & 0xFF in _SQLITE_UNAVAILABLE
    return False


def database_unavailable(error: BaseException) -> bool:
    """Whether ``error`` (or what it wraps) says the database cannot be used right now.

    Drivers' errors arrive wrapped (SQLAlchemy's ``DBAPIError`` around its adapter's error
    around asyncpg's), so the chain of causes is followed a few links deep.
    """
    current: BaseException | None = error
    for _ in range(_MAX_CHAIN):
        if current is None:
            return False
        if _is_unavailable(current):
            return True
        if isinstance(current, DBAPIError) and current.orig is not None:
            current = current.orig
        else:
            current = current.__cause__ or current.__context__
    return False
