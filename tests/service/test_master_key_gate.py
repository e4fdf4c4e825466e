"""No data key is opened or created before the master keys were verified against the database.

The database is unusable at start (not migrated yet, or PostgreSQL refusing connections
through a proxy the test controls); the service must refuse with 503 until the keys are
verified, never create a tenant's data keys under a master key that does not open the
stored ones, and become ready by itself once everything is right.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient
from sqlalchemy import func, select
from sqlalchemy.engine import make_url

from compliance.encryption.keystore import KeyStore, TenantKey, UnwrappedKeyCache
from compliance.encryption.master import new_master_key_entry, parse_master_keys
from service.app import create_app
from service.auth import TokenCodec
from service.persistence.database import create_database_config, upgrade_database
from service.settings import Settings
from tests.conftest import BACKENDS, TEST_JWT_SECRET, TEST_MASTER_KEY_ENTRY, TEST_MASTER_KEYS
from tests.conftest import _admin_postgres as admin_postgres
from tests.factories import Caller
from tests.service.tcp_proxy import ControllableProxy

# The configured key id with other key bytes: a typo, or another environment's key.
IMPOSTOR_KEYS = parse_master_keys(
    TEST_MASTER_KEY_ENTRY.split(":", 1)[0] + ":" + new_master_key_entry("x").split(":", 1)[1],
    source="tests",
)
REFUSED = "master keys not verified: the configured master keys do not open"


@contextmanager
def unmigrated_database(shared_url: str, tmp_path: Path) -> Iterator[str]:
    """An empty database (no tables at all) of the same kind as ``shared_url``."""
    if shared_url.startswith("sqlite"):
        yield f"sqlite+aiosqlite:///{tmp_path / 'empty.db'}"
        return
    name = f"commlog_empty_{uuid.uuid4().hex[:10]}"
    asyncio.run(admin_postgres(shared_url, f'CREATE DATABASE "{name}"'))
    try:
        yield make_url(shared_url).set(database=name).render_as_string(hide_password=False)
    finally:
        asyncio.run(admin_postgres(shared_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@pytest.fixture(params=BACKENDS)
def empty_database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    shared: str = request.getfixturevalue(f"{request.param}_url")
    with unmigrated_database(shared, tmp_path) as url:
        yield url


def settings_for(url: str, tmp_path: Path, master_keys: object = TEST_MASTER_KEYS) -> Settings:
    return Settings(
        database_url=url,
        jwt_secret=TEST_JWT_SECRET,
        var_dir=tmp_path,
        master_keys=master_keys,  # type: ignore[arg-type]
        db_connect_timeout=1.0,
        db_pool_timeout=1.0,
        db_statement_timeout=2.0,
    )


async def seed_a_tenant_key(url: str, tenant_id: str) -> None:
    """A data key stored under the right master key (what a correct service wrote)."""
    config = create_database_config(url)
    try:
        async with config.get_session() as session:
            await KeyStore(session, TEST_MASTER_KEYS, UnwrappedKeyCache()).blind_index_key(
                tenant_id
            )
            await session.commit()
    finally:
        await config.get_engine().dispose()


async def keys_of(url: str, tenant_id: str) -> int:
    config = create_database_config(url)
    try:
        async with config.get_session() as session:
            count = await session.scalar(
                select(func.count()).select_from(TenantKey).where(TenantKey.tenant_id == tenant_id)
            )
    finally:
        await config.get_engine().dispose()
    return int(count or 0)


async def readiness_when(
    client: AsyncTestClient[Litestar], wanted: Callable[[httpx.Response], bool]
) -> httpx.Response:
    """Poll ``/health/ready`` until ``wanted`` (the background verification retries with
    backoff); the last answer is returned either way and the caller asserts on it."""
    response = await client.get("/health/ready")
    for _ in range(200):
        if wanted(response):
            break
        await asyncio.sleep(0.25)
        response = await client.get("/health/ready")
    return response


def caller_of(app: Litestar, client: AsyncTestClient[Litestar], tenant_id: str) -> Caller:
    return Caller(client=client, tokens=TokenCodec(app.state["settings"]), tenant_id=tenant_id)


def assert_refused_for_keys(response: httpx.Response) -> None:
    assert response.status_code == 503, response.text
    assert response.json()["message"] == "master keys not verified yet"
    assert response.headers["Retry-After"].isdigit()


async def test_an_unmigrated_database_is_not_ready_and_nothing_is_served(
    empty_database_url: str, tmp_path: Path, tenant_id: str
) -> None:
    app = create_app(settings_for(empty_database_url, tmp_path))
    async with AsyncTestClient(app=app) as client:
        caller = Caller(
            client=client, tokens=TokenCodec(app.state["settings"]), tenant_id=tenant_id
        )
        ready = await client.get("/health/ready")
        recorded = await caller.record()
        listed = await caller.list_logs()
    assert ready.status_code == 503
    assert ready.json()["message"].startswith("database schema not migrated")
    assert_refused_for_keys(recorded)
    assert_refused_for_keys(listed)


async def test_a_wrong_master_key_never_creates_keys_once_the_database_is_migrated(
    empty_database_url: str,
    tmp_path: Path,
    tenant_id: str,
    caplog: pytest.LogCaptureFixture,
) -> None:
    app = create_app(settings_for(empty_database_url, tmp_path, IMPOSTOR_KEYS))
    async with AsyncTestClient(app=app) as client:
        caller = Caller(
            client=client, tokens=TokenCodec(app.state["settings"]), tenant_id=tenant_id
        )
        await asyncio.to_thread(upgrade_database, empty_database_url)
        await seed_a_tenant_key(empty_database_url, "tnt_existing")
        ready = await readiness_when(client, lambda r: r.json()["message"].startswith(REFUSED))
        recorded = await caller.record()
        listed = await caller.list_logs()
    assert ready.status_code == 503
    assert ready.json()["message"].startswith(REFUSED)
    assert_refused_for_keys(recorded)
    assert_refused_for_keys(listed)
    assert await keys_of(empty_database_url, tenant_id) == 0
    critical = [r for r in caplog.records if r.levelno == logging.CRITICAL]
    assert len(critical) == 1
    assert "master key 'test-1' does not match" in critical[0].getMessage()


async def test_with_the_right_master_key_the_service_becomes_ready_by_itself(
    empty_database_url: str, tmp_path: Path, tenant_id: str
) -> None:
    app = create_app(settings_for(empty_database_url, tmp_path))
    async with AsyncTestClient(app=app) as client:
        caller = Caller(
            client=client, tokens=TokenCodec(app.state["settings"]), tenant_id=tenant_id
        )
        assert_refused_for_keys(await caller.record())
        await asyncio.to_thread(upgrade_database, empty_database_url)
        ready = await readiness_when(client, lambda r: r.status_code == 200)
        recorded = await caller.record()
    assert ready.status_code == 200, ready.text
    assert recorded.status_code == 201, recorded.text


@pytest.fixture
def refusing_proxy(postgresql_url: str) -> Iterator[ControllableProxy]:
    target = make_url(postgresql_url)
    proxy = ControllableProxy(target.host or "127.0.0.1", target.port or 5432).start()
    proxy.refuse()
    yield proxy
    proxy.close()


def through(proxy: ControllableProxy, url: str) -> str:
    return (
        make_url(url).set(host="127.0.0.1", port=proxy.port).render_as_string(hide_password=False)
    )


@pytest.mark.postgres
@pytest.mark.parametrize("keys", ["impostor", "right"])
async def test_with_postgresql_down_at_start_keys_wait_for_verification(
    keys: str,
    refusing_proxy: ControllableProxy,
    postgresql_url: str,
    tmp_path: Path,
    tenant_id: str,
) -> None:
    await seed_a_tenant_key(postgresql_url, f"tnt_existing_{uuid.uuid4().hex[:6]}")
    master = IMPOSTOR_KEYS if keys == "impostor" else TEST_MASTER_KEYS
    app = create_app(settings_for(through(refusing_proxy, postgresql_url), tmp_path, master))
    async with AsyncTestClient(app=app) as client:
        caller = Caller(
            client=client, tokens=TokenCodec(app.state["settings"]), tenant_id=tenant_id
        )
        down = await client.get("/health/ready")
        refused_while_down = await caller.record()
        refusing_proxy.resume()
        if keys == "impostor":
            ready = await readiness_when(client, lambda r: r.json()["message"].startswith(REFUSED))
        else:
            ready = await readiness_when(client, lambda r: r.status_code == 200)
        recorded = await caller.record()
    assert down.status_code == 503
    assert down.json()["message"] == "database unreachable"
    assert_refused_for_keys(refused_while_down)
    if keys == "impostor":
        assert ready.status_code == 503
        assert_refused_for_keys(recorded)
        assert await keys_of(postgresql_url, tenant_id) == 0
    else:
        assert ready.status_code == 200, ready.text
        assert recorded.status_code == 201, recorded.text
