"""Every acknowledged write is stored, under real infrastructure faults (issue 7, section 1).

- SQLite on a file system that fills up: a 3 MiB tmpfs holding the database.
- PostgreSQL backends terminated by a second connection while they are ``idle in
  transaction`` between the last statement and ``COMMIT``, under concurrent writers.

After each fault is gone, retries with the same ``Idempotency-Key`` store exactly one
record per key.
"""

from __future__ import annotations

import asyncio
import random
import threading
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import asyncpg
import pytest
from litestar.testing import AsyncTestClient
from sqlalchemy import event, text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine
from sqlalchemy.util import await_only

from compliance.encryption.master import MasterKeyring
from policies.text_limits import TextLimits
from service.app import create_app
from service.auth import TokenCodec
from service.settings import Settings
from tests.conftest import TEST_JWT_SECRET, migrate, private_database
from tests.factories import Caller, hold_body, idempotency_digests
from tests.faults import fill, resize, small_filesystem

FULL_DISK_CONTENT_BYTES = 60_000
"""Content of each send on the small file system (ASCII, so also its length in
characters; configurable up to 65,536): about 30 of them fill 3 MiB."""


@pytest.fixture
def small_fs(tmp_path: Path) -> Iterator[Path]:
    """A 3 MiB tmpfs for the database."""
    with small_filesystem(tmp_path / "small-fs") as where:
        yield where


def _settings(database_url: str, var_dir: Path, master_keys: MasterKeyring) -> Settings:
    return Settings(
        database_url=database_url,
        jwt_secret=TEST_JWT_SECRET,
        var_dir=var_dir,
        master_keys=master_keys,
        # The sends that fill the disk are as large as the content limit may be configured.
        text_limits=TextLimits(content_chars=FULL_DISK_CONTENT_BYTES),
    )


async def _stored(engine: AsyncEngine, tenant_id: str) -> list[str]:
    async with engine.connect() as connection:
        rows = await connection.execute(
            text("SELECT idempotency_key FROM communication_logs WHERE tenant_id = :tenant"),
            {"tenant": tenant_id},
        )
        return sorted(row[0] for row in rows)


async def _statuses(engine: AsyncEngine, tenant_id: str) -> dict[str, str]:
    async with engine.connect() as connection:
        rows = await connection.execute(
            text("SELECT id, status FROM communication_logs WHERE tenant_id = :tenant"),
            {"tenant": tenant_id},
        )
        return {row[0]: row[1] for row in rows}


async def _holds(engine: AsyncEngine, tenant_id: str) -> int:
    async with engine.connect() as connection:
        count = await connection.scalar(
            text("SELECT count(*) FROM legal_holds WHERE tenant_id = :tenant"),
            {"tenant": tenant_id},
        )
        return int(count or 0)


def _officer(caller: Caller) -> dict[str, str]:
    return caller.auth("usr_officer", "compliance_officer")


async def test_sqlite_on_a_full_disk_acknowledges_only_what_it_stored(
    small_fs: Path, tmp_path: Path, master_keys: MasterKeyring
) -> None:
    url = f"sqlite+aiosqlite:///{small_fs / 'commlog.db'}"
    await asyncio.to_thread(migrate, url)
    app = create_app(_settings(url, tmp_path, master_keys))
    observer = create_async_engine(url)
    tenant_id = "tnt_fulldisk"
    content = "".join(random.choices("abcdefghijklmnopqrstuvwxyz ", k=FULL_DISK_CONTENT_BYTES))
    answers: dict[str, int] = {}
    filler: Path | None = None

    async def _as_stored(keys: Iterable[str]) -> list[str]:
        return sorted((await idempotency_digests(observer, master_keys, tenant_id, keys)).values())

    try:
        async with AsyncTestClient(app=app) as client:
            caller = Caller(
                client=client, tokens=TokenCodec(app.state["settings"]), tenant_id=tenant_id
            )
            refused_in_a_row = 0
            for number in range(120):
                key = f"full-disk-{number:03d}"
                response = await caller.record(idempotency_key=key, content=content)
                answers[key] = response.status_code
                assert response.status_code in (201, 503), response.text
                if response.status_code == 503:
                    assert response.headers["Retry-After"].isdigit()
                    refused_in_a_row += 1
                    if refused_in_a_row == 5:
                        break
                else:
                    refused_in_a_row = 0
            acknowledged = sorted(k for k, status in answers.items() if status == 201)
            refused = sorted(k for k, status in answers.items() if status == 503)
            assert refused, "the file system never filled up"
            assert acknowledged, "nothing could be stored at all"
            assert await _stored(observer, tenant_id) == await _as_stored(acknowledged)

            # Space comes back: the same requests, with the same keys, store each send once.
            resize(small_fs, "64m")
            for key in refused:
                retried = await caller.record(idempotency_key=key, content=content)
                assert retried.status_code == 201, retried.text
            for key in acknowledged:
                assert (
                    await caller.record(idempotency_key=key, content=content)
                ).status_code == 200
            assert await _stored(observer, tenant_id) == await _as_stored(answers)

            # The disk is full again, to the last byte: nothing at all can be written now.
            filler = fill(small_fs)
            some_log = (await caller.list_logs(as_user="usr_alice")).json()["items"][0]["id"]
            hold = await client.post(
                "/compliance/legal-holds",
                json=hold_body(reason="subpoena 2026-47", scope="user", user_id="usr_alice"),
                headers=_officer(caller),
            )
            assert hold.status_code == 503, hold.text
            assert hold.headers["Retry-After"].isdigit()
            outcome = await caller.set_status(some_log, status="delivered")
            assert outcome.status_code == 503, outcome.text
            assert outcome.headers["Retry-After"].isdigit()
            last = await caller.record(idempotency_key="full-disk-last", content="short")
            assert last.status_code == 503, last.text
            assert await _holds(observer, tenant_id) == 0
            assert (await _statuses(observer, tenant_id))[some_log] == "pending"
            assert await _stored(observer, tenant_id) == await _as_stored(answers)

            filler.unlink()
            assert (await caller.set_status(some_log, status="delivered")).status_code == 200
            placed = await client.post(
                "/compliance/legal-holds",
                json=hold_body(reason="subpoena 2026-47", scope="user", user_id="usr_alice"),
                headers=_officer(caller),
            )
            assert placed.status_code == 201
            last = await caller.record(idempotency_key="full-disk-last", content="short")
            assert last.status_code == 201
            answers["full-disk-last"] = last.status_code
        assert await _stored(observer, tenant_id) == await _as_stored(answers)
        assert (await _statuses(observer, tenant_id))[some_log] == "delivered"
        assert await _holds(observer, tenant_id) == 1
    finally:
        await observer.dispose()
        if filler is not None:
            filler.unlink(missing_ok=True)


# -- PostgreSQL: backends terminated between the last statement and COMMIT ---------------


COMMIT_DELAY_SECONDS = (0.0, 0.06)
KILL_IDLE_AFTER_MS = 25
WRITERS = 16
SENDS_PER_WRITER = 8


@pytest.fixture
def postgres_private_url(postgresql_url: str, tmp_path: Path) -> Iterator[str]:
    """A database of this test's own: the killer terminates every idle-in-transaction
    backend in it except its own."""
    with private_database(postgresql_url, tmp_path) as url:
        yield url


class BackendKiller(threading.Thread):
    """A second client, in a thread and event loop of its own, that terminates the
    service's backends once they sit ``idle in transaction`` longer than a commit's
    delay allows (the moment between the last statement and ``COMMIT``)."""

    def __init__(self, url: str) -> None:
        super().__init__(daemon=True)
        self.url = make_url(url)
        self.stop = threading.Event()
        self.ready = threading.Event()
        self.terminated = 0
        self.error: BaseException | None = None

    def run(self) -> None:
        try:
            asyncio.run(self._kill_until_stopped())
        except BaseException as exc:
            self.error = exc
            self.ready.set()

    async def _kill_until_stopped(self) -> None:
        connection = await asyncpg.connect(
            host=self.url.host,
            port=self.url.port or 5432,
            user=self.url.username,
            password=self.url.password,
            database=self.url.database,
        )
        self.ready.set()
        try:
            while not self.stop.is_set():
                killed = await connection.fetchval(
                    "SELECT count(*) FILTER (WHERE pg_terminate_backend(pid)) "
                    "FROM pg_stat_activity WHERE datname = current_database() "
                    "AND pid <> pg_backend_pid() AND state = 'idle in transaction' "
                    "AND now() - state_change > make_interval(secs => $1)",
                    KILL_IDLE_AFTER_MS / 1000,
                )
                self.terminated += int(killed or 0)
                await asyncio.sleep(0.005)
        finally:
            await connection.close()

    def __enter__(self) -> BackendKiller:
        self.start()
        assert self.ready.wait(10), "the killer could not connect"
        assert self.error is None, repr(self.error)
        return self

    def __exit__(self, *_: Any) -> None:
        self.stop.set()
        self.join(10)
        assert self.error is None, repr(self.error)


def _delay_commits(engine: AsyncEngine) -> Any:
    """Each commit waits a moment (without blocking the event loop) after the last
    statement: the backend is ``idle in transaction`` meanwhile."""

    def delay(_connection: Any) -> None:
        await_only(asyncio.sleep(random.uniform(*COMMIT_DELAY_SECONDS)))

    event.listen(engine.sync_engine, "commit", delay)
    return delay


async def _concurrently(*batches: Any) -> list[Any]:
    return list(await asyncio.gather(*batches))


@pytest.mark.postgres
async def test_postgres_backends_killed_before_commit_never_leave_an_acknowledged_write_unstored(
    postgres_private_url: str, tmp_path: Path, master_keys: MasterKeyring
) -> None:
    app = create_app(_settings(postgres_private_url, tmp_path, master_keys))
    app_engine: AsyncEngine = app.state["database"].get_engine()
    delay = _delay_commits(app_engine)
    observer = create_async_engine(postgres_private_url)
    tenant_id = "tnt_killed"
    answers: dict[str, int] = {}
    try:
        async with AsyncTestClient(app=app, timeout=60) as client:
            caller = Caller(
                client=client, tokens=TokenCodec(app.state["settings"]), tenant_id=tenant_id
            )
            assert (await caller.record(idempotency_key="warm-up")).status_code == 201

            async def writer(number: int) -> None:
                for send in range(SENDS_PER_WRITER):
                    key = f"w{number:02d}-{send}"
                    answers[key] = (await caller.record(idempotency_key=key)).status_code

            with BackendKiller(postgres_private_url) as killer:
                await _concurrently(*(writer(n) for n in range(WRITERS)))
            assert killer.terminated > 0

            digests = await idempotency_digests(observer, master_keys, tenant_id, answers)
            rows = set(await _stored(observer, tenant_id))
            stored = {key for key, digest in digests.items() if digest in rows}
            acknowledged = {k for k, status in answers.items() if status in (200, 201)}
            assert acknowledged <= stored, "a 2xx was sent for a send that is not stored"
            not_stored = set(answers) - stored
            assert all(answers[k] >= 500 for k in not_stored), {k: answers[k] for k in not_stored}
            assert all(status in (201, 503) or status >= 500 for status in answers.values())
            assert 503 in answers.values(), "no commit was interrupted; the test proved nothing"
            assert acknowledged, "no send was acknowledged at all"

            for key in sorted(answers):
                retried = await caller.record(idempotency_key=key)
                assert retried.status_code in (200, 201), retried.text
                assert retried.status_code == (201 if key in not_stored else 200)
        async with observer.connect() as connection:
            per_key = await connection.execute(
                text(
                    "SELECT idempotency_key, count(*) FROM communication_logs "
                    "WHERE tenant_id = :tenant GROUP BY idempotency_key"
                ),
                {"tenant": tenant_id},
            )
            counts = {row[0]: row[1] for row in per_key}
        digests = await idempotency_digests(observer, master_keys, tenant_id, [*answers, "warm-up"])
        assert counts == {digest: 1 for digest in digests.values()}
    finally:
        event.remove(app_engine.sync_engine, "commit", delay)
        await observer.dispose()


@pytest.mark.postgres
async def test_postgres_status_updates_killed_before_commit_answer_200_only_when_stored(
    postgres_private_url: str, tmp_path: Path, master_keys: MasterKeyring
) -> None:
    app = create_app(_settings(postgres_private_url, tmp_path, master_keys))
    app_engine: AsyncEngine = app.state["database"].get_engine()
    observer = create_async_engine(postgres_private_url)
    tenant_id = "tnt_killed_status"
    answers: dict[str, int] = {}
    delay = None
    try:
        async with AsyncTestClient(app=app, timeout=60) as client:
            caller = Caller(
                client=client, tokens=TokenCodec(app.state["settings"]), tenant_id=tenant_id
            )
            log_ids = [(await caller.create())["id"] for _ in range(WRITERS * 4)]
            delay = _delay_commits(app_engine)

            async def updater(ids: list[str]) -> None:
                for log_id in ids:
                    answers[log_id] = (
                        await caller.set_status(log_id, status="delivered")
                    ).status_code

            with BackendKiller(postgres_private_url) as killer:
                await _concurrently(*(updater(log_ids[n::WRITERS]) for n in range(WRITERS)))
            assert killer.terminated > 0

            statuses = await _statuses(observer, tenant_id)
            for log_id, status in answers.items():
                if status == 200:
                    assert statuses[log_id] == "delivered", "200 sent for an update not stored"
                else:
                    assert status >= 500, status
            assert 503 in answers.values(), "no commit was interrupted; the test proved nothing"

            for log_id in log_ids:
                assert (await caller.set_status(log_id, status="delivered")).status_code == 200
        assert set((await _statuses(observer, tenant_id)).values()) == {"delivered"}
    finally:
        if delay is not None:
            event.remove(app_engine.sync_engine, "commit", delay)
        await observer.dispose()
