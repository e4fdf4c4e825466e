"""communication_logs.request_fingerprint: a retry must repeat the first request exactly

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-27 21:00:00 UTC

Additive: rows stored before it have no fingerprint and are compared field by field, as
before (see ``policies.idempotency``).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column(
        "communication_logs", sa.Column("request_fingerprint", sa.String(length=64), nullable=True)
    )


def downgrade() -> None:
    with op.batch_alter_table("communication_logs") as batch:
        batch.drop_column("request_fingerprint")
