"""Data-subject requests: what a request is, when it is due, and what its evidence says.

A person may ask a tenant for a copy of the messages sent to them (GDPR Art. 15, right of
access; PIPL Art. 45, right to consult and copy) or for their erasure (GDPR Art. 17;
PIPL Art. 47). The controller answers "without undue delay and in any event within one
month of receipt", extendable by two further months where necessary (GDPR Art. 12(3)):
a request is due :data:`DEFAULT_DUE_DAYS` after it was recorded unless the officer gives
an earlier date, and never later than :data:`MAX_DUE_DAYS`. Legal holds are the
exceptions to erasure (GDPR Art. 17(3)(b) legal obligation, 17(3)(e) legal claims).

The officer's case reference may name the person; it is stored as given for the officer,
and the audit trail and logs carry only its SHA-256 (:func:`reference_digest`).

Everything here is pure.
"""

from __future__ import annotations

import enum
import hashlib
from collections.abc import Iterable
from datetime import datetime, timedelta

REQUEST_ID_PREFIX = "dsr_"
DEFAULT_DUE_DAYS = 30
"""GDPR Art. 12(3): one month from receipt; 30 days is the shortest month-long reading
(the issue asks for 30 days). Not a setting: a longer default would let every request
run late. An officer gives an earlier ``due_at`` for a stricter deadline."""
MAX_DUE_DAYS = 90
"""GDPR Art. 12(3): one month, extended by at most two further months (about 90 days)."""
MAX_REFERENCE_CHARS = 200


class RequestType(enum.StrEnum):
    """What the person asked for."""

    ACCESS = "access"
    """A copy of their records (GDPR Art. 15, PIPL Art. 45)."""
    ERASURE = "erasure"
    """Erasure of their personal fields (GDPR Art. 17, PIPL Art. 47)."""


class RequestStatus(enum.StrEnum):
    """Where a request stands.

    ``open``: recorded, not yet answered (an access file not yet fetched; an erasure whose
    batches have not all committed, e.g. interrupted: a rerun finishes it).
    ``completed``: answered (the access file was fetched at least once; every erasure
    batch committed).
    """

    OPEN = "open"
    COMPLETED = "completed"


def default_due_at(created_at: datetime) -> datetime:
    """When a request recorded at ``created_at`` is due: :data:`DEFAULT_DUE_DAYS` later."""
    return created_at + timedelta(days=DEFAULT_DUE_DAYS)


def due_at_problem(due_at: datetime, created_at: datetime) -> str | None:
    """Why ``due_at`` cannot be a request's deadline, or ``None``: it must be after the
    request is recorded and at most :data:`MAX_DUE_DAYS` later (GDPR Art. 12(3))."""
    if due_at <= created_at:
        return "'due_at' must be in the future"
    if due_at > created_at + timedelta(days=MAX_DUE_DAYS):
        return (
            f"'due_at' may be at most {MAX_DUE_DAYS} days after the request "
            "(GDPR Art. 12(3): one month, extended by at most two further months)"
        )
    return None


def reference_problem(reference: str) -> str | None:
    """Why ``reference`` cannot be a case reference, or ``None``. Never quotes it."""
    if not reference.strip():
        return "a request needs a 'reference' (the officer's case reference)"
    if len(reference) > MAX_REFERENCE_CHARS:
        return f"'reference' is limited to {MAX_REFERENCE_CHARS} characters"
    if "\x00" in reference:
        return "'reference' must not contain NUL"
    return None


def reference_digest(reference: str) -> str:
    """SHA-256 (hex) of the case reference as given: what logs and audit events carry
    instead of the reference, which may name the person."""
    return hashlib.sha256(reference.encode()).hexdigest()


def ids_digest(record_ids: Iterable[str]) -> str:
    """SHA-256 (hex) over the record ids sorted, each followed by a line feed: an
    auditor holding the list of erased ids recomputes it with ``sort | sha256sum``."""
    digest = hashlib.sha256()
    for record_id in sorted(record_ids):
        digest.update(record_id.encode() + b"\n")
    return digest.hexdigest()


def is_overdue(status: RequestStatus, due_at: datetime, now: datetime) -> bool:
    """An open request past its deadline."""
    return status is RequestStatus.OPEN and now > due_at


__all__ = [
    "DEFAULT_DUE_DAYS",
    "MAX_DUE_DAYS",
    "MAX_REFERENCE_CHARS",
    "REQUEST_ID_PREFIX",
    "RequestStatus",
    "RequestType",
    "default_due_at",
    "due_at_problem",
    "ids_digest",
    "is_overdue",
    "reference_digest",
    "reference_problem",
]
