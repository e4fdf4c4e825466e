"""Which recipients may be recorded, the form they are stored in, and errors that never
repeat them."""

from __future__ import annotations

import phonenumbers
import pytest
from hypothesis import given
from hypothesis import strategies as st

from policies.channels import Channel
from policies.recipients import (
    InvalidRecipient,
    RecipientProblem,
    blind_index_input,
    international_phone,
    normalize_recipient,
    phone_forms,
)

EVERY_MESSAGE = {
    str(InvalidRecipient(channel, problem))
    for channel in [*Channel, None]
    for problem in RecipientProblem
}

country_codes = st.sampled_from(
    sorted(str(code) for code in phonenumbers.COUNTRY_CODE_TO_REGION_CODE)
)


def rejection(channel: Channel, value: str) -> InvalidRecipient:
    with pytest.raises(InvalidRecipient) as caught:
        normalize_recipient(channel, value)
    return caught.value


def rejection_if_any(channel: Channel, value: str) -> InvalidRecipient | None:
    try:
        normalize_recipient(channel, value)
    except InvalidRecipient as error:
        return error
    return None


# --- SMS ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "written",
    [
        "+8613812348000",
        "+86 138 1234 8000",
        "+86-138-1234-8000",
        "+86.138.1234.8000",
        "(+86) 138 1234 8000",
        "  +86 13812348000  ",
    ],
)
def test_international_sms_recipient_is_stored_in_e164(written: str) -> None:
    assert normalize_recipient(Channel.SMS, written) == "+8613812348000"


def test_international_sms_recipient_uses_the_e164_national_number() -> None:
    assert normalize_recipient(Channel.SMS, "+1 (415) 555-2671") == "+14155552671"
    assert normalize_recipient(Channel.SMS, "+39 06 1234 5678") == "+390612345678"
    assert normalize_recipient(Channel.SMS, "+44 (0)20 7946 0958") == "+442079460958"


@pytest.mark.parametrize(
    ("written", "stored"),
    [
        ("13812348000", "13812348000"),
        ("138-1234-8000", "13812348000"),
        ("(020) 7946 0958", "02079460958"),
        ("123456", "123456"),
        ("123456789012345", "123456789012345"),
    ],
)
def test_national_sms_recipient_is_stored_as_its_digits(written: str, stored: str) -> None:
    assert normalize_recipient(Channel.SMS, written) == stored


@pytest.mark.parametrize(
    ("value", "problem"),
    [
        ("", RecipientProblem.EMPTY),
        ("   ", RecipientProblem.EMPTY),
        ("()-", RecipientProblem.EMPTY),
        ("+", RecipientProblem.EMPTY),
        ("+1-800-FLOWERS", RecipientProblem.INVALID_CHARACTERS),
        ("138****8000", RecipientProblem.INVALID_CHARACTERS),
        ("+86138****8000", RecipientProblem.INVALID_CHARACTERS),
        ("+86 138 1234 8000 ext. 12", RecipientProblem.INVALID_CHARACTERS),
        ("１３８１２３４８０００", RecipientProblem.INVALID_CHARACTERS),
        ("138\t1234\t8000", RecipientProblem.INVALID_CHARACTERS),
        ("+86 138 1234 8000" + " " * 16, RecipientProblem.TOO_LONG),
        ("1" * 33, RecipientProblem.TOO_LONG),
        ("1234567890123456", RecipientProblem.TOO_LONG),
        ("12345", RecipientProblem.TOO_SHORT),
        ("86+13812348000", RecipientProblem.MALFORMED),
        ("+86+13812348000", RecipientProblem.MALFORMED),
        ("+999 1234 5678", RecipientProblem.NOT_A_POSSIBLE_NUMBER),
        ("+86 1", RecipientProblem.NOT_A_POSSIBLE_NUMBER),
        ("+1 2345678901234", RecipientProblem.NOT_A_POSSIBLE_NUMBER),
        ("+355 00000000", RecipientProblem.NOT_A_POSSIBLE_NUMBER),
    ],
)
def test_invalid_sms_recipients_are_rejected_with_the_reason(
    value: str, problem: RecipientProblem
) -> None:
    error = rejection(Channel.SMS, value)
    assert error.problem is problem
    assert error.channel is Channel.SMS


@given(
    code=country_codes,
    national=st.text(alphabet="0123456789", min_size=4, max_size=12),
    separator=st.sampled_from(["", " ", "-", "."]),
)
def test_normalising_a_stored_phone_number_returns_it_unchanged(
    code: str, national: str, separator: str
) -> None:
    try:
        stored = normalize_recipient(Channel.SMS, f"+{code}{separator}{national}")
    except InvalidRecipient:
        return
    assert stored.startswith("+")
    assert stored[1:].isdigit()
    assert normalize_recipient(Channel.SMS, stored) == stored


# --- Email --------------------------------------------------------------------------


def test_email_recipient_is_trimmed_and_its_domain_lower_cased() -> None:
    assert normalize_recipient(Channel.EMAIL, "  Alice.Smith@Example.COM \n") == (
        "Alice.Smith@example.com"
    )


def test_email_recipient_with_an_internationalised_domain_is_accepted() -> None:
    assert normalize_recipient(Channel.EMAIL, "kunde@Bücher.Example") == "kunde@bücher.example"
    assert normalize_recipient(Channel.EMAIL, "用户@例子.中国") == "用户@例子.中国"


def test_email_local_part_of_64_characters_is_accepted() -> None:
    address = "a" * 64 + "@example.com"
    assert normalize_recipient(Channel.EMAIL, address) == address


@pytest.mark.parametrize(
    ("value", "problem"),
    [
        ("", RecipientProblem.EMPTY),
        ("  ", RecipientProblem.EMPTY),
        ("alice.example.com", RecipientProblem.MALFORMED),
        ("alice@bob@example.com", RecipientProblem.MALFORMED),
        ("@example.com", RecipientProblem.MALFORMED),
        ("alice@", RecipientProblem.MALFORMED),
        ("alice@localhost", RecipientProblem.MALFORMED),
        ("alice@example..com", RecipientProblem.MALFORMED),
        ("alice@.example.com", RecipientProblem.MALFORMED),
        ("alice@example.com.", RecipientProblem.MALFORMED),
        ("alice@exa_mple.com", RecipientProblem.MALFORMED),
        ("alice@-example.com", RecipientProblem.MALFORMED),
        ("alice@" + "a" * 64 + ".com", RecipientProblem.MALFORMED),
        ("alice@exam\u00adple.com", RecipientProblem.INVALID_CHARACTERS),
        ("al ice@example.com", RecipientProblem.INVALID_CHARACTERS),
        ("alice@example.com\x00", RecipientProblem.INVALID_CHARACTERS),
        ("alice\u200b@example.com", RecipientProblem.INVALID_CHARACTERS),
        ("a" * 65 + "@example.com", RecipientProblem.TOO_LONG),
        # 226 characters as written, 275 once the domain is IDNA-encoded.
        ("alice@" + ".".join(["bücher" * 5] * 7) + ".com", RecipientProblem.TOO_LONG),
        ("alice@" + "b" * 250 + ".com", RecipientProblem.TOO_LONG),
    ],
)
def test_invalid_email_recipients_are_rejected_with_the_reason(
    value: str, problem: RecipientProblem
) -> None:
    error = rejection(Channel.EMAIL, value)
    assert error.problem is problem
    assert error.channel is Channel.EMAIL


@given(st.emails())
def test_email_recipient_keeps_its_local_part_as_given(address: str) -> None:
    stored = normalize_recipient(Channel.EMAIL, address)
    local, _, domain = address.rpartition("@")
    assert stored == f"{local}@{domain.lower()}"
    assert normalize_recipient(Channel.EMAIL, stored) == stored


# --- Push ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "token",
    [
        "740f4707bebcf74f9b7c25d48e3358945f6aa01da5ddb387462c7eaf61bb78ad",
        "fcm:APA91bH_x-Qz9Jm1k2L3m4N5o6P7q8R9s0T",
        "abcdefgh",
        "t" * 4096,
    ],
)
def test_push_recipient_is_stored_as_given(token: str) -> None:
    assert normalize_recipient(Channel.PUSH, token) == token


@pytest.mark.parametrize(
    ("value", "problem"),
    [
        ("", RecipientProblem.EMPTY),
        ("abcdefg", RecipientProblem.TOO_SHORT),
        ("t" * 4097, RecipientProblem.TOO_LONG),
        ("abcd efgh", RecipientProblem.INVALID_CHARACTERS),
        (" abcdefgh", RecipientProblem.INVALID_CHARACTERS),
        ("abcd…wxyz", RecipientProblem.INVALID_CHARACTERS),
        ("令牌令牌令牌令牌令牌", RecipientProblem.INVALID_CHARACTERS),
        ("abcdefgh\n", RecipientProblem.INVALID_CHARACTERS),
    ],
)
def test_invalid_push_recipients_are_rejected_with_the_reason(
    value: str, problem: RecipientProblem
) -> None:
    error = rejection(Channel.PUSH, value)
    assert error.problem is problem
    assert error.channel is Channel.PUSH


# --- Errors never repeat the recipient -----------------------------------------------


def test_invalid_recipient_message_names_the_channel_and_what_was_expected() -> None:
    error = rejection(Channel.SMS, "+1-800-FLOWERS")
    assert str(error).startswith("recipient is not a valid phone number for channel sms")
    assert isinstance(error, ValueError)


@pytest.mark.parametrize(
    ("channel", "value"),
    [
        (Channel.SMS, "+86 138 1234 800X"),
        (Channel.SMS, "+999 4711 0815"),
        (Channel.EMAIL, "alice.secret@@example.com"),
        (Channel.EMAIL, "alice.secret@exa_mple.com"),
        (Channel.EMAIL, "alice@" + "\u2603" * 70 + ".com"),
        (Channel.PUSH, "secret token with spaces"),
    ],
)
def test_invalid_recipient_error_does_not_contain_the_recipient(
    channel: Channel, value: str
) -> None:
    error = rejection(channel, value)
    for shown in (str(error), repr(error), *map(str, error.args)):
        assert value not in shown
        assert "secret" not in shown
        assert "4711" not in shown
        assert "800X" not in shown
    # Nothing chained either: a library's exception text may quote the value.
    assert error.__cause__ is None
    assert error.__context__ is None


@pytest.mark.parametrize("channel", list(Channel))
@given(value=st.text())
def test_invalid_recipient_message_is_one_of_a_fixed_set_that_never_depends_on_the_value(
    channel: Channel, value: str
) -> None:
    error = rejection_if_any(channel, value)
    if error is not None:
        assert str(error) in EVERY_MESSAGE
        assert error.args == (str(error),)
        assert error.__context__ is None


def test_unknown_channel_is_rejected_without_repeating_the_channel_or_value() -> None:
    error = rejection("fax+8613812348000", "+8613812348000")  # type: ignore[arg-type]
    assert error.problem is RecipientProblem.UNKNOWN_CHANNEL
    assert error.channel is None
    assert "8613812348000" not in str(error)


# --- Blind index input ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("channel", "canonical", "index_input"),
    [
        (Channel.SMS, "+8613812348000", "8613812348000"),
        (Channel.SMS, "13812348000", "13812348000"),
        (Channel.EMAIL, "Alice.Smith@example.com", "alice.smith@example.com"),
        (Channel.EMAIL, " Alice@Example.com ", "alice@example.com"),
        (Channel.PUSH, "AbCd:efGH-1234_xyz", "AbCd:efGH-1234_xyz"),
    ],
)
def test_blind_index_input_is_the_normalised_recipient(
    channel: Channel, canonical: str, index_input: str
) -> None:
    assert blind_index_input(channel, canonical) == index_input


@pytest.mark.parametrize(
    ("channel", "spellings"),
    [
        (Channel.SMS, ["+86 138 1234 8000", "+86-138-1234-8000", "+8613812348000"]),
        (Channel.EMAIL, ["Alice@example.com", "alice@EXAMPLE.com", " ALICE@Example.Com"]),
    ],
)
def test_one_recipient_written_differently_gives_one_blind_index_input(
    channel: Channel, spellings: list[str]
) -> None:
    inputs = {blind_index_input(channel, normalize_recipient(channel, s)) for s in spellings}
    assert len(inputs) == 1


def test_blind_index_input_of_an_unknown_channel_is_refused() -> None:
    with pytest.raises(InvalidRecipient):
        blind_index_input("fax", "+8613812348000")  # type: ignore[arg-type]


_FORM_REGIONS = ["CN", "GB", "DE", "US", "IT", "FR", "IN", "BR", "JP", "AU"]


def _example_e164(region: str) -> str:
    number = phonenumbers.example_number_for_type(region, phonenumbers.PhoneNumberType.MOBILE)
    assert number is not None
    e164: str = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
    return e164


@given(region=st.sampled_from(_FORM_REGIONS))
def test_every_form_of_a_number_is_a_form_ingest_stores_as_itself_with_its_own_index(
    region: str,
) -> None:
    e164 = _example_e164(region)
    forms = phone_forms(e164)
    assert forms["e164"] == e164
    assert forms["international_00"] == "00" + e164[1:]
    for form in forms.values():
        assert normalize_recipient(Channel.SMS, form) == form
    inputs = [blind_index_input(Channel.SMS, form) for form in forms.values()]
    assert len(set(inputs)) == len(inputs)


@given(region=st.sampled_from(_FORM_REGIONS))
def test_holds_and_requests_take_a_number_only_with_its_country_code(region: str) -> None:
    e164 = _example_e164(region)
    assert international_phone(e164) == e164
    assert international_phone("00" + e164[1:]) == e164
    for name, form in phone_forms(e164).items():
        if name.startswith("national"):
            with pytest.raises(InvalidRecipient) as refused:
                international_phone(form)
            assert refused.value.problem is RecipientProblem.NO_COUNTRY_CODE
            assert form not in str(refused.value)
