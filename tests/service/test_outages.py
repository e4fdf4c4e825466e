"""Which failures are "the database is unavailable" (503) and which stay bugs (500)."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from sqlalchemy.exc import DBAPIError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout

from service.persistence.outages import database_unavailable


def sqlite_error(tmp_path: Path, statement: str, *, locked: bool = False) -> sqlite3.Error:
    path = tmp_path / "db.sqlite"
    holder = sqlite3.connect(path, isolation_level=None)
    holder.execute("CREATE TABLE IF NOT EXISTS t (x)")
    if locked:
        holder.execute("BEGIN IMMEDIATE")
    other = sqlite3.connect(path, isolation_level=None, timeout=0.01)
    try:
        other.execute(statement)
    except sqlite3.Error as exc:
        return exc
    finally:
        other.close()
        holder.close()
    raise AssertionError("the statement did not fail")


def wrapped(error: Exception) -> DBAPIError:
    return OperationalError("statement", {}, error)


def test_a_locked_sqlite_database_is_unavailable(tmp_path: Path) -> None:
    locked = sqlite_error(tmp_path, "BEGIN IMMEDIATE", locked=True)
    assert database_unavailable(wrapped(locked))


def test_a_missing_table_or_bad_sql_is_a_bug_not_an_outage(tmp_path: Path) -> None:
    assert not database_unavailable(wrapped(sqlite_error(tmp_path, "SELECT * FROM missing")))
    assert not database_unavailable(wrapped(sqlite_error(tmp_path, "SELEC 1")))


@pytest.mark.parametrize(
    "error",
    [PoolTimeout("pool"), TimeoutError(), ConnectionRefusedError(), ConnectionResetError()],
)
def test_timeouts_and_refused_connections_are_unavailable(error: Exception) -> None:
    outer = RuntimeError("wrapper")
    outer.__cause__ = error
    assert database_unavailable(error)
    assert database_unavailable(outer)


def test_other_errors_are_not_outages() -> None:
    assert not database_unavailable(ValueError("x"))
    assert not database_unavailable(KeyError("x"))
