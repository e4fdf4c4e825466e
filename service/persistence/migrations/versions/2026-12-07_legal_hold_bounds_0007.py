"""legal_holds: explicit scope, review date, created_before, short-lived content, changes

Adds ``scope``, ``review_by``, ``created_before``, ``keep_short_lived_content``,
``changed_at`` and ``changed_by`` (``policies.holds``), and backfills every existing hold:

- ``scope`` from what the hold names: ``recipient`` if it names a recipient (its keyed hash
  or, once released, its masked form), else ``user`` if it names a user, else ``tenant``
  (before 0007 a hold naming neither was a whole-tenant hold, asked for explicitly);
- ``keep_short_lived_content`` = true: a hold placed before 0007 kept everything, and an
  upgrade must not narrow a legal hold behind the officer's back (new holds default to
  false); the review date below brings it to an officer, who may narrow it;
- a hold that is not released and has neither ``expires_at`` nor a review date gets
  ``review_by`` = the upgrade time + 30 days (``policies.holds.BACKFILL_REVIEW_DAYS``), so it
  appears on the review list (``GET /compliance/legal-holds?due_for_review=true``) and an
  officer must decide on it. Its ``expires_at`` stays empty: the hold keeps holding.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-07 21:00:00 UTC
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import sqlalchemy as sa
from advanced_alchemy.types import DateTimeUTC
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

BACKFILL_REVIEW_DAYS = 30  # policies.holds.BACKFILL_REVIEW_DAYS at the time of writing


def upgrade() -> None:
    with op.batch_alter_table("legal_holds") as batch:
        batch.add_column(
            sa.Column("scope", sa.String(length=16), nullable=False, server_default="tenant")
        )
        batch.add_column(sa.Column("review_by", DateTimeUTC(timezone=True), nullable=True))
        batch.add_column(sa.Column("created_before", DateTimeUTC(timezone=True), nullable=True))
        batch.add_column(
            sa.Column(
                "keep_short_lived_content",
                sa.Boolean(),
                nullable=False,
                server_default=sa.false(),
            )
        )
        batch.add_column(sa.Column("changed_at", DateTimeUTC(timezone=True), nullable=True))
        batch.add_column(sa.Column("changed_by", sa.String(length=128), nullable=True))

    holds = sa.table(
        "legal_holds",
        sa.column("user_id", sa.String()),
        sa.column("recipient_index", sa.LargeBinary()),
        sa.column("recipient_masked", sa.String()),
        sa.column("scope", sa.String()),
        sa.column("expires_at", DateTimeUTC(timezone=True)),
        sa.column("released_at", DateTimeUTC(timezone=True)),
        sa.column("review_by", DateTimeUTC(timezone=True)),
        sa.column("keep_short_lived_content", sa.Boolean()),
    )
    bind = op.get_bind()
    bind.execute(
        holds.update().values(
            scope=sa.case(
                (
                    sa.or_(
                        holds.c.recipient_index.is_not(None), holds.c.recipient_masked.is_not(None)
                    ),
                    "recipient",
                ),
                (holds.c.user_id.is_not(None), "user"),
                else_="tenant",
            ),
            keep_short_lived_content=True,
        )
    )
    review_by = datetime.now(UTC) + timedelta(days=BACKFILL_REVIEW_DAYS)
    bind.execute(
        holds.update()
        .where(
            holds.c.released_at.is_(None),
            holds.c.expires_at.is_(None),
            holds.c.review_by.is_(None),
        )
        .values(review_by=review_by)
    )
    with op.batch_alter_table("legal_holds") as batch:
        batch.alter_column("scope", server_default=None, existing_type=sa.String(length=16))
    op.create_index("ix_legal_holds_tenant_review", "legal_holds", ["tenant_id", "review_by"])


def downgrade() -> None:
    op.drop_index("ix_legal_holds_tenant_review", table_name="legal_holds")
    with op.batch_alter_table("legal_holds") as batch:
        batch.drop_column("changed_by")
        batch.drop_column("changed_at")
        batch.drop_column("keep_short_lived_content")
        batch.drop_column("created_before")
        batch.drop_column("review_by")
        batch.drop_column("scope")
