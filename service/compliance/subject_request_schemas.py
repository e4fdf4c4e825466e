"""Wire formats of data-subject requests (``/compliance/subject-requests``)."""

from __future__ import annotations

from typing import Annotated

import msgspec

from compliance.subjects.requests import SubjectRequest
from policies.channels import Channel
from policies.identifiers import NO_NUL_PATTERN
from policies.subject_requests import MAX_REFERENCE_CHARS, RequestStatus, RequestType
from service.schemas import (
    Identifier,
    PageInfo,
    RecipientText,
    RequestBody,
    Timestamp,
    UtcDateTime,
    rfc3339,
)

ReferenceText = Annotated[
    str,
    msgspec.Meta(
        min_length=1,
        max_length=MAX_REFERENCE_CHARS,
        pattern=NO_NUL_PATTERN,
        description=(
            "the officer's case reference, stored as given and shown to officers; the "
            "audit trail and logs carry only its SHA-256"
        ),
        examples=["DSR-2026-0117"],
    ),
]


class SubjectRequestCreate(RequestBody, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """Body of ``POST /compliance/subject-requests``: the subject by exactly one of
    ``recipient`` (with ``channel``, or on every channel it is valid for) or ``user_id``."""

    type: RequestType
    reference: ReferenceText
    recipient: RecipientText | None = None
    channel: Channel | None = None
    user_id: Identifier | None = None
    due_at: UtcDateTime | None = None


class SubjectRecipient(msgspec.Struct, frozen=True, kw_only=True):
    """One channel a recipient is matched on, masked."""

    channel: Channel
    recipient: Annotated[str, msgspec.Meta(examples=["+8613******000"])]
    form: str | None = None
    """For a phone number, the stored form this entry matches: ``e164``,
    ``international_00``, ``national`` or ``national_trunk``."""


class SubjectRequestOutcome(msgspec.Struct, frozen=True, kw_only=True):
    """What was done so far. Erasure: ``matched`` = ``erased`` + ``already_erased`` +
    ``held``; ``held_by`` counts held records per covering hold; ``unconfirmed`` are
    blind-index candidates whose recipient decryption did not confirm. Access: how often
    the file was fetched, and the rows and SHA-256 of the last complete file."""

    matched: int | None = None
    erased: int | None = None
    already_erased: int | None = None
    held: int | None = None
    held_by: dict[str, int] | None = None
    unconfirmed: int | None = None
    matched_by_form: dict[str, int] | None = None
    erased_ids_sha256: str | None = None
    fetches: int | None = None
    rows: int | None = None
    sha256: str | None = None


class SubjectRequestResponse(msgspec.Struct, frozen=True, kw_only=True):
    id: Annotated[str, msgspec.Meta(examples=["dsr_3f2a9c1d7b4e5a6b7c8d9e0f"])]
    tenant_id: str
    type: RequestType
    status: RequestStatus
    overdue: bool
    reference: str
    user_id: str | None
    channel: Channel | None
    recipients: list[SubjectRecipient]
    due_at: Timestamp
    created_at: Timestamp
    created_by: str
    completed_at: Timestamp | None
    outcome: SubjectRequestOutcome
    audit_event_id: str | None

    @classmethod
    def of(cls, request: SubjectRequest, *, overdue: bool) -> SubjectRequestResponse:
        outcome = {
            name: request.outcome[name]
            for name in SubjectRequestOutcome.__struct_fields__
            if name in request.outcome
        }
        return cls(
            id=request.id,
            tenant_id=request.tenant_id,
            type=request.type,
            status=request.status,
            overdue=overdue,
            reference=request.reference,
            user_id=request.user_id,
            channel=request.channel,
            recipients=[
                SubjectRecipient(channel=m.channel, recipient=m.masked, form=m.form)
                for m in request.recipients
            ],
            due_at=rfc3339(request.due_at),
            created_at=rfc3339(request.created_at),
            created_by=request.created_by,
            completed_at=rfc3339(request.completed_at) if request.completed_at else None,
            outcome=msgspec.convert(outcome, SubjectRequestOutcome),
            audit_event_id=request.audit_event_id,
        )


class SubjectRequestEnvelope(msgspec.Struct, frozen=True, kw_only=True):
    code: int
    message: str
    timestamp: Timestamp
    data: SubjectRequestResponse


class SubjectRequestListResponse(msgspec.Struct, frozen=True, kw_only=True):
    code: int
    message: str
    timestamp: Timestamp
    items: list[SubjectRequestResponse]
    total: int
    pagination: PageInfo
