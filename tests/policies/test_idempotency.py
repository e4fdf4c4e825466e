"""A retry's fingerprint: equal for the same send, different for any other."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from policies.channels import Channel, DeliveryStatus
from policies.idempotency import send_fingerprint

BASE: dict[str, Any] = {
    "user_id": "usr_alice",
    "channel": Channel.SMS,
    "template_id": "tpl_1",
    "provider": "aliyun",
    "status": DeliveryStatus.PENDING,
    "created_at": datetime(2026, 1, 20, tzinfo=UTC),
}


@given(
    st.datetimes(min_value=datetime(1970, 1, 2), max_value=datetime(9998, 1, 1)),
    st.integers(min_value=-23 * 60, max_value=23 * 60),
)
def test_one_instant_written_with_any_offset_has_one_fingerprint(
    moment: datetime, minutes: int
) -> None:
    utc = moment.replace(tzinfo=UTC)
    shifted = utc.astimezone(timezone(timedelta(minutes=minutes)))
    assert send_fingerprint(**{**BASE, "created_at": utc}) == send_fingerprint(
        **{**BASE, "created_at": shifted}
    )


@pytest.mark.parametrize(
    "change",
    [
        {"user_id": "usr_bob"},
        {"channel": Channel.EMAIL},
        {"template_id": None},
        {"provider": None},
        {"provider": "tpl_1", "template_id": "aliyun"},
        {"status": DeliveryStatus.DELIVERED},
        {"created_at": None},
        {"created_at": datetime(2026, 1, 20, 0, 0, 0, 1, tzinfo=UTC)},
    ],
)
def test_any_changed_field_changes_the_fingerprint(change: dict[str, Any]) -> None:
    assert send_fingerprint(**{**BASE, **change}) != send_fingerprint(**BASE)


def test_the_fingerprint_is_a_sha256_hex_digest() -> None:
    digest = send_fingerprint(**BASE)
    assert len(digest) == 64
    assert int(digest, 16) >= 0
