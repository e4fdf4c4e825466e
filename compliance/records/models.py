"""The send log's table. Personal fields are stored only as encryption envelopes.

Rows are read and written only through :mod:`compliance.records.repository`, which seals
and opens those envelopes; nothing else ever sees ciphertext or keys.
"""

from __future__ import annotations

from datetime import datetime

from advanced_alchemy.base import DefaultBase
from advanced_alchemy.types import DateTimeUTC
from sqlalchemy import (
    BigInteger,
    Index,
    Integer,
    LargeBinary,
    SmallInteger,
    String,
    UniqueConstraint,
)
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
        # Exports stream a whole tenant oldest first: an index range scan, no sort (a sort
        # of a large tenant would run into the statement timeout before the first row).
        Index("ix_communication_logs_tenant_oldest", "tenant_id", "created_at", "id"),
        # Retention scans one tenant's channel by age.
        Index("ix_communication_logs_retention", "tenant_id", "channel", "created_at"),
        # Exact-match lookups of one recipient's records (data-subject requests, holds).
        Index("ix_communication_logs_recipient_index", "tenant_id", "recipient_index"),
        # Retention's content stage: records whose template keeps its content shorter.
        Index("ix_communication_logs_content_erase_after", "tenant_id", "content_erase_after"),
        UniqueConstraint("tenant_id", "idempotency_key", name="uq_communication_logs_idempotency"),
    )

    id: Mapped[str] = mapped_column(String(ID_LENGTH), primary_key=True)
    tenant_id: Mapped[str] = mapped_column(String(128), nullable=False)
    user_id: Mapped[str] = mapped_column(String(128), nullable=False)
    channel: Mapped[str] = mapped_column(String(16), nullable=False)
    provider: Mapped[str | None] = mapped_column(String(128))
    template_id: Mapped[str | None] = mapped_column(String(128))
    status: Mapped[str] = mapped_column(String(16), nullable=False)
    idempotency_key: Mapped[str | None] = mapped_column(String(255))
    # policies.idempotency: what a retry under idempotency_key must repeat (migration 0003).
    request_fingerprint: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(DateTimeUTC(timezone=True), nullable=False)
    sent_at: Mapped[datetime | None] = mapped_column(DateTimeUTC(timezone=True))
    updated_at: Mapped[datetime] = mapped_column(DateTimeUTC(timezone=True), nullable=False)
    # Sends rendered from a template (migration 0005): the version they were rendered
    # from, and when the template's own retention erases their content (if sooner than
    # the tenant's content window).
    template_version: Mapped[int | None] = mapped_column(Integer)
    content_erase_after: Mapped[datetime | None] = mapped_column(DateTimeUTC(timezone=True))
    # Sealed fields (compliance.encryption.envelope) and the keys that sealed them.
    recipient: Mapped[bytes | None] = mapped_column(LargeBinary)
    recipient_index: Mapped[bytes | None] = mapped_column(LargeBinary(8))
    content: Mapped[bytes | None] = mapped_column(LargeBinary)
    error: Mapped[bytes | None] = mapped_column(LargeBinary)
    response: Mapped[bytes | None] = mapped_column(LargeBinary)
    # policies.templates.StoredParameters as JSON: no secret value, ever.
    template_params: Mapped[bytes | None] = mapped_column(LargeBinary)
    recipient_key_id: Mapped[int | None] = mapped_column(BigInteger)
    content_key_id: Mapped[int | None] = mapped_column(BigInteger)
    # What policies.disclosure.disclose shows of recipient and content, computed when the
    # record is written (policies.disclosure.stored_form), sealed under the key of the
    # field it shows and erased with it; and the version of the rules it was computed
    # under (None: masked when read). Migration 0010.
    shown_recipient: Mapped[bytes | None] = mapped_column(LargeBinary)
    shown_content: Mapped[bytes | None] = mapped_column(LargeBinary)
    shown_version: Mapped[int | None] = mapped_column(SmallInteger)
