"""Migration 0007 on a database holding holds of the old shape, on SQLite and PostgreSQL:
each gets its scope from what it names, the ones with no end get a review date, and all
keep holding what they held (short-lived content included)."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from advanced_alchemy.alembic.commands import AlembicCommands
from alembic.script import ScriptDirectory
from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import create_async_engine

from policies.holds import BACKFILL_REVIEW_DAYS
from service.persistence.database import MIGRATIONS_DIR, create_database_config
from tests.conftest import BACKENDS, admin_fetchval

OLD_HOLDS = [
    # id, user_id, channel, recipient_index, recipient_masked, expires_at, released_at
    ("hold_tenant", None, None, None, None, None, None),
    ("hold_user", "usr_a", None, None, None, "2027-06-01 00:00:00+00:00", None),
    ("hold_recipient", None, "sms", b"\x01" * 8, "138****8000", None, None),
    ("hold_both", "usr_a", "sms", b"\x02" * 8, "138****8001", None, None),
    ("hold_released", None, "sms", None, "138****8002", None, "2026-01-01 00:00:00+00:00"),
]


@pytest.fixture(params=BACKENDS)
def empty_database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A database of each kind with no schema yet."""
    shared: str = request.getfixturevalue(f"{request.param}_url")
    if shared.startswith("sqlite"):
        yield f"sqlite+aiosqlite:///{tmp_path / 'old.db'}"
        return
    name = f"commlog_private_{uuid.uuid4().hex[:10]}"
    asyncio.run(admin_fetchval(shared, f'CREATE DATABASE "{name}"'))
    try:
        yield make_url(shared).set(database=name).render_as_string(hide_password=False)
    finally:
        asyncio.run(admin_fetchval(shared, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


def _upgrade(url: str, revision: str) -> None:
    AlembicCommands(sqlalchemy_config=create_database_config(url)).upgrade(revision)


async def _execute(url: str, statement: str, rows: list[dict[str, object]] | None = None) -> list:
    engine = create_async_engine(url)
    try:
        async with engine.begin() as connection:
            result = await connection.execute(text(statement), rows or {})
            return list(result) if result.returns_rows else []
    finally:
        await engine.dispose()


def test_migration_0007_backfills_scope_review_dates_and_keeps_old_holds_whole(
    empty_database_url: str,
) -> None:
    before = ScriptDirectory(str(MIGRATIONS_DIR)).get_revision("0007").down_revision
    assert isinstance(before, str)
    _upgrade(empty_database_url, before)
    insert = (
        "INSERT INTO legal_holds (id, tenant_id, user_id, channel, recipient_index, "
        "recipient_masked, reason, created_by, created_at, expires_at, released_at) VALUES "
        "(:id, 'tnt_old', :user_id, :channel, :recipient_index, :recipient_masked, "
        "'old reason', 'officer', :created_at, :expires_at, :released_at)"
    )

    def moment(value: str | None) -> datetime | None:
        return datetime.fromisoformat(value) if value else None

    rows: list[dict[str, object]] = [
        {
            "id": hold_id,
            "user_id": user_id,
            "channel": channel,
            "recipient_index": index,
            "recipient_masked": masked,
            "created_at": datetime(2025, 1, 1, tzinfo=UTC),
            "expires_at": moment(expires),
            "released_at": moment(released),
        }
        for hold_id, user_id, channel, index, masked, expires, released in OLD_HOLDS
    ]
    if empty_database_url.startswith("sqlite"):
        # DateTimeUTC stores naive UTC text on SQLite
        for row in rows:
            for key in ("created_at", "expires_at", "released_at"):
                value = row[key]
                if isinstance(value, datetime):
                    row[key] = value.replace(tzinfo=None).isoformat(sep=" ")
    asyncio.run(_execute(empty_database_url, insert, rows))

    upgraded_at = datetime.now(UTC)
    _upgrade(empty_database_url, "head")
    found = asyncio.run(
        _execute(
            empty_database_url,
            "SELECT id, scope, review_by, keep_short_lived_content, expires_at "
            "FROM legal_holds ORDER BY id",
        )
    )
    by_id = {row[0]: row for row in found}
    assert {hold_id: row[1] for hold_id, row in by_id.items()} == {
        "hold_tenant": "tenant",
        "hold_user": "user",
        "hold_recipient": "recipient",
        "hold_both": "recipient",
        "hold_released": "recipient",
    }
    assert all(bool(row[3]) for row in found)  # old holds keep short-lived content too
    reviewed = {hold_id for hold_id, row in by_id.items() if row[2] is not None}
    assert reviewed == {"hold_tenant", "hold_recipient", "hold_both"}
    review_by = by_id["hold_tenant"][2]
    if isinstance(review_by, str):
        review_by = datetime.fromisoformat(review_by)
    if review_by.tzinfo is None:
        review_by = review_by.replace(tzinfo=UTC)
    expected = upgraded_at + timedelta(days=BACKFILL_REVIEW_DAYS)
    assert abs(review_by - expected) < timedelta(minutes=5)
