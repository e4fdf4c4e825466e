"""Wire formats: msgspec structs for every request and response body.

Field names and shapes follow the seed (``shared/seed``) exactly. Every optional field is
present with ``null`` rather than omitted, so clients can rely on the full shape.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

import msgspec

from policies.channels import Channel, DeliveryStatus
from policies.paging import PageInfo as PageWindow
from policies.records import SendRecord

UtcDateTime = Annotated[datetime, msgspec.Meta(tz=True)]
ShortText = Annotated[str, msgspec.Meta(min_length=1, max_length=128)]
# Every time a response carries: RFC 3339 in UTC with a ``Z`` (see :func:`rfc3339`).
Timestamp = Annotated[
    str, msgspec.Meta(extra_json_schema={"format": "date-time"}, examples=["2026-04-15T10:00:00Z"])
]


def _example(value: str) -> msgspec.Meta:
    return msgspec.Meta(examples=[value])


MAX_CONTENT_CHARS = 65_536
MAX_PROVIDER_TEXT_CHARS = 16_384


def rfc3339(moment: datetime) -> str:
    """RFC 3339 in UTC with a ``Z`` suffix; fractions only when the instant has them."""
    utc = moment.astimezone(UTC)
    spec = "seconds" if utc.microsecond == 0 else "microseconds"
    return utc.replace(tzinfo=None).isoformat(timespec=spec) + "Z"


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


class RecordSendRequest(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """Body of ``POST /communication/logs``: a sending service records one send."""

    user_id: ShortText
    channel: Channel
    recipient: Annotated[str, msgspec.Meta(min_length=1, max_length=4096)]
    content: Annotated[str, msgspec.Meta(max_length=MAX_CONTENT_CHARS)]
    template_id: ShortText | None = None
    provider: ShortText | None = None
    status: DeliveryStatus = DeliveryStatus.PENDING
    created_at: UtcDateTime | None = None


class StatusUpdateRequest(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """Body of ``POST /communication/logs/{id}/status``: a delivery outcome arrives."""

    status: DeliveryStatus
    error: Annotated[str, msgspec.Meta(max_length=MAX_PROVIDER_TEXT_CHARS)] | None = None
    response: Annotated[str, msgspec.Meta(max_length=MAX_PROVIDER_TEXT_CHARS)] | None = None
    at: UtcDateTime | None = None


class LegalHoldRequest(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """Body of ``POST /compliance/legal-holds``. No scope field: the whole tenant."""

    reason: Annotated[str, msgspec.Meta(min_length=1, max_length=2000)]
    user_id: ShortText | None = None
    channel: Channel | None = None
    recipient: Annotated[str, msgspec.Meta(min_length=1, max_length=4096)] | None = None
    expires_at: UtcDateTime | None = None


class LegalHoldResponse(msgspec.Struct, frozen=True, kw_only=True):
    id: Annotated[str, _example("hold_3f2a9c1d7b4e")]
    tenant_id: Annotated[str, _example("tnt_xyz789")]
    user_id: Annotated[str, _example("usr_abc123")] | None
    channel: Channel | None
    recipient: Annotated[str, _example("138****8000")] | None
    reason: Annotated[str, _example("litigation 2026-117")]
    created_by: Annotated[str, _example("usr_officer")]
    created_at: Timestamp
    expires_at: Timestamp | None
    released_at: Timestamp | None
    released_by: str | None
    active: bool


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
