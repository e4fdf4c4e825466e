"""What an identifier may contain: the function and the wire pattern state one rule."""

from __future__ import annotations

import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from policies.identifiers import (
    IDENTIFIER_PATTERN,
    MAX_IDENTIFIER_LENGTH,
    MAX_PROVIDER_LENGTH,
    MAX_TEMPLATE_ID_LENGTH,
    NO_NUL_PATTERN,
    PROVIDER_PATTERN,
    TEMPLATE_ID_PATTERN,
    has_nul,
    identifier_problem,
    is_identifier,
    provider_problem,
    template_id_problem,
)

BIDI = [chr(c) for c in (0x200E, 0x200F, *range(0x202A, 0x202F), *range(0x2066, 0x206A))]
CONTROL = [chr(c) for c in (*range(0x00, 0x20), *range(0x7F, 0xA0), 0x2028, 0x2029)] + BIDI
control_characters = st.sampled_from(CONTROL)
identifiers = st.text(
    alphabet=st.characters(
        blacklist_categories=("Cc", "Zl", "Zp", "Zs", "Cs"),
        blacklist_characters="\ufeff" + "".join(BIDI),
    ),
    min_size=1,
    max_size=MAX_IDENTIFIER_LENGTH,
)


def _pattern_accepts(value: str) -> bool:
    """As msgspec applies a pattern: ``re.search``, plus the length bounds next to it."""
    return (
        1 <= len(value) <= MAX_IDENTIFIER_LENGTH
        and re.search(IDENTIFIER_PATTERN, value) is not None
    )


@given(st.text(max_size=MAX_IDENTIFIER_LENGTH + 2))
def test_the_wire_pattern_and_the_function_agree_on_any_text(value: str) -> None:
    assert _pattern_accepts(value) == is_identifier(value)


@given(identifiers, st.sampled_from([*CONTROL, " ", "\u3000", "\xa0"]), st.booleans())
def test_the_wire_pattern_and_the_function_agree_at_the_edges(
    value: str, extra: str, at_end: bool
) -> None:
    edged = value + extra if at_end else extra + value
    assert _pattern_accepts(edged) == is_identifier(edged)
    assert not is_identifier(edged)


@given(identifiers, control_characters, st.integers(min_value=0))
def test_a_control_character_anywhere_makes_an_identifier_invalid(
    value: str, control: str, position: int
) -> None:
    at = position % (len(value) + 1)
    spoiled = value[:at] + control + value[at:]
    assert not is_identifier(spoiled)
    assert identifier_problem(spoiled) is not None


def test_a_bidirectional_override_cannot_make_one_id_print_as_another() -> None:
    assert not is_identifier("\u202eevil")  # shows as "live"
    assert not is_identifier("usr_\u2066admin\u2069")


@given(st.text(alphabet=" \t\n\r\xa0\u2000\u3000\ufeff", max_size=20))
def test_blank_text_is_never_an_identifier(value: str) -> None:
    assert not is_identifier(value)


@given(identifiers)
def test_printable_text_without_edge_whitespace_is_an_identifier(value: str) -> None:
    assert is_identifier(value)


@pytest.mark.parametrize(
    "value", ["usr_alice", "svc-sender.eu", "auth0|5f7c8ec7", "alice@example.com", "模板 7", "a b"]
)
def test_ordinary_ids_are_identifiers(value: str) -> None:
    assert is_identifier(value)


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        ("", "empty"),
        ("x" * (MAX_IDENTIFIER_LENGTH + 1), "at most"),
        ("usr\x00a", "control"),
        ("usr_a\n", "control"),
        ("usr\u2028a", "control"),
        (" usr_a", "whitespace"),
        ("usr_a\u3000", "whitespace"),
    ],
)
def test_the_reason_names_the_rule_not_the_value(value: str, reason: str) -> None:
    problem = identifier_problem(value)
    assert problem is not None
    assert reason in problem
    assert value.strip() not in problem or not value.strip()


@given(st.text())
def test_free_text_refuses_nul_and_nothing_else(value: str) -> None:
    assert (re.search(NO_NUL_PATTERN, value) is None) == has_nul(value)


# --- Template ids and provider names ---------------------------------------------------

id_characters = st.sampled_from(
    "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.:-|张 +\n/*@é"
)
template_like = st.one_of(
    st.text(max_size=MAX_TEMPLATE_ID_LENGTH + 2),
    st.lists(id_characters, max_size=MAX_TEMPLATE_ID_LENGTH + 2).map("".join),
    st.builds(
        lambda prefix, digits, suffix: prefix + digits + suffix,
        st.sampled_from(["SMS_", "tpl_", "otp-", "HX", "d-", "a"]),
        st.text(alphabet="0123456789abcdef", max_size=34),
        st.sampled_from(["", "-zhangwei", "\n", "x"]),
    ),
)
provider_like = st.one_of(
    st.text(max_size=MAX_PROVIDER_LENGTH + 2),
    st.lists(id_characters, max_size=MAX_PROVIDER_LENGTH + 2).map("".join),
)


def _accepts(pattern: str, max_length: int, value: str) -> bool:
    """As msgspec applies a pattern: ``re.search``, plus the length bounds next to it."""
    return 1 <= len(value) <= max_length and re.search(pattern, value) is not None


@settings(max_examples=500)
@given(template_like)
def test_the_template_id_pattern_and_function_agree_on_any_text(value: str) -> None:
    accepted = _accepts(TEMPLATE_ID_PATTERN, MAX_TEMPLATE_ID_LENGTH, value)
    assert accepted == (template_id_problem(value) is None)


@settings(max_examples=500)
@given(provider_like)
def test_the_provider_pattern_and_function_agree_on_any_text(value: str) -> None:
    accepted = _accepts(PROVIDER_PATTERN, MAX_PROVIDER_LENGTH, value)
    assert accepted == (provider_problem(value) is None)


@given(
    st.text(alphabet="abcdefghij_-.", min_size=0, max_size=20),
    st.text(alphabet="0123456789", min_size=7, max_size=18),
    st.text(alphabet="abcdefghij_-.", max_size=20),
)
def test_a_template_id_never_holds_a_phone_or_id_number(
    before: str, digits: str, after: str
) -> None:
    value = "t" + before + digits + after
    assert template_id_problem(value) is not None
    assert not _accepts(TEMPLATE_ID_PATTERN, MAX_TEMPLATE_ID_LENGTH, value)


@pytest.mark.parametrize(
    "value",
    [
        *("tpl_login_code", "tpl_abc123", "otp.v2", "bank:card-charge:zh-CN", "T"),
        *("SMS_164561229", "SMS_465896001", "HXb5b62575e6e4ff6129ad7c8efe1f983e"),
        "d-13b8f94fbcae4ec6b75270d6cb59f932",
        "a" * MAX_TEMPLATE_ID_LENGTH,
    ],
)
def test_ordinary_and_provider_issued_template_ids_are_accepted(value: str) -> None:
    assert template_id_problem(value) is None


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        ("otp-13812348000-zhangwei", "digits"),
        ("tpl_1234567", "digits"),
        ("SMS_13812348000", "digits"),  # longer than Aliyun's codes: a phone number
        ("模板 7|v2", "letter"),
        ("_tpl", "letter"),
        ("tpl login", "only"),
        ("tpl\n", "only"),
        ("tpl|v2", "only"),
        ("", "empty"),
        ("a" * (MAX_TEMPLATE_ID_LENGTH + 1), "at most"),
    ],
)
def test_template_ids_outside_the_syntax_are_refused_without_echoing_them(
    value: str, reason: str
) -> None:
    problem = template_id_problem(value)
    assert problem is not None
    assert reason in problem
    assert not value or value not in problem


@pytest.mark.parametrize("value", ["aliyun", "twilio", "sendgrid", "ses", "fcm", "apns", "a.b-c_2"])
def test_provider_names_are_accepted(value: str) -> None:
    assert provider_problem(value) is None


@pytest.mark.parametrize(
    "value", ["aliyun:张伟", "Aliyun", "Aliyun SMS", "1aliyun", "aliyun\n", "", "a" * 33]
)
def test_provider_names_outside_the_syntax_are_refused(value: str) -> None:
    assert provider_problem(value) is not None
    assert not _accepts(PROVIDER_PATTERN, MAX_PROVIDER_LENGTH, value)
