"""An app that shuts down leaves no database connection behind (test runs and rolling
restarts would otherwise exhaust PostgreSQL's connection slots)."""

from __future__ import annotations

import asyncpg
import pytest
from litestar.testing import AsyncTestClient
from sqlalchemy.engine import make_url

from service.app import create_app
from service.settings import Settings


async def _connections_to(url: str) -> int:
    parsed = make_url(url)
    admin = await asyncpg.connect(
        host=parsed.host,
        port=parsed.port or 5432,
        user=parsed.username,
        password=parsed.password,
        database=parsed.database,
    )
    try:
        count: int = await admin.fetchval(
            "SELECT count(*) FROM pg_stat_activity "
            "WHERE datname = current_database() AND pid <> pg_backend_pid()"
        )
        return count
    finally:
        await admin.close()


@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
async def test_an_app_closes_every_connection_it_opened_when_it_shuts_down(
    settings: Settings, postgresql_url: str
) -> None:
    before = await _connections_to(postgresql_url)
    for _ in range(3):
        async with AsyncTestClient(app=create_app(settings)) as client:
            assert (await client.get("/health/ready")).status_code == 200
            assert (await client.get("/health/live")).status_code == 200
    assert await _connections_to(postgresql_url) <= before
