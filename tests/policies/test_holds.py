"""The pure rules of bounded legal holds (policies.holds)."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st

from policies.holds import (
    HoldFacts,
    HoldScope,
    active_at,
    bounds_problem,
    due_for_review,
    ended_at,
    scope_problem,
)

NOW = datetime(2026, 12, 7, 12, 0, tzinfo=UTC)
offsets = st.one_of(st.none(), st.integers(-1000, 1000).map(lambda d: NOW + timedelta(days=d)))


@given(expires_at=offsets, review_by=offsets, max_days=st.integers(1, 800))
def test_a_hold_stands_only_with_a_future_end_or_review_within_the_maximum(
    expires_at: datetime | None, review_by: datetime | None, max_days: int
) -> None:
    problem = bounds_problem(expires_at=expires_at, review_by=review_by, now=NOW, max_days=max_days)
    dates = [d for d in (expires_at, review_by) if d is not None]
    valid = bool(dates) and all(NOW < d <= NOW + timedelta(days=max_days) for d in dates)
    assert (problem is None) is valid


def test_a_change_checks_only_the_dates_it_changes() -> None:
    overdue = NOW - timedelta(days=3)
    extended = NOW + timedelta(days=100)
    assert (
        bounds_problem(
            expires_at=extended,
            review_by=overdue,
            now=NOW,
            max_days=730,
            checked=frozenset({"expires_at"}),
        )
        is None
    )
    assert bounds_problem(
        expires_at=None, review_by=None, now=NOW, max_days=730, checked=frozenset()
    ) == ("a hold needs 'expires_at' or 'review_by' (or both)")


def test_every_scope_names_exactly_what_it_keeps() -> None:
    assert scope_problem(HoldScope.TENANT, user_id=None, recipient=None, channel=None) is None
    assert scope_problem(HoldScope.TENANT, user_id="u", recipient=None, channel=None)
    assert scope_problem(HoldScope.USER, user_id="u", recipient=None, channel=None) is None
    assert scope_problem(HoldScope.USER, user_id=None, recipient=None, channel=None)
    assert scope_problem(HoldScope.USER, user_id="u", recipient="r", channel="sms")
    assert scope_problem(HoldScope.RECIPIENT, user_id=None, recipient="r", channel="sms") is None
    assert scope_problem(HoldScope.RECIPIENT, user_id="u", recipient="r", channel="sms") is None
    assert scope_problem(HoldScope.RECIPIENT, user_id="u", recipient=None, channel=None)


@given(
    released=st.booleans(),
    expires_at=offsets,
    review_by=offsets,
    within=st.integers(0, 400).map(lambda d: timedelta(days=d)),
)
def test_only_active_holds_are_due_and_only_within_the_horizon(
    released: bool, expires_at: datetime | None, review_by: datetime | None, within: timedelta
) -> None:
    released_at = NOW - timedelta(days=1) if released else None
    due = due_for_review(
        released_at=released_at, expires_at=expires_at, review_by=review_by, now=NOW, within=within
    )
    if due:
        assert active_at(released_at=released_at, expires_at=expires_at, moment=NOW)
        assert any(d is not None and d <= NOW + within for d in (review_by, expires_at))


def test_a_hold_ends_at_its_release_else_its_expiry() -> None:
    assert ended_at(released_at=NOW, expires_at=NOW + timedelta(days=1)) == NOW
    assert ended_at(released_at=None, expires_at=NOW) == NOW
    assert ended_at(released_at=None, expires_at=None) is None


@given(reason=st.text(max_size=200), recipient_hex=st.one_of(st.none(), st.just("0a" * 8)))
def test_audit_details_never_hold_the_reason_text(reason: str, recipient_hex: str | None) -> None:
    details = HoldFacts(
        scope=HoldScope.RECIPIENT,
        user_id=None,
        channel="sms",
        recipient_index_hex=recipient_hex,
        created_before=None,
        expires_at=NOW,
        review_by=None,
        keep_short_lived_content=False,
        reason=reason,
    ).details()
    assert details["reason_sha256"] == hashlib.sha256(reason.encode()).hexdigest()
    assert details["reason_chars"] == len(reason)
    assert set(details) == {
        "scope",
        "user_id",
        "channel",
        "recipient_index",
        "created_before",
        "expires_at",
        "review_by",
        "keep_short_lived_content",
        "reason_sha256",
        "reason_chars",
    }
    assert details["expires_at"] == "2026-12-07T12:00:00Z"
