"""What went wrong with the database, said in one line that quotes nothing.

Driver messages can quote SQL parameters (recipients, content) and connection errors can
quote the URL; only the failure's kind and type name ever leave this module.
"""

from __future__ import annotations

import enum
import sqlite3

from sqlalchemy.exc import DBAPIError

from service.persistence.outages import database_unavailable

# Beyond what makes a request's answer 503 (``service.persistence.outages``), an operator
# cannot use a server that refuses the role (invalid authorization) or lacks the database.
_UNUSABLE_SQLSTATES = ("28", "3D")
_UNDEFINED_TABLE_SQLSTATE = "42P01"


class DatabaseFailure(enum.StrEnum):
    UNAVAILABLE = "database unavailable"
    NOT_MIGRATED = "database has no commlog tables"
    ERROR = "database error"


def _root_cause(exc: BaseException) -> BaseException:
    seen = {id(exc)}
    while (cause := exc.__cause__ or exc.__context__) is not None and id(cause) not in seen:
        seen.add(id(cause))
        exc = cause
    return exc


def classify_database_failure(exc: BaseException) -> tuple[DatabaseFailure, str] | None:
    """The kind of database failure and its root cause's type name; ``None`` if ``exc``
    is not a database failure (a connection refused, a name that does not resolve and a
    timeout are ``OSError`` from the driver; anything the driver reports is DBAPIError)."""
    if not isinstance(exc, (DBAPIError, OSError)):
        return None
    root = _root_cause(exc)
    name = type(root).__name__
    sqlstate = str(getattr(root, "sqlstate", "") or "")
    if sqlstate == _UNDEFINED_TABLE_SQLSTATE or (
        isinstance(root, sqlite3.OperationalError) and str(root).startswith("no such table")
    ):
        return DatabaseFailure.NOT_MIGRATED, name
    if database_unavailable(exc) or sqlstate.startswith(_UNUSABLE_SQLSTATES):
        return DatabaseFailure.UNAVAILABLE, name
    return DatabaseFailure.ERROR, name


def database_unusable(exc: BaseException) -> bool:
    """Whether ``exc`` says the database cannot be used at all (down, or not migrated)."""
    classified = classify_database_failure(exc)
    return classified is not None and classified[0] is not DatabaseFailure.ERROR


def describe_database_failure(exc: BaseException, location: str) -> str | None:
    """One line for an operator, e.g. ``database unavailable (ConnectionRefusedError):
    postgresql at db.internal:5432/commlog``; ``None`` if ``exc`` is not a database failure.
    ``location`` must name no secret (see :attr:`Settings.database_location`)."""
    classified = classify_database_failure(exc)
    if classified is None:
        return None
    kind, name = classified
    line = f"{kind.value} ({name}): {location}"
    if kind is DatabaseFailure.NOT_MIGRATED:
        line += "; run 'commlog database upgrade --no-prompt'"
    return line
