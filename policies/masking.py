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
from policies.mailboxes import is_public_mailbox, public_suffix_length

FULLY_MASKED = "********"
"""What a value that does not have the expected shape becomes: reveals nothing, not even
its length, and masks to itself."""

HIDDEN_DIGIT = "*"
EMAIL_LOCAL_PART_MASK = "***"
ELISION = "\N{HORIZONTAL ELLIPSIS}"
"""Stands for the hidden middle of a device token."""

_MIN_NATIONAL_DIGITS = 4
"""The shortest national significant number ``phonenumbers`` knows (e.g. Tristan da Cunha)."""
_MIN_HIDDEN_DIGITS = 4
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
_BARE_CHINESE_MOBILE = re.compile(r"1[3-9][0-9][0-9*]{4}[0-9]{4}")
"""The seed's exception (and its masked form): shown as ``138****8000``."""
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
    """Hide at least half of the national significant number, and never fewer than 4 digits.

    The national significant number (NSN: the digits after the country calling code, as
    ``phonenumbers`` counts them) of ``n`` digits hides ``max(4, ceil(n / 2))`` of them
    (all of them when ``n`` is 4); of the digits left, the first half (rounded down) is
    shown at the start and the rest at the end, so the hidden digits are the middle ones,
    which a numbering plan constrains least:

    - ``+8613812348000`` → ``+8613******000`` (NSN 11: 6 hidden, 10^6 candidates);
    - ``+85291234567`` → ``+85291****67`` (NSN 8: 4 hidden);
    - ``+14155552671`` → ``+141*****671`` (NSN 10: 5 hidden).

    The country calling code is kept and separators are dropped. A number given without a
    country code is masked the same way over all its digits, with one exception kept from
    the seed's contract: a bare Chinese mobile number (``1[3-9]`` and 9 more digits) shows
    its first 3 and last 4, ``13812348000`` → ``138****8000`` (4 hidden, 10^4
    candidates), the display convention for mobile numbers under PIPL Art. 51
    de-identification. Data minimisation (GDPR Art. 5(1)(c), Art. 25).

    Where the digits are shown depends only on the number of digits, and ``*`` counts as
    a hidden digit, so a masked number masks to itself. A value that is not shaped like a
    phone number (4 to 15 digits) gives :data:`FULLY_MASKED`.
    """
    compact = "".join(value.split()).translate(_PHONE_SEPARATORS)
    if not compact.startswith("+"):
        if _BARE_CHINESE_MOBILE.fullmatch(compact):
            return compact[:3] + HIDDEN_DIGIT * 4 + compact[-4:]
        masked = _mask_national_number(compact)
        return FULLY_MASKED if masked is None else masked
    digits = compact[1:]
    for length in _COUNTRY_CODE_LENGTHS:
        country_code = digits[:length]
        if country_code in _COUNTRY_CODES:
            masked = _mask_national_number(digits[length:], max_digits=_MAX_E164_DIGITS - length)
            return FULLY_MASKED if masked is None else f"+{country_code}{masked}"
    return FULLY_MASKED


def hidden_national_digits(length: int) -> int:
    """How many digits of a national number of ``length`` digits :func:`mask_phone` hides
    (the bare Chinese mobile exception aside): at least half, never fewer than 4."""
    return min(length, max(_MIN_HIDDEN_DIGITS, -(-length // 2)))


def _mask_national_number(national: str, *, max_digits: int = _MAX_E164_DIGITS) -> str | None:
    """The masked national number, or None if ``national`` is not shaped like one."""
    if not _MIN_NATIONAL_DIGITS <= len(national) <= max_digits:
        return None
    if not _NATIONAL_NUMBER.fullmatch(national):
        return None
    shown = len(national) - hidden_national_digits(len(national))
    head = shown // 2
    tail = shown - head
    return (
        national[:head] + HIDDEN_DIGIT * (len(national) - shown) + national[len(national) - tail :]
    )


def mask_email(value: str) -> str:
    """Keep the first character of the local part; show the domain only for large public
    mailbox providers.

    ``alice@gmail.com`` → ``a***@gmail.com``: a domain of
    :data:`policies.mailboxes.PUBLIC_MAILBOX_DOMAINS` tells which provider was used, not
    who. Any other domain keeps only the first character of its registrable label and
    its public suffix (:func:`policies.mailboxes.public_suffix_length`), subdomains
    dropped: ``wei@mail.zhangwei-family.cn`` → ``w***@z***.cn``,
    ``li@xiehe-clinic.com.cn`` → ``l***@x***.com.cn``. Always three stars, so lengths are
    hidden too (PIPL Art. 51; GDPR Art. 5(1)(c), Art. 25). A masked address masks to
    itself; a value that is not shaped like an address gives :data:`FULLY_MASKED`.
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
    masked_local = f"{local[0]}{EMAIL_LOCAL_PART_MASK}"
    if is_public_mailbox(domain):
        return f"{masked_local}@{domain}"
    suffix = labels[-public_suffix_length(labels) :]
    registrable = labels[-len(suffix) - 1]
    return f"{masked_local}@{registrable[0]}{EMAIL_LOCAL_PART_MASK}.{'.'.join(suffix)}"


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
