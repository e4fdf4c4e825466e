"""A 2xx is only ever sent for a write the database confirmed (issue 7, section 1).

Real faults, no mocks: a commit the engine cannot complete (a ``commit`` event that
fails, on both databases), a SQLite database on a file system that fills up, and
PostgreSQL backends terminated between the last statement and ``COMMIT``.
"""

from __future__ import annotations

import errno
import logging
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest
from litestar import Litestar, post
from litestar.di import NamedDependency
from litestar.params import JSONBody
from litestar.testing import AsyncTestClient
from sqlalchemy import event, text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, create_async_engine

from compliance.encryption.master import MasterKeyring
from compliance.retention.models import RetentionLock
from compliance.transactions import NOT_CONFIRMED, begin_write
from service.app import create_app
from service.auth import TokenCodec
from service.settings import Settings
from tests.conftest import TEST_JWT_SECRET, admin_fetchval
from tests.factories import Caller, hold_body, idempotency_digests

RECIPIENT = "+8613812348000"
CONTENT = "您的验证码是654321"


class FailingCommits:
    """Makes the app engine's commits fail as a full disk would, while switched on."""

    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine
        self.on = False
        self.failed = 0
        event.listen(engine.sync_engine, "commit", self._commit)

    def _commit(self, _connection: Any) -> None:
        if self.on:
            self.failed += 1
            raise OSError(errno.ENOSPC, "No space left on device")

    def remove(self) -> None:
        event.remove(self.engine.sync_engine, "commit", self._commit)


@pytest.fixture
def failing_commits(app: Litestar) -> Iterator[FailingCommits]:
    hook = FailingCommits(app.state["database"].get_engine())
    yield hook
    hook.remove()


@pytest.fixture
async def observer(database_url: str) -> AsyncIterator[AsyncEngine]:
    """An engine of the test's own: what is stored, seen from outside the app."""
    engine = create_async_engine(database_url)
    yield engine
    await engine.dispose()


async def _stored_keys(engine: AsyncEngine, tenant_id: str) -> list[str]:
    async with engine.connect() as connection:
        rows = await connection.execute(
            text("SELECT idempotency_key FROM communication_logs WHERE tenant_id = :tenant"),
            {"tenant": tenant_id},
        )
        return [row[0] for row in rows]


async def _stored_status(engine: AsyncEngine, log_id: str) -> str:
    async with engine.connect() as connection:
        status = await connection.scalar(
            text("SELECT status FROM communication_logs WHERE id = :id"), {"id": log_id}
        )
        return str(status)


async def _hold_rows(engine: AsyncEngine, tenant_id: str) -> list[tuple[str, Any]]:
    async with engine.connect() as connection:
        rows = await connection.execute(
            text("SELECT id, released_at FROM legal_holds WHERE tenant_id = :tenant"),
            {"tenant": tenant_id},
        )
        return [(row[0], row[1]) for row in rows]


def _officer(caller: Caller) -> dict[str, str]:
    return caller.auth("usr_officer", "compliance_officer")


def _assert_not_stored_answer(response: Any) -> None:
    assert response.status_code == 503, response.text
    assert response.headers["Retry-After"].isdigit()
    body = response.json()
    assert body["code"] == 503
    assert body["message"] == NOT_CONFIRMED


async def test_a_send_whose_commit_fails_is_503_and_a_retry_stores_it_once(
    caller: Caller,
    failing_commits: FailingCommits,
    observer: AsyncEngine,
    master_keys: MasterKeyring,
) -> None:
    failing_commits.on = True
    failed = await caller.record(idempotency_key="send-1", recipient=RECIPIENT, content=CONTENT)
    _assert_not_stored_answer(failed)
    assert failing_commits.failed == 1
    assert await _stored_keys(observer, caller.tenant_id) == []

    failing_commits.on = False
    retried = await caller.record(idempotency_key="send-1", recipient=RECIPIENT, content=CONTENT)
    assert retried.status_code == 201
    again = await caller.record(idempotency_key="send-1", recipient=RECIPIENT, content=CONTENT)
    assert again.status_code == 200
    stored = await idempotency_digests(observer, master_keys, caller.tenant_id, ["send-1"])
    assert await _stored_keys(observer, caller.tenant_id) == [stored["send-1"]]


async def test_an_idempotent_retry_whose_commit_fails_is_503_not_already_recorded(
    caller: Caller,
    failing_commits: FailingCommits,
    observer: AsyncEngine,
    master_keys: MasterKeyring,
) -> None:
    assert (await caller.record(idempotency_key="send-2")).status_code == 201
    failing_commits.on = True
    _assert_not_stored_answer(await caller.record(idempotency_key="send-2"))
    stored = await idempotency_digests(observer, master_keys, caller.tenant_id, ["send-2"])
    assert await _stored_keys(observer, caller.tenant_id) == [stored["send-2"]]


async def test_a_status_update_whose_commit_fails_is_503_and_changes_nothing(
    caller: Caller, failing_commits: FailingCommits, observer: AsyncEngine
) -> None:
    record = await caller.create()
    failing_commits.on = True
    _assert_not_stored_answer(await caller.set_status(record["id"], status="delivered"))
    assert await _stored_status(observer, record["id"]) == "pending"

    failing_commits.on = False
    assert (await caller.set_status(record["id"], status="delivered")).status_code == 200
    assert await _stored_status(observer, record["id"]) == "delivered"


async def test_a_legal_hold_whose_commit_fails_is_503_and_is_not_placed(
    caller: Caller, failing_commits: FailingCommits, observer: AsyncEngine
) -> None:
    failing_commits.on = True
    placed = await caller.client.post(
        "/compliance/legal-holds",
        json=hold_body(reason="subpoena 2026-45", scope="user", user_id="usr_alice"),
        headers=_officer(caller),
    )
    _assert_not_stored_answer(placed)
    assert await _hold_rows(observer, caller.tenant_id) == []


async def test_a_hold_release_whose_commit_fails_is_503_and_the_hold_stays_active(
    caller: Caller, failing_commits: FailingCommits, observer: AsyncEngine
) -> None:
    placed = await caller.client.post(
        "/compliance/legal-holds",
        json=hold_body(reason="subpoena 2026-46", scope="user", user_id="usr_alice"),
        headers=_officer(caller),
    )
    assert placed.status_code == 201
    hold_id = placed.json()["data"]["id"]
    failing_commits.on = True
    released = await caller.client.delete(
        f"/compliance/legal-holds/{hold_id}", headers=_officer(caller)
    )
    _assert_not_stored_answer(released)
    assert await _hold_rows(observer, caller.tenant_id) == [(hold_id, None)]


async def test_a_failed_commit_logs_one_line_naming_the_operation_and_no_personal_data(
    caller: Caller, failing_commits: FailingCommits, caplog: pytest.LogCaptureFixture
) -> None:
    failing_commits.on = True
    with caplog.at_level(logging.DEBUG):
        response = await caller.record(
            idempotency_key="key-secret-77", recipient=RECIPIENT, content=CONTENT
        )
    assert response.status_code == 503
    storage = [r for r in caplog.records if r.name == "commlog.storage"]
    assert len(storage) == 1
    assert storage[0].levelno == logging.ERROR
    line = storage[0].getMessage()
    assert "record_send" in line
    assert "OSError" in line
    everything = "\n".join(r.getMessage() for r in caplog.records) + caplog.text
    for secret in (RECIPIENT, "12348000", CONTENT, "654321", "key-secret-77", "No space left"):
        assert secret not in everything


# -- the before-send rule -----------------------------------------------------------------


@post("/test-only/forgets-to-commit", status_code=200)
async def forgets_to_commit(
    db_session: NamedDependency[AsyncSession], data: JSONBody[dict[str, str]]
) -> str:
    await begin_write(db_session)
    db_session.add(
        RetentionLock(
            name=data["name"],
            run_id="run_test",
            acquired_at=_now(),
            heartbeat_at=_now(),
        )
    )
    await db_session.flush()
    return "ok"


def _now() -> Any:
    from datetime import UTC, datetime

    return datetime.now(UTC)


async def test_a_write_the_handler_left_uncommitted_is_rolled_back_and_logged_not_committed(
    app: Litestar, caller: Caller, observer: AsyncEngine, caplog: pytest.LogCaptureFixture
) -> None:
    app.register(forgets_to_commit)
    name = "t" + uuid.uuid4().hex[:12]
    with caplog.at_level(logging.INFO):
        response = await caller.client.post(
            "/test-only/forgets-to-commit", json={"name": name}, headers=caller.auth()
        )
    assert response.status_code == 200
    async with observer.connect() as connection:
        stored = await connection.scalar(
            text("SELECT count(*) FROM retention_locks WHERE name = :name"), {"name": name}
        )
    assert stored == 0
    errors = [
        r for r in caplog.records if r.name == "commlog.storage" and r.levelno == logging.ERROR
    ]
    assert len(errors) == 1
    assert "POST /test-only/forgets-to-commit" in errors[0].getMessage()


async def test_a_read_ends_its_transaction_without_an_error_line(
    caller: Caller, caplog: pytest.LogCaptureFixture
) -> None:
    await caller.create()
    with caplog.at_level(logging.INFO):
        listing = await caller.list_logs()
    assert listing.status_code == 200
    assert listing.json()["total"] == 1
    assert not [r for r in caplog.records if r.name == "commlog.storage"]


@pytest.mark.postgres
async def test_a_stopped_app_holds_no_postgres_connection(
    postgresql_url: str, tmp_path: Path, master_keys: MasterKeyring
) -> None:
    """Each test app (and each restarted service) must give its connections back: held
    ones pile up until PostgreSQL refuses new clients."""
    settings = Settings(
        database_url=postgresql_url,
        jwt_secret=TEST_JWT_SECRET,
        var_dir=tmp_path,
        master_keys=master_keys,
    )
    baseline = await _connections(postgresql_url)
    for _ in range(3):
        app = create_app(settings)
        async with AsyncTestClient(app=app) as client:
            caller = Caller(client=client, tokens=TokenCodec(settings), tenant_id="tnt_conns")
            assert (await caller.record()).status_code == 201
    assert await _connections(postgresql_url) <= baseline


async def _connections(url: str) -> int:
    count = await admin_fetchval(
        url,
        "SELECT count(*) FROM pg_stat_activity "
        "WHERE datname = current_database() AND pid <> pg_backend_pid()",
    )
    assert isinstance(count, int)
    return count
