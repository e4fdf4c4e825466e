"""Tables. Rows are read and written only through :mod:`service.persistence.repository`."""

from __future__ import annotations

from datetime import datetime

from advanced_alchemy.base import DefaultBase
from advanced_alchemy.types import DateTimeUTC
from sqlalchemy import Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

ID_LENGTH = 40


class CommunicationLog(DefaultBase):
    """One message a tenant sent: the seed's ``CommunicationLogResponse`` at rest."""

    __tablename__ = "communication_logs"
    __table_args__ = (
        # The seed's query: one user in one tenant, newest first, optionally by channel
        # or status. Each index leads with the tenant, then the user, and ends with the
        # sort key so a page is an index range scan.
        Index("ix_communication_logs_owner_newest", "tenant_id", "user_id", "created_at", "id"),
        Index(
            "ix_communication_logs_owner_channel_newest",
            "tenant_id",
            "user_id",
            "channel",
            "created_at",
            "id",
        ),
        Index(
            "ix_communication_logs_owner_status_newest",
            "tenant_id",
            "user_id",
            "status",
            "created_at",
            "id",
        ),
        UniqueConstraint("tenant_id", "idempotency_key", name="uq_communication_logs_idempotency"),
    )

    id: Mapped[str] = mapped_column(String(ID_LENGTH), primary_key=True)
    tenant_id: Mapped[str] = mapped_column(String(128), nullable=False)
    user_id: Mapped[str] = mapped_column(String(128), nullable=False)
    channel: Mapped[str] = mapped_column(String(16), nullable=False)
    provider: Mapped[str | None] = mapped_column(String(128))
    template_id: Mapped[str | None] = mapped_column(String(128))
    recipient: Mapped[str | None] = mapped_column(Text)
    content: Mapped[str | None] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(16), nullable=False)
    error: Mapped[str | None] = mapped_column(Text)
    response: Mapped[str | None] = mapped_column(Text)
    idempotency_key: Mapped[str | None] = mapped_column(String(255))
    created_at: Mapped[datetime] = mapped_column(DateTimeUTC(timezone=True), nullable=False)
    sent_at: Mapped[datetime | None] = mapped_column(DateTimeUTC(timezone=True))
    updated_at: Mapped[datetime] = mapped_column(DateTimeUTC(timezone=True), nullable=False)
