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
