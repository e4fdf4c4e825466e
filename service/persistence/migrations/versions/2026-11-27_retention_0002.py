"""retention: legal_holds, retention_runs, retention_locks; index for retention scans

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-27 07:00:00 UTC
"""

from __future__ import annotations

import sqlalchemy as sa
from advanced_alchemy.types import DateTimeUTC
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "legal_holds",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("tenant_id", sa.String(length=128), nullable=False),
        sa.Column("user_id", sa.String(length=128), nullable=True),
        sa.Column("channel", sa.String(length=16), nullable=True),
        sa.Column("recipient_index", sa.LargeBinary(length=8), nullable=True),
        sa.Column("recipient_masked", sa.String(length=320), nullable=True),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("created_by", sa.String(length=128), nullable=False),
        sa.Column("created_at", DateTimeUTC(timezone=True), nullable=False),
        sa.Column("expires_at", DateTimeUTC(timezone=True), nullable=True),
        sa.Column("released_at", DateTimeUTC(timezone=True), nullable=True),
        sa.Column("released_by", sa.String(length=128), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_legal_holds")),
    )
    op.create_index("ix_legal_holds_tenant_active", "legal_holds", ["tenant_id", "released_at"])
    op.create_table(
        "retention_runs",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("started_at", DateTimeUTC(timezone=True), nullable=False),
        sa.Column("finished_at", DateTimeUTC(timezone=True), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("dry_run", sa.Boolean(), nullable=False),
        sa.Column("as_of", DateTimeUTC(timezone=True), nullable=False),
        sa.Column("tenant_filter", sa.String(length=128), nullable=True),
        sa.Column("actor", sa.String(length=128), nullable=False),
        sa.Column("policy_digest", sa.String(length=80), nullable=False),
        sa.Column("policy", sa.Text(), nullable=False),
        sa.Column("counts", sa.Text(), nullable=False),
        sa.Column("keys_destroyed", sa.Text(), nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_retention_runs")),
    )
    op.create_index("ix_retention_runs_started", "retention_runs", ["started_at"])
    op.create_table(
        "retention_locks",
        sa.Column("name", sa.String(length=32), nullable=False),
        sa.Column("run_id", sa.String(length=40), nullable=False),
        sa.Column("acquired_at", DateTimeUTC(timezone=True), nullable=False),
        sa.Column("heartbeat_at", DateTimeUTC(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_retention_locks")),
    )
    op.create_index(
        "ix_communication_logs_retention",
        "communication_logs",
        ["tenant_id", "channel", "created_at"],
    )


def downgrade() -> None:
    op.drop_index("ix_communication_logs_retention", table_name="communication_logs")
    op.drop_table("retention_locks")
    op.drop_index("ix_retention_runs_started", table_name="retention_runs")
    op.drop_table("retention_runs")
    op.drop_index("ix_legal_holds_tenant_active", table_name="legal_holds")
    op.drop_table("legal_holds")
