"""The one place values are masked before they leave the service.

Callers of the log need to recognise a send, not to re-read a message, re-use a
verification code or follow a password-reset link. Every recipient and every free-text
field (content, provider error, provider response) is therefore masked on the way out:
data protection by design and by default (GDPR Art. 25), pseudonymisation as a security
measure (GDPR Art. 32(1)(a)) and de-identification (PIPL Art. 51, Art. 73(3)).

Every function here is total and idempotent: it never raises, whatever the text, and
masking an already masked value returns it unchanged, so a value masked twice (by two
layers, or stored masked and masked again) reads the same.
"""

from __future__ import annotations

import re
import unicodedata

import phonenumbers

from policies.channels import Channel
from policies.free_text import mask_free_text

FULLY_MASKED = "********"
"""What a value that does not have the expected shape becomes: reveals nothing, not even
its length, and masks to itself."""

HIDDEN_DIGIT = "*"
EMAIL_LOCAL_PART_MASK = "***"
ELISION = "\N{HORIZONTAL ELLIPSIS}"
"""Stands for the hidden middle of a device token."""

_SHORT_NATIONAL_NUMBER = 7
"""National numbers this short or shorter show only their last two digits."""
_MIN_NATIONAL_DIGITS = 4
_MAX_E164_DIGITS = 15
_PUSH_TOKEN_KEPT = 4

_COUNTRY_CODES: frozenset[str] = frozenset(
    str(code) for code in phonenumbers.COUNTRY_CODE_TO_REGION_CODE
)
# Calling codes are a prefix code (no code is a prefix of another), so at most one of the
# 1-, 2- and 3-digit prefixes of a number is a calling code.
_COUNTRY_CODE_LENGTHS = sorted({len(code) for code in _COUNTRY_CODES})

_PHONE_SEPARATORS = str.maketrans("", "", "-.()")
_NATIONAL_NUMBER = re.compile(r"[0-9*]+")
_PUSH_TOKEN = re.compile(r"[!-~]+")
_MASKED_PUSH_TOKEN = re.compile(r"[!-~]{4}\N{HORIZONTAL ELLIPSIS}[!-~]{4}")


def mask_recipient(channel: Channel | str, value: str | None) -> str | None:
    """Mask a recipient as the rule for its channel says; ``None`` stays ``None``.

    ``sms`` → :func:`mask_phone`, ``email`` → :func:`mask_email`, ``push`` →
    :func:`mask_push_token`. An unknown channel gives :data:`FULLY_MASKED`: when it is
    not known what a value is, nothing of it is shown (GDPR Art. 25(2)).
    """
    if value is None:
        return None
    try:
        known = Channel(channel)
    except ValueError:
        return FULLY_MASKED
    if known is Channel.SMS:
        return mask_phone(value)
    if known is Channel.EMAIL:
        return mask_email(value)
    return mask_push_token(value)


def mask_phone(value: str) -> str:
    """Keep the first 3 and the last 4 digits of the national number, hide the rest.

    ``13812348000`` → ``138****8000``; ``+86 138-1234-8000`` → ``+86138****8000`` (the
    country calling code is kept, separators are dropped). A national number of 7 digits
    or fewer shows only its last 2: ``+12345678`` → ``+1*****78``. This is the usual
    display convention for mobile numbers under PIPL Art. 51 de-identification; it is
    also data minimisation (GDPR Art. 5(1)(c)). ``*`` counts as a hidden digit, so a
    masked number masks to itself; a value that is not shaped like a phone number gives
    :data:`FULLY_MASKED`.
    """
    compact = "".join(value.split()).translate(_PHONE_SEPARATORS)
    if not compact.startswith("+"):
        masked = _mask_national_number(compact)
        return FULLY_MASKED if masked is None else masked
    digits = compact[1:]
    for length in _COUNTRY_CODE_LENGTHS:
        country_code = digits[:length]
        if country_code in _COUNTRY_CODES:
            masked = _mask_national_number(digits[length:], max_digits=_MAX_E164_DIGITS - length)
            return FULLY_MASKED if masked is None else f"+{country_code}{masked}"
    return FULLY_MASKED


def _mask_national_number(national: str, *, max_digits: int = _MAX_E164_DIGITS) -> str | None:
    """The masked national number, or None if ``national`` is not shaped like one."""
    if not _MIN_NATIONAL_DIGITS <= len(national) <= max_digits:
        return None
    if not _NATIONAL_NUMBER.fullmatch(national):
        return None
    if len(national) <= _SHORT_NATIONAL_NUMBER:
        return HIDDEN_DIGIT * (len(national) - 2) + national[-2:]
    return national[:3] + HIDDEN_DIGIT * (len(national) - 7) + national[-4:]


def mask_email(value: str) -> str:
    """Keep the first character of the local part and the whole domain.

    ``alice@example.com`` → ``a***@example.com``: always three stars, so the length of
    the local part is hidden too (PIPL Art. 51; GDPR Art. 5(1)(c), Art. 25). The domain
    stays: it tells which provider was used, rarely who. A value that is not shaped like
    an address gives :data:`FULLY_MASKED`.
    """
    address = value.strip()
    if address.count("@") != 1:
        return FULLY_MASKED
    local, domain = address.split("@")
    if not local or any(_is_space_or_control(char) for char in local):
        return FULLY_MASKED
    labels = domain.split(".")
    if len(labels) < 2 or not all(labels):
        return FULLY_MASKED
    if any(_is_space_or_control(char) for char in domain):
        return FULLY_MASKED
    return f"{local[0]}{EMAIL_LOCAL_PART_MASK}@{domain}"


def mask_push_token(value: str) -> str:
    """Keep the first 4 and the last 4 characters of a device token: ``abcd…wxyz``.

    Enough to tell two devices apart in a support case, not enough to send to the device
    (GDPR Art. 32(1)(a), Art. 25). Tokens of 8 characters or fewer, and values that are
    not printable ASCII, give :data:`FULLY_MASKED`.
    """
    token = value.strip()
    if _MASKED_PUSH_TOKEN.fullmatch(token):
        return token
    if len(token) <= 2 * _PUSH_TOKEN_KEPT or not _PUSH_TOKEN.fullmatch(token):
        return FULLY_MASKED
    return f"{token[:_PUSH_TOKEN_KEPT]}{ELISION}{token[-_PUSH_TOKEN_KEPT:]}"


def mask_content(text: str | None) -> str | None:
    """Mask what a message text (or a provider's error or response) may reveal.

    The rules live in :mod:`policies.free_text` and are listed in
    ``docs/compliance/masking.md``. In short:

    - credentials are hidden whole: codes (digits, letters, or both, also split as
      ``505-412`` or ``1 2 3 4 5 6``) near a code word in any supported language,
      passwords after a password word, JWTs, API keys, bearer tokens, gift and recovery
      codes, short-link keys and high-entropy link path segments; the query, fragment
      and user info of every link are dropped;
    - identifiers are hidden: national and tax ids, passports, IBANs (country and last
      four kept), card and account numbers (last four kept), phone numbers (as
      :func:`mask_phone`, or keeping the last four of a national number), email
      addresses (as :func:`mask_email`, also with a CJK local part) and UPI ids;
    - what a person needs to recognise the message is kept: the last four after
      "尾号"/"ending in", dates with their year, times, amounts, hotlines, provider
      error codes, flight and train numbers, order numbers after an order word.

    GDPR Art. 25 and Art. 32, PIPL Art. 51, PCI DSS v4.0 Req. 3.4.1. Never raises;
    idempotent; linear in the length of the text.
    """
    if text is None:
        return None
    return mask_free_text(text, mask_phone=mask_phone, mask_email=mask_email)


def _is_space_or_control(char: str) -> bool:
    return char.isspace() or unicodedata.category(char).startswith("C")
