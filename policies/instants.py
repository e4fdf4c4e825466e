"""Which points in time a request may name.

Every time a client sends (a send's ``created_at``, an outcome's ``at``, a hold's
``expires_at``) must carry a UTC offset and lie in ``[EARLIEST, LATEST)``:

- ``EARLIEST`` is the Unix epoch. Nothing this service records happened before it, every
  accepted time is a non-negative POSIX time for the systems that read exports, and the
  retention job can step back from any stored time by its longest window without leaving
  the calendar (year-0001 times made that arithmetic overflow).
- ``LATEST`` is 9999-01-01T00:00:00Z, a year inside Python's calendar, so that converting
  a time to UTC (``9999-12-31T23:59:59-01:00`` is in year 10000 once converted) or adding
  a day to it can never overflow. A hold meant to last "forever" simply has no
  ``expires_at``.
"""

from __future__ import annotations

from datetime import UTC, datetime

EARLIEST = datetime(1970, 1, 1, tzinfo=UTC)
LATEST = datetime(9999, 1, 1, tzinfo=UTC)
RANGE_TEXT = "between 1970-01-01T00:00:00Z and 9999-01-01T00:00:00Z"


def accepted_instant(moment: datetime) -> datetime | None:
    """``moment`` in UTC if a request may name it, else ``None``.

    ``moment`` must be timezone-aware: a time without an offset names no instant.
    """
    if moment.tzinfo is None or moment.utcoffset() is None:
        return None
    try:
        utc = moment.astimezone(UTC)
    except OverflowError:  # e.g. 9999-12-31T23:59:59-01:00 is in year 10000 in UTC
        return None
    if not EARLIEST <= utc < LATEST:
        return None
    return utc


def rfc3339(moment: datetime) -> str:
    """RFC 3339 in UTC with a ``Z`` suffix; fractions only when the instant has them.

    How every time leaves the service: in API responses and in exports alike."""
    utc = moment if moment.tzinfo is UTC else moment.astimezone(UTC)
    # ``isoformat`` leaves out a zero fraction, writes any other as microseconds, and
    # ends an instant in UTC with ``+00:00``.
    return utc.isoformat()[:-6] + "Z"
