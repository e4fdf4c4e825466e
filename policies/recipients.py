"""Which recipients a send may be recorded with, and the one form each is stored in.

A recipient is validated and normalised once, on ingest, so that the log holds accurate
data (GDPR Art. 5(1)(d)) in a single canonical form: the masking rules, the blind index
and erasure by recipient then all see the same value. Validation never repeats the value
back: errors end up in responses and logs, and a recipient must not (GDPR Art. 5(1)(f),
Art. 32; PIPL Art. 51).
"""

from __future__ import annotations

import enum
import re
import unicodedata

import phonenumbers

from policies.channels import Channel

MAX_RAW_PHONE_LENGTH = 32
"""Longest SMS recipient accepted as given, separators included."""
MIN_NATIONAL_DIGITS = 6
MAX_NATIONAL_DIGITS = 15
"""Bounds for numbers given without a country code (E.164 allows at most 15 digits)."""
PHONE_SEPARATORS = " -.()"
"""Characters people write between the digits of a phone number; dropped on ingest."""

MAX_EMAIL_LENGTH = 254
MAX_LOCAL_PART_LENGTH = 64
MAX_DOMAIN_LABEL_LENGTH = 63
"""RFC 5321 §4.5.3.1 size limits for an address, its local part and a DNS label."""

MIN_PUSH_TOKEN_LENGTH = 8
MAX_PUSH_TOKEN_LENGTH = 4096

_PHONE_CHARACTERS = frozenset("0123456789+" + PHONE_SEPARATORS)
_SEPARATOR_TABLE = str.maketrans("", "", PHONE_SEPARATORS)
_LDH_LABEL = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?")
_PUSH_TOKEN = re.compile(r"[!-~]+")


class RecipientProblem(enum.StrEnum):
    """Why a recipient was refused; never carries the recipient itself."""

    EMPTY = "empty"
    TOO_SHORT = "too short"
    TOO_LONG = "too long"
    INVALID_CHARACTERS = "contains characters that are not allowed"
    MALFORMED = "malformed"
    NOT_A_POSSIBLE_NUMBER = "not a possible number for its country code"
    NO_COUNTRY_CODE = (
        "no country code: give it with '+' (or '00') and the country code, because records "
        "may be stored in national or international form and a number without a country "
        "code cannot be matched unambiguously"
    )
    UNKNOWN_CHANNEL = "unknown channel"


_WHAT_A_RECIPIENT_IS: dict[Channel, str] = {
    Channel.SMS: "phone number",
    Channel.EMAIL: "email address",
    Channel.PUSH: "device token",
}


class InvalidRecipient(ValueError):
    """A recipient that cannot be recorded for its channel.

    The message is built from the channel and the problem only, both fixed vocabularies,
    so it can be shown to the caller and logged without disclosing the recipient
    (GDPR Art. 5(1)(f), Art. 32).
    """

    def __init__(self, channel: Channel | None, problem: RecipientProblem) -> None:
        self.channel = channel
        self.problem = problem
        if channel is None:
            message = f"recipient channel is not supported: {problem}"
        else:
            what = _WHAT_A_RECIPIENT_IS[channel]
            message = f"recipient is not a valid {what} for channel {channel}: {problem}"
        super().__init__(message)


def normalize_recipient(channel: Channel, value: str) -> str:
    """Validate a recipient for ``channel`` and return the form it is stored in.

    - ``sms``: ``+`` and country code → E.164 (``+8613812348000``), which must be a
      possible number for that country code; without ``+`` → 6 to 15 national digits.
      Spaces, hyphens, dots and parentheses between digits are dropped.
    - ``email``: trimmed; the local part as given, the domain lower-cased. Internationalised
      domains are accepted when they encode to IDNA.
    - ``push``: a device token of 8 to 4096 printable ASCII characters, as given.

    Raises :class:`InvalidRecipient`, whose message never contains the value. Storing a
    single canonical form keeps the record accurate (GDPR Art. 5(1)(d)).
    """
    # Each validator returns the canonical form or the problem; the exception is raised
    # here, outside any ``except`` block, so no library exception (whose text may quote
    # the value) is chained to it as ``__context__``.
    result: str | RecipientProblem
    if channel == Channel.SMS:
        result = _normalize_phone(value)
    elif channel == Channel.EMAIL:
        result = _normalize_email(value)
    elif channel == Channel.PUSH:
        result = _normalize_push_token(value)
    else:
        raise InvalidRecipient(None, RecipientProblem.UNKNOWN_CHANNEL)
    if isinstance(result, RecipientProblem):
        raise InvalidRecipient(Channel(channel), result)
    return result


def blind_index_input(channel: Channel, canonical: str) -> str:
    """The normalised text a recipient's blind index (keyed hash) is computed over.

    ``canonical`` is the output of :func:`normalize_recipient`. Phone numbers lose the
    ``+`` (E.164 digits, or the national digits), email addresses are trimmed and
    lower-cased as a whole, device tokens are used as they are. Equal recipients give
    equal inputs, so a recipient can be found (for access and erasure requests, GDPR
    Art. 15 and 17) without storing it in clear: pseudonymisation, GDPR Art. 32(1)(a).
    """
    if channel == Channel.SMS:
        return canonical.strip().removeprefix("+")
    if channel == Channel.EMAIL:
        return canonical.strip().lower()
    if channel == Channel.PUSH:
        return canonical
    raise InvalidRecipient(None, RecipientProblem.UNKNOWN_CHANNEL)


def international_phone(value: str) -> str:
    """The E.164 form of a phone number an officer names in a legal hold or a subject
    request, which must carry its country code: ``+`` and country code, or ``00`` and
    country code (converted to ``+``). Separators are dropped as on ingest.

    Ingest stores a number given without ``+`` as national digits, so the same person may
    have records under several stored forms; only a number with its country code says
    which national number it is (:func:`phone_forms`). Raises :class:`InvalidRecipient`
    (:attr:`RecipientProblem.NO_COUNTRY_CODE` for a number without one); the message never
    contains the value.
    """
    result: str | RecipientProblem
    if len(value) > MAX_RAW_PHONE_LENGTH:
        result = RecipientProblem.TOO_LONG
    else:
        compact = value.strip().translate(_SEPARATOR_TABLE)
        if compact.startswith("00") and compact[2:3] not in ("", "0", "+"):
            compact = "+" + compact[2:]
        if compact and not compact.startswith("+") and _PHONE_CHARACTERS.issuperset(compact):
            result = RecipientProblem.NO_COUNTRY_CODE
        else:
            result = _normalize_phone(compact)
    if isinstance(result, RecipientProblem):
        raise InvalidRecipient(Channel.SMS, result)
    return result


UNAMBIGUOUS_PHONE_FORMS = frozenset({"e164", "international_00"})
"""The stored forms of a number that carry its country code. A national form does not: the
same digits may be another country's number, someone else's (GDPR Art. 15(4): giving a
subject their data must not adversely affect the rights of others)."""


def phone_forms(e164: str) -> dict[str, str]:
    """Every form ingest may have stored the number ``e164`` in, by name, each as
    :func:`normalize_recipient` returns it, one per distinct blind index input:

    - ``e164``: ``+8613812348004`` (also what ``8613812348004``, the E.164 digits
      without ``+``, is indexed as: the blind index drops the ``+``);
    - ``international_00``: ``008613812348004``;
    - ``national``: the national significant number, ``13812348004`` (no trunk prefix);
    - ``national_trunk``: the digits of the NATIONAL format, with the trunk prefix where
      the country has one (``02079460958`` for ``+442079460958``).

    Forms that ingest would refuse (outside 6 to 15 digits) are left out.
    """
    number = phonenumbers.parse(e164, None)
    candidates = {
        "e164": e164,
        "international_00": "00" + e164.removeprefix("+"),
        "national": phonenumbers.national_significant_number(number),
        "national_trunk": "".join(
            char
            for char in phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.NATIONAL)
            if char.isdigit()
        ),
    }
    forms: dict[str, str] = {}
    seen: set[str] = set()
    for name, form in candidates.items():
        digits = form.removeprefix("+")
        if name != "e164" and not MIN_NATIONAL_DIGITS <= len(digits) <= MAX_NATIONAL_DIGITS:
            continue
        if digits in seen:
            continue
        seen.add(digits)
        forms[name] = form
    return forms


def _normalize_phone(value: str) -> str | RecipientProblem:
    if len(value) > MAX_RAW_PHONE_LENGTH:
        return RecipientProblem.TOO_LONG
    stripped = value.strip()
    if not stripped:
        return RecipientProblem.EMPTY
    if not _PHONE_CHARACTERS.issuperset(stripped):
        # Letters (vanity numbers, "ext."), '*' (an already masked number) and any
        # non-ASCII digit end up here.
        return RecipientProblem.INVALID_CHARACTERS
    compact = stripped.translate(_SEPARATOR_TABLE)
    international = compact.startswith("+")
    digits = compact.removeprefix("+")
    if not digits:
        return RecipientProblem.EMPTY
    if "+" in digits:
        return RecipientProblem.MALFORMED
    if not international:
        if len(digits) < MIN_NATIONAL_DIGITS:
            return RecipientProblem.TOO_SHORT
        if len(digits) > MAX_NATIONAL_DIGITS:
            return RecipientProblem.TOO_LONG
        return digits
    canonical = _e164(compact)
    # phonenumbers drops a trunk prefix written after the country code ("+44 (0)20 …");
    # a number that loses digits again when its E.164 form is parsed (national part of
    # leading zeros) has no stable stored form and is refused.
    if canonical is None or _e164(canonical) != canonical:
        return RecipientProblem.NOT_A_POSSIBLE_NUMBER
    return canonical


def _e164(international: str) -> str | None:
    try:
        number = phonenumbers.parse(international, None)
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_possible_number(number):
        return None
    canonical: str = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
    return canonical


def _normalize_email(value: str) -> str | RecipientProblem:
    address = value.strip()
    if not address:
        return RecipientProblem.EMPTY
    if len(address) > MAX_EMAIL_LENGTH:
        return RecipientProblem.TOO_LONG
    if any(_is_space_or_control(char) for char in address):
        return RecipientProblem.INVALID_CHARACTERS
    if address.count("@") != 1:
        return RecipientProblem.MALFORMED
    local, domain = address.split("@")
    if not local:
        return RecipientProblem.MALFORMED
    if len(local) > MAX_LOCAL_PART_LENGTH:
        return RecipientProblem.TOO_LONG
    labels = domain.split(".")
    if len(labels) < 2:
        return RecipientProblem.MALFORMED
    ascii_labels: list[str] = []
    for label in labels:
        ascii_label = _ascii_domain_label(label)
        if ascii_label is None:
            return RecipientProblem.MALFORMED
        ascii_labels.append(ascii_label)
    if len(local) + 1 + len(".".join(ascii_labels)) > MAX_EMAIL_LENGTH:
        return RecipientProblem.TOO_LONG
    return f"{local}@{domain.lower()}"


def _ascii_domain_label(label: str) -> str | None:
    """The label as it goes on the wire (IDNA for Unicode labels), or None if invalid."""
    if label.isascii():
        ascii_label = label
    else:
        try:
            ascii_label = label.encode("idna").decode("ascii")
        except UnicodeError:
            return None
    if len(ascii_label) > MAX_DOMAIN_LABEL_LENGTH or not _LDH_LABEL.fullmatch(ascii_label):
        return None
    return ascii_label


def _normalize_push_token(value: str) -> str | RecipientProblem:
    if not value:
        return RecipientProblem.EMPTY
    if len(value) < MIN_PUSH_TOKEN_LENGTH:
        return RecipientProblem.TOO_SHORT
    if len(value) > MAX_PUSH_TOKEN_LENGTH:
        return RecipientProblem.TOO_LONG
    if not _PUSH_TOKEN.fullmatch(value):
        return RecipientProblem.INVALID_CHARACTERS
    return value


def _is_space_or_control(char: str) -> bool:
    # Category C covers control, format (zero-width, bidi overrides), surrogate,
    # private-use and unassigned code points: none belongs in an address.
    return char.isspace() or unicodedata.category(char).startswith("C")
