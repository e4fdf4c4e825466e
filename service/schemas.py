"""Wire formats: msgspec structs for every request and response body.

Field names and shapes follow the seed (``shared/seed``) exactly. Every optional field is
present with ``null`` rather than omitted, so clients can rely on the full shape.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

import msgspec
from litestar.params import PathParameter

from policies.channels import Channel, DeliveryStatus
from policies.holds import HoldScope
from policies.identifiers import (
    IDENTIFIER_PATTERN,
    MAX_IDENTIFIER_LENGTH,
    MAX_PROVIDER_LENGTH,
    MAX_TEMPLATE_ID_LENGTH,
    NO_NUL_PATTERN,
    PROVIDER_PATTERN,
    TEMPLATE_ID_PATTERN,
)
from policies.instants import RANGE_TEXT
from policies.instants import rfc3339 as rfc3339  # used by other schemas modules
from policies.paging import PageInfo as PageWindow
from policies.records import LOG_FIELDS, SendRecord
from policies.templates import MAX_PARAMETER_VALUE_CHARS, MAX_PARAMETERS
from policies.text_limits import CONTENT_CEILING_CHARS, PROVIDER_TEXT_CEILING_CHARS

# The wire accepts up to the ceilings; the configured limits (Settings.text_limits) are
# checked by the service, with a message naming the field and the limit.
MAX_CONTENT_CHARS = CONTENT_CEILING_CHARS
MAX_PROVIDER_TEXT_CHARS = PROVIDER_TEXT_CEILING_CHARS
TEXT_LIMIT_KEY = "x-commlog-text-limit"
"""Marks a free-text field whose documented ``maxLength`` is the configured limit
(``service.openapi`` writes it in), not the ceiling the decoder enforces."""
UtcDateTime = Annotated[
    datetime,
    msgspec.Meta(
        tz=True,
        description=f"RFC 3339 with a UTC offset; its instant {RANGE_TEXT} (else 400)",
    ),
]
Identifier = Annotated[
    str,
    msgspec.Meta(min_length=1, max_length=MAX_IDENTIFIER_LENGTH, pattern=IDENTIFIER_PATTERN),
]
"""An id chosen by a client (``policies.identifiers``): no control characters, no blank."""
TemplateId = Annotated[
    str,
    msgspec.Meta(
        min_length=1,
        max_length=MAX_TEMPLATE_ID_LENGTH,
        pattern=TEMPLATE_ID_PATTERN,
        description=(
            "an ASCII letter, then letters, digits, '_', '.', ':', '-' (at most 64), no run "
            "of more than 6 digits; or a provider template code (SMS_<digits>, HX<32 hex>, "
            "d-<32 hex>)"
        ),
        examples=["tpl_login_code"],
    ),
]
"""A template id (``policies.identifiers.TEMPLATE_ID_PATTERN``): never a phone number."""
TemplatePathId = Annotated[
    str,
    PathParameter(
        max_length=MAX_TEMPLATE_ID_LENGTH,
        pattern=TEMPLATE_ID_PATTERN,
        description="The template id: the same rule as a send's `template_id`.",
    ),
]
"""A template id in a path: registering or reading a template follows the rule a send's
``template_id`` follows (``otp-13812348000-zhangwei`` is 400 here too)."""
ProviderName = Annotated[
    str,
    msgspec.Meta(
        min_length=1,
        max_length=MAX_PROVIDER_LENGTH,
        pattern=PROVIDER_PATTERN,
        description="a lower-case ASCII letter, then lower-case letters, digits, '_', '.', '-'",
        examples=["aliyun"],
    ),
]
"""A provider name (``policies.identifiers.PROVIDER_PATTERN``)."""
PathId = Annotated[str, PathParameter(max_length=MAX_IDENTIFIER_LENGTH, pattern=IDENTIFIER_PATTERN)]
"""A record or hold id in a path: an identifier too (``log_%00x`` is 400, not a 500)."""
# Free text never holds NUL (``policies.identifiers``).
RecipientText = Annotated[str, msgspec.Meta(min_length=1, max_length=4096, pattern=NO_NUL_PATTERN)]
ContentText = Annotated[
    str,
    msgspec.Meta(
        max_length=MAX_CONTENT_CHARS,
        pattern=NO_NUL_PATTERN,
        extra_json_schema={TEXT_LIMIT_KEY: True},
    ),
]
ProviderText = Annotated[
    str,
    msgspec.Meta(
        max_length=MAX_PROVIDER_TEXT_CHARS,
        pattern=NO_NUL_PATTERN,
        extra_json_schema={TEXT_LIMIT_KEY: True},
    ),
]
TemplateParams = Annotated[
    dict[
        Annotated[str, msgspec.Meta(max_length=64)],
        Annotated[str, msgspec.Meta(max_length=MAX_PARAMETER_VALUE_CHARS, pattern=NO_NUL_PATTERN)],
    ],
    msgspec.Meta(
        max_length=MAX_PARAMETERS,
        description=(
            "The values of a registered template's parameters, by name (instead of "
            "`content`, with `template_id`). Exactly the template's parameters (at most "
            f"{MAX_PARAMETERS}, each value at most {MAX_PARAMETER_VALUE_CHARS} characters "
            "without NUL); `secret` values are never stored."
        ),
        examples=[{"name": "王芳", "code": "482913", "minutes": "5"}],
    ),
]
ReasonText = Annotated[str, msgspec.Meta(min_length=1, max_length=2000, pattern=NO_NUL_PATTERN)]
# Every time a response carries: RFC 3339 in UTC with a ``Z`` (see :func:`rfc3339`).
Timestamp = Annotated[
    str, msgspec.Meta(extra_json_schema={"format": "date-time"}, examples=["2026-04-15T10:00:00Z"])
]


def _example(value: str) -> msgspec.Meta:
    return msgspec.Meta(examples=[value])


def utc_timestamp() -> str:
    return rfc3339(datetime.now(UTC))


class SimpleResponse(msgspec.Struct, frozen=True, kw_only=True):
    """The seed's ``dto.SimpleResponse``: every error, and plain acknowledgements."""

    code: int
    message: str
    timestamp: Timestamp


class PageInfo(msgspec.Struct, frozen=True, kw_only=True):
    """The seed's ``dto.PageInfo``."""

    page: int
    page_size: int
    total: int
    total_pages: int
    has_next: bool
    has_prev: bool

    @classmethod
    def of(cls, window: PageWindow) -> PageInfo:
        return cls(
            page=window.page,
            page_size=window.page_size,
            total=window.total,
            total_pages=window.total_pages,
            has_next=window.has_next,
            has_prev=window.has_prev,
        )


class CommunicationLogResponse(msgspec.Struct, frozen=True, kw_only=True):
    """The seed's ``dto.CommunicationLogResponse``: one send record, already masked."""

    id: Annotated[str, _example("log_abc123")]
    tenant_id: Annotated[str, _example("tnt_xyz789")]
    user_id: Annotated[str, _example("usr_abc123")]
    channel: Channel
    provider: Annotated[str, _example("aliyun")] | None
    template_id: Annotated[str, _example("tpl_abc123")] | None
    recipient: Annotated[str, _example("138****8000")] | None
    content: Annotated[str, _example("您的验证码是******")] | None
    status: DeliveryStatus
    error: Annotated[str, _example("发送超时")] | None
    response: Annotated[str, _example('{"Code":"OK","BizId":"9006197469364984^0"}')] | None
    created_at: Timestamp
    sent_at: (
        Annotated[
            str,
            msgspec.Meta(
                extra_json_schema={"format": "date-time"}, examples=["2026-04-15T10:01:00Z"]
            ),
        ]
        | None
    )
    updated_at: Timestamp

    @classmethod
    def of(cls, record: SendRecord) -> CommunicationLogResponse:
        """Shape a record that has already passed :func:`policies.disclosure.disclose`."""
        return cls(
            id=record.id,
            tenant_id=record.tenant_id,
            user_id=record.user_id,
            channel=record.channel,
            provider=record.provider,
            template_id=record.template_id,
            recipient=record.recipient,
            content=record.content,
            status=record.status,
            error=record.error,
            response=record.response,
            created_at=rfc3339(record.created_at),
            sent_at=rfc3339(record.sent_at) if record.sent_at else None,
            updated_at=rfc3339(record.updated_at),
        )


# One definition of the fields an item shows: exports write the same names in the same order.
if CommunicationLogResponse.__struct_fields__ != LOG_FIELDS:  # pragma: no cover
    raise RuntimeError("CommunicationLogResponse and policies.records.LOG_FIELDS differ")


class CommunicationLogListResponse(msgspec.Struct, frozen=True, kw_only=True):
    """The seed's ``dto.CommunicationLogListResponse``."""

    code: int
    message: str
    timestamp: Timestamp
    items: list[CommunicationLogResponse]
    total: int
    pagination: PageInfo


class CommunicationLogEnvelope(msgspec.Struct, frozen=True, kw_only=True):
    """``{code, message, timestamp, data}`` for one record (ingest and status updates)."""

    code: int
    message: str
    timestamp: Timestamp
    data: CommunicationLogResponse


class RequestBody(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """Base of every request body: decoded strictly by :mod:`service.bodies`, never by
    Litestar's lenient JSON path (no ints for times, no duplicate keys, no unknown keys)."""


class RecordSendRequest(RequestBody, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """Body of ``POST /communication/logs``: a sending service records one send, with
    its ``content`` as free text, or with ``template_id`` and ``template_params`` (the
    service renders it from the registered template; exactly one of the two)."""

    user_id: Identifier
    channel: Channel
    recipient: RecipientText
    content: ContentText | None = None
    template_params: TemplateParams | None = None
    template_id: TemplateId | None = None
    provider: ProviderName | None = None
    status: DeliveryStatus = DeliveryStatus.PENDING
    created_at: UtcDateTime | None = None


class StatusUpdateRequest(RequestBody, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """Body of ``POST /communication/logs/{id}/status``: a delivery outcome arrives."""

    status: DeliveryStatus
    error: ProviderText | None = None
    response: ProviderText | None = None
    at: UtcDateTime | None = None


class LegalHoldRequest(RequestBody, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """Body of ``POST /compliance/legal-holds`` (rules in ``policies.holds``): an explicit
    ``scope``; ``expires_at`` or ``review_by`` (or both) within the configured maximum."""

    reason: ReasonText
    scope: HoldScope
    user_id: Identifier | None = None
    channel: Channel | None = None
    recipient: RecipientText | None = None
    expires_at: UtcDateTime | None = None
    review_by: UtcDateTime | None = None
    created_before: UtcDateTime | None = None
    keep_short_lived_content: bool = False


class LegalHoldChangeRequest(RequestBody, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """Body of ``PATCH /compliance/legal-holds/{id}``: only the fields given change; ``null``
    clears a date (one of the two must remain)."""

    expires_at: UtcDateTime | msgspec.UnsetType | None = msgspec.UNSET
    review_by: UtcDateTime | msgspec.UnsetType | None = msgspec.UNSET
    reason: ReasonText | msgspec.UnsetType = msgspec.UNSET


class LegalHoldResponse(msgspec.Struct, frozen=True, kw_only=True):
    id: Annotated[str, _example("hold_3f2a9c1d7b4e")]
    tenant_id: Annotated[str, _example("tnt_xyz789")]
    scope: HoldScope
    user_id: Annotated[str, _example("usr_abc123")] | None
    channel: Channel | None
    recipient: Annotated[str, _example("138****8000")] | None
    reason: Annotated[str, _example("litigation 2026-117")]
    created_by: Annotated[str, _example("usr_officer")]
    created_at: Timestamp
    expires_at: Timestamp | None
    review_by: Timestamp | None
    created_before: Timestamp | None
    keep_short_lived_content: bool
    changed_at: Timestamp | None
    changed_by: str | None
    released_at: Timestamp | None
    released_by: str | None
    active: bool
    due_for_review: bool
    other_forms_found: int | None = None
    """Only when placing an SMS recipient hold: how many of the tenant's records carry the
    blind index of a national form of the number (no country code, so possibly another
    country's number). The hold keeps every form with the country code (E.164, ``00``…)
    from the retention job, not these; a subject erasure honours it for every form."""


class LegalHoldEnvelope(msgspec.Struct, frozen=True, kw_only=True):
    code: int
    message: str
    timestamp: Timestamp
    data: LegalHoldResponse


class LegalHoldListResponse(msgspec.Struct, frozen=True, kw_only=True):
    code: int
    message: str
    timestamp: Timestamp
    items: list[LegalHoldResponse]
    total: int


class DestroyedKey(msgspec.Struct, frozen=True, kw_only=True):
    purpose: str
    epoch: str
    held_records_moved: int


class RetentionRunResponse(msgspec.Struct, frozen=True, kw_only=True):
    """One retention run as a compliance officer of one tenant sees it."""

    id: str
    started_at: Timestamp
    finished_at: Timestamp | None
    status: str
    dry_run: bool
    as_of: Timestamp
    policy_digest: str
    counts: dict[str, int]
    keys_destroyed: list[DestroyedKey]
    error: str | None


class RetentionRunListResponse(msgspec.Struct, frozen=True, kw_only=True):
    code: int
    message: str
    timestamp: Timestamp
    items: list[RetentionRunResponse]
    total: int
    pagination: PageInfo
