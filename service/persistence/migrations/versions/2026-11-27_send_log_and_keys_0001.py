"""communication_logs: the send log

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


def upgrade() -> None:
    op.create_table(
        "communication_logs",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("tenant_id", sa.String(length=128), nullable=False),
        sa.Column("user_id", sa.String(length=128), nullable=False),
        sa.Column("channel", sa.String(length=16), nullable=False),
        sa.Column("provider", sa.String(length=128), nullable=True),
        sa.Column("template_id", sa.String(length=128), nullable=True),
        sa.Column("recipient", sa.Text(), nullable=True),
        sa.Column("content", sa.Text(), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("response", sa.Text(), nullable=True),
        sa.Column("idempotency_key", sa.String(length=255), nullable=True),
        sa.Column("created_at", DateTimeUTC(timezone=True), nullable=False),
        sa.Column("sent_at", DateTimeUTC(timezone=True), nullable=True),
        sa.Column("updated_at", DateTimeUTC(timezone=True), nullable=False),
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


def downgrade() -> None:
    op.drop_index("ix_communication_logs_owner_status_newest", table_name="communication_logs")
    op.drop_index("ix_communication_logs_owner_channel_newest", table_name="communication_logs")
    op.drop_index("ix_communication_logs_owner_newest", table_name="communication_logs")
    op.drop_table("communication_logs")
