"""retention_runs.tenant_outcomes: each tenant's status and failure kind, no message text

Additive: existing runs get ``{}`` and are shown to officers by their overall status.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-27 21:00:00 UTC
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("retention_runs") as batch:
        batch.add_column(
            sa.Column("tenant_outcomes", sa.Text(), nullable=False, server_default="{}")
        )


def downgrade() -> None:
    with op.batch_alter_table("retention_runs") as batch:
        batch.drop_column("tenant_outcomes")
