"""Tables of the retention mechanism: legal holds, runs, and the SQLite run lock."""

from __future__ import annotations

from datetime import datetime

from advanced_alchemy.base import DefaultBase
from advanced_alchemy.types import DateTimeUTC
from sqlalchemy import Boolean, ForeignKey, Index, LargeBinary, String, Text, false
from sqlalchemy.orm import Mapped, mapped_column


class LegalHold(DefaultBase):
    """Records a hold keeps from every retention stage (GDPR Art. 17(3)(b) and (e))."""

    __tablename__ = "legal_holds"
    __table_args__ = (
        Index("ix_legal_holds_tenant_active", "tenant_id", "released_at"),
        Index("ix_legal_holds_tenant_review", "tenant_id", "review_by"),
    )

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    tenant_id: Mapped[str] = mapped_column(String(128), nullable=False)
    user_id: Mapped[str | None] = mapped_column(String(128))
    channel: Mapped[str | None] = mapped_column(String(16))
    recipient_index: Mapped[bytes | None] = mapped_column(LargeBinary(8))
    recipient_masked: Mapped[str | None] = mapped_column(String(320))
    reason: Mapped[str] = mapped_column(Text, nullable=False)
    created_by: Mapped[str] = mapped_column(String(128), nullable=False)
    created_at: Mapped[datetime] = mapped_column(DateTimeUTC(timezone=True), nullable=False)
    expires_at: Mapped[datetime | None] = mapped_column(DateTimeUTC(timezone=True))
    released_at: Mapped[datetime | None] = mapped_column(DateTimeUTC(timezone=True))
    released_by: Mapped[str | None] = mapped_column(String(128))
    # Bounds (migration 0007, policies.holds): an explicit scope, an end or a review date,
    # an optional limit to older records, and whether short-lived content is kept too.
    scope: Mapped[str] = mapped_column(String(16), nullable=False)
    review_by: Mapped[datetime | None] = mapped_column(DateTimeUTC(timezone=True))
    created_before: Mapped[datetime | None] = mapped_column(DateTimeUTC(timezone=True))
    keep_short_lived_content: Mapped[bool] = mapped_column(
        Boolean, nullable=False, default=False, server_default=false()
    )
    changed_at: Mapped[datetime | None] = mapped_column(DateTimeUTC(timezone=True))
    changed_by: Mapped[str | None] = mapped_column(String(128))


class LegalHoldRecipientForm(DefaultBase):
    """The blind index of one stored form of a recipient hold's recipient (migration 0011):
    a record whose ``recipient_index`` equals any of its hold's forms is held.

    For an SMS number the forms that carry its country code (``e164``,
    ``international_00``: ``policies.recipients.UNAMBIGUOUS_PHONE_FORMS``); for an email
    address or a device token its one stored form (``canonical``); for a hold placed before
    0011 the one index it was placed with (``as_placed``). Deleted on release and purge."""

    __tablename__ = "legal_hold_recipient_forms"
    __table_args__ = (Index("ix_legal_hold_recipient_forms_match", "recipient_index", "hold_id"),)

    hold_id: Mapped[str] = mapped_column(
        String(40), ForeignKey("legal_holds.id", ondelete="CASCADE"), primary_key=True
    )
    form: Mapped[str] = mapped_column(String(32), primary_key=True)
    recipient_index: Mapped[bytes] = mapped_column(LargeBinary(8), nullable=False)


class RetentionRun(DefaultBase):
    """One run of the retention job: what policy, what it did, how it ended."""

    __tablename__ = "retention_runs"
    __table_args__ = (Index("ix_retention_runs_started", "started_at"),)

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    started_at: Mapped[datetime] = mapped_column(DateTimeUTC(timezone=True), nullable=False)
    finished_at: Mapped[datetime | None] = mapped_column(DateTimeUTC(timezone=True))
    status: Mapped[str] = mapped_column(String(16), nullable=False)
    dry_run: Mapped[bool] = mapped_column(Boolean, nullable=False)
    as_of: Mapped[datetime] = mapped_column(DateTimeUTC(timezone=True), nullable=False)
    tenant_filter: Mapped[str | None] = mapped_column(String(128))
    actor: Mapped[str] = mapped_column(String(128), nullable=False)
    policy_digest: Mapped[str] = mapped_column(String(80), nullable=False)
    policy: Mapped[str] = mapped_column(Text, nullable=False)
    counts: Mapped[str] = mapped_column(Text, nullable=False, default="{}")
    keys_destroyed: Mapped[str] = mapped_column(Text, nullable=False, default="[]")
    error: Mapped[str | None] = mapped_column(Text)
    tenant_outcomes: Mapped[str] = mapped_column(
        Text, nullable=False, default="{}", server_default="{}"
    )
    """``{tenant_id: {"status": …, "error": <TenantFailure kind>}}``: no exception text."""


class RetentionLock(DefaultBase):
    """SQLite's stand-in for PostgreSQL's advisory lock: at most one run at a time."""

    __tablename__ = "retention_locks"

    name: Mapped[str] = mapped_column(String(32), primary_key=True)
    run_id: Mapped[str] = mapped_column(String(40), nullable=False)
    acquired_at: Mapped[datetime] = mapped_column(DateTimeUTC(timezone=True), nullable=False)
    heartbeat_at: Mapped[datetime] = mapped_column(DateTimeUTC(timezone=True), nullable=False)
