"""Which times a request may name: timezone-aware, from 1970 up to 9999-01-01 (UTC)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from hypothesis import given
from hypothesis import strategies as st

from policies.instants import EARLIEST, LATEST, accepted_instant

offsets = st.integers(min_value=-23 * 60 - 59, max_value=23 * 60 + 59).map(
    lambda minutes: timezone(timedelta(minutes=minutes))
)


@given(st.datetimes(timezones=offsets))
def test_an_accepted_time_is_the_same_instant_in_utc_and_inside_the_range(
    moment: datetime,
) -> None:
    utc = accepted_instant(moment)
    if utc is not None:
        assert utc == moment
        assert utc.tzinfo is UTC
        assert EARLIEST <= utc < LATEST


@given(st.datetimes(timezones=offsets))
def test_no_aware_time_makes_the_check_fail(moment: datetime) -> None:
    accepted_instant(moment)  # never OverflowError, whatever the offset


@given(st.datetimes(min_value=datetime(1970, 1, 2), max_value=datetime(9998, 12, 30)), offsets)
def test_every_time_well_inside_the_range_is_accepted(moment: datetime, offset: timezone) -> None:
    assert accepted_instant(moment.replace(tzinfo=offset)) is not None


@pytest.mark.parametrize(
    "moment",
    [
        datetime(9999, 12, 31, 23, 59, 59, tzinfo=timezone(timedelta(hours=-1))),
        datetime(9999, 1, 1, tzinfo=UTC),
        datetime(1, 1, 1, tzinfo=UTC),
        datetime(1, 1, 1, tzinfo=timezone(timedelta(hours=1))),
        datetime(1969, 12, 31, 23, 59, 59, tzinfo=UTC),
        datetime(2026, 4, 15, 10, 0),  # no offset: no instant
    ],
)
def test_times_outside_the_range_or_without_an_offset_are_refused(moment: datetime) -> None:
    assert accepted_instant(moment) is None


def test_the_bounds_themselves() -> None:
    assert accepted_instant(EARLIEST) == EARLIEST
    assert accepted_instant(LATEST - timedelta(microseconds=1)) is not None
