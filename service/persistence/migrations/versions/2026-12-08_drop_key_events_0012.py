"""drop key_events

Migration 0006 folded every ``key_events`` row into the audit chains (each migrated event
carries ``key_event_id`` and ``actor_origin`` ``{"source": "key_events"}``), and nothing
has written the table since: key operations are audit events. The table goes.

The downgrade recreates it empty, with the columns and index of migration 0001: the
rows live on in the audit trail, which no downgrade removes.

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-08 01:00:00 UTC
"""

from __future__ import annotations

import sqlalchemy as sa
from advanced_alchemy.types import DateTimeUTC
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None

BIGINT_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.drop_index("ix_key_events_tenant_time", table_name="key_events")
    op.drop_table("key_events")


def downgrade() -> None:
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
