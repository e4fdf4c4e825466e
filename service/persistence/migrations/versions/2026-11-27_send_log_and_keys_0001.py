"""communication_logs with sealed personal fields; tenant_keys; key_events

Revision ID: 0001
Revises:
Create Date: 2026-11-27 06:00:00 UTC
"""

from __future__ import annotations

import sqlalchemy as sa
from advanced_alchemy.types import DateTimeUTC
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

BIGINT_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "communication_logs",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("tenant_id", sa.String(length=128), nullable=False),
        sa.Column("user_id", sa.String(length=128), nullable=False),
        sa.Column("channel", sa.String(length=16), nullable=False),
        sa.Column("provider", sa.String(length=128), nullable=True),
        sa.Column("template_id", sa.String(length=128), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("idempotency_key", sa.String(length=255), nullable=True),
        sa.Column("created_at", DateTimeUTC(timezone=True), nullable=False),
        sa.Column("sent_at", DateTimeUTC(timezone=True), nullable=True),
        sa.Column("updated_at", DateTimeUTC(timezone=True), nullable=False),
        sa.Column("recipient", sa.LargeBinary(), nullable=True),
        sa.Column("recipient_index", sa.LargeBinary(length=8), nullable=True),
        sa.Column("content", sa.LargeBinary(), nullable=True),
        sa.Column("error", sa.LargeBinary(), nullable=True),
        sa.Column("response", sa.LargeBinary(), nullable=True),
        sa.Column("recipient_key_id", sa.BigInteger(), nullable=True),
        sa.Column("content_key_id", sa.BigInteger(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_communication_logs")),
        sa.UniqueConstraint(
            "tenant_id", "idempotency_key", name="uq_communication_logs_idempotency"
        ),
    )
    op.create_index(
        "ix_communication_logs_owner_newest",
        "communication_logs",
        ["tenant_id", "user_id", "created_at", "id"],
    )
    op.create_index(
        "ix_communication_logs_owner_channel_newest",
        "communication_logs",
        ["tenant_id", "user_id", "channel", "created_at", "id"],
    )
    op.create_index(
        "ix_communication_logs_owner_status_newest",
        "communication_logs",
        ["tenant_id", "user_id", "status", "created_at", "id"],
    )
    op.create_index(
        "ix_communication_logs_recipient_index",
        "communication_logs",
        ["tenant_id", "recipient_index"],
    )
    op.create_table(
        "tenant_keys",
        sa.Column("id", BIGINT_ID, autoincrement=True, nullable=False),
        sa.Column("tenant_id", sa.String(length=128), nullable=False),
        sa.Column("purpose", sa.String(length=16), nullable=False),
        sa.Column("epoch", sa.String(length=16), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("master_key_id", sa.String(length=64), nullable=True),
        sa.Column("wrapped_key", sa.LargeBinary(), nullable=True),
        sa.Column("created_at", DateTimeUTC(timezone=True), nullable=False),
        sa.Column("destroyed_at", DateTimeUTC(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_tenant_keys")),
        sa.UniqueConstraint("tenant_id", "purpose", "epoch", "version", name="uq_tenant_keys_slot"),
    )
    op.create_index("ix_tenant_keys_master", "tenant_keys", ["master_key_id"])
    op.create_table(
        "key_events",
        sa.Column("id", BIGINT_ID, autoincrement=True, nullable=False),
        sa.Column("occurred_at", DateTimeUTC(timezone=True), nullable=False),
        sa.Column("actor", sa.String(length=128), nullable=False),
        sa.Column("action", sa.String(length=32), nullable=False),
        sa.Column("tenant_id", sa.String(length=128), nullable=True),
        sa.Column("detail", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_key_events")),
    )
    op.create_index("ix_key_events_tenant_time", "key_events", ["tenant_id", "occurred_at"])


def downgrade() -> None:
    op.drop_index("ix_key_events_tenant_time", table_name="key_events")
    op.drop_table("key_events")
    op.drop_index("ix_tenant_keys_master", table_name="tenant_keys")
    op.drop_table("tenant_keys")
    for name in (
        "ix_communication_logs_recipient_index",
        "ix_communication_logs_owner_status_newest",
        "ix_communication_logs_owner_channel_newest",
        "ix_communication_logs_owner_newest",
    ):
        op.drop_index(name, table_name="communication_logs")
    op.drop_table("communication_logs")
