"""The send record as the rules see it: plain values, already decrypted, not yet masked."""

from __future__ import annotations

from datetime import datetime
from typing import NamedTuple

import msgspec

from policies.channels import Channel, DeliveryStatus
from policies.instants import rfc3339
from policies.templates import TemplateVersion


class SendRecord(msgspec.Struct, frozen=True, kw_only=True, gc=False):
    """One message a tenant sent (the seed's ``CommunicationLogResponse`` before masking).

    A frozen ``msgspec.Struct``: every page and export chunk builds one per row, and a
    struct is built in a third of the time of a frozen dataclass (copy one with
    :func:`msgspec.structs.replace`). Not tracked by the garbage collector
    (``gc=False``): it holds text, times and immutable values that never refer back to a
    record, so it can be in no reference cycle, and an export of a million records
    would otherwise set off a collection every few hundred rows."""

    id: str
    tenant_id: str
    user_id: str
    channel: Channel
    provider: str | None
    template_id: str | None
    recipient: str | None
    content: str | None
    status: DeliveryStatus
    error: str | None
    response: str | None
    created_at: datetime
    sent_at: datetime | None
    updated_at: datetime
    unreadable: frozenset[str] = frozenset()
    """Fields whose stored form failed its integrity check: shown as unreadable, not as
    data. (A field whose key was destroyed is simply ``None``: it was erased.)"""
    template_version: int | None = None
    """The version of ``template_id`` a templated send was rendered from (else ``None``)."""
    template_params: str | None = None
    """A templated send's :class:`~policies.templates.StoredParameters` as JSON: public
    and personal values, and which secrets were given; never a secret value."""
    content_erase_after: datetime | None = None
    """When the template's own retention erases this send's content, if sooner than the
    tenant's content window."""
    template: TemplateVersion | None = None
    """The template version itself, attached when the record is read, so that
    :func:`policies.disclosure.disclose` can render the content."""
    view: StoredView | None = None
    """The masked recipient and content computed when the record was last written, read
    instead of the fields themselves when only the masked view is shown (pages, masked
    exports) and the rules it was computed under are the current ones."""
    view_version: int | None = None
    """The version of the disclosure rules (``policies.disclosure.RULES_VERSION``) the
    stored view, error and response were computed under; ``None`` for a record stored
    before views were kept (everything is masked when it is read)."""


class StoredView(msgspec.Struct, frozen=True, gc=False):
    """What :func:`policies.disclosure.disclose` shows of a record's recipient and content,
    computed once when the record is written and stored sealed next to them (two strings:
    in no reference cycle, so not tracked by the garbage collector)."""

    recipient: str | None
    content: str | None


LOG_FIELDS: tuple[str, ...] = (
    "id",
    "tenant_id",
    "user_id",
    "channel",
    "provider",
    "template_id",
    "recipient",
    "content",
    "status",
    "error",
    "response",
    "created_at",
    "sent_at",
    "updated_at",
)
"""The fields one record shows, in order: an item of ``GET /communication/logs`` (the
seed's ``CommunicationLogResponse``, whose struct is checked against this tuple) and a
row of an export (``policies.exports``)."""


class ShownParts(NamedTuple):
    """The fields of a record that the exit (``policies.disclosure``) decides how to show."""

    provider: str | None
    template_id: str | None
    recipient: str | None
    content: str | None
    error: str | None
    response: str | None


_CHANNEL_TEXT = {channel: channel.value for channel in Channel}
_STATUS_TEXT = {status: status.value for status in DeliveryStatus}


def shown_values(record: SendRecord, shown: ShownParts | None = None) -> list[str | None]:
    """``record``'s :data:`LOG_FIELDS` as text, times in RFC 3339 UTC (``…Z``), in order;
    with ``shown`` in place of the fields it holds.

    ``record`` must have passed :func:`policies.disclosure.disclose` (or, for an
    officer's reveal, :func:`policies.disclosure.reveal`) first, or ``shown`` must be
    what they decided: this only shapes it."""
    if shown is None:
        shown = ShownParts(
            record.provider,
            record.template_id,
            record.recipient,
            record.content,
            record.error,
            record.response,
        )
    # Times are often equal (sent when created, last updated when sent): written once.
    created_at, sent_at, updated_at = record.created_at, record.sent_at, record.updated_at
    created = rfc3339(created_at)
    sent = None if sent_at is None else created if sent_at == created_at else rfc3339(sent_at)
    if updated_at == created_at:
        updated = created
    else:
        updated = sent if sent is not None and updated_at == sent_at else rfc3339(updated_at)
    return [
        record.id,
        record.tenant_id,
        record.user_id,
        _CHANNEL_TEXT[record.channel],
        shown.provider,
        shown.template_id,
        shown.recipient,
        shown.content,
        _STATUS_TEXT[record.status],
        shown.error,
        shown.response,
        created,
        sent,
        updated,
    ]


def shown_fields(record: SendRecord) -> dict[str, str | None]:
    """:func:`shown_values` by field name (an item of the API's list, a JSONL line)."""
    return dict(zip(LOG_FIELDS, shown_values(record), strict=True))
