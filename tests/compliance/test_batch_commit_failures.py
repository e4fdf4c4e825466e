"""Batch jobs whose batch commit fails: reported as failed, never as done (issue 7, §1).

The fault is real: the engine's commit of every transaction that changed send records
fails as it would on a full disk, on SQLite and PostgreSQL.
"""

from __future__ import annotations

import errno
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from advanced_alchemy.extensions.litestar import SQLAlchemyAsyncConfig
from sqlalchemy import event, select
from sqlalchemy.ext.asyncio import AsyncEngine

from compliance.encryption.keystore import KeyStore, UnwrappedKeyCache
from compliance.encryption.lifecycle import reencrypt
from compliance.encryption.master import MasterKeyring
from compliance.records.models import CommunicationLog
from compliance.retention.job import RunOptions, run_retention
from compliance.retention.lock import RetentionFailed
from compliance.retention.models import RetentionRun
from compliance.transactions import CommitFailed, begin_write, commit
from policies.retention import DEFAULT_POLICY
from tests.factories import TEST_ACTOR, Caller

WRITES_TO_RECORDS = ("DELETE FROM communication_logs", "UPDATE communication_logs")


class RecordCommitsFail:
    """Fails the commit of any transaction that deleted or updated send records."""

    def __init__(self, engine: AsyncEngine) -> None:
        self.sync_engine = engine.sync_engine
        self.failed = 0
        event.listen(self.sync_engine, "after_cursor_execute", self._seen)
        event.listen(self.sync_engine, "commit", self._commit)

    def _seen(self, connection: Any, _cursor: Any, statement: str, *_: Any) -> None:
        if statement.lstrip().startswith(WRITES_TO_RECORDS):
            connection.info["wrote_records"] = True

    def _commit(self, connection: Any) -> None:
        if connection.info.pop("wrote_records", False):
            self.failed += 1
            raise OSError(errno.ENOSPC, "No space left on device")

    def remove(self) -> None:
        event.remove(self.sync_engine, "after_cursor_execute", self._seen)
        event.remove(self.sync_engine, "commit", self._commit)


@pytest.fixture
def record_commits_fail(database: SQLAlchemyAsyncConfig) -> Iterator[RecordCommitsFail]:
    fault = RecordCommitsFail(database.get_engine())
    yield fault
    fault.remove()


async def _key_ids(database: SQLAlchemyAsyncConfig, tenant_id: str) -> dict[str, Any]:
    async with database.get_session() as session:
        rows = await session.execute(
            select(CommunicationLog.id, CommunicationLog.content_key_id).where(
                CommunicationLog.tenant_id == tenant_id
            )
        )
        return {row[0]: row[1] for row in rows}


async def test_a_retention_run_whose_batch_commit_fails_is_a_failed_run_that_deleted_nothing(
    caller: Caller,
    database: SQLAlchemyAsyncConfig,
    master_keys: MasterKeyring,
    record_commits_fail: RecordCommitsFail,
) -> None:
    old = (datetime.now(UTC) - timedelta(days=500)).isoformat()
    for _ in range(3):
        await caller.create(created_at=old)
    before = await _key_ids(database, caller.tenant_id)

    with pytest.raises(RetentionFailed, match="CommitFailed: retention_batch: not confirmed"):
        await run_retention(
            database.get_engine(),
            master_keys,
            UnwrappedKeyCache(),
            DEFAULT_POLICY,
            RunOptions(actor="test", tenant_id=caller.tenant_id, batch_size=2),
        )
    assert record_commits_fail.failed == 1
    assert await _key_ids(database, caller.tenant_id) == before
    async with database.get_session() as session:
        run = (
            (
                await session.execute(
                    select(RetentionRun)
                    .where(RetentionRun.tenant_filter == caller.tenant_id)
                    .order_by(RetentionRun.started_at.desc())
                )
            )
            .scalars()
            .first()
        )
    assert run is not None
    assert run.status == "failed"
    assert run.error is not None
    assert "retention_batch" in run.error


async def test_reencryption_whose_batch_commit_fails_raises_and_rewrites_nothing(
    caller: Caller,
    database: SQLAlchemyAsyncConfig,
    master_keys: MasterKeyring,
    record_commits_fail: RecordCommitsFail,
) -> None:
    for _ in range(3):
        await caller.create()
    async with database.get_session() as session:
        await begin_write(session)
        await KeyStore(session, master_keys, UnwrappedKeyCache()).rotate_tenant(
            caller.tenant_id, TEST_ACTOR
        )
        await commit(session, operation="test_rotate")
    before = await _key_ids(database, caller.tenant_id)

    with pytest.raises(CommitFailed, match="reencrypt_batch: not confirmed"):
        await reencrypt(
            database.get_session,
            master_keys,
            UnwrappedKeyCache(),
            actor=TEST_ACTOR,
            tenant_id=caller.tenant_id,
            batch_size=2,
        )
    assert record_commits_fail.failed == 1
    assert await _key_ids(database, caller.tenant_id) == before
