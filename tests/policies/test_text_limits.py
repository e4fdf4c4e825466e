"""Bounds on stored free text: every field has a limit, and a limit is a hard line."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from policies.text_limits import (
    CONTENT_CEILING_CHARS,
    DEFAULT_CONTENT_CHARS,
    DEFAULT_PROVIDER_TEXT_CHARS,
    PROVIDER_TEXT_CEILING_CHARS,
    TextLimitError,
    TextLimits,
)


def test_the_defaults_are_below_the_ceilings() -> None:
    limits = TextLimits()
    assert limits.content_chars == DEFAULT_CONTENT_CHARS <= CONTENT_CEILING_CHARS
    assert limits.provider_text_chars == DEFAULT_PROVIDER_TEXT_CHARS <= PROVIDER_TEXT_CEILING_CHARS


@pytest.mark.parametrize(
    "overrides",
    [
        {"content_chars": 0},
        {"content_chars": CONTENT_CEILING_CHARS + 1},
        {"provider_text_chars": 0},
        {"provider_text_chars": PROVIDER_TEXT_CEILING_CHARS + 1},
    ],
)
def test_a_limit_outside_one_to_its_ceiling_is_refused(overrides: dict[str, int]) -> None:
    with pytest.raises(TextLimitError):
        TextLimits(**overrides)


def test_content_and_provider_texts_have_their_own_limits() -> None:
    limits = TextLimits(content_chars=10, provider_text_chars=5)
    assert limits.first_oversized({"content": "x" * 10, "error": "y" * 5}) is None
    assert limits.first_oversized({"content": "x" * 11}) == ("content", 10)
    assert limits.first_oversized({"error": None, "response": "y" * 6}) == ("response", 5)


def test_limits_count_characters_not_bytes() -> None:
    limits = TextLimits(content_chars=6)
    assert limits.first_oversized({"content": "您的验证码是"}) is None  # 18 bytes in UTF-8


@given(
    content=st.text(max_size=40),
    error=st.none() | st.text(max_size=40),
    content_chars=st.integers(1, 30),
    provider_chars=st.integers(1, 30),
)
def test_a_field_is_reported_exactly_when_it_is_longer_than_its_limit(
    content: str, error: str | None, content_chars: int, provider_chars: int
) -> None:
    limits = TextLimits(content_chars=content_chars, provider_text_chars=provider_chars)
    found = limits.first_oversized({"content": content, "error": error})
    too_long = [
        name
        for name, value, limit in (
            ("content", content, content_chars),
            ("error", error, provider_chars),
        )
        if value is not None and len(value) > limit
    ]
    assert (found[0] if found else None) == (too_long[0] if too_long else None)
