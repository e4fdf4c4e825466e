"""Recording data-subject requests, and reading them back.

A request names its subject by recipient or by user id (account closure), never both.
A recipient is normalised as on ingest, on the channel given or on every channel it is a
valid recipient for, and kept only as its keyed digest and masked form per channel. A
phone number must carry its country code (``+`` or ``00``): ingest stores numbers in the
form given, so the request matches every form the number may be stored in (E.164, ``00``
and country code, national digits with and without the trunk prefix), one digest per form
(:func:`policies.recipients.phone_forms`); the
officer's case reference is kept as given, and only its SHA-256 goes into the audit trail.
Recording a request appends ``subject_request.created`` in the same transaction.
"""

from __future__ import annotations

import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import msgspec
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from compliance.audit.trail import append_event
from compliance.encryption.envelope import BLIND_INDEX_BYTES
from compliance.encryption.master import MasterKeyring
from compliance.records.sealing import RecordSealer
from compliance.subjects.models import SubjectRequestRow
from policies.audit_chain import Actor
from policies.channels import Channel
from policies.masking import mask_recipient
from policies.recipients import (
    UNAMBIGUOUS_PHONE_FORMS,
    InvalidRecipient,
    RecipientProblem,
    international_phone,
    normalize_recipient,
    phone_forms,
)
from policies.subject_requests import (
    REQUEST_ID_PREFIX,
    RequestStatus,
    RequestType,
    default_due_at,
    due_at_problem,
    is_overdue,
    reference_digest,
    reference_problem,
)


class SubjectRequestError(Exception):
    """A request that cannot be carried out; the message names no personal data."""


class SubjectRequestInvalid(SubjectRequestError):
    """The request as asked is not one the service can record (a 400)."""


class SubjectRequestNotFound(SubjectRequestError):
    pass


class SubjectRequestWrongType(SubjectRequestError):
    """An erasure run asked of an access request, or an access file of an erasure."""


@dataclass(frozen=True, slots=True, kw_only=True)
class RecipientMatch:
    """How a request finds one channel's records of its recipient: the full keyed digest
    (its first bytes are the blind index) and the masked form shown to officers."""

    channel: Channel
    digest: bytes
    masked: str
    form: str | None = None
    """For a phone number, which stored form this digest matches (``e164``,
    ``international_00``, ``national``, ``national_trunk``); ``None`` otherwise."""

    @property
    def index(self) -> bytes:
        return self.digest[:BLIND_INDEX_BYTES]

    def stored(self) -> dict[str, str]:
        stored = {"channel": self.channel.value, "digest": self.digest.hex(), "masked": self.masked}
        if self.form is not None:
            stored["form"] = self.form
        return stored


@dataclass(frozen=True, slots=True, kw_only=True)
class SubjectRequest:
    """A request as officers see it (never a recipient in clear)."""

    id: str
    tenant_id: str
    type: RequestType
    status: RequestStatus
    reference: str
    reference_sha256: str
    user_id: str | None
    channel: Channel | None
    recipients: tuple[RecipientMatch, ...]
    due_at: datetime
    created_at: datetime
    created_by: str
    completed_at: datetime | None
    outcome: Mapping[str, Any] = field(default_factory=dict)
    audit_event_id: str | None = None

    def overdue_at(self, moment: datetime) -> bool:
        return is_overdue(self.status, self.due_at, moment)

    def match_details(self) -> dict[str, object]:
        """How the request matches, as the audit trail records it: the user id, or per
        channel the recipient's keyed hash (its blind index, hex)."""
        if self.user_id is not None:
            return {"by": "user_id", "user_id": self.user_id}
        primary: dict[str, str] = {}
        forms: dict[str, dict[str, str]] = {}
        for m in self.recipients:
            primary.setdefault(m.channel.value, m.index.hex())
            if m.form is not None:
                forms.setdefault(m.channel.value, {})[m.form] = m.index.hex()
        details: dict[str, object] = {"by": "recipient", "recipient_index": primary}
        if forms:
            details["form_indexes"] = forms
        return details

    def indexes_by_channel(self) -> dict[Channel, list[bytes]]:
        """Every blind index the request matches on, per channel (all forms of a number)."""
        indexes: dict[Channel, list[bytes]] = {}
        for m in self.recipients:
            indexes.setdefault(m.channel, []).append(m.index)
        return indexes


def view(row: SubjectRequestRow) -> SubjectRequest:
    matches = tuple(
        RecipientMatch(
            channel=Channel(item["channel"]),
            digest=bytes.fromhex(item["digest"]),
            masked=item["masked"],
            form=item.get("form"),
        )
        for item in (msgspec.json.decode(row.recipient_match) if row.recipient_match else [])
    )
    return SubjectRequest(
        id=row.id,
        tenant_id=row.tenant_id,
        type=RequestType(row.type),
        status=RequestStatus(row.status),
        reference=row.reference,
        reference_sha256=row.reference_sha256,
        user_id=row.user_id,
        channel=Channel(row.channel) if row.channel else None,
        recipients=matches,
        due_at=row.due_at,
        created_at=row.created_at,
        created_by=row.created_by,
        completed_at=row.completed_at,
        outcome=msgspec.json.decode(row.outcome),
        audit_event_id=row.audit_event_id,
    )


def _candidate_channels(recipient: str, channel: Channel | None) -> list[tuple[Channel, str]]:
    """The (channel, canonical form) pairs a recipient is looked up on: the channel given,
    or every channel it normalises for (a phone number may also be a valid device token:
    both are searched, and decryption keeps only the subject's records)."""
    if channel is not None:
        if channel == Channel.SMS:
            return [(channel, international_phone(recipient))]
        return [(channel, normalize_recipient(channel, recipient))]
    found: list[tuple[Channel, str]] = []
    for candidate in Channel:
        try:
            if candidate == Channel.SMS:
                found.append((candidate, international_phone(recipient)))
            else:
                found.append((candidate, normalize_recipient(candidate, recipient)))
        except InvalidRecipient as exc:
            if exc.problem is RecipientProblem.NO_COUNTRY_CODE:
                raise SubjectRequestInvalid(
                    "'recipient' looks like a phone number without a country code: give it "
                    "with '+' (or '00') and the country code, because records may be stored "
                    "in national or international form and a number without a country code "
                    "cannot be matched unambiguously (for a device token, set 'channel' to "
                    "'push')"
                ) from None
            continue
    if not found:
        raise SubjectRequestInvalid(
            "'recipient' is not a valid phone number, email address or device token"
        )
    return found


async def create_request(
    session: AsyncSession,
    sealer: RecordSealer,
    master: MasterKeyring,
    *,
    tenant_id: str,
    actor: Actor,
    type: RequestType,
    reference: str,
    recipient: str | None = None,
    channel: Channel | None = None,
    user_id: str | None = None,
    due_at: datetime | None = None,
    now: datetime | None = None,
) -> SubjectRequest:
    """Record a request (in the caller's write transaction) with its
    ``subject_request.created`` audit event. Raises :class:`SubjectRequestInvalid`, or
    :class:`policies.recipients.InvalidRecipient` for a recipient invalid on its channel."""
    moment = now or datetime.now(UTC)
    if (recipient is None) == (user_id is None):
        raise SubjectRequestInvalid("name the subject by exactly one of 'recipient' or 'user_id'")
    if channel is not None and recipient is None:
        raise SubjectRequestInvalid("'channel' goes with 'recipient'")
    problem = reference_problem(reference)
    if problem is not None:
        raise SubjectRequestInvalid(problem)
    due = due_at if due_at is not None else default_due_at(moment)
    problem = due_at_problem(due, moment)
    if problem is not None:
        raise SubjectRequestInvalid(problem)
    matches: list[RecipientMatch] = []
    if recipient is not None:
        for candidate, canonical in _candidate_channels(recipient, channel):
            forms: dict[str | None, str] = (
                {
                    name: form
                    for name, form in phone_forms(canonical).items()
                    # Access hands records over: never on a form that may be another
                    # country's number. Erasure also reaches the national forms.
                    if type is not RequestType.ACCESS or name in UNAMBIGUOUS_PHONE_FORMS
                }
                if candidate == Channel.SMS
                else {None: canonical}
            )
            for form_name, form in forms.items():
                digest = await sealer.recipient_digest(tenant_id, candidate, form)
                if digest is None:
                    raise SubjectRequestInvalid(
                        "this tenant's keys were shredded: recipients can no longer be matched"
                    )
                matches.append(
                    RecipientMatch(
                        channel=candidate,
                        digest=digest,
                        masked=mask_recipient(candidate, form) or "",
                        form=form_name,
                    )
                )
    row = SubjectRequestRow(
        id=REQUEST_ID_PREFIX + secrets.token_hex(12),
        tenant_id=tenant_id,
        type=type.value,
        status=RequestStatus.OPEN.value,
        reference=reference,
        reference_sha256=reference_digest(reference),
        user_id=user_id,
        channel=channel.value if channel is not None else None,
        recipient_match=(
            msgspec.json.encode([m.stored() for m in matches]).decode() if matches else None
        ),
        due_at=due,
        created_at=moment,
        created_by=actor.id,
        outcome=msgspec.json.encode({}).decode(),
    )
    session.add(row)
    request = view(row)
    event = await append_event(
        session,
        master,
        tenant_id=tenant_id,
        actor=actor,
        action="subject_request.created",
        target=row.id,
        details={
            "request_id": row.id,
            "type": type.value,
            "reference_sha256": row.reference_sha256,
            "due_at": due.astimezone(UTC).isoformat(),
            "match": request.match_details(),
        },
    )
    row.audit_event_id = event.id
    await session.flush()
    return view(row)


async def get_request(
    session: AsyncSession, request_id: str, *, tenant_id: str | None = None, lock: bool = False
) -> SubjectRequestRow:
    """The stored request; with ``tenant_id`` another tenant's is not found, whether or not
    it exists."""
    statement = select(SubjectRequestRow).where(SubjectRequestRow.id == request_id)
    if tenant_id is not None:
        statement = statement.where(SubjectRequestRow.tenant_id == tenant_id)
    if lock:
        statement = statement.with_for_update()
    row = (
        await session.execute(statement.execution_options(populate_existing=True))
    ).scalar_one_or_none()
    if row is None:
        raise SubjectRequestNotFound(
            "no subject request with this id" + (" in your tenant" if tenant_id else "")
        )
    return row


async def list_requests(
    session: AsyncSession,
    tenant_id: str,
    *,
    status: RequestStatus | None = None,
    type: RequestType | None = None,
    overdue_at: datetime | None = None,
    limit: int,
    offset: int,
) -> tuple[list[SubjectRequest], int]:
    """One page of the tenant's requests, newest first, and how many there are; with
    ``overdue_at`` only those open and past their deadline at that moment."""
    where = [SubjectRequestRow.tenant_id == tenant_id]
    if status is not None:
        where.append(SubjectRequestRow.status == status.value)
    if type is not None:
        where.append(SubjectRequestRow.type == type.value)
    if overdue_at is not None:
        where.append(SubjectRequestRow.status == RequestStatus.OPEN.value)
        where.append(SubjectRequestRow.due_at < overdue_at)
    rows = (
        await session.execute(
            select(SubjectRequestRow)
            .where(*where)
            .order_by(SubjectRequestRow.created_at.desc(), SubjectRequestRow.id.desc())
            .limit(limit)
            .offset(offset)
        )
    ).scalars()
    total = await session.scalar(select(func.count()).select_from(SubjectRequestRow).where(*where))
    return [view(row) for row in rows], int(total or 0)


__all__ = [
    "RecipientMatch",
    "SubjectRequest",
    "SubjectRequestError",
    "SubjectRequestInvalid",
    "SubjectRequestNotFound",
    "SubjectRequestWrongType",
    "create_request",
    "get_request",
    "list_requests",
    "view",
]
