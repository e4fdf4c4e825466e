"""masked views stored with each send record

``shown_recipient`` and ``shown_content`` hold what ``policies.disclosure.disclose``
shows of a record's recipient and content, sealed under the key of the field each shows
and erased with it; ``shown_version`` is the version of the masking rules they were
computed under. Rows stored before this migration have none: they are masked when read,
as before, and get their views when they are next written (an outcome, a re-encryption,
a move under a hold) or by ``commlog records refresh-views``.

Adding nullable columns without a default changes only the catalogue on PostgreSQL: no
table rewrite.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-08 00:00:00 UTC
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None

COLUMNS = ("shown_recipient", "shown_content", "shown_version")


def upgrade() -> None:
    with op.batch_alter_table("communication_logs") as batch:
        batch.add_column(sa.Column("shown_recipient", sa.LargeBinary(), nullable=True))
        batch.add_column(sa.Column("shown_content", sa.LargeBinary(), nullable=True))
        batch.add_column(sa.Column("shown_version", sa.SmallInteger(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("communication_logs") as batch:
        for column in reversed(COLUMNS):
            batch.drop_column(column)
