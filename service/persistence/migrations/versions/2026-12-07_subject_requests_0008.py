"""data-subject requests: subject_requests, and the ids each erasure erased

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-07 00:00:00 UTC
"""

from __future__ import annotations

import sqlalchemy as sa
from advanced_alchemy.types import DateTimeUTC
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "subject_requests",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("tenant_id", sa.String(length=128), nullable=False),
        sa.Column("type", sa.String(length=16), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("reference", sa.Text(), nullable=False),
        sa.Column("reference_sha256", sa.String(length=64), nullable=False),
        sa.Column("user_id", sa.String(length=128), nullable=True),
        sa.Column("channel", sa.String(length=16), nullable=True),
        sa.Column("recipient_match", sa.Text(), nullable=True),
        sa.Column("due_at", DateTimeUTC(timezone=True), nullable=False),
        sa.Column("created_at", DateTimeUTC(timezone=True), nullable=False),
        sa.Column("created_by", sa.String(length=128), nullable=False),
        sa.Column("completed_at", DateTimeUTC(timezone=True), nullable=True),
        sa.Column("outcome", sa.Text(), nullable=False),
        sa.Column("cursor", sa.String(length=40), nullable=True),
        sa.Column("audit_event_id", sa.String(length=40), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_subject_requests")),
    )
    op.create_index(
        "ix_subject_requests_tenant_created",
        "subject_requests",
        ["tenant_id", "created_at", "id"],
    )
    op.create_index(
        "ix_subject_requests_tenant_status_due",
        "subject_requests",
        ["tenant_id", "status", "due_at"],
    )
    op.create_table(
        "subject_request_erasures",
        sa.Column("request_id", sa.String(length=40), nullable=False),
        sa.Column("record_id", sa.String(length=40), nullable=False),
        sa.PrimaryKeyConstraint(
            "request_id", "record_id", name=op.f("pk_subject_request_erasures")
        ),
    )


def downgrade() -> None:
    op.drop_table("subject_request_erasures")
    op.drop_index("ix_subject_requests_tenant_status_due", table_name="subject_requests")
    op.drop_index("ix_subject_requests_tenant_created", table_name="subject_requests")
    op.drop_table("subject_requests")
