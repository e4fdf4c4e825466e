"""The one shape a provider's error or response is stored and shown in.

A provider returns far more than a send log needs: the recipient again, the message body,
mail headers with the subject line, IP addresses, device tokens, links the recipient
clicked. Data minimisation (GDPR Art. 5(1)(c)) and data protection by default (GDPR
Art. 25(2)) ask that only what the purpose needs is kept. The purpose here is to tell
what happened to a send: the provider's status, error code and its message, the
provider's ids for the message, the times, the number of segments. Everything a parser
(one per provider, next to its allow-list) keeps is one of the fields of
:class:`ProviderOutcome`; what is not a field cannot be stored.

Every value is checked on the way in, whoever built the outcome (a parser, or a client
that posted an already reduced text): labels and codes by their syntax, times re-written
in one form, free text masked (``mask_content``), scrubbed of device tokens and capped.
So reducing a reduced text gives it back unchanged.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta, timezone
from email.utils import parsedate_to_datetime
from typing import Any

import msgspec

from policies.instants import accepted_instant
from policies.masking import mask_content

FREE_TEXT_CAP = 1_024
"""The most characters of an unparseable provider text that are kept (after masking)."""
FIELD_TEXT_CAP = 512
"""The most characters of one free-text field (an error message, an SMTP response)."""
MAX_ITEMS = 50
"""The most per-event or per-recipient items kept of one payload; the rest are counted."""
MAX_REDUCED_CHARS = 6_144
"""The most characters of a reduced payload: items are dropped (and counted) past it."""
MAX_MARKER_CHARS = 48
"""The longest truncation marker :func:`capped_free_text` appends."""

TOKEN_MARK = "[token]"  # noqa: S105 - a placeholder, not a secret
"""What a device token, JWT or other long opaque key inside a provider's text becomes."""

# A run of 32 or more characters of the alphabets tokens are written in (base64url, hex,
# FCM's "instance:APA91…" form) that mixes letters and digits. Such a run in an error
# message is a device token, a session or magic-link key, or a JWT segment; none is needed
# to understand the error.
_TOKEN = re.compile(r"[A-Za-z0-9_\-:+/=]{32,}")
_UUID = re.compile(r"[0-9A-Fa-f]{8}(?:-[0-9A-Fa-f]{4}){3}-[0-9A-Fa-f]{12}")
_MARKER = re.compile(r"\N{HORIZONTAL ELLIPSIS}\[(\d{1,9}) more characters dropped\]\Z")
# Labels name a state or a class (``delivered``, ``Permanent``, ``Invalid Address``): letters
# with single spaces, dots, hyphens and underscores; no digits, so no number hides in one.
_LABEL = re.compile(r"[A-Za-z](?:[ ._\-]?[A-Za-z])*")
# Codes: ``30007``, ``5.1.1``, ``isv.BUSINESS_LIMIT_CONTROL``, ``MK:0001``, ``BadDeviceToken``.
_CODE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:\-]{0,63}")
# Provider ids: printable ASCII without spaces, double quotes, '@' (no address can be one),
# angle brackets or backslashes; they start with a letter or digit.
_IDENTIFIER = re.compile(r"[A-Za-z0-9][!#-;=?A-\[\]-~]{0,255}")
# A run of seven or more digits inside a code, or an id made of 7 to 15 digits only, could
# be a phone number echoed back: such values are dropped, not stored.
_UUID_SHAPE = r"[0-9A-Fa-f]{8}(?:-[0-9A-Fa-f]{4}){3}-[0-9A-Fa-f]{12}"
_FCM_MESSAGE = r"\d{1,3}:\d{10,20}(?:%[0-9A-Fa-f]{8,32})?|\d{1,20}"
ID_SHAPES: dict[str, re.Pattern[str]] = {
    # BizId ``9006197469364984^0``; RequestId a UUID.
    "aliyun": re.compile(rf"\d{{6,24}}\^\d{{1,12}}|{_UUID_SHAPE}"),
    # Message SIDs: ``SM`` or ``MM`` and 32 hex digits.
    "twilio": re.compile(r"(?:SM|MM)[0-9A-Fa-f]{32}"),
    # sg_message_id ``LRzXl66sQk2HF0ZH9OMyLQ.filter0001.16648.5515E0B88.0``; sg_event_id
    # base64url. The first part is long and random: an echoed number is not.
    "sendgrid": re.compile(
        r"(?=[^.]*[A-Za-z])[A-Za-z0-9_\-=]{8,128}(?:\.[A-Za-z0-9_\-]{1,40}){0,8}"
    ),
    # SES message and feedback ids ``010201…-…-000000``; SNS MessageId a UUID.
    "ses": re.compile(
        rf"[0-9a-f]{{16}}-[0-9a-f]{{8}}(?:-[0-9a-f]{{4}}){{3}}-[0-9a-f]{{12}}-\d{{6}}|{_UUID_SHAPE}"
    ),
    # HTTP v1 ``projects/<id>/messages/0:1500415314455276%31bd1c9631bd1c96``; legacy ids.
    "fcm": re.compile(
        rf"projects/[a-z][a-z0-9\-]{{1,62}}/messages/(?:{_FCM_MESSAGE})|{_FCM_MESSAGE}"
    ),
    # apns-id: a UUID.
    "apns": re.compile(_UUID_SHAPE),
}
"""The shape of every id each provider writes. An id of another shape (a phone number
with separators, an IP address, a device token, an address in a forged payload) is
dropped: an allow-list of fields is only as good as the values it lets through."""
_LONG_DIGIT_RUN = re.compile(r"\d{7,}")
_PHONE_SHAPED = re.compile(r"\d{7,15}")
_MAX_COUNT = 10**12
_CHINA_STANDARD_TIME_SECONDS = 8 * 3600

KNOWN_PROVIDERS = ("aliyun", "twilio", "sendgrid", "ses", "fcm", "apns")


class ProviderOutcome(
    msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True, forbid_unknown_fields=True
):
    """What is kept of a provider's error or response; every field is optional.

    The top level names the ``provider``; payloads that report several events or
    recipients (SendGrid batches, Aliyun receipts, SES bounces, FCM multicasts) keep one
    item each in ``items`` (items carry neither ``provider`` nor ``items``).
    ``error_message`` and ``diagnostic`` are the only free text: masked, capped.
    """

    provider: str | None = None
    kind: str | None = None
    """Which document or event this is: ``message``, ``status``, ``error``, ``Bounce``…"""
    status: str | None = None
    error_code: str | None = None
    error_message: str | None = None
    diagnostic: str | None = None
    """An SMTP response or diagnostic code (free text)."""
    category: str | None = None
    subcategory: str | None = None
    message_id: str | None = None
    request_id: str | None = None
    event_id: str | None = None
    http_status: int | None = None
    segments: int | None = None
    succeeded: int | None = None
    failed: int | None = None
    canonical_ids: int | None = None
    processing_ms: int | None = None
    created_at: str | None = None
    sent_at: str | None = None
    at: str | None = None
    items: list[ProviderOutcome] | None = None
    items_dropped: int | None = None


_ENCODER = msgspec.json.Encoder()
_DECODER = msgspec.json.Decoder(ProviderOutcome)


def label(value: object) -> str | None:
    """``value`` if it is a label (letters, single separators, at most 64), else None."""
    if isinstance(value, str) and len(value) <= 64 and _LABEL.fullmatch(value):
        return value
    return None


def code(value: object) -> str | None:
    """``value`` as a code (an int becomes its digits); None if it is not shaped like one."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        value = str(value)
    if isinstance(value, str) and _CODE.fullmatch(value) and not _LONG_DIGIT_RUN.search(value):
        return value
    return None


def identifier(value: object, provider: str | None = None) -> str | None:
    """``value`` as a provider id (an int becomes its digits); None if not shaped like one.

    With ``provider``, the id must also have that provider's shape (:data:`ID_SHAPES`)."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        value = str(value)
    if (
        isinstance(value, str)
        and _IDENTIFIER.fullmatch(value)
        and not _PHONE_SHAPED.fullmatch(value)
    ):
        shape = ID_SHAPES.get(provider) if provider is not None else None
        if provider is not None and (shape is None or not shape.fullmatch(value)):
            return None
        return value
    return None


def count(value: object) -> int | None:
    """A non-negative count (digits in a string count too, as Twilio writes them)."""
    if isinstance(value, str) and value.isascii() and value.isdigit() and len(value) <= 12:
        value = int(value)
    if isinstance(value, int) and not isinstance(value, bool) and 0 <= value < _MAX_COUNT:
        return value
    return None


def instant(value: object, *, unix_unit: int = 1, naive_offset_seconds: int = 0) -> str | None:
    """A time as ``YYYY-MM-DDTHH:MM:SS[.mmm]Z`` (UTC), or None if it is not one.

    Accepts ISO 8601 (SES), RFC 2822 (Twilio), Unix times (``unix_unit`` 1 for seconds,
    1000 for milliseconds) and ``YYYY-MM-DD HH:MM:SS`` without an offset, which is read
    at ``naive_offset_seconds`` east of UTC (Aliyun writes China Standard Time).
    """
    moment: datetime | None = None
    try:
        if isinstance(value, int | float) and not isinstance(value, bool):
            moment = datetime.fromtimestamp(value / unix_unit, UTC)
        elif isinstance(value, str) and 0 < len(value) <= 64:
            moment = _parse_time_text(value.strip(), naive_offset_seconds)
    except (ValueError, OverflowError, OSError, TypeError):
        return None
    if moment is None:
        return None
    accepted = accepted_instant(moment)
    if accepted is None:
        return None
    millis = accepted.microsecond // 1000
    text = accepted.replace(microsecond=millis * 1000).isoformat(
        timespec="milliseconds" if millis else "seconds"
    )
    return text.replace("+00:00", "Z")


def _parse_time_text(text: str, naive_offset_seconds: int) -> datetime | None:
    if text[:1].isdigit() and "-" in text[:10]:
        moment = datetime.fromisoformat(text)
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=timezone(timedelta(seconds=naive_offset_seconds)))
        return moment
    if text[:1].isalpha():  # "Thu, 30 Jul 2015 20:12:33 +0000"
        moment = parsedate_to_datetime(text)
        # email.utils reads years below 1000 as two-digit years (0001 → 2001): a time
        # whose year is not written as it was parsed is dropped, not moved by centuries.
        if f" {moment.year:04d} " not in f" {text} ":
            return None
        return moment
    return None


def china_time(value: object) -> str | None:
    """An Aliyun time (``2019-01-08 16:44:10``, China Standard Time) in UTC."""
    return instant(value, naive_offset_seconds=_CHINA_STANDARD_TIME_SECONDS)


def _scrubbed(text: str) -> str:
    return _TOKEN.sub(_token_mark, text)


def _token_mark(match: re.Match[str]) -> str:
    # A token mixes letters and digits; a long word of letters only is kept.
    run = match.group()
    if _UUID.fullmatch(run):  # a request or message id, not a credential
        return run
    if any(char.isdigit() for char in run) and any(char.isalpha() for char in run):
        return TOKEN_MARK
    return run


def _masked(text: str) -> str:
    """``mask_content`` and the token scrub, repeated until neither changes anything."""
    for _ in range(4):
        # Scrub first: masking turns a token's digit runs into '*' and would split it.
        masked = _scrubbed(mask_content(_scrubbed(text)) or "")
        if masked == text:
            return text
        text = masked
    return text


def marker(dropped: int) -> str:
    """The explicit end of a text that was cut: says how many characters were dropped."""
    return f"\N{HORIZONTAL ELLIPSIS}[{dropped} more characters dropped]"


def capped_free_text(text: str, cap: int = FREE_TEXT_CAP) -> str:
    """``text`` masked (``mask_content`` plus the token scrub) and cut to ``cap`` characters.

    A cut is never silent: the result ends in :func:`marker` with the number of masked
    characters dropped. The marker of an earlier cut is carried over (its count added to),
    so capping a capped text returns it unchanged. Never raises.
    """
    dropped = 0
    found = _MARKER.search(text)
    if found is not None:
        dropped = int(found.group(1))
        text = text[: found.start()]
    text = _masked(text)
    for _ in range(8):
        if len(text) <= cap:
            break
        dropped += len(text) - cap
        text = _masked(text[:cap])
    else:  # pragma: no cover - masking a cut text kept growing past the cap
        dropped += len(text)
        text = ""
    if dropped == 0:
        return text
    if dropped >= 10**9:
        dropped = 10**9 - 1
    return text + marker(dropped)


def _free_field(value: object) -> str | None:
    if not isinstance(value, str) or not value.strip():
        return None
    return capped_free_text(value, FIELD_TEXT_CAP)


def normalized(
    outcome: ProviderOutcome, *, top: bool = True, of: str | None = None
) -> ProviderOutcome | None:
    """``outcome`` with every value checked as its field asks; None if nothing is left.

    A value of the wrong shape is dropped, not kept as it came; ids must have the shape
    of the provider the outcome names (``of``: the provider of the enclosing outcome,
    for its items). An id without a known provider is dropped.
    """
    provider = outcome.provider if top and outcome.provider in KNOWN_PROVIDERS else None
    owner = provider if top else of
    items: list[ProviderOutcome] | None = None
    items_dropped = count(outcome.items_dropped) if top else None
    if top and outcome.items:
        kept = [
            n for n in (normalized(i, top=False, of=owner) for i in outcome.items[:MAX_ITEMS]) if n
        ]
        extra = max(len(outcome.items) - MAX_ITEMS, 0)
        if extra:
            items_dropped = (items_dropped or 0) + extra
        items = kept or None
    result = ProviderOutcome(
        provider=provider,
        kind=label(outcome.kind),
        status=label(outcome.status),
        error_code=code(outcome.error_code),
        error_message=_free_field(outcome.error_message),
        diagnostic=_free_field(outcome.diagnostic),
        category=label(outcome.category),
        subcategory=label(outcome.subcategory),
        message_id=identifier(outcome.message_id, owner or ""),
        request_id=identifier(outcome.request_id, owner or ""),
        event_id=identifier(outcome.event_id, owner or ""),
        http_status=count(outcome.http_status),
        segments=count(outcome.segments),
        succeeded=count(outcome.succeeded),
        failed=count(outcome.failed),
        canonical_ids=count(outcome.canonical_ids),
        processing_ms=count(outcome.processing_ms),
        created_at=_canonical_instant(outcome.created_at),
        sent_at=_canonical_instant(outcome.sent_at),
        at=_canonical_instant(outcome.at),
        items=items,
        items_dropped=items_dropped or None,
    )
    if result == ProviderOutcome():
        return None
    return result


def _canonical_instant(value: object) -> str | None:
    if isinstance(value, str) and value.endswith("Z"):
        return instant(value)
    return None


def encoded(outcome: ProviderOutcome) -> str:
    """The compact JSON of ``outcome``; items past :data:`MAX_REDUCED_CHARS` are dropped
    from the end and counted in ``items_dropped``."""
    text = _ENCODER.encode(outcome).decode()
    while len(text) > MAX_REDUCED_CHARS and outcome.items:
        items = outcome.items[:-1]
        outcome = msgspec.structs.replace(
            outcome,
            items=items or None,
            items_dropped=(outcome.items_dropped or 0) + 1,
        )
        text = _ENCODER.encode(outcome).decode()
    return text


def decoded(text: str) -> ProviderOutcome | None:
    """``text`` read as a reduced payload (one naming a known provider), else None."""
    if not text.startswith("{"):
        return None
    try:
        outcome = _DECODER.decode(text)
    except (msgspec.DecodeError, msgspec.ValidationError, RecursionError):
        return None
    if outcome.provider not in KNOWN_PROVIDERS:
        return None
    return outcome


def first(document: dict[str, Any], *names: str) -> Any:
    """The value of the first of ``names`` that ``document`` holds, else None."""
    for name in names:
        if name in document:
            return document[name]
    return None
