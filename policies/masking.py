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
_MAX_SHORT_CODE_DIGITS = 8
"""Digit runs up to this long are codes (OTP, PIN, amounts) and are hidden entirely."""
_MIN_REVEALING_RUN = 4
"""Runs with fewer digits than this are kept: they identify nothing."""
_KEPT_TAIL = 4
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

# --- Content -----------------------------------------------------------------------------
#
# One alternation, scanned once left to right: each span of the text is handled by exactly
# one rule. Character classes treat '*' like a digit wherever digits matter, so the output
# of a rule is recognised by the same rule again (idempotency). Every repetition that can
# start at many positions is anchored with a look-behind at the start of its run, or
# bounded, so the scan stays linear on any input.

# Characters of an email local part: letters and digits of alphabetic scripts
# (internationalised addresses, RFC 6531), the common ASCII atext signs, and '*'. CJK,
# kana and hangul are left out: Chinese and Japanese text runs into an address with no
# space between, and must not become its local part (so a local part written in them is
# not recognised).
_CJK = r"\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7af\uf900-\ufaff"
_LOCAL = rf"(?:[^\W{_CJK}]|[.%+\-*])"
# Characters of a URL scheme (RFC 3986 §3.1), with any decimal digit and '*'.
_SCHEME = r"[A-Za-z\d+.\-*]"
# A URL runs to whitespace, angle brackets, double quotes or CJK/full-width punctuation
# (Chinese text often puts no space after a link).
_URL_END = (
    r"\s<>\"\u2018-\u201f\u2026\u3000-\u303f"
    r"\uff01-\uff0f\uff1a-\uff20\uff3b-\uff40\uff5b-\uff65"
)
_URL_CHAR = rf"[^{_URL_END}]"
_HOST_CHAR = rf"[^{_URL_END}@/?#]"
# A "domain" that runs on into another '@' is the local part of the next address.
# Domain labels: letters and digits of alphabetic scripts, '-', and '*' where digits were
# (so an address reads the same once masked). No CJK: a domain shown in full must not run
# on into the Chinese text after it ("…@example.com验证码123456").
_LABEL = rf"(?:[^\W_{_CJK}]|[*-])++"
_EMAIL = rf"(?<!{_LOCAL}){_LOCAL}{{1,64}}+@{_LABEL}(?:\.{_LABEL})++(?!{_LOCAL}*+@)"
_DIGIT_RUN = r"(?<![\d*])[\d*]++"

_CONTENT = re.compile(
    # scheme://… The match starts where the run of scheme characters starts (anchoring
    # keeps the scan linear); characters before its first letter come along.
    rf"(?P<url>(?<!{_SCHEME})[\d+.\-*]*+[A-Za-z]{_SCHEME}*+://{_URL_CHAR}*+)"
    # "://…" whose scheme was taken by the rule before (e.g. a@b.com.https://…).
    rf"|(?P<bare_url>://{_URL_CHAR}*+)"
    # www.host… ; a host followed by '@' is the local part of an email address instead.
    rf"|(?P<www>[Ww]{{3}}\.{_HOST_CHAR}++(?!@)(?:[/?#]{_URL_CHAR}*+)?)"
    # An address, and what follows it if it is the host of a URL (user@host/path?query).
    rf"|(?P<email>{_EMAIL}(?:[/?#]{_URL_CHAR}*+)?)"
    # host.tld/… or host.tld?… written without a scheme: still a link, and its query
    # string can still be a credential (a reset token).
    # Chinese text may run straight into it; other letters and digits may not.
    rf"|(?P<host_url>(?<![.@*+\-])(?<![^\W{_CJK}])"
    rf"(?:[A-Za-z0-9\-]++\.)++[A-Za-z]{{2,24}}[/?#]{_URL_CHAR}*+)"
    # +<8–15 digits>, single spaces or hyphens between digits. It must not run on into
    # something that, once the separators are gone, would read as an email or a URL.
    r"|(?P<phone>\+[0-9](?:[0-9*]|[ -][0-9]){7,14}"
    r"(?![A-Za-z\d_%+\-*@])(?!\.[A-Za-z\d._%+\-*@:])(?!://))"
    # Chinese mobile number written without country code: 1[3-9] and 9 more digits.
    r"|(?P<mobile>(?<![\d*])1[3-9][0-9][0-9*]{4}[0-9]{4}(?![\d*]))"
    rf"|(?P<digits>{_DIGIT_RUN})"
)
_DIGIT_RUNS = re.compile(rf"(?P<digits>{_DIGIT_RUN})")
# What is still masked inside the part of a URL that is kept.
_URL_PART = re.compile(rf"(?P<email>{_EMAIL})|(?P<digits>{_DIGIT_RUN})")
_PATH_START = re.compile(r"[/?#]")
_URL_TRAILING_PUNCTUATION = ".,;:!?)]}'\""


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

    - Runs of 4 to 8 digits (verification codes, PINs; any Unicode decimal digit) become
      one ``*`` per digit: ``您的验证码是123456`` → ``您的验证码是******``. Runs of 1 to 3
      digits stay. A ``*`` next to digits counts toward the run, so a masked run stays
      as it is.
    - Longer runs (cards, account and ID numbers) keep only their last 4 (PCI DSS v4.0
      Req. 3.4.1 allows a displayed card number at most its BIN and last 4):
      ``6222021234567890123`` → ``***************0123``.
    - Phone numbers (``+`` and 8–15 digits, single spaces or hyphens between them, or a
      bare Chinese mobile number) and email addresses are masked as recipients are
      (:func:`mask_phone`, :func:`mask_email`). A ``+`` number without a known calling
      code has its digit runs masked as above.
    - URLs (``scheme://…``, ``www.…``, ``host.tld/…`` or ``host.tld?…``, and
      ``user@host/…``) keep scheme, host and path and lose user info, query and
      fragment, which carry credentials:
      ``https://x.com/reset?token=abc#f`` → ``https://x.com/reset``. Trailing sentence
      punctuation stays outside the URL; digit runs and addresses in the kept part are
      masked as above.

    GDPR Art. 25 and Art. 32, PIPL Art. 51. Never raises; idempotent.
    """
    if text is None:
        return None
    return _CONTENT.sub(_mask_content_match, text)


def _mask_content_match(match: re.Match[str]) -> str:
    kind = match.lastgroup
    found = match.group()
    if kind == "digits":
        return _mask_digit_run(found)
    if kind in ("phone", "mobile"):
        masked = mask_phone(found)
        if masked == FULLY_MASKED:
            # Not a known calling code: mask its digits as any other digits, and keep the
            # '+' and separators so the result does not merge with its neighbours.
            return _DIGIT_RUNS.sub(_mask_content_match, found)
        return masked
    if kind == "email":
        # A domain holds no '/', '?' or '#': the first one after the '@' starts a path.
        path = _PATH_START.search(found, found.index("@"))
        if path is None:
            return mask_email(found)
        return mask_email(found[: path.start()]) + _mask_url(found[path.start() :])
    return _mask_url(found)


def _mask_digit_run(run: str) -> str:
    digits = len(run) - run.count(HIDDEN_DIGIT)
    if digits < _MIN_REVEALING_RUN:
        return run
    if len(run) <= _MAX_SHORT_CODE_DIGITS:
        return HIDDEN_DIGIT * len(run)
    return HIDDEN_DIGIT * (len(run) - _KEPT_TAIL) + run[-_KEPT_TAIL:]


def _mask_url(url: str) -> str:
    """Scheme, host and path of ``url`` with digits and addresses masked; trailing
    sentence punctuation is kept as it was."""
    kept = url.rstrip(_URL_TRAILING_PUNCTUATION)
    trailing = url[len(kept) :]
    for delimiter in "?#":
        kept = kept.partition(delimiter)[0]
    # Drop user info (user:password@) after every "://", the link's own and any nested
    # one (a redirect target in the path): it is a credential, not part of the address.
    position = kept.find("://")
    while position != -1:
        authority_start = position + 3
        authority_end = kept.find("/", authority_start)
        if authority_end == -1:
            authority_end = len(kept)
        at = kept.rfind("@", authority_start, authority_end)
        if at != -1:
            kept = kept[:authority_start] + kept[at + 1 :]
        position = kept.find("://", authority_start)
    return _URL_PART.sub(_mask_content_match, kept) + trailing


def _is_space_or_control(char: str) -> bool:
    return char.isspace() or unicodedata.category(char).startswith("C")
