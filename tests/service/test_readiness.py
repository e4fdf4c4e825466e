"""``/health/ready`` tells the truth: schema at the head, writable, every data key opens.

(Unreachable, frozen and unmigrated databases: test_health, test_database_outages and
test_master_key_gate.)
"""

from __future__ import annotations

import asyncio
import os
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient
from sqlalchemy import select, text, update
from sqlalchemy.engine import make_url

from compliance.encryption.keystore import KeyPurpose, TenantKey
from service.app import create_app
from service.auth import TokenCodec
from service.persistence.database import create_database_config
from service.settings import Settings
from tests.conftest import TEST_JWT_SECRET, TEST_MASTER_KEYS
from tests.conftest import _admin_postgres as admin_postgres
from tests.factories import Caller


@pytest.fixture
def database_url(private_database_url: str) -> str:
    """Each test here changes its database (schema version, key rows, permissions)."""
    return private_database_url


def settings_for(url: str, tmp_path: Path) -> Settings:
    return Settings(
        database_url=url, jwt_secret=TEST_JWT_SECRET, var_dir=tmp_path, master_keys=TEST_MASTER_KEYS
    )


async def execute(url: str, statement: object) -> None:
    config = create_database_config(url)
    try:
        async with config.get_session() as session:
            await session.execute(statement)  # type: ignore[call-overload]
            await session.commit()
    finally:
        await config.get_engine().dispose()


async def readiness_when(client: AsyncTestClient[Litestar], status: int) -> httpx.Response:
    """Poll until the background re-check caught up (bounded; the caller asserts)."""
    response = await client.get("/health/ready")
    for _ in range(200):
        if response.status_code == status:
            break
        await asyncio.sleep(0.25)
        response = await client.get("/health/ready")
    return response


async def test_a_schema_behind_the_migration_head_is_not_ready(
    database_url: str, tmp_path: Path
) -> None:
    await execute(database_url, text("UPDATE alembic_versions SET version_num = '0001'"))
    async with AsyncTestClient(app=create_app(settings_for(database_url, tmp_path))) as client:
        ready = await client.get("/health/ready")
    assert ready.status_code == 503
    assert ready.json()["message"].startswith("database schema not at the migration head")


@contextmanager
def read_only(database_url: str) -> Iterator[None]:
    """The database refuses writes: an immutable SQLite file (root ignores file modes),
    or a PostgreSQL database whose sessions are read-only (as on a standby)."""
    url = make_url(database_url)
    if url.get_backend_name() == "sqlite":
        path = Path(url.database or "")
        if os.geteuid() == 0:
            if subprocess.run(["chattr", "+i", str(path)], check=False).returncode:  # noqa: S603, S607
                pytest.skip("chattr +i is not available here")
            try:
                yield
            finally:
                subprocess.run(["chattr", "-i", str(path)], check=True)  # noqa: S603, S607
        else:
            path.chmod(0o444)
            try:
                yield
            finally:
                path.chmod(0o644)
        return
    alter = f'ALTER DATABASE "{url.database}"'
    asyncio.run(admin_postgres(database_url, f"{alter} SET default_transaction_read_only = on"))
    try:
        yield
    finally:
        # From another database: this one's sessions cannot run ALTER DATABASE now.
        other = url.set(database="postgres").render_as_string(hide_password=False)
        asyncio.run(admin_postgres(other, f"{alter} RESET default_transaction_read_only"))


def test_a_read_only_database_is_not_ready_and_writes_get_503(
    database_url: str, tmp_path: Path, tenant_id: str
) -> None:
    async def probe() -> tuple[httpx.Response, httpx.Response]:
        settings = settings_for(database_url, tmp_path)
        async with AsyncTestClient(app=create_app(settings)) as client:
            caller = Caller(client=client, tokens=TokenCodec(settings), tenant_id=tenant_id)
            return await client.get("/health/ready"), await caller.record()

    with read_only(database_url):
        ready, recorded = asyncio.run(probe())
    assert ready.status_code == 503
    assert ready.json()["message"] == "database is read-only"
    assert recorded.status_code == 503, recorded.text
    assert recorded.headers["Retry-After"].isdigit()


async def content_key(url: str, tenant_id: str) -> bytes:
    config = create_database_config(url)
    try:
        async with config.get_session() as session:
            wrapped = await session.scalar(
                select(TenantKey.wrapped_key).where(
                    TenantKey.tenant_id == tenant_id, TenantKey.purpose == KeyPurpose.CONTENT
                )
            )
    finally:
        await config.get_engine().dispose()
    assert wrapped is not None
    return wrapped


async def replace_content_key(url: str, tenant_id: str, wrapped: bytes) -> None:
    await execute(
        url,
        update(TenantKey)
        .where(TenantKey.tenant_id == tenant_id, TenantKey.purpose == KeyPurpose.CONTENT)
        .values(wrapped_key=wrapped),
    )


async def test_a_corrupt_key_row_is_not_ready_until_restored_and_other_tenants_are_served(
    database_url: str, tmp_path: Path, tenant_id: str, caplog: pytest.LogCaptureFixture
) -> None:
    settings = settings_for(database_url, tmp_path)
    tokens = TokenCodec(settings)
    victim_id = tenant_id + "_victim"
    async with AsyncTestClient(app=create_app(settings)) as client:
        healthy = Caller(client=client, tokens=tokens, tenant_id=tenant_id)
        victim = Caller(client=client, tokens=tokens, tenant_id=victim_id)
        await healthy.create()
        await victim.create()
        original = await content_key(database_url, victim_id)
        await replace_content_key(database_url, victim_id, b"\x00" * len(original))
        victim_read = await victim.list_logs()  # finds the corrupt row while serving
        ready_after_finding = await client.get("/health/ready")

    async with AsyncTestClient(app=create_app(settings)) as client:
        healthy = Caller(client=client, tokens=tokens, tenant_id=tenant_id)
        ready_at_start = await client.get("/health/ready")
        healthy_read = await healthy.list_logs()
        await replace_content_key(database_url, victim_id, original)  # the operator restores it
        ready_after_restore = await readiness_when(client, 200)

    # A known failure, not a bug: 503 with Retry-After, never a 500 or the key's words.
    assert victim_read.status_code == 503, victim_read.text
    assert victim_read.headers["Retry-After"]
    assert victim_read.json()["message"] == (
        "this tenant's data keys cannot be opened right now; retry later"
    )
    for ready in (ready_after_finding, ready_at_start):
        assert ready.status_code == 503
        assert ready.json()["message"] == "key store integrity: 1 data key(s) cannot be opened"
    assert healthy_read.status_code == 200
    assert healthy_read.json()["total"] == 1
    assert "key store integrity" in caplog.text
    assert ready_after_restore.status_code == 200, ready_after_restore.text


async def test_a_migrated_writable_database_with_verified_keys_is_ready(
    database_url: str, tmp_path: Path, tenant_id: str
) -> None:
    settings = settings_for(database_url, tmp_path)
    async with AsyncTestClient(app=create_app(settings)) as client:
        empty = await client.get("/health/ready")  # no key stored yet: verified
        await Caller(client=client, tokens=TokenCodec(settings), tenant_id=tenant_id).create()
    async with AsyncTestClient(app=create_app(settings)) as client:
        with_keys = await client.get("/health/ready")
    assert empty.status_code == 200, empty.text
    assert with_keys.status_code == 200, with_keys.text
    assert with_keys.json()["message"] == "ready"
