"""The masking rules: what of a recipient or a message text may be shown."""

from __future__ import annotations

import math
import re
import string
import time

import phonenumbers
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from policies.channels import Channel
from policies.mailboxes import is_public_mailbox
from policies.masking import (
    FULLY_MASKED,
    mask_content,
    mask_email,
    mask_phone,
    mask_push_token,
    mask_recipient,
)
from policies.masking_vocabulary import (
    AMOUNT,
    CURRENCY_WORDS,
    ERROR,
    HOTLINE,
    HOTLINES,
    KEYWORDS,
    LAST_FOUR,
    ORDER,
    TRAVEL,
)
from policies.recipients import InvalidRecipient, normalize_recipient

COUNTRY_CODES = sorted(str(code) for code in phonenumbers.COUNTRY_CODE_TO_REGION_CODE)
FULL_WIDTH_DIGITS = "０１２３４５６７８９"

country_codes = st.sampled_from(COUNTRY_CODES)
CHINESE_MOBILE = re.compile(r"1[3-9][0-9]{9}")


def digit_strings(alphabet: str, min_size: int, max_size: int) -> st.SearchStrategy[str]:
    return st.text(alphabet=alphabet, min_size=min_size, max_size=max_size)


# Text assembled from the pieces the content rules look for, so that generated inputs
# actually contain phone numbers, addresses, URLs, codes, stars and their near misses.
CONTENT_PIECES = [
    *("+", "+86", "+1", "+44 ", "86", "1", "13", "138", "1234", "8000", "12345678"),
    *("2079460958", "13812348000", "6222021234567890123", "0", "9", "-1", "１２３", "４"),
    *(" ", "-", ".", "..", ",", ")", "'", '"', "。", "，", "\n", "<", ">", "*", "**", "…"),
    *("@", "a", "x", "_", "%", "é", "中", "b.com", "h.com", "u:p@", "alice@example.com"),
    *("https", "://", "www.", "www", "W", "?", "#", "/", ":", "=", "&", "mailto:"),
]
content_soup = st.lists(st.sampled_from(CONTENT_PIECES), max_size=30).map("".join)
any_content = st.one_of(st.text(), content_soup)

# Characters that cannot form a phone number, an address, a URL or a shape the rules keep
# readable (an amount, a date, a flight or train number): no digits, no ASCII letters, no
# '*', '+', '@', ':', '.', ',', '/', no currency sign, no '©' and no CJK date or currency unit; and
# no lone spaces, which join digit groups into one number (a card: last four kept).
KEPT_SHAPE_CHARACTERS = (
    "元圆块円원엔年년月월日일次万"
    + "©"  # a year next to it is a copyright year (© 2019): kept
    + "$¥￥€£₩₹₽฿₫₱₪₺₴"
    + "".join({char for word in CURRENCY_WORDS for char in word if not char.isascii()})
    + "".join(
        {
            char
            for category in (LAST_FOUR, AMOUNT, ERROR, ORDER, TRAVEL, HOTLINE)
            for word in KEYWORDS[category]
            for char in word
            if not char.isascii()
        }
    )
)
"""Characters of the words after which a number stays readable (尾号, 余额, 错误码, 客服…)."""
code_free_text = st.text(
    alphabet=st.characters(
        exclude_categories=("Nd", "Cs", "Sc"),
        exclude_characters="*+@:./,'-_wW \u00a0\u202f"
        + string.ascii_letters
        + KEPT_SHAPE_CHARACTERS,
    ),
    min_size=1,
    max_size=12,
)
# Codes that are not the number of a well-known service (those are kept: 95588, 12306).
plain_codes = st.one_of(
    digit_strings("0123456789", 4, 8), digit_strings(FULL_WIDTH_DIGITS, 4, 8)
).filter(lambda code: code not in HOTLINES)


# --- Phone numbers -------------------------------------------------------------------

PHONE_TYPES = [
    phonenumbers.PhoneNumberType.FIXED_LINE,
    phonenumbers.PhoneNumberType.MOBILE,
    phonenumbers.PhoneNumberType.FIXED_LINE_OR_MOBILE,
    phonenumbers.PhoneNumberType.TOLL_FREE,
    phonenumbers.PhoneNumberType.PREMIUM_RATE,
    phonenumbers.PhoneNumberType.SHARED_COST,
    phonenumbers.PhoneNumberType.VOIP,
    phonenumbers.PhoneNumberType.PERSONAL_NUMBER,
    phonenumbers.PhoneNumberType.PAGER,
    phonenumbers.PhoneNumberType.UAN,
    phonenumbers.PhoneNumberType.VOICEMAIL,
]
EXAMPLES_BY_REGION = {
    region: [
        number
        for kind in PHONE_TYPES
        if (number := phonenumbers.example_number_for_type(region, kind)) is not None
    ]
    for region in sorted(phonenumbers.SUPPORTED_REGIONS)
}


def _random_possible_number(
    region: str, example: phonenumbers.PhoneNumber, digits: str
) -> phonenumbers.PhoneNumber | None:
    """A number of ``region`` with the example's length and random digits, if possible."""
    nsn = phonenumbers.national_significant_number(example)
    candidate = phonenumbers.PhoneNumber(
        country_code=example.country_code,
        national_number=int(nsn[0] + digits[: len(nsn) - 1]),
        italian_leading_zero=example.italian_leading_zero,
        number_of_leading_zeros=example.number_of_leading_zeros,
    )
    if len(phonenumbers.national_significant_number(candidate)) != len(nsn):
        return None
    return candidate if phonenumbers.is_possible_number(candidate) else None


@st.composite
def international_numbers(draw: st.DrawFn) -> phonenumbers.PhoneNumber:
    """An example number of any type of any region, or a random possible number of the
    same region and length."""
    region = draw(st.sampled_from(sorted(EXAMPLES_BY_REGION)))
    example = draw(st.sampled_from(EXAMPLES_BY_REGION[region]))
    if draw(st.booleans()):
        return example
    digits = draw(digit_strings("0123456789", 15, 15))
    random = _random_possible_number(region, example, digits)
    return example if random is None else random


def test_every_region_phonenumbers_knows_has_example_numbers() -> None:
    assert all(EXAMPLES_BY_REGION.values())
    assert set(EXAMPLES_BY_REGION) == phonenumbers.SUPPORTED_REGIONS


@pytest.mark.parametrize("region", sorted(phonenumbers.SUPPORTED_REGIONS))
def test_every_example_number_of_a_region_hides_half_its_nsn(region: str) -> None:
    for number in EXAMPLES_BY_REGION[region]:
        nsn = phonenumbers.national_significant_number(number)
        e164 = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
        masked = mask_phone(e164)
        assert masked.startswith(f"+{number.country_code}")
        assert masked.count("*") >= min(len(nsn), max(4, math.ceil(len(nsn) / 2)))


@settings(max_examples=1500)
@given(international_numbers())
def test_a_masked_number_hides_at_least_half_of_its_nsn_and_at_least_four_digits(
    number: phonenumbers.PhoneNumber,
) -> None:
    e164 = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
    nsn = phonenumbers.national_significant_number(number)
    prefix = f"+{number.country_code}"
    masked = mask_phone(e164)
    assert masked.startswith(prefix)
    shown = masked.removeprefix(prefix)
    assert len(shown) == len(nsn)
    hidden = shown.count("*")
    assert hidden >= min(len(nsn), max(4, math.ceil(len(nsn) / 2)))
    assert nsn not in masked
    # What is shown is the number's own digits in their places.
    assert all(s in ("*", d) for s, d in zip(shown, nsn, strict=True))
    assert mask_phone(masked) == masked


@given(international_numbers(), st.sampled_from([" ", "-", ".", "()"]))
def test_a_number_written_with_separators_masks_as_its_e164_form(
    number: phonenumbers.PhoneNumber, separator: str
) -> None:
    e164 = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
    nsn = phonenumbers.national_significant_number(number)
    written = f"+{number.country_code}{separator}{nsn[:2]}{separator}{nsn[2:]}"
    assert mask_phone(written) == mask_phone(e164)


def test_a_bare_chinese_mobile_number_keeps_the_seed_display() -> None:
    # The seed's contract: stored 13812348000, shown 138****8000 (4 hidden of 11).
    assert mask_phone("13812348000") == "138****8000"
    assert mask_phone("19912345678") == "199****5678"


def test_a_chinese_mobile_number_with_country_code_follows_the_half_rule() -> None:
    # NSN 11 digits: 6 hidden, the 5 shown split 2 in front, 3 at the end.
    assert mask_phone("+8613812348000") == "+8613******000"


@pytest.mark.parametrize(
    ("number", "masked"),
    [
        ("+85291234567", "+85291****67"),  # Hong Kong, NSN 8: 4 hidden (was 1)
        ("+6581234567", "+6581****67"),  # Singapore, NSN 8
        ("+14155552671", "+141*****671"),  # NSN 10: 5 hidden
        ("+442079460958", "+4420*****958"),
        ("+8801712345678", "+88017*****678"),
        ("+79161234567", "+791*****567"),
        ("+4915123456789", "+4915******789"),  # NSN 11: 6 hidden
        ("+2906666", "+290****"),  # Tristan da Cunha, NSN 4: all hidden
        ("+68312345", "+683****5"),  # Niue, NSN 5: 4 hidden
    ],
)
def test_country_calling_code_is_kept_and_the_nsn_half_hidden(number: str, masked: str) -> None:
    assert mask_phone(number) == masked


@pytest.mark.parametrize(
    "written", ["+86 138-1234-8000", "+86 138 1234 8000", "+86.138.1234.8000", "(+86) 13812348000"]
)
def test_phone_separators_are_dropped_from_the_masked_number(written: str) -> None:
    assert mask_phone(written) == "+8613******000"


@pytest.mark.parametrize(
    ("number", "masked"),
    [
        ("1234567", "1****67"),
        ("123456", "1****6"),
        ("12345", "****5"),
        ("1234", "****"),
        ("02079460958", "02******958"),
        ("12812348000", "12******000"),  # 11 digits but not a Chinese mobile (12…)
        ("4155552671", "41*****671"),
    ],
)
def test_other_bare_national_numbers_follow_the_half_rule(number: str, masked: str) -> None:
    assert mask_phone(number) == masked


@pytest.mark.parametrize(
    "masked",
    [
        *("138****8000", "+8613******000", "1****67", "****", "+290****"),
        *("+85291****67", "12******000", FULLY_MASKED),
    ],
)
def test_masking_a_masked_phone_number_returns_it_unchanged(masked: str) -> None:
    assert mask_phone(masked) == masked


@pytest.mark.parametrize(
    "value",
    [
        "",
        "   ",
        "abc",
        "138-abc-8000",
        "+",
        "+999 1234 5678",
        "+0 1234 5678",
        "123",
        "1234567890123456",
        "+86 1",
        "１３８１２３４８０００",
        "alice@example.com",
    ],
)
def test_values_not_shaped_like_a_phone_number_are_fully_masked(value: str) -> None:
    assert mask_phone(value) == FULLY_MASKED


@given(national=digit_strings("0123456789", 4, 15))
def test_a_bare_number_hides_at_least_half_of_its_digits(national: str) -> None:
    masked = mask_phone(national)
    assert len(masked) == len(national)
    hidden = masked.count("*")
    if CHINESE_MOBILE.fullmatch(national):
        assert masked == national[:3] + "****" + national[-4:]
    else:
        assert hidden >= max(4, math.ceil(len(national) / 2))
    assert all(s in ("*", d) for s, d in zip(masked, national, strict=True))
    assert mask_phone(masked) == masked


@given(country_code=country_codes, national=digit_strings("0123456789", 4, 12))
def test_the_hidden_digits_are_the_middle_ones(country_code: str, national: str) -> None:
    masked = mask_phone(f"+{country_code} {national}")
    if masked == FULLY_MASKED:  # longer than E.164 allows with this calling code
        assert len(country_code) + len(national) > 15
        return
    shown = masked.removeprefix(f"+{country_code}")
    stars = shown.count("*")
    head = (len(national) - stars) // 2
    assert shown == national[:head] + "*" * stars + national[head + stars :]


# --- Email addresses -------------------------------------------------------------------


@pytest.mark.parametrize(
    "address",
    [
        *("alice@gmail.com", "wei@qq.com", "li@163.com", "kim@naver.com", "ana@yahoo.com.br"),
        *("taro@docomo.ne.jp", "hans@gmx.de", "r@t-online.de", "m@orange.fr", "p@proton.me"),
    ],
)
def test_email_at_a_public_mailbox_provider_keeps_its_domain(address: str) -> None:
    local, domain = address.split("@")
    assert mask_email(address) == f"{local[0]}***@{domain}"


@pytest.mark.parametrize(
    ("address", "masked"),
    [
        ("wei@zhangwei-family.cn", "w***@z***.cn"),
        ("wei@mail.zhangwei-family.cn", "w***@z***.cn"),
        ("li@xiehe-clinic.com.cn", "l***@x***.com.cn"),
        ("j.smith@smith-solicitors.co.uk", "j***@s***.co.uk"),
        ("taro@yamada-shoten.co.jp", "t***@y***.co.jp"),
        ("ops@acme.com.au", "o***@a***.com.au"),
        ("alice@example.com", "a***@e***.com"),
        ("hans@praxis-mueller.de", "h***@p***.de"),
        ("wei@mail.qq.com", "w***@q***.com"),  # a subdomain is not the provider
        ("x@co.uk", "x***@c***.uk"),  # nothing in front of the two-level suffix
    ],
)
def test_email_at_any_other_domain_keeps_only_an_initial_and_the_public_suffix(
    address: str, masked: str
) -> None:
    assert mask_email(address) == masked


def test_public_mailbox_domains_are_matched_whatever_their_case() -> None:
    assert mask_email("Alice@GMail.com") == "A***@GMail.com"


def test_email_mask_is_always_three_stars_whatever_the_local_part_length() -> None:
    assert mask_email("a@gmail.com") == "a***@gmail.com"
    assert mask_email("averyveryverylongname@gmail.com") == "a***@gmail.com"


@pytest.mark.parametrize("masked", ["a***@gmail.com", "w***@z***.cn", "l***@x***.com.cn"])
def test_masking_a_masked_email_returns_it_unchanged(masked: str) -> None:
    assert mask_email(masked) == masked


@pytest.mark.parametrize(
    "value",
    [
        *("", "alice", "alice@", "@example.com", "a@@example.com", "a@b@example.com"),
        *("a@localhost", "a b@example.com", "a@exa mple.com", "a@.example.com"),
        *("a@example..com", "+8613812348000"),
    ],
)
def test_values_not_shaped_like_an_email_address_are_fully_masked(value: str) -> None:
    assert mask_email(value) == FULLY_MASKED


@given(st.emails())
def test_masked_email_shows_an_initial_and_at_most_a_suffix_of_a_private_domain(
    address: str,
) -> None:
    local, _, domain = address.rpartition("@")
    masked = mask_email(address)
    masked_local, _, masked_domain = masked.rpartition("@")
    assert masked_local == f"{local[0]}***"
    if is_public_mailbox(domain):
        assert masked_domain == domain
    else:
        initial, stars, suffix = masked_domain.partition("***.")
        assert stars
        assert len(initial) == 1
        assert domain.endswith("." + suffix)
        assert suffix.count(".") <= 1
        assert len(suffix) < len(domain) - 1
    assert mask_email(masked) == masked


# --- Push tokens ---------------------------------------------------------------------


def test_push_token_keeps_first_four_and_last_four_characters() -> None:
    assert mask_push_token("abcdefghijklmnopqrstuvwxyz") == "abcd…wxyz"


def test_push_token_of_nine_characters_is_still_shortened() -> None:
    assert mask_push_token("abcdefghi") == "abcd…fghi"


@pytest.mark.parametrize("token", ["", "a", "abcdefgh", "12345678"])
def test_push_tokens_of_eight_characters_or_fewer_are_fully_masked(token: str) -> None:
    assert mask_push_token(token) == FULLY_MASKED


@pytest.mark.parametrize("value", ["token with spaces inside", "令牌令牌令牌令牌令牌令牌"])
def test_values_not_shaped_like_a_push_token_are_fully_masked(value: str) -> None:
    assert mask_push_token(value) == FULLY_MASKED


def test_masking_a_masked_push_token_returns_it_unchanged() -> None:
    assert mask_push_token("abcd…wxyz") == "abcd…wxyz"


# --- Recipients by channel ----------------------------------------------------------


@pytest.mark.parametrize(
    ("channel", "value", "masked"),
    [
        (Channel.SMS, "+8613812348000", "+8613******000"),
        ("sms", "13812348000", "138****8000"),
        (Channel.EMAIL, "alice@example.com", "a***@e***.com"),
        ("email", "alice@example.com", "a***@e***.com"),
        (Channel.PUSH, "abcdefghijklmnopqrstuvwxyz", "abcd…wxyz"),
        ("push", "abcdefghijklmnopqrstuvwxyz", "abcd…wxyz"),
    ],
)
def test_recipient_is_masked_by_the_rule_of_its_channel(
    channel: Channel | str, value: str, masked: str
) -> None:
    assert mask_recipient(channel, value) == masked


def test_recipient_of_an_unknown_channel_is_fully_masked() -> None:
    assert mask_recipient("fax", "+8613812348000") == FULLY_MASKED
    assert mask_recipient("SMS", "+8613812348000") == FULLY_MASKED


@pytest.mark.parametrize("channel", [*Channel, "fax"])
def test_missing_recipient_stays_missing(channel: Channel | str) -> None:
    assert mask_recipient(channel, None) is None


def test_a_recipient_of_one_channel_masked_as_another_reveals_nothing() -> None:
    assert mask_recipient(Channel.SMS, "alice@example.com") == FULLY_MASKED
    assert mask_recipient(Channel.EMAIL, "+8613812348000") == FULLY_MASKED


phone_numbers = st.builds(
    lambda code, national, separator: f"+{code}{separator}{national}",
    country_codes,
    digit_strings("0123456789", 4, 12),
    st.sampled_from(["", " ", "-"]),
)
push_tokens = st.text(
    alphabet=st.characters(min_codepoint=0x21, max_codepoint=0x7E), min_size=0, max_size=80
)


@pytest.mark.parametrize("channel", list(Channel))
@given(value=st.one_of(st.text(), phone_numbers, st.emails(), push_tokens))
def test_masking_a_recipient_twice_equals_masking_it_once(channel: Channel, value: str) -> None:
    once = mask_recipient(channel, value)
    assert mask_recipient(channel, once) == once


@given(code=country_codes, national=digit_strings("0123456789", 4, 12))
def test_every_accepted_sms_recipient_is_masked_as_a_phone_number(code: str, national: str) -> None:
    try:
        stored = normalize_recipient(Channel.SMS, f"+{code} {national}")
    except InvalidRecipient:
        return
    masked = mask_recipient(Channel.SMS, stored)
    assert masked is not None
    assert masked.startswith(f"+{code}")
    assert len(masked) == len(stored)


@given(st.emails())
def test_every_accepted_email_recipient_is_masked_as_an_address(address: str) -> None:
    stored = normalize_recipient(Channel.EMAIL, address)
    assert mask_recipient(Channel.EMAIL, stored) != FULLY_MASKED


# --- Message content ----------------------------------------------------------------


def test_verification_code_in_content_is_hidden_digit_by_digit() -> None:
    assert mask_content("您的验证码是123456") == "您的验证码是******"


@pytest.mark.parametrize(
    ("text", "masked"),
    [
        ("code 1234", "code ****"),
        ("code 12345678", "code ********"),
        ("PIN:0000.", "PIN:****."),
        ("１２３４５６", "******"),
        ("验证码１２３４５６，5分钟内有效", "验证码******，5分钟内有效"),
    ],
)
def test_runs_of_four_to_eight_digits_become_one_star_per_digit(text: str, masked: str) -> None:
    assert mask_content(text) == masked


@pytest.mark.parametrize("text", ["Room 101, floor 7", "5分钟内有效", "a 12 b 345", "H264"])
def test_runs_of_one_to_three_digits_are_kept(text: str) -> None:
    assert mask_content(text) == text


@pytest.mark.parametrize(
    ("text", "masked"),
    [
        ("6222021234567890123", "***************0123"),
        ("card 6222021234567890123.", "card ***************0123."),
        ("ID 110101199003074518", "ID **************4518"),
        ("123456789", "*****6789"),
    ],
)
def test_runs_of_nine_or_more_digits_keep_only_their_last_four(text: str, masked: str) -> None:
    assert mask_content(text) == masked


@pytest.mark.parametrize(
    ("text", "masked"),
    [
        ("请拨打13812348000联系", "请拨打138****8000联系"),
        ("Call +86 138-1234-8000 now", "Call +8613******000 now"),
        ("Tel: +1 415-555-2671.", "Tel: +141*****671."),
        ("+44 20 7946 0958", "+4420*****958"),
        ("+12345678", "+12****78"),
    ],
)
def test_phone_numbers_in_content_are_masked_as_recipients(text: str, masked: str) -> None:
    assert mask_content(text) == masked


def test_plus_number_without_a_known_calling_code_is_masked_as_plain_digits() -> None:
    assert mask_content("+999 1234 5678") == "+999 **** ****"


@pytest.mark.parametrize(
    ("text", "masked"),
    [
        ("mail alice@example.com.", "mail a***@e***.com."),
        ("联系alice.smith+news@mail.example.co.uk谢谢", "联系a***@e***.co.uk谢谢"),
        ("13812348000@qq.com", "1***@qq.com"),
    ],
)
def test_email_addresses_in_content_are_masked_as_recipients(text: str, masked: str) -> None:
    assert mask_content(text) == masked


@pytest.mark.parametrize(
    ("text", "masked"),
    [
        ("https://x.com/reset?token=abc#f", "https://x.com/reset"),
        ("Reset: https://x.com/reset?token=abc.", "Reset: https://x.com/reset."),
        ("(see https://x.com/a?b=c)", "(see https://x.com/a)"),
        ("点击https://x.com/r?t=abc，完成重置", "点击https://x.com/r，完成重置"),
        ("www.x.com/reset?token=abc", "www.x.com/reset"),
        ("go to WWW.X.COM/a#top!", "go to WWW.X.COM/a!"),
        ("https://user:secret@x.com/a", "https://x.com/a"),
        ("ftp://x.com/files/", "ftp://x.com/files/"),
    ],
)
def test_urls_keep_scheme_host_and_path_and_lose_query_and_fragment(text: str, masked: str) -> None:
    assert mask_content(text) == masked


def test_digit_runs_in_the_kept_part_of_a_url_are_still_masked() -> None:
    assert mask_content("https://x.com/u/12345678901/r?t=1") == "https://x.com/u/*******8901/r"
    assert mask_content("https://x.com/c/123456") == "https://x.com/c/******"


def test_user_info_is_dropped_from_a_link_nested_in_the_path() -> None:
    masked = mask_content("https://x.com/go/https://u:pw@y.com/a?t=1")
    assert masked == "https://x.com/go/https://y.com/a"


@pytest.mark.parametrize(
    ("text", "masked"),
    [
        ("reset at alice@example.com/reset?token=abc", "reset at a***@e***.com/reset"),
        ("Did you email alice@example.com?", "Did you email a***@e***.com?"),
    ],
)
def test_an_address_followed_by_a_path_is_the_host_of_a_url(text: str, masked: str) -> None:
    assert mask_content(text) == masked


def test_query_of_a_url_whose_scheme_is_glued_to_an_address_is_still_dropped() -> None:
    masked = mask_content("a@b.com.https://x.com/r?token=abc")
    assert masked is not None
    assert "token" not in masked


@pytest.mark.parametrize(
    "masked",
    [
        "*****6789",
        "***************0123",
        "138****8000",
        "+8613******000",
        "+12****78",
        "a***@e***.com",
        "https://x.com/reset",
        "您的验证码是******",
    ],
)
def test_masked_content_masks_to_itself(masked: str) -> None:
    assert mask_content(masked) == masked


def test_missing_content_stays_missing_and_empty_stays_empty() -> None:
    assert mask_content(None) is None
    assert mask_content("") == ""


@given(
    fillers=st.lists(code_free_text, min_size=1, max_size=6),
    codes=st.lists(plain_codes, min_size=1, max_size=6),
    leading=st.text(
        alphabet=st.characters(
            exclude_categories=("Nd", "Cs", "Sc"),
            exclude_characters="*+@:./,'-_wW \u00a0\u202f"
            + string.ascii_letters
            + KEPT_SHAPE_CHARACTERS,
        ),
        max_size=5,
    ),
)
def test_masked_content_never_contains_four_digits_of_a_code(
    fillers: list[str], codes: list[str], leading: str
) -> None:
    text = leading + "".join(
        code + filler for code, filler in zip(codes, fillers * len(codes), strict=False)
    )
    masked = mask_content(text)
    assert masked is not None
    assert len(masked) == len(text)
    for code in codes:
        for start in range(len(code) - 3):
            assert code[start : start + 4] not in masked
    assert not re.search(r"\d{4}", masked)


@given(
    before=content_soup,
    link=st.sampled_from(
        [
            "https://h.com/p?SECRET",
            "http://u@h.com/?SECRET",
            "www.h.com/p?SECRET",
            "HTTPS://H.COM#SECRET",
            "https://SECRET:pw@h.com/",
            "alice@h.com/reset?SECRET",
        ]
    ),
    after=content_soup,
)
def test_query_fragment_and_user_info_of_a_link_never_survive_whatever_surrounds_it(
    before: str, link: str, after: str
) -> None:
    masked = mask_content(before + link + after)
    assert masked is not None
    assert "SECRET" not in masked


@given(any_content)
def test_masking_content_twice_equals_masking_it_once(text: str) -> None:
    once = mask_content(text)
    assert mask_content(once) == once


@settings(max_examples=50)
@given(st.text(min_size=1000, max_size=5000))
def test_masking_never_raises_on_long_unicode_text(text: str) -> None:
    mask_content(text)
    for channel in [*Channel, "fax"]:
        mask_recipient(channel, text)


@given(st.text())
def test_masking_never_raises_on_any_text(text: str) -> None:
    mask_content(text)
    mask_phone(text)
    mask_email(text)
    mask_push_token(text)


@pytest.mark.parametrize("text", ["\ud800", "a\udfff@example.com", "+86\ud800138", "\x00" * 9])
def test_masking_never_raises_on_lone_surrogates_and_control_characters(text: str) -> None:
    mask_content(text)
    for channel in Channel:
        mask_recipient(channel, text)


@pytest.mark.parametrize(
    "text",
    [
        "a" * 65536,
        "1" * 65536,
        "+1" * 32768,
        "+12345678a" * 6554,
        "x@" * 32768,
        ("a" * 63 + "@") * 1024,
        "https://" * 8192,
        "www." * 16384,
        "+1 " * 21845,
        "*1" * 32768,
        "a." * 32768,
    ],
    ids=lambda text: repr(text[:12]),
)
def test_masking_64_kib_of_adversarial_text_takes_well_under_a_second(text: str) -> None:
    started = time.perf_counter()
    mask_content(text)
    assert time.perf_counter() - started < 0.5


@pytest.mark.parametrize(
    ("text", "masked"),
    [
        ("write to jöhn.doe@exämple.com", "write to j***@e***.com"),
        ("zoë@пример.рф", "z***@п***.рф"),
        ("联系alice@example.com获取码654321", "联系a***@e***.com获取码******"),
    ],
)
def test_internationalised_addresses_are_masked_and_never_swallow_the_text_after_them(
    text: str, masked: str
) -> None:
    assert mask_content(text) == masked
    assert mask_content(masked) == masked


@pytest.mark.parametrize(
    ("text", "masked"),
    [
        ("reset: example.com/reset?token=abc123", "reset: example.com/reset"),
        ("see bank.example.co.uk?t=s3cret now", "see bank.example.co.uk now"),
        # a URL runs to whitespace or CJK punctuation: the query takes the word after it
        ("页面example.com/a?b=1完成。", "页面example.com/a。"),
        ("version v1.2/3 of 3.14/2", "version v1.2/3 of 3.14/2"),
    ],
)
def test_links_without_a_scheme_lose_their_query_too(text: str, masked: str) -> None:
    assert mask_content(text) == masked
    assert mask_content(masked) == masked
