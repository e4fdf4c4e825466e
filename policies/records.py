"""The send record as the rules see it: plain values, already decrypted, not yet masked."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from policies.channels import Channel, DeliveryStatus
from policies.templates import TemplateVersion


@dataclass(frozen=True, slots=True, kw_only=True)
class SendRecord:
    """One message a tenant sent (the seed's ``CommunicationLogResponse`` before masking)."""

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
    unreadable: frozenset[str] = field(default=frozenset())
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
