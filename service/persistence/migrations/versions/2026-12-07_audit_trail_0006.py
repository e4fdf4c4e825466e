"""the audit trail: audit_events (one hash chain per tenant), chain heads, checkpoints

``audit_events`` is append-only. PostgreSQL and SQLite triggers refuse ``UPDATE`` (and on
PostgreSQL ``TRUNCATE``), and refuse ``DELETE`` of an event that no signed checkpoint
covers: only audit retention, which writes the checkpoint first, removes events.

The rows of ``key_events`` (key rotation, re-encryption, destruction, shredding, kept
since 0001) are copied into the chains as their first events (see
:func:`_fold_key_events`); the table stays, no longer written.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-07 00:00:00 UTC
"""

from __future__ import annotations

import secrets
from datetime import UTC, datetime

import msgspec
import sqlalchemy as sa
from advanced_alchemy.types import DateTimeUTC
from alembic import op

from policies.audit_chain import (
    EVENT_ID_PREFIX,
    GENESIS_HASH,
    SYSTEM_CHAIN,
    Actor,
    ActorKind,
    canonical_json,
    next_event,
)

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

    # -- key_events folded into the chains ---------------------------------------------
    _fold_key_events()


# Actions of key_events as the audit trail names them.
_KEY_ACTIONS = {
    "data_key_rotated": "keys.data_key_rotated",
    "master_key_rotated": "keys.master_key_rotated",
    "data_keys_destroyed": "keys.data_keys_destroyed",
    "rows_reencrypted": "keys.reencrypted",
}
MIGRATED_ORIGIN = {"source": "key_events"}
"""``actor_origin`` of every migrated event: tells them apart from events the service
wrote itself (docs/compliance/audit-retention.md)."""

_key_events = sa.table(
    "key_events",
    sa.column("id", sa.Integer()),
    sa.column("occurred_at", DateTimeUTC(timezone=True)),
    sa.column("actor", sa.String()),
    sa.column("action", sa.String()),
    sa.column("tenant_id", sa.String()),
    sa.column("detail", sa.Text()),
)
_events = sa.table(
    "audit_events",
    *(sa.column(name, sa.String()) for name in ("id", "tenant_id", "actor", "actor_kind")),
    *(sa.column(name, sa.Text()) for name in ("actor_origin", "action", "target", "details")),
    *(sa.column(name, sa.String()) for name in ("previous_hash", "hash")),
    sa.column("sequence", sa.Integer()),
    sa.column("occurred_at", DateTimeUTC(timezone=True)),
)
_heads = sa.table(
    "audit_chain_heads",
    sa.column("tenant_id", sa.String()),
    sa.column("sequence", sa.Integer()),
    sa.column("hash", sa.String()),
    sa.column("signature", sa.String()),
    sa.column("updated_at", DateTimeUTC(timezone=True)),
)


def _plain(value: object) -> object:
    """A detail value the chain can encode (key_events held JSON; floats become text)."""
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    if value is None or isinstance(value, str | int | bool):
        return value
    return str(value)


def _fold_key_events() -> None:
    """Copy every ``key_events`` row into its tenant's chain (master-key events, which
    have no tenant, into the system chain), in (occurred_at, id) order, before any other
    event: the chains are new, so these are sequences 1…n. Each keeps its time, actor
    (kind ``cli``: every key event so far came from a ``commlog`` command or the
    retention job it runs) and detail, with the row's id as ``key_event_id``.

    A migration holds no master key, so the heads it leaves are unsigned (``signature``
    NULL): ``commlog database upgrade`` signs them right after migrating, if their chains
    verify (``compliance.audit.verify.sign_unsigned_heads``), and any append signs its
    chain's head."""
    bind = op.get_bind()
    rows = bind.execute(
        sa.select(_key_events).order_by(_key_events.c.occurred_at, _key_events.c.id)
    ).all()
    heads: dict[str, tuple[int, str, datetime]] = {}
    for row in rows:
        chain = row.tenant_id or SYSTEM_CHAIN
        try:
            detail = msgspec.json.decode(row.detail or "{}")
        except msgspec.DecodeError:
            detail = {"unparsed": row.detail}
        if not isinstance(detail, dict):
            detail = {"value": detail}
        details = _plain(detail)
        assert isinstance(details, dict)
        action = _KEY_ACTIONS.get(row.action, f"keys.{row.action}")
        if row.action == "data_keys_destroyed" and details.get("reason") == "tenant shredded":
            action = "tenant.shredded"
        details["key_event_id"] = row.id
        sequence, previous, _ = heads.get(chain, (0, GENESIS_HASH, row.occurred_at))
        occurred_at = row.occurred_at
        if occurred_at.tzinfo is None:
            occurred_at = occurred_at.replace(tzinfo=UTC)
        event = next_event(
            event_id=EVENT_ID_PREFIX + secrets.token_hex(12),
            tenant_id=chain,
            head_sequence=sequence,
            head_hash=previous,
            occurred_at=occurred_at,
            actor=Actor(id=row.actor, kind=ActorKind.CLI, origin=MIGRATED_ORIGIN),
            action=action,
            target=None,
            details=details,
        )
        bind.execute(
            _events.insert().values(
                id=event.id,
                tenant_id=event.tenant_id,
                sequence=event.sequence,
                occurred_at=event.occurred_at,
                actor=event.actor,
                actor_kind=event.actor_kind,
                actor_origin=canonical_json(dict(event.actor_origin)).decode(),
                action=event.action,
                target=event.target,
                details=canonical_json(dict(event.details)).decode(),
                previous_hash=event.previous_hash,
                hash=event.hash,
            )
        )
        heads[chain] = (event.sequence, event.hash, event.occurred_at)
    for chain, (sequence, head_hash, updated_at) in sorted(heads.items()):
        bind.execute(
            _heads.insert().values(
                tenant_id=chain,
                sequence=sequence,
                hash=head_hash,
                signature=None,
                updated_at=updated_at,
            )
        )


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
