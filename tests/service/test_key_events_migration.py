"""Migration 0006 folds the ``key_events`` rows written before the audit trail existed into
the chains: first, in (occurred_at, id) order, hash-linked, with an unsigned head that the
first append signs. Migration 0012 then drops the table; its downgrade recreates it empty."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import msgspec
import pytest
import sqlalchemy as sa
from advanced_alchemy.alembic.commands import AlembicCommands
from alembic.script import ScriptDirectory
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine

from compliance.audit.models import AuditChainHead
from compliance.audit.trail import AuditChainBroken, append_event
from compliance.audit.verify import sign_unsigned_heads
from compliance.encryption.master import MasterKeyring
from compliance.transactions import begin_write, commit
from policies.audit_chain import SYSTEM_CHAIN, Actor, ActorKind
from service.persistence.database import MIGRATIONS_DIR, create_database_config
from tests.audit_chains import assert_chain_verifies, chain_events, details
from tests.conftest import BACKENDS, _admin_postgres

T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


@pytest.fixture(params=BACKENDS)
def empty_database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A database of this test's own with no tables yet."""
    if request.param == "sqlite":
        yield f"sqlite+aiosqlite:///{tmp_path / 'before.db'}"
        return
    shared: str = request.getfixturevalue("postgresql_url")
    name = f"commlog_private_{uuid.uuid4().hex[:10]}"
    asyncio.run(_admin_postgres(shared, f'CREATE DATABASE "{name}"'))
    try:
        yield make_url(shared).set(database=name).render_as_string(hide_password=False)
    finally:
        asyncio.run(_admin_postgres(shared, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


def _key_events() -> list[dict[str, object]]:
    def at(minutes: int) -> datetime:
        return T0 + timedelta(minutes=minutes)

    return [
        # inserted out of time order: the chain follows (occurred_at, id), not insertion
        {"occurred_at": at(5), "actor": "cli:ops", "action": "data_keys_destroyed",
         "tenant_id": "tnt_a", "detail": '{"purpose":"all","epoch":"all","keys":3,'
         '"reason":"tenant shredded"}'},
        {"occurred_at": at(1), "actor": "cli:ops", "action": "data_key_rotated",
         "tenant_id": "tnt_a", "detail": '{"version":2}'},
        {"occurred_at": at(2), "actor": "retention", "action": "rows_reencrypted",
         "tenant_id": "tnt_a", "detail": '{"rows":10,"batches":1,"finished":true}'},
        {"occurred_at": at(3), "actor": "cli:ops", "action": "master_key_rotated",
         "tenant_id": None, "detail": '{"primary":"m2","rewrapped":4}'},
    ]  # fmt: skip


async def _insert_key_events(engine: AsyncEngine) -> None:
    """The rows of :func:`_key_events`, into the table as the database has it (the
    application no longer maps ``key_events``)."""
    async with engine.begin() as connection:
        table = await connection.run_sync(
            lambda sync: sa.Table("key_events", sa.MetaData(), autoload_with=sync)
        )
        await connection.execute(sa.insert(table), _key_events())


async def test_key_events_become_the_first_events_of_their_chains_and_verify_once_signed(
    empty_database_url: str, master_keys: MasterKeyring
) -> None:
    commands = AlembicCommands(sqlalchemy_config=create_database_config(empty_database_url))
    await asyncio.to_thread(commands.upgrade, "0005")
    database = create_database_config(empty_database_url)
    try:
        await _insert_key_events(database.get_engine())
        await asyncio.to_thread(commands.upgrade, "head")
        assert await _key_events_table(database.get_engine()) is None  # 0012 dropped it

        tenant = await chain_events(database, "tnt_a")
        assert [(e.sequence, e.action) for e in tenant] == [
            (1, "keys.data_key_rotated"),
            (2, "keys.reencrypted"),
            (3, "tenant.shredded"),
        ]
        assert [e.occurred_at for e in tenant] == [T0 + timedelta(minutes=m) for m in (1, 2, 5)]
        assert details(tenant[1]) == {"rows": 10, "batches": 1, "finished": True, "key_event_id": 3}
        assert msgspec.json.decode(tenant[0].actor_origin) == {"source": "key_events"}
        (system,) = await chain_events(database, SYSTEM_CHAIN)
        assert system.action == "keys.master_key_rotated"
        async with database.get_session() as session:
            head = await session.get(AuditChainHead, "tnt_a")
        assert head is not None
        assert (head.sequence, head.hash, head.signature) == (3, tenant[-1].hash, None)

        async def append() -> None:
            async with database.get_session() as session:
                await begin_write(session)
                await append_event(
                    session,
                    master_keys,
                    tenant_id="tnt_a",
                    actor=Actor(id="usr_officer", kind=ActorKind.OFFICER),
                    action="export.completed",
                )
                await commit(session, operation="test_append")

        # Nothing is appended on an unsigned head: whoever can write the database could
        # otherwise have rewritten the migrated chain and let the next action sign it.
        with pytest.raises(AuditChainBroken, match="not validly signed"):
            await append()

        # What `commlog database upgrade` does next: sign the heads left unsigned, once
        # their chains verify; then the chains grow as usual.
        async with database.get_session() as session:
            await begin_write(session)
            signed = await sign_unsigned_heads(session, master_keys)
            await commit(session, operation="test_sign")
        assert sorted(signed) == sorted([SYSTEM_CHAIN, "tnt_a"])
        await assert_chain_verifies(database, master_keys, SYSTEM_CHAIN)
        await append()
        events = await assert_chain_verifies(database, master_keys, "tnt_a")
        assert [e.sequence for e in events] == [1, 2, 3, 4]
    finally:
        await database.get_engine().dispose()


async def _key_events_table(engine: AsyncEngine) -> dict[str, object] | None:
    """The ``key_events`` table as the database describes it (columns, primary key,
    indexes) and its row count; ``None`` if there is no such table."""

    def describe(connection: sa.Connection) -> dict[str, object] | None:
        found = sa.inspect(connection)
        if not found.has_table("key_events"):
            return None
        return {
            "columns": [
                (c["name"], str(c["type"]), c["nullable"]) for c in found.get_columns("key_events")
            ],
            "primary_key": found.get_pk_constraint("key_events")["constrained_columns"],
            "indexes": sorted(
                (i["name"], tuple(i["column_names"]), bool(i["unique"]))
                for i in found.get_indexes("key_events")
            ),
            "rows": connection.scalar(sa.text("SELECT count(*) FROM key_events")),
        }

    async with engine.connect() as connection:
        return await connection.run_sync(describe)


async def test_migration_0012_drops_key_events_and_its_downgrade_recreates_the_table_empty(
    empty_database_url: str,
) -> None:
    before = ScriptDirectory(str(MIGRATIONS_DIR)).get_revision("0012").down_revision
    assert isinstance(before, str)
    commands = AlembicCommands(sqlalchemy_config=create_database_config(empty_database_url))
    await asyncio.to_thread(commands.upgrade, before)
    database = create_database_config(empty_database_url)
    try:
        engine = database.get_engine()
        as_it_was = await _key_events_table(engine)
        assert as_it_was is not None
        assert as_it_was["indexes"] == [
            ("ix_key_events_tenant_time", ("tenant_id", "occurred_at"), False)
        ]
        await _insert_key_events(engine)
        await engine.dispose()

        await asyncio.to_thread(commands.upgrade, "0012")
        assert await _key_events_table(engine) is None
        await engine.dispose()

        await asyncio.to_thread(commands.downgrade, before)
        assert await _key_events_table(engine) == {**as_it_was, "rows": 0}
        await engine.dispose()

        await asyncio.to_thread(commands.upgrade, "head")
        assert await _key_events_table(engine) is None
    finally:
        await database.get_engine().dispose()
