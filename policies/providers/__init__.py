"""Provider errors and responses, reduced to what a send log needs before they are stored.

``reduce_provider_text`` is applied when an outcome is recorded (what it drops is never
stored) and again in ``policies.disclosure.disclose`` for every row shown (rows stored
before reduction existed are reduced on the way out). One parser per provider format,
each with its allow-list in its module's docstring (``aliyun``, ``twilio``, ``sendgrid``,
``ses``, ``push``); ``docs/compliance/providers.md`` gives the rules and their reasons:
data minimisation (GDPR Art. 5(1)(c)), data protection by default (GDPR Art. 25(2)),
de-identification (PIPL Art. 51).

The result is either the compact JSON of a :class:`ProviderOutcome` (for a payload a
parser recognised) or, for anything else, the text masked by ``mask_content``, scrubbed
of device tokens and capped at :data:`FREE_TEXT_CAP` characters with an explicit marker.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl

import msgspec

from policies.providers import aliyun, push, sendgrid, ses, twilio
from policies.providers.outcome import (
    FREE_TEXT_CAP,
    MAX_MARKER_CHARS,
    MAX_REDUCED_CHARS,
    ProviderOutcome,
    capped_free_text,
    decoded,
    encoded,
    normalized,
)

__all__ = [
    "FREE_TEXT_CAP",
    "MAX_MARKER_CHARS",
    "MAX_REDUCED_CHARS",
    "PARSERS",
    "ProviderOutcome",
    "ProviderParser",
    "parser_named",
    "reduce_provider_text",
    "reduced_or_none",
]


@dataclass(frozen=True, slots=True)
class ProviderParser:
    """One provider format: its canonical name, the names a record may give it, and a
    function that returns the allow-listed fields of a document (None if not its shape).
    ``parse_named`` is used instead of ``parse`` when the record names this provider."""

    name: str
    aliases: frozenset[str]
    parse: Callable[[Any], ProviderOutcome | None]
    parse_named: Callable[[Any], ProviderOutcome | None] | None = None


PARSERS: tuple[ProviderParser, ...] = (
    # Shape detection tries them in this order; their shapes do not overlap.
    ProviderParser(ses.NAME, ses.ALIASES, ses.parse),
    ProviderParser(sendgrid.NAME, sendgrid.ALIASES, sendgrid.parse),
    ProviderParser(aliyun.NAME, aliyun.ALIASES, aliyun.parse),
    ProviderParser(twilio.NAME, twilio.ALIASES, twilio.parse),
    ProviderParser(push.FCM, push.FCM_ALIASES, push.parse_fcm),
    ProviderParser(
        push.APNS,
        push.APNS_ALIASES,
        push.parse_apns,
        lambda document: push.parse_apns(document, named=True),
    ),
)

_MAX_FORM_FIELDS = 100


def parser_named(provider: str | None) -> ProviderParser | None:
    """The parser a record's ``provider`` names (case-insensitive, ``_`` or space for
    ``-``), or None when it names none of them."""
    if provider is None:
        return None
    wanted = "-".join(provider.strip().lower().replace("_", " ").split())
    for parser in PARSERS:
        if wanted in parser.aliases:
            return parser
    return None


def reduce_provider_text(text: str, provider: str | None) -> str:
    """What may be stored and shown of a provider's error or response ``text``.

    - A reduced text (the JSON of a :class:`ProviderOutcome` naming a known provider) is
      checked field by field and returned in canonical form, so reducing is idempotent.
    - A payload of the provider the record names, or else of the first provider whose
      shape it has, keeps only that provider's allow-listed fields (compact JSON).
    - Anything else is free text: masked (``mask_content``), scrubbed of tokens and cut
      to :data:`FREE_TEXT_CAP` characters, with a marker saying how many were dropped.

    Kept free text (error messages, SMTP responses) is masked the same way. Pure, total
    (never raises) and idempotent. GDPR Art. 5(1)(c), Art. 25(2); PIPL Art. 51.
    """
    outcome = _outcome(text, provider)
    if outcome is not None:
        kept = normalized(outcome)
        if kept is not None and kept.provider is not None:
            return encoded(kept)
    return capped_free_text(text)


def reduced_or_none(text: str | None, provider: str | None) -> str | None:
    """:func:`reduce_provider_text`, with ``None`` (nothing reported) staying ``None``."""
    return None if text is None else reduce_provider_text(text, provider)


def _outcome(text: str, provider: str | None) -> ProviderOutcome | None:
    stripped = text.strip()
    already = decoded(stripped)
    if already is not None:
        return already
    document = _document(stripped)
    if document is None:
        return None
    if isinstance(document, dict) and all(isinstance(v, str) for v in document.values()):
        form = twilio.parse_form(document)
        if form is not None:
            return form
    named = parser_named(provider)
    if named is not None:
        found = (named.parse_named or named.parse)(document)
        if found is not None:
            return found
    for parser in PARSERS:
        if parser is not named:
            found = parser.parse(document)
            if found is not None:
                return found
    return None


def _document(text: str) -> Any:
    """``text`` decoded as JSON, or as a form (Twilio's callbacks); None if neither."""
    if text[:1] in ("{", "["):
        try:
            return msgspec.json.decode(text)
        except (msgspec.DecodeError, RecursionError):
            return None
    if "=" not in text or any(char.isspace() for char in text):
        return None
    try:
        pairs = parse_qsl(
            text, keep_blank_values=True, strict_parsing=True, max_num_fields=_MAX_FORM_FIELDS
        )
    except ValueError:
        return None
    return dict(pairs)
