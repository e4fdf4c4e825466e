"""A database that freezes, refuses or is locked never freezes clients or answers 500.

PostgreSQL is reached through a TCP proxy the test controls (``tcp_proxy``); SQLite is
locked by a second connection holding ``BEGIN IMMEDIATE`` on the same file.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient
from sqlalchemy.engine import make_url

from compliance.encryption.gate import GateState
from service.app import create_app
from service.auth import TokenCodec
from service.settings import Settings
from tests.conftest import TEST_JWT_SECRET, TEST_MASTER_KEYS
from tests.factories import Caller
from tests.service.tcp_proxy import ControllableProxy

SHORT = 1.0  # seconds: connect, pool checkout and statement timeouts under test


def through(proxy: ControllableProxy, url: str) -> str:
    return (
        make_url(url).set(host="127.0.0.1", port=proxy.port).render_as_string(hide_password=False)
    )


@pytest.fixture
def proxy(postgresql_url: str) -> Iterator[ControllableProxy]:
    target = make_url(postgresql_url)
    running = ControllableProxy(target.host or "127.0.0.1", target.port or 5432).start()
    yield running
    running.close()


def short_timeouts(database_url: str, tmp_path: Path, **changes: object) -> Settings:
    return Settings(
        database_url=database_url,
        jwt_secret=TEST_JWT_SECRET,
        var_dir=tmp_path,
        master_keys=TEST_MASTER_KEYS,
        db_connect_timeout=SHORT,
        db_pool_timeout=SHORT,
        db_statement_timeout=SHORT,
        **changes,  # type: ignore[arg-type]
    )


def assert_unavailable(response: object) -> None:
    status = getattr(response, "status_code", None)
    assert status == 503, getattr(response, "text", response)
    body = response.json()  # type: ignore[attr-defined]
    assert body["code"] == 503
    assert set(body) == {"code", "message", "timestamp"}
    assert response.headers["Retry-After"].isdigit()  # type: ignore[attr-defined]


@pytest.mark.postgres
async def test_a_frozen_postgresql_gets_503s_and_the_service_recovers_without_restart(
    proxy: ControllableProxy,
    postgresql_url: str,
    tmp_path: Path,
    tenant_id: str,
    caplog: pytest.LogCaptureFixture,
) -> None:
    settings = short_timeouts(through(proxy, postgresql_url), tmp_path)
    app = create_app(settings)
    async with AsyncTestClient(app=app) as client:
        caller = Caller(client=client, tokens=TokenCodec(settings), tenant_id=tenant_id)
        await caller.create()
        assert (await client.get("/health/ready")).status_code == 200

        proxy.freeze()
        started = time.monotonic()
        listed = await caller.list_logs()
        recorded = await caller.record()
        ready = await client.get("/health/ready")
        frozen_for = time.monotonic() - started  # for the log only: no timed assertion
        proxy.resume()

        assert_unavailable(listed)
        assert_unavailable(recorded)
        assert ready.status_code == 503
        assert ready.json()["message"] == "database unreachable"

        assert (await caller.list_logs()).status_code == 200
        assert (await caller.record()).status_code == 201
        assert (await client.get("/health/ready")).status_code == 200
    print(f"three requests against a frozen database answered in {frozen_for:.1f} s")
    assert "database unavailable" in caplog.text
    assert "+86138" not in caplog.text


@pytest.mark.postgres
async def test_postgresql_refusing_connections_gets_503_not_500(
    proxy: ControllableProxy, postgresql_url: str, tmp_path: Path, tenant_id: str
) -> None:
    settings = short_timeouts(through(proxy, postgresql_url), tmp_path)
    app = create_app(settings)
    async with AsyncTestClient(app=app) as client:
        caller = Caller(client=client, tokens=TokenCodec(settings), tenant_id=tenant_id)
        await caller.create()
        proxy.refuse()
        proxy.drop_connections()
        listed = await caller.list_logs()
        recorded = await caller.record()
        proxy.resume()
        assert_unavailable(listed)
        assert_unavailable(recorded)
        assert (await caller.record()).status_code == 201


@pytest.mark.postgres
async def test_keys_once_verified_stay_verified_when_a_recheck_loses_the_database(
    proxy: ControllableProxy, postgresql_url: str, tmp_path: Path, tenant_id: str
) -> None:
    settings = short_timeouts(through(proxy, postgresql_url), tmp_path)
    app = create_app(settings)
    async with AsyncTestClient(app=app) as client:
        caller = Caller(client=client, tokens=TokenCodec(settings), tenant_id=tenant_id)
        await caller.create()
        proxy.refuse()
        proxy.drop_connections()
        await app.state["readiness"].verify_once()  # a re-check while the database is gone
        state_during_outage = app.state["key_gate"].state
        proxy.resume()
        listed = await caller.list_logs()
    # One dropped connection must not refuse every tenant until the next re-check.
    assert state_during_outage is GateState.VERIFIED
    assert listed.status_code == 200, listed.text


@pytest.fixture
def sqlite_file_url(tmp_path: Path) -> str:
    from tests.conftest import migrate

    url = f"sqlite+aiosqlite:///{tmp_path / 'locked.db'}"
    migrate(url)
    return url


async def test_a_sqlite_file_locked_by_another_writer_gets_503_with_retry_after(
    sqlite_file_url: str, tmp_path: Path, tenant_id: str
) -> None:
    settings = short_timeouts(sqlite_file_url, tmp_path)
    app: Litestar = create_app(settings)
    path = sqlite_file_url.removeprefix("sqlite+aiosqlite:///")
    async with AsyncTestClient(app=app) as client:
        caller = Caller(client=client, tokens=TokenCodec(settings), tenant_id=tenant_id)
        await caller.create()
        other_process = sqlite3.connect(path, isolation_level=None)
        try:
            other_process.execute("BEGIN IMMEDIATE")
            recorded = await caller.record()
        finally:
            other_process.execute("ROLLBACK")
            other_process.close()
        assert_unavailable(recorded)
        assert (await caller.record()).status_code == 201
