"""Tables of the audit trail: the events, each chain's signed head, and the signed
checkpoints left where audit retention removed the oldest events."""

from __future__ import annotations

from datetime import datetime

from advanced_alchemy.base import DefaultBase
from advanced_alchemy.types import DateTimeUTC
from sqlalchemy import BigInteger, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

_SEQUENCE = BigInteger().with_variant(Integer, "sqlite")


class AuditEventRow(DefaultBase):
    """One event. Append-only: on PostgreSQL a trigger refuses ``UPDATE``, and refuses
    ``DELETE`` of an event no signed checkpoint covers (audit retention)."""

    __tablename__ = "audit_events"
    __table_args__ = (
        UniqueConstraint("tenant_id", "sequence", name="uq_audit_events_chain"),
        Index("ix_audit_events_tenant_time", "tenant_id", "occurred_at"),
        Index("ix_audit_events_tenant_action", "tenant_id", "action", "occurred_at"),
    )

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    tenant_id: Mapped[str] = mapped_column(String(128), nullable=False)
    sequence: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer, "sqlite"), nullable=False
    )
    occurred_at: Mapped[datetime] = mapped_column(DateTimeUTC(timezone=True), nullable=False)
    actor: Mapped[str] = mapped_column(String(128), nullable=False)
    actor_kind: Mapped[str] = mapped_column(String(16), nullable=False)
    actor_origin: Mapped[str] = mapped_column(Text, nullable=False)
    """Canonical JSON of where the actor acted from (CLI: operating-system user, host)."""
    action: Mapped[str] = mapped_column(String(64), nullable=False)
    target: Mapped[str | None] = mapped_column(String(256))
    details: Mapped[str] = mapped_column(Text, nullable=False)
    """Canonical JSON (``policies.audit_chain.canonical_json``)."""
    previous_hash: Mapped[str] = mapped_column(String(64), nullable=False)
    hash: Mapped[str] = mapped_column(String(64), nullable=False)


class AuditChainHead(DefaultBase):
    """The newest event of a tenant's chain, signed by the primary master key.

    Appending locks this row, so concurrent writers of one tenant take turns and never
    fork the chain; the signature shows a rewritten chain to whoever holds the master key.
    """

    __tablename__ = "audit_chain_heads"

    tenant_id: Mapped[str] = mapped_column(String(128), primary_key=True)
    sequence: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer, "sqlite"), nullable=False
    )
    hash: Mapped[str] = mapped_column(String(64), nullable=False)
    signature: Mapped[str | None] = mapped_column(String(160))
    updated_at: Mapped[datetime] = mapped_column(DateTimeUTC(timezone=True), nullable=False)


class AuditCheckpoint(DefaultBase):
    """The last event removed by audit retention, signed: verification starts after it."""

    __tablename__ = "audit_checkpoints"
    __table_args__ = (Index("ix_audit_checkpoints_tenant", "tenant_id", "sequence"),)

    id: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True
    )
    tenant_id: Mapped[str] = mapped_column(String(128), nullable=False)
    sequence: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer, "sqlite"), nullable=False
    )
    hash: Mapped[str] = mapped_column(String(64), nullable=False)
    made_at: Mapped[datetime] = mapped_column(DateTimeUTC(timezone=True), nullable=False)
    signature: Mapped[str] = mapped_column(String(160), nullable=False)
