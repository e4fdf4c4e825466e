"""Migration 0011 on a database holding holds placed before it, on SQLite and PostgreSQL:
each active recipient hold keeps matching its one index (form ``as_placed``), released and
non-recipient holds get no form, and the downgrade drops the table."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

from advanced_alchemy.alembic.commands import AlembicCommands
from sqlalchemy import insert, inspect, select
from sqlalchemy.ext.asyncio import create_async_engine

from compliance.retention.models import LegalHold, LegalHoldRecipientForm
from service.persistence.database import create_database_config

NOW = datetime(2026, 12, 1, tzinfo=UTC)
OLD_HOLDS = [
    # id, scope, recipient_index, released_at
    ("hold_recipient", "recipient", b"\x01" * 8, None),
    ("hold_released", "recipient", None, NOW),
    ("hold_tenant", "tenant", None, None),
]


def _alembic(url: str) -> AlembicCommands:
    return AlembicCommands(sqlalchemy_config=create_database_config(url))


async def _insert_old_holds(url: str) -> None:
    engine = create_async_engine(url)
    try:
        async with engine.begin() as connection:
            await connection.execute(
                insert(LegalHold.__table__),
                [
                    {
                        "id": hold_id,
                        "tenant_id": "tnt_old",
                        "scope": scope,
                        "channel": "sms" if scope == "recipient" else None,
                        "recipient_index": index,
                        "recipient_masked": "+8613******678" if scope == "recipient" else None,
                        "reason": "old reason",
                        "created_by": "officer",
                        "created_at": NOW - timedelta(days=30),
                        "review_by": NOW + timedelta(days=30),
                        "released_at": released,
                        "keep_short_lived_content": True,
                    }
                    for hold_id, scope, index, released in OLD_HOLDS
                ],
            )
    finally:
        await engine.dispose()


async def _forms_and_tables(url: str) -> tuple[list[tuple[str, str, bytes]], list[str]]:
    engine = create_async_engine(url)
    try:
        async with engine.connect() as connection:
            tables = await connection.run_sync(lambda sync: inspect(sync).get_table_names())
            if LegalHoldRecipientForm.__tablename__ not in tables:
                return [], tables
            form = LegalHoldRecipientForm
            rows = await connection.execute(
                select(form.hold_id, form.form, form.recipient_index).order_by(form.hold_id)
            )
            return [(row[0], row[1], bytes(row[2])) for row in rows], tables
    finally:
        await engine.dispose()


def test_migration_0011_copies_each_active_recipient_holds_index_and_downgrades(
    private_database_url: str,
) -> None:
    _alembic(private_database_url).downgrade("0010")
    _, tables = asyncio.run(_forms_and_tables(private_database_url))
    assert LegalHoldRecipientForm.__tablename__ not in tables
    asyncio.run(_insert_old_holds(private_database_url))

    _alembic(private_database_url).upgrade("head")
    forms, _ = asyncio.run(_forms_and_tables(private_database_url))
    assert forms == [("hold_recipient", "as_placed", b"\x01" * 8)]
