"""Shared fixtures: every database test runs on SQLite and on PostgreSQL.

PostgreSQL comes from ``COMMLOG_TEST_POSTGRES_URL`` or the role and database that
``scripts/ensure-postgres`` creates. Where it cannot be reached the PostgreSQL half is
skipped and the run says so at the end, unless ``COMMLOG_REQUIRE_POSTGRES=1`` (CI), where
it fails instead.
"""

from __future__ import annotations

import asyncio
import os
import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from pathlib import Path

import asyncpg
import pytest
from advanced_alchemy.extensions.litestar import SQLAlchemyAsyncConfig
from litestar import Litestar
from litestar.testing import AsyncTestClient
from sqlalchemy.engine import make_url

from compliance.encryption.master import MasterKeyring, new_master_key_entry, parse_master_keys
from service.app import create_app
from service.auth import TokenCodec
from service.persistence.database import create_database_config, upgrade_database
from service.settings import Settings
from tests.factories import Caller

DEFAULT_POSTGRES_URL = "postgresql+asyncpg://commlog:commlog@127.0.0.1:5432/commlog_test"
TEST_JWT_SECRET = "test-secret-" + "x" * 40
BACKENDS = ["sqlite", "postgresql"]
_postgres_skip_reason: list[str] = []


def _require_postgres() -> bool:
    return os.environ.get("COMMLOG_REQUIRE_POSTGRES") == "1"


migrate = upgrade_database


async def admin_fetchval(url: str, query: str) -> object:
    """Run one statement on its own asyncpg connection (outside any app) and return the
    first column of its first row, if any."""
    parsed = make_url(url)
    connection = await asyncpg.connect(
        host=parsed.host,
        port=parsed.port or 5432,
        user=parsed.username,
        password=parsed.password,
        database=parsed.database,
        timeout=5,
    )
    try:
        return await connection.fetchval(query)
    finally:
        await connection.close()


async def _admin_postgres(url: str, statement: str) -> None:
    await admin_fetchval(url, statement)


@contextmanager
def private_database(shared_url: str, tmp_path: Path) -> Iterator[str]:
    """A freshly migrated database of the same kind as ``shared_url``, for tests whose
    operations span every tenant (master-key rotation, CLI runs) and so cannot share."""
    if shared_url.startswith("sqlite"):
        url = f"sqlite+aiosqlite:///{tmp_path / 'private.db'}"
        migrate(url)
        yield url
        return
    name = f"commlog_private_{uuid.uuid4().hex[:10]}"
    asyncio.run(_admin_postgres(shared_url, f'CREATE DATABASE "{name}"'))
    try:
        url = make_url(shared_url).set(database=name).render_as_string(hide_password=False)
        migrate(url)
        yield url
    finally:
        asyncio.run(_admin_postgres(shared_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@pytest.fixture(params=BACKENDS)
def private_database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A migrated database of each kind for this test alone (see :func:`private_database`).

    A test module whose operations span every tenant overrides ``database_url`` with it.
    """
    shared: str = request.getfixturevalue(f"{request.param}_url")
    with private_database(shared, tmp_path) as url:
        yield url


@pytest.fixture(scope="session")
def sqlite_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    url = f"sqlite+aiosqlite:///{tmp_path_factory.mktemp('db') / 'commlog.db'}"
    migrate(url)
    return url


@pytest.fixture(scope="session")
def postgresql_url() -> Iterator[str]:
    """A database of this test run's own, next to the configured one.

    Two runs on one machine (a developer's and CI's) never share tables, keys or locks.
    Where the role may not create databases, the configured database itself is reset.
    """
    configured = os.environ.get("COMMLOG_TEST_POSTGRES_URL", DEFAULT_POSTGRES_URL)
    try:
        asyncio.run(_admin_postgres(configured, "SELECT 1"))
    except (OSError, asyncpg.PostgresError, TimeoutError) as exc:
        reason = f"PostgreSQL unreachable at {make_url(configured).host}: {type(exc).__name__}"
        if _require_postgres():
            pytest.fail(f"{reason} (COMMLOG_REQUIRE_POSTGRES=1)", pytrace=False)
        _postgres_skip_reason.append(reason)
        pytest.skip(reason)
    name = f"commlog_run_{uuid.uuid4().hex[:12]}"
    try:
        asyncio.run(_admin_postgres(configured, f'CREATE DATABASE "{name}"'))
    except asyncpg.InsufficientPrivilegeError:
        asyncio.run(
            _admin_postgres(
                configured, "DROP SCHEMA IF EXISTS public CASCADE; CREATE SCHEMA public;"
            )
        )
        migrate(configured)
        yield configured
        return
    url = make_url(configured).set(database=name).render_as_string(hide_password=False)
    try:
        migrate(url)
        yield url
    finally:
        asyncio.run(_admin_postgres(configured, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@pytest.fixture(params=BACKENDS)
def database_url(request: pytest.FixtureRequest) -> str:
    url: str = request.getfixturevalue(f"{request.param}_url")
    return url


TEST_MASTER_KEY_ENTRY = new_master_key_entry("test-1")
TEST_MASTER_KEYS = parse_master_keys(TEST_MASTER_KEY_ENTRY, source="tests")


@pytest.fixture
def master_keys() -> MasterKeyring:
    """One master keyring for the whole run: every app in it can read every tenant's keys."""
    return TEST_MASTER_KEYS


@pytest.fixture
def settings(database_url: str, tmp_path: Path, master_keys: MasterKeyring) -> Settings:
    return Settings(
        database_url=database_url,
        jwt_secret=TEST_JWT_SECRET,
        var_dir=tmp_path,
        master_keys=master_keys,
    )


@pytest.fixture
async def database(database_url: str) -> AsyncIterator[SQLAlchemyAsyncConfig]:
    """The test's own engine on the app's database, for looking behind the API.

    (The app under test runs its engine on the test client's event loop; asyncpg
    connections cannot be shared across loops.)
    """
    config = create_database_config(database_url)
    yield config
    await config.get_engine().dispose()


@pytest.fixture
def app(settings: Settings) -> Litestar:
    return create_app(settings)


@pytest.fixture
async def client(app: Litestar) -> AsyncIterator[AsyncTestClient[Litestar]]:
    async with AsyncTestClient(app=app) as test_client:
        yield test_client


@pytest.fixture
def tokens(settings: Settings) -> TokenCodec:
    return TokenCodec(settings)


@pytest.fixture
def tenant_id() -> str:
    """A tenant of the test's own: tests never see each other's rows."""
    return f"tnt_{uuid.uuid4().hex[:12]}"


@pytest.fixture
def caller(client: AsyncTestClient[Litestar], tokens: TokenCodec, tenant_id: str) -> Caller:
    return Caller(client=client, tokens=tokens, tenant_id=tenant_id)


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if _postgres_skip_reason:
        terminalreporter.write_sep("!", "PostgreSQL tests were SKIPPED", red=True, bold=True)
        terminalreporter.write_line(_postgres_skip_reason[0])
        terminalreporter.write_line(
            "Run `make postgres` (or set COMMLOG_TEST_POSTGRES_URL) to test on PostgreSQL too."
        )


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        callspec = getattr(item, "callspec", None)
        if callspec is not None and callspec.params.get("database_url") == "postgresql":
            item.add_marker(pytest.mark.postgres)
