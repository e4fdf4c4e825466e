"""What an identifier may contain, and what no text may contain.

Identifiers (user, tenant, provider and template ids, record and hold ids) are compared
byte for byte, written to logs and shown to officers. Two ids that print alike must be
the same id, and an id must never be able to break a line or hide a character, so an
identifier:

- is 1 to ``MAX_IDENTIFIER_LENGTH`` characters long (the width of the id columns);
- contains no control character: C0 (U+0000–U+001F), DEL (U+007F), C1 (U+0080–U+009F),
  the Unicode line and paragraph separators (U+2028, U+2029), which break lines in
  log viewers as a newline does, and the bidirectional marks, embeddings, overrides and
  isolates (U+200E, U+200F, U+202A–U+202E, U+2066–U+2069), which make an id print as
  another (``"\u202eevil"`` shows as ``live``);
- neither begins nor ends with whitespace (so an id is never blank, and ``"usr_a "`` is
  not a second ``usr_a``).

Free text (content, recipients, provider error and response texts, hold reasons) may
hold line breaks and tabs, but never NUL: PostgreSQL cannot store it in text columns, and
no legitimate message carries it.

The rule exists twice, as a function for code and as a regular expression for the wire
schema; a property test keeps them equal.
"""

from __future__ import annotations

import re

MAX_IDENTIFIER_LENGTH = 128

_CONTROL = "\\x00-\\x1f\\x7f-\\x9f\\u2028\\u2029\\u200e\\u200f\\u202a-\\u202e\\u2066-\\u2069"
_EDGE_SPACE = "\\x20\\xa0\\u1680\\u2000-\\u200a\\u202f\\u205f\\u3000\\ufeff"

IDENTIFIER_PATTERN = (
    # The lookahead is for Python's ``$``, which also matches before a final newline;
    # for ECMA-262 (JSON Schema, OpenAPI) it is redundant.
    f"^(?!.*\\n)[^{_CONTROL}{_EDGE_SPACE}](?:[^{_CONTROL}]*[^{_CONTROL}{_EDGE_SPACE}])?$"
)
"""An identifier as a regular expression valid in Python and ECMA-262 alike."""

NO_NUL_PATTERN = "^[^\\x00]*$"
"""Free text: anything but NUL."""

_CONTROL_CHARACTER = re.compile(f"[{_CONTROL}]")
_EDGE_SPACES = frozenset(
    " \xa0\u1680\u202f\u205f\u3000\ufeff" + "".join(chr(c) for c in range(0x2000, 0x200B))
)

IDENTIFIER_RULE = (
    "must be 1 to 128 characters without control characters "
    "and without leading or trailing whitespace"
)
NO_NUL_RULE = "must not contain NUL characters"


def identifier_problem(value: str) -> str | None:
    """Why ``value`` is not an identifier, or ``None`` when it is one.

    The reason names no character of ``value``, so it can be shown and logged.
    """
    if not value:
        return "must not be empty"
    if len(value) > MAX_IDENTIFIER_LENGTH:
        return f"must be at most {MAX_IDENTIFIER_LENGTH} characters"
    if _CONTROL_CHARACTER.search(value):
        return "must not contain control characters"
    if value[0] in _EDGE_SPACES or value[-1] in _EDGE_SPACES:
        return "must not begin or end with whitespace"
    return None


def is_identifier(value: str) -> bool:
    """Whether ``value`` may be used as an identifier (see the module's rule)."""
    return identifier_problem(value) is None


def has_nul(value: str) -> bool:
    """Whether ``value`` holds a NUL character, which no stored text may hold."""
    return "\x00" in value


# --- Template ids and provider names -----------------------------------------------------
#
# ``template_id`` and ``provider`` are stored in clear and shown to every reader of a
# record, unmasked. Free text there leaked what the masking rules hide elsewhere (a probe
# stored ``otp-13812348000-zhangwei`` and ``aliyun:张伟``), so both are restricted to a
# plain identifier syntax on ingest, and stored values that break it are shown fully
# masked (``policies.disclosure``).

MAX_TEMPLATE_ID_LENGTH = 64
MAX_PROVIDER_LENGTH = 32
MAX_TEMPLATE_ID_DIGIT_RUN = 6
"""Longest run of digits a template id may hold outside the provider code shapes below:
seven digits are a local phone number, eleven a Chinese mobile, more an account or id
number."""

_TEMPLATE_ID_PROVIDER_CODES = (
    # Aliyun SMS template codes (TemplateCode), e.g. SMS_164561229.
    "SMS_[0-9]{1,9}",
    # Twilio Content API template SIDs, e.g. HX + 32 hex digits.
    "HX[0-9a-f]{32}",
    # SendGrid dynamic template ids, e.g. d- + 32 hex digits.
    "d-[0-9a-f]{32}",
)

TEMPLATE_ID_PATTERN = (
    "^(?!.*\\n)(?:"
    + "|".join(_TEMPLATE_ID_PROVIDER_CODES)
    + f"|(?!.*[0-9]{{{MAX_TEMPLATE_ID_DIGIT_RUN + 1}}})"
    + f"[A-Za-z][A-Za-z0-9_.:-]{{0,{MAX_TEMPLATE_ID_LENGTH - 1}}})$"
)
"""A template id: an ASCII letter, then up to 63 letters, digits, ``_ . : -``, with no run
of more than 6 digits; or one of the provider-issued template codes (Aliyun
``SMS_<up to 9 digits>``, Twilio ``HX<32 hex>``, SendGrid ``d-<32 hex>``), whose digits
are the provider's numbering, not a person's. Valid in Python and ECMA-262 alike."""

PROVIDER_PATTERN = f"^(?!.*\\n)[a-z][a-z0-9_.-]{{0,{MAX_PROVIDER_LENGTH - 1}}}$"
"""A provider name: a lower-case ASCII letter, then up to 31 lower-case letters, digits,
``_ . -`` (``aliyun``, ``twilio``, ``sendgrid``, ``ses``, ``fcm``, ``apns``)."""

TEMPLATE_ID_RULE = (
    "must be an ASCII letter followed by up to 63 letters, digits, '_', '.', ':' or '-', "
    "with no run of more than 6 digits (or a provider template code: SMS_<digits>, "
    "HX<32 hex>, d-<32 hex>)"
)
PROVIDER_RULE = (
    "must be a lower-case ASCII letter followed by up to 31 lower-case letters, "
    "digits, '_', '.' or '-'"
)

_TEMPLATE_ID_CHARACTERS = frozenset(
    "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.:-"
)
_PROVIDER_CHARACTERS = frozenset("abcdefghijklmnopqrstuvwxyz0123456789_.-")
_PROVIDER_CODE = re.compile("|".join(_TEMPLATE_ID_PROVIDER_CODES))
_LONG_DIGIT_RUN = re.compile(f"[0-9]{{{MAX_TEMPLATE_ID_DIGIT_RUN + 1}}}")
_ASCII_LETTERS = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ")


def template_id_problem(value: str) -> str | None:
    """Why ``value`` is not a template id (:data:`TEMPLATE_ID_PATTERN`), or ``None``.

    The reason names no character of ``value``: a refused template id may hold the
    phone number it was refused for.
    """
    if _PROVIDER_CODE.fullmatch(value):
        return None
    if not value:
        return "must not be empty"
    if len(value) > MAX_TEMPLATE_ID_LENGTH:
        return f"must be at most {MAX_TEMPLATE_ID_LENGTH} characters"
    if value[0] not in _ASCII_LETTERS:
        return "must begin with an ASCII letter"
    if not _TEMPLATE_ID_CHARACTERS.issuperset(value):
        return "may contain only ASCII letters, digits, '_', '.', ':' and '-'"
    if _LONG_DIGIT_RUN.search(value):
        return (
            f"must not contain a run of more than {MAX_TEMPLATE_ID_DIGIT_RUN} digits "
            "(a phone or id number)"
        )
    return None


def provider_problem(value: str) -> str | None:
    """Why ``value`` is not a provider name (:data:`PROVIDER_PATTERN`), or ``None``.

    The reason names no character of ``value``.
    """
    if not value:
        return "must not be empty"
    if len(value) > MAX_PROVIDER_LENGTH:
        return f"must be at most {MAX_PROVIDER_LENGTH} characters"
    if value[0] not in _ASCII_LETTERS or not value[0].islower():
        return "must begin with a lower-case ASCII letter"
    if not _PROVIDER_CHARACTERS.issuperset(value):
        return "may contain only lower-case ASCII letters, digits, '_', '.' and '-'"
    return None
