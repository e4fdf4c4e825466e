"""the audit trail: audit_events (one hash chain per tenant), chain heads, checkpoints

``audit_events`` is append-only. PostgreSQL and SQLite triggers refuse ``UPDATE`` (and on
PostgreSQL ``TRUNCATE``), and refuse ``DELETE`` of an event that no signed checkpoint
covers: only audit retention, which writes the checkpoint first, removes events.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-07 00:00:00 UTC
"""

from __future__ import annotations

import sqlalchemy as sa
from advanced_alchemy.types import DateTimeUTC
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

_SEQUENCE = sa.BigInteger().with_variant(sa.Integer(), "sqlite")

_POSTGRES_GUARD = [
    """
CREATE FUNCTION audit_events_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'DELETE' THEN
        IF EXISTS (
            SELECT 1 FROM audit_checkpoints c
            WHERE c.tenant_id = OLD.tenant_id AND c.sequence >= OLD.sequence
        ) THEN
            RETURN OLD;
        END IF;
    END IF;
    RAISE EXCEPTION 'audit_events is append-only: % refused', TG_OP
        USING ERRCODE = 'insufficient_privilege';
END
$$
""",
    """
CREATE TRIGGER audit_events_append_only BEFORE UPDATE OR DELETE ON audit_events
    FOR EACH ROW EXECUTE FUNCTION audit_events_append_only()
""",
    """
CREATE TRIGGER audit_events_no_truncate BEFORE TRUNCATE ON audit_events
    FOR EACH STATEMENT EXECUTE FUNCTION audit_events_append_only()
""",
]

_SQLITE_GUARD = [
    """
    CREATE TRIGGER audit_events_no_update BEFORE UPDATE ON audit_events
    BEGIN SELECT RAISE(ABORT, 'audit_events is append-only: UPDATE refused'); END
    """,
    """
    CREATE TRIGGER audit_events_no_delete BEFORE DELETE ON audit_events
    WHEN NOT EXISTS (
        SELECT 1 FROM audit_checkpoints c
        WHERE c.tenant_id = OLD.tenant_id AND c.sequence >= OLD.sequence
    )
    BEGIN SELECT RAISE(ABORT, 'audit_events is append-only: DELETE refused'); END
    """,
]


def upgrade() -> None:
    op.create_table(
        "audit_events",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("tenant_id", sa.String(length=128), nullable=False),
        sa.Column("sequence", _SEQUENCE, nullable=False),
        sa.Column("occurred_at", DateTimeUTC(timezone=True), nullable=False),
        sa.Column("actor", sa.String(length=128), nullable=False),
        sa.Column("actor_kind", sa.String(length=16), nullable=False),
        sa.Column("actor_origin", sa.Text(), nullable=False),
        sa.Column("action", sa.String(length=64), nullable=False),
        sa.Column("target", sa.String(length=256), nullable=True),
        sa.Column("details", sa.Text(), nullable=False),
        sa.Column("previous_hash", sa.String(length=64), nullable=False),
        sa.Column("hash", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_events")),
        sa.UniqueConstraint("tenant_id", "sequence", name="uq_audit_events_chain"),
    )
    op.create_index("ix_audit_events_tenant_time", "audit_events", ["tenant_id", "occurred_at"])
    op.create_index(
        "ix_audit_events_tenant_action", "audit_events", ["tenant_id", "action", "occurred_at"]
    )
    op.create_table(
        "audit_chain_heads",
        sa.Column("tenant_id", sa.String(length=128), nullable=False),
        sa.Column("sequence", _SEQUENCE, nullable=False),
        sa.Column("hash", sa.String(length=64), nullable=False),
        sa.Column("signature", sa.String(length=160), nullable=True),
        sa.Column("updated_at", DateTimeUTC(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("tenant_id", name=op.f("pk_audit_chain_heads")),
    )
    op.create_table(
        "audit_checkpoints",
        sa.Column("id", _SEQUENCE, autoincrement=True, nullable=False),
        sa.Column("tenant_id", sa.String(length=128), nullable=False),
        sa.Column("sequence", _SEQUENCE, nullable=False),
        sa.Column("hash", sa.String(length=64), nullable=False),
        sa.Column("made_at", DateTimeUTC(timezone=True), nullable=False),
        sa.Column("signature", sa.String(length=160), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_checkpoints")),
    )
    op.create_index("ix_audit_checkpoints_tenant", "audit_checkpoints", ["tenant_id", "sequence"])
    postgres = op.get_context().dialect.name == "postgresql"
    for statement in _POSTGRES_GUARD if postgres else _SQLITE_GUARD:
        op.execute(statement)


def downgrade() -> None:
    if op.get_context().dialect.name == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS audit_events_no_truncate ON audit_events")
        op.execute("DROP TRIGGER IF EXISTS audit_events_append_only ON audit_events")
        op.execute("DROP FUNCTION IF EXISTS audit_events_append_only()")
    op.drop_index("ix_audit_checkpoints_tenant", table_name="audit_checkpoints")
    op.drop_table("audit_checkpoints")
    op.drop_table("audit_chain_heads")
    op.drop_index("ix_audit_events_tenant_action", table_name="audit_events")
    op.drop_index("ix_audit_events_tenant_time", table_name="audit_events")
    op.drop_table("audit_events")
