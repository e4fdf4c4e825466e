"""The send record as the rules see it: plain values, already decrypted, not yet masked."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from policies.channels import Channel, DeliveryStatus


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
