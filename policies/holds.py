"""Legal holds with bounds: what a hold may name, how long it may last, when it is due.

A hold suspends erasure (GDPR Art. 17(3)(b) legal obligation, 17(3)(e) legal claims), and
so suspends storage limitation (GDPR Art. 5(1)(e); PIPL Art. 19) for what it covers. A
suspension without an end is how records end up kept forever, so a hold here is bounded:

- it has an ``expires_at`` (it lapses by itself), a ``review_by`` (an officer must look at
  it again by then), or both; each in the future and no later than *now + the configured
  maximum* (``COMMLOG_HOLD_MAX_DAYS``, :data:`DEFAULT_MAX_DAYS`);
- its scope is explicit (:class:`HoldScope`): the whole tenant is never held by omission;
- it may be limited to records created before a date (``created_before``);
- it keeps the content of records whose template declared a short content window
  (``content_retention_days``) only when asked (``keep_short_lived_content``); by default
  that content goes on its template's window even under a hold (GDPR Art. 5(1)(c), 25(2):
  login codes and other short-lived messages are not evidence a dispute needs);
- once released (or lapsed), it is kept :data:`DEFAULT_RELEASED_HOLD_DAYS` and then purged
  with its free-text reason.

Everything here is pure: the mechanisms are in ``compliance.retention.holds``.
"""

from __future__ import annotations

import enum
import hashlib
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta

DEFAULT_MAX_DAYS = 730
"""Two years: the longest a hold may run before it lapses or must be reviewed."""
MAX_MAX_DAYS = 36_500
DEFAULT_RELEASED_HOLD_DAYS = 365
"""How long a released or lapsed hold is kept (as evidence of what was held) before purge."""
DEFAULT_REVIEW_WITHIN_DAYS = 30
"""The review list's default horizon: holds whose review or expiry falls within 30 days."""
MAX_REVIEW_WITHIN_DAYS = 3_650
BACKFILL_REVIEW_DAYS = 30
"""Migration 0007 gives a hold that had neither expiry nor review a review date this many
days after the upgrade, so an officer must look at it."""
MAX_REASON_CHARS = 2_000


class HoldScope(enum.StrEnum):
    """What a hold keeps.

    ``recipient`` may also name a ``user_id``: it then keeps only that user's sends to that
    recipient (the former "user and recipient together"), a narrower hold, not a fourth scope.
    """

    TENANT = "tenant"
    """Every record of the tenant."""
    USER = "user"
    """The records one user sent."""
    RECIPIENT = "recipient"
    """The records sent to one recipient (matched through the blind index), optionally
    only those one user sent."""


def scope_problem(
    scope: HoldScope, *, user_id: str | None, recipient: str | None, channel: object | None
) -> str | None:
    """Why ``scope`` cannot go with these names, or ``None`` (a hold says what it keeps)."""
    if scope is HoldScope.TENANT:
        if user_id is not None or recipient is not None or channel is not None:
            return "scope 'tenant' holds every record: it names no user, recipient or channel"
    elif scope is HoldScope.USER:
        if user_id is None:
            return "scope 'user' needs 'user_id'"
        if recipient is not None or channel is not None:
            return (
                "scope 'user' names no recipient (a user's sends to one recipient are scope "
                "'recipient' with 'user_id')"
            )
    elif recipient is None or channel is None:
        return "scope 'recipient' needs 'recipient' and 'channel'"
    return None


def bounds_problem(
    *,
    expires_at: datetime | None,
    review_by: datetime | None,
    now: datetime,
    max_days: int,
    checked: frozenset[str] = frozenset({"expires_at", "review_by"}),
) -> str | None:
    """Why a hold with these dates may not stand, or ``None``.

    At least one of ``expires_at`` and ``review_by``; each date named in ``checked`` (on a
    change: the dates being changed) must be after ``now`` and no later than ``now`` plus
    ``max_days`` days. A hold without an end would suspend storage limitation for good
    (GDPR Art. 5(1)(e); PIPL Art. 19). Times must be timezone-aware.
    """
    if expires_at is None and review_by is None:
        return "a hold needs 'expires_at' or 'review_by' (or both)"
    latest = now + timedelta(days=max_days)
    for name, value in (("expires_at", expires_at), ("review_by", review_by)):
        if value is None or name not in checked:
            continue
        if value <= now:
            return f"'{name}' must be in the future"
        if value > latest:
            return f"'{name}' must be within {max_days} days (the configured maximum)"
    return None


def reason_problem(reason: str) -> str | None:
    """Why ``reason`` cannot justify a hold, or ``None``: a hold states why it suspends
    erasure (GDPR Art. 5(2), accountability), in at most :data:`MAX_REASON_CHARS`."""
    if not reason.strip():
        return "a hold needs a reason"
    if len(reason) > MAX_REASON_CHARS:
        return f"the reason is limited to {MAX_REASON_CHARS} characters"
    return None


def active_at(
    *, released_at: datetime | None, expires_at: datetime | None, moment: datetime
) -> bool:
    """A hold keeps records while it is neither released nor past its ``expires_at``. A
    passed ``review_by`` does not end it: it only puts it on the review list."""
    return released_at is None and (expires_at is None or expires_at > moment)


def due_for_review(
    *,
    released_at: datetime | None,
    expires_at: datetime | None,
    review_by: datetime | None,
    now: datetime,
    within: timedelta,
) -> bool:
    """An active hold whose review date or expiry falls before ``now + within`` (an overdue
    review included): an officer should decide to extend, amend or release it."""
    if not active_at(released_at=released_at, expires_at=expires_at, moment=now):
        return False
    horizon = now + within
    return any(when is not None and when <= horizon for when in (review_by, expires_at))


def ended_at(*, released_at: datetime | None, expires_at: datetime | None) -> datetime | None:
    """When a hold stopped keeping records: its release, else its expiry (None if it has
    neither). The purge window runs from here."""
    return released_at if released_at is not None else expires_at


def reason_fingerprint(reason: str) -> dict[str, object]:
    """What the audit trail keeps of a reason: its SHA-256 and length, never the text (an
    officer's free text may name a person)."""
    return {
        "reason_sha256": hashlib.sha256(reason.encode("utf-8")).hexdigest(),
        "reason_chars": len(reason),
    }


@dataclass(frozen=True, slots=True, kw_only=True)
class HoldFacts:
    """A hold as the audit trail describes it: no recipient, no reason text."""

    scope: HoldScope
    user_id: str | None
    channel: str | None
    recipient_index_hex: str | None
    created_before: datetime | None
    expires_at: datetime | None
    review_by: datetime | None
    keep_short_lived_content: bool
    reason: str

    def details(self) -> Mapping[str, object]:
        """JSON-able details for a ``legal_hold.*`` audit event."""

        def iso(moment: datetime | None) -> str | None:
            return moment.isoformat().replace("+00:00", "Z") if moment is not None else None

        return {
            "scope": self.scope.value,
            "user_id": self.user_id,
            "channel": self.channel,
            "recipient_index": self.recipient_index_hex,
            "created_before": iso(self.created_before),
            "expires_at": iso(self.expires_at),
            "review_by": iso(self.review_by),
            "keep_short_lived_content": self.keep_short_lived_content,
            **reason_fingerprint(self.reason),
        }


__all__ = [
    "BACKFILL_REVIEW_DAYS",
    "DEFAULT_MAX_DAYS",
    "DEFAULT_RELEASED_HOLD_DAYS",
    "DEFAULT_REVIEW_WITHIN_DAYS",
    "MAX_REASON_CHARS",
    "HoldFacts",
    "HoldScope",
    "active_at",
    "bounds_problem",
    "due_for_review",
    "ended_at",
    "reason_fingerprint",
    "reason_problem",
    "scope_problem",
]
