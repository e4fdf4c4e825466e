"""legal_hold_recipient_forms: the blind index of every stored form a recipient hold keeps

A recipient hold used to keep one blind index (``legal_holds.recipient_index``, of the
E.164 form of a phone number), so the retention job did not hold records ingest stored
under another form of the same number. This table holds one row per form a hold matches
(``policies.recipients.UNAMBIGUOUS_PHONE_FORMS`` for a phone number: ``e164`` and
``international_00``; ``canonical`` for an email address or a device token); the
retention job's hold check matches a record whose ``recipient_index`` equals any of them.
The rows of a hold go when it is released or purged (and with it: ON DELETE CASCADE).

Backfill: a hold placed before 0011 keeps matching exactly what it matched, its one index,
copied here as form ``as_placed`` (active holds only: a released hold's index was already
cleared). It cannot be expanded to the other forms of its number: the recipient is not
kept in clear, only its keyed hash, which cannot be turned back into the number. An
officer who needs the other forms held places a new hold on the number.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-08 00:30:00 UTC
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "legal_hold_recipient_forms",
        sa.Column("hold_id", sa.String(length=40), nullable=False),
        sa.Column("form", sa.String(length=32), nullable=False),
        sa.Column("recipient_index", sa.LargeBinary(length=8), nullable=False),
        sa.ForeignKeyConstraint(
            ["hold_id"],
            ["legal_holds.id"],
            name=op.f("fk_legal_hold_recipient_forms_hold_id_legal_holds"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("hold_id", "form", name=op.f("pk_legal_hold_recipient_forms")),
    )
    op.create_index(
        "ix_legal_hold_recipient_forms_match",
        "legal_hold_recipient_forms",
        ["recipient_index", "hold_id"],
    )
    holds = sa.table(
        "legal_holds",
        sa.column("id", sa.String()),
        sa.column("recipient_index", sa.LargeBinary()),
        sa.column("released_at", sa.DateTime()),
    )
    forms = sa.table(
        "legal_hold_recipient_forms",
        sa.column("hold_id", sa.String()),
        sa.column("form", sa.String()),
        sa.column("recipient_index", sa.LargeBinary()),
    )
    op.get_bind().execute(
        forms.insert().from_select(
            ["hold_id", "form", "recipient_index"],
            sa.select(holds.c.id, sa.literal("as_placed"), holds.c.recipient_index).where(
                holds.c.recipient_index.is_not(None), holds.c.released_at.is_(None)
            ),
        )
    )


def downgrade() -> None:
    op.drop_index("ix_legal_hold_recipient_forms_match", table_name="legal_hold_recipient_forms")
    op.drop_table("legal_hold_recipient_forms")
