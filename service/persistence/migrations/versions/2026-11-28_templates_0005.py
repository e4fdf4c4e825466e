"""message templates and their immutable versions; template columns on communication_logs

Additive: records stored before it have no template version, no sealed parameters and
no ``content_erase_after``; they read and are retained as before.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-28 00:00:00 UTC
"""

from __future__ import annotations

import sqlalchemy as sa
from advanced_alchemy.types import DateTimeUTC
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "message_templates",
        sa.Column("tenant_id", sa.String(length=128), nullable=False),
        sa.Column("template_id", sa.String(length=128), nullable=False),
        sa.Column("current_version", sa.Integer(), nullable=False),
        sa.Column("created_at", DateTimeUTC(timezone=True), nullable=False),
        sa.Column("updated_at", DateTimeUTC(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("tenant_id", "template_id", name=op.f("pk_message_templates")),
    )
    op.create_table(
        "message_template_versions",
        sa.Column("tenant_id", sa.String(length=128), nullable=False),
        sa.Column("template_id", sa.String(length=128), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("channel", sa.String(length=16), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("parameters", sa.Text(), nullable=False),
        sa.Column("content_retention_days", sa.Integer(), nullable=True),
        sa.Column("created_at", DateTimeUTC(timezone=True), nullable=False),
        sa.Column("created_by", sa.String(length=128), nullable=False),
        sa.PrimaryKeyConstraint(
            "tenant_id", "template_id", "version", name=op.f("pk_message_template_versions")
        ),
    )
    with op.batch_alter_table("communication_logs") as batch:
        batch.add_column(sa.Column("template_version", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("template_params", sa.LargeBinary(), nullable=True))
        batch.add_column(
            sa.Column("content_erase_after", DateTimeUTC(timezone=True), nullable=True)
        )
    op.create_index(
        "ix_communication_logs_content_erase_after",
        "communication_logs",
        ["tenant_id", "content_erase_after"],
    )


def downgrade() -> None:
    op.drop_index("ix_communication_logs_content_erase_after", table_name="communication_logs")
    with op.batch_alter_table("communication_logs") as batch:
        batch.drop_column("content_erase_after")
        batch.drop_column("template_params")
        batch.drop_column("template_version")
    op.drop_table("message_template_versions")
    op.drop_table("message_templates")
