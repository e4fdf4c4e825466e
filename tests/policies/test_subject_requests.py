"""The pure rules of data-subject requests: deadlines (GDPR Art. 12(3)), the reference's
digest, the digest over erased ids, overdue."""

from __future__ import annotations

import hashlib
import random
from datetime import UTC, datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st

from policies.subject_requests import (
    DEFAULT_DUE_DAYS,
    MAX_DUE_DAYS,
    RequestStatus,
    default_due_at,
    due_at_problem,
    ids_digest,
    is_overdue,
    reference_digest,
    reference_problem,
)

MOMENTS = st.datetimes(
    min_value=datetime(2000, 1, 1), max_value=datetime(2100, 1, 1), timezones=st.just(UTC)
)
IDS = st.lists(st.text(alphabet="abcdef0123456789_", min_size=1, max_size=30), max_size=20)


@given(MOMENTS)
def test_the_default_deadline_is_30_days_and_is_itself_allowed(created: datetime) -> None:
    assert default_due_at(created) == created + timedelta(days=DEFAULT_DUE_DAYS)
    assert due_at_problem(default_due_at(created), created) is None


@given(MOMENTS, st.integers(min_value=-(10**7), max_value=10**7))
def test_a_given_deadline_lies_after_the_request_and_within_three_months(
    created: datetime, seconds: int
) -> None:
    due = created + timedelta(seconds=seconds)
    allowed = 0 < seconds <= MAX_DUE_DAYS * 86400
    assert (due_at_problem(due, created) is None) == allowed


@given(IDS, st.randoms())
def test_the_erased_ids_digest_does_not_depend_on_the_order(
    ids: list[str], rng: random.Random
) -> None:
    shuffled = list(ids)
    rng.shuffle(shuffled)
    assert ids_digest(shuffled) == ids_digest(ids)


def test_the_erased_ids_digest_is_what_sort_and_sha256sum_give() -> None:
    expected = hashlib.sha256(b"log_a\nlog_b\n").hexdigest()
    assert ids_digest(["log_b", "log_a"]) == expected


def test_the_reference_is_kept_out_of_evidence_as_its_sha256() -> None:
    assert reference_digest("DSR 17 Zhang Wei") == hashlib.sha256(b"DSR 17 Zhang Wei").hexdigest()
    assert reference_problem("  ") is not None
    assert reference_problem("x" * 201) is not None
    assert "Zhang" not in (reference_problem("Zhang\x00Wei") or "")


def test_only_open_requests_past_their_deadline_are_overdue() -> None:
    due = datetime(2026, 12, 1, tzinfo=UTC)
    later = due + timedelta(seconds=1)
    assert is_overdue(RequestStatus.OPEN, due, later)
    assert not is_overdue(RequestStatus.OPEN, due, due)
    assert not is_overdue(RequestStatus.COMPLETED, due, later)
