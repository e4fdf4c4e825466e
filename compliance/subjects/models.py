"""Tables of data-subject requests: the requests, and the ids each erasure erased."""

from __future__ import annotations

from datetime import datetime

from advanced_alchemy.base import DefaultBase
from advanced_alchemy.types import DateTimeUTC
from sqlalchemy import Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column


class SubjectRequestRow(DefaultBase):
    """One access or erasure request, matched by recipient or by user id.

    The recipient is never stored in clear: per channel it matches on, ``recipient_match``
    holds (as JSON) the full keyed digest whose first bytes are the blind index, and the
    masked form an officer recognises. ``reference`` is the officer's case reference as
    given; audit events and logs carry ``reference_sha256`` only.
    """

    __tablename__ = "subject_requests"
    __table_args__ = (
        Index("ix_subject_requests_tenant_created", "tenant_id", "created_at", "id"),
        Index("ix_subject_requests_tenant_status_due", "tenant_id", "status", "due_at"),
    )

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    tenant_id: Mapped[str] = mapped_column(String(128), nullable=False)
    type: Mapped[str] = mapped_column(String(16), nullable=False)
    status: Mapped[str] = mapped_column(String(16), nullable=False)
    reference: Mapped[str] = mapped_column(Text, nullable=False)
    reference_sha256: Mapped[str] = mapped_column(String(64), nullable=False)
    user_id: Mapped[str | None] = mapped_column(String(128))
    channel: Mapped[str | None] = mapped_column(String(16))
    """The channel the officer named (``None``: every channel the recipient normalises for)."""
    recipient_match: Mapped[str | None] = mapped_column(Text)
    """JSON list of ``{"channel", "digest" (hex), "masked"}``; ``None`` for a user-id match."""
    due_at: Mapped[datetime] = mapped_column(DateTimeUTC(timezone=True), nullable=False)
    created_at: Mapped[datetime] = mapped_column(DateTimeUTC(timezone=True), nullable=False)
    created_by: Mapped[str] = mapped_column(String(128), nullable=False)
    completed_at: Mapped[datetime | None] = mapped_column(DateTimeUTC(timezone=True))
    outcome: Mapped[str] = mapped_column(Text, nullable=False)
    """JSON counts: ``matched``, ``erased``, ``already_erased``, ``held``, ``held_by``
    (hold id → count), ``unconfirmed``; for access, ``rows`` and ``fetches``."""
    cursor: Mapped[str | None] = mapped_column(String(40))
    """An erasure's progress: the last record id whose batch committed (a rerun goes on
    after it)."""
    audit_event_id: Mapped[str | None] = mapped_column(String(40))
    """The latest audit event about this request (the erasure, or the latest access)."""


class SubjectRequestErasure(DefaultBase):
    """One record an erasure request erased (its id only), written in the batch that
    erased it, so the digest over every erased id survives an interrupted run."""

    __tablename__ = "subject_request_erasures"

    request_id: Mapped[str] = mapped_column(String(40), primary_key=True)
    record_id: Mapped[str] = mapped_column(String(40), primary_key=True)
