"""an index in the export order: one tenant's records by (created_at, id)

Exports stream a whole tenant oldest first; without this index PostgreSQL sorts the
tenant's rows before the first one is sent. On a large table run this migration when
writes are quiet (``CREATE INDEX`` blocks writes to the table while it builds).

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-07 00:00:00 UTC
"""

from __future__ import annotations

from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index(
        "ix_communication_logs_tenant_oldest",
        "communication_logs",
        ["tenant_id", "created_at", "id"],
    )


def downgrade() -> None:
    op.drop_index("ix_communication_logs_tenant_oldest", table_name="communication_logs")
