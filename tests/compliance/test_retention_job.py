"""The retention job on SQLite and PostgreSQL: stages at their edges, holds, dry runs,
crashes, the run lock, key destruction, and the records each run leaves."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import msgspec
import pytest
from advanced_alchemy.extensions.litestar import SQLAlchemyAsyncConfig
from sqlalchemy import select

from compliance.encryption.keystore import HOLD_EPOCH, KeyState, TenantKey, UnwrappedKeyCache
from compliance.encryption.master import MasterKeyring
from compliance.records.models import CommunicationLog
from compliance.retention.job import RunOptions, run_retention
from compliance.retention.lock import RetentionFailed, RetentionLocked, run_lock
from compliance.retention.models import RetentionRun
from compliance.retention.runs import RunReport
from compliance.transactions import begin_write
from policies.retention import DEFAULT_POLICY, RetentionPolicy, parse_policy
from tests.factories import Caller, hold_body

DAY = timedelta(days=1)


def _now() -> datetime:
    return datetime.now(UTC).replace(microsecond=0) - timedelta(hours=1)


async def _run(
    database: SQLAlchemyAsyncConfig,
    master_keys: MasterKeyring,
    caller: Caller,
    policy: RetentionPolicy = DEFAULT_POLICY,
    **options: Any,
) -> RunReport:
    return await run_retention(
        database.get_engine(),
        master_keys,
        UnwrappedKeyCache(),
        policy,
        RunOptions(actor="test", tenant_id=caller.tenant_id, **options),
    )


async def _rows(database: SQLAlchemyAsyncConfig, tenant_id: str) -> dict[str, CommunicationLog]:
    async with database.get_session() as session:
        statement = select(CommunicationLog).where(CommunicationLog.tenant_id == tenant_id)
        return {row.id: row for row in (await session.execute(statement)).scalars()}


async def _items(caller: Caller, user: str = "usr_alice") -> dict[str, dict[str, Any]]:
    body = (await caller.list_logs(user, page_size=100)).json()
    return {item["id"]: item for item in body["items"]}


async def _stored_state(database: SQLAlchemyAsyncConfig, tenant_id: str) -> object:
    """Every sealed field and every key state of a tenant, for before/after comparisons."""
    rows = await _rows(database, tenant_id)
    async with database.get_session() as session:
        keys = (
            await session.execute(select(TenantKey).where(TenantKey.tenant_id == tenant_id))
        ).scalars()
        key_states = sorted((key.id, key.state) for key in keys)
    return {i: (r.content, r.recipient) for i, r in rows.items()}, key_states


async def _run_record(database: SQLAlchemyAsyncConfig, run_id: str) -> RetentionRun:
    async with database.get_session() as session:
        row = await session.get(RetentionRun, run_id)
    assert row is not None
    return row


async def test_each_stage_applies_exactly_at_its_window_edge(
    caller: Caller, database: SQLAlchemyAsyncConfig, master_keys: MasterKeyring
) -> None:
    now = _now()
    second = timedelta(seconds=1)
    ages = {
        "content_due": 30 * DAY,
        "content_not_yet": 30 * DAY - second,
        "recipient_due": 180 * DAY,
        "recipient_not_yet": 180 * DAY - second,
        "record_due": 400 * DAY,
        "record_not_yet": 400 * DAY - second,
    }
    ids = {}
    for name, age in ages.items():
        created = await caller.create(created_at=(now - age).isoformat(), content=f"{name} 123456")
        ids[name] = created["id"]
    report = await _run(database, master_keys, caller, clock=lambda: now)
    assert report.status == "succeeded"
    # content: every record at or past 30 days that is not deleted; recipient: past 180.
    assert report.counts[caller.tenant_id] == {
        "content": 4,
        "recipient": 2,
        "record": 1,
        "released_holds": 0,
    }

    items = await _items(caller)
    assert ids["record_due"] not in items
    assert items[ids["record_not_yet"]]["content"] is None
    assert items[ids["record_not_yet"]]["recipient"] is None
    assert items[ids["recipient_due"]]["recipient"] is None
    assert items[ids["recipient_due"]]["content"] is None
    assert items[ids["recipient_not_yet"]]["recipient"] == "+8613******000"
    assert items[ids["recipient_not_yet"]]["content"] is None
    assert items[ids["content_due"]]["content"] is None
    assert items[ids["content_due"]]["recipient"] == "+8613******000"
    assert items[ids["content_not_yet"]]["content"] == "content_not_yet ******"
    # erased fields are gone from the row itself, not only hidden
    rows = await _rows(database, caller.tenant_id)
    assert rows[ids["content_due"]].content is None
    assert rows[ids["recipient_due"]].recipient_index is None


async def test_per_tenant_and_per_channel_windows_apply(
    caller: Caller, database: SQLAlchemyAsyncConfig, master_keys: MasterKeyring
) -> None:
    policy = parse_policy(
        f"""
        [tenants.{caller.tenant_id}]
        content_days = 10
        [tenants.{caller.tenant_id}.channels.email]
        content_days = 3
        """,
        source="test",
    )
    now = _now()
    sms = await caller.create(created_at=(now - 5 * DAY).isoformat())
    email = await caller.create(
        channel="email", recipient="a@example.com", created_at=(now - 5 * DAY).isoformat()
    )
    await _run(database, master_keys, caller, policy, clock=lambda: now)
    items = await _items(caller)
    assert items[sms["id"]]["content"] is not None
    assert items[email["id"]]["content"] is None


async def test_a_dry_run_changes_nothing_and_predicts_the_real_run(
    caller: Caller, database: SQLAlchemyAsyncConfig, master_keys: MasterKeyring
) -> None:
    now = _now()
    for age in (10, 40, 200, 500):
        await caller.create(created_at=(now - age * DAY).isoformat())
    before = await _stored_state(database, caller.tenant_id)
    dry = await _run(database, master_keys, caller, dry_run=True)
    after = await _stored_state(database, caller.tenant_id)
    assert after == before
    assert dry.dry_run is True
    record = await _run_record(database, dry.run_id)
    assert record.dry_run is True
    assert record.status == "succeeded"
    real = await _run(database, master_keys, caller)
    assert real.counts == dry.counts
    assert [k["epoch"] for k in real.keys_destroyed] == [k["epoch"] for k in dry.keys_destroyed]


async def test_as_of_previews_only_in_a_dry_run(
    caller: Caller, database: SQLAlchemyAsyncConfig, master_keys: MasterKeyring
) -> None:
    await caller.create()
    future = datetime.now(UTC) + 500 * DAY
    preview = await _run(database, master_keys, caller, dry_run=True, as_of=future)
    assert preview.counts[caller.tenant_id]["record"] == 1
    assert preview.as_of == future
    with pytest.raises(ValueError, match="only allowed with --dry-run"):
        await _run(database, master_keys, caller, as_of=future)
    assert len(await _items(caller)) == 1


@pytest.mark.parametrize("scope", ["tenant", "user", "recipient"])
async def test_every_stage_skips_held_records_until_the_hold_is_released(
    caller: Caller,
    database: SQLAlchemyAsyncConfig,
    master_keys: MasterKeyring,
    scope: str,
) -> None:
    old = (_now() - 500 * DAY).isoformat()
    kept = await caller.create(user_id="usr_alice", recipient="+8613811112222", created_at=old)
    other = await caller.create(user_id="usr_bob", recipient="+8613833334444", created_at=old)
    body: dict[str, Any] = hold_body(reason="case 2026-17", scope=scope)
    if scope == "user":
        body["user_id"] = "usr_alice"
    if scope == "recipient":
        body.update(channel="sms", recipient="+86 138 1111 2222")
    officer = caller.auth("usr_officer", "compliance_officer")
    placed = await caller.client.post("/compliance/legal-holds", json=body, headers=officer)
    assert placed.status_code == 201, placed.text
    report = await _run(database, master_keys, caller)
    rows = await _rows(database, caller.tenant_id)
    assert kept["id"] in rows
    assert (other["id"] in rows) is (scope == "tenant")
    assert report.counts[caller.tenant_id]["record"] == (0 if scope == "tenant" else 1)
    alice = await _items(caller, "usr_alice")
    assert alice[kept["id"]]["content"] == "您的验证码是******"

    released = await caller.client.delete(
        f"/compliance/legal-holds/{placed.json()['data']['id']}", headers=officer
    )
    assert released.status_code == 200
    await _run(database, master_keys, caller)
    assert kept["id"] not in await _rows(database, caller.tenant_id)


async def test_an_expired_hold_no_longer_protects(
    caller: Caller, database: SQLAlchemyAsyncConfig, master_keys: MasterKeyring
) -> None:
    record = await caller.create(created_at=(_now() - 500 * DAY).isoformat())
    officer = caller.auth("usr_officer", "compliance_officer")
    expires = (datetime.now(UTC) + timedelta(hours=1)).isoformat()
    await caller.client.post(
        "/compliance/legal-holds",
        json=hold_body(reason="short", expires_at=expires, review_by=...),
        headers=officer,
    )
    await _run(database, master_keys, caller)
    assert record["id"] in await _rows(database, caller.tenant_id)
    later = datetime.now(UTC) + timedelta(hours=2)
    await _run(database, master_keys, caller, clock=lambda: later)
    assert record["id"] not in await _rows(database, caller.tenant_id)


async def test_a_run_that_crashes_after_a_batch_is_finished_by_the_next(
    caller: Caller, database: SQLAlchemyAsyncConfig, master_keys: MasterKeyring
) -> None:
    old = (_now() - 500 * DAY).isoformat()
    for _ in range(5):
        await caller.create(created_at=old)

    async def crash() -> None:
        raise RuntimeError("power cut")

    with pytest.raises(RetentionFailed, match="RuntimeError"):
        await _run(database, master_keys, caller, batch_size=2, after_batch=crash)
    assert len(await _rows(database, caller.tenant_id)) == 3  # one whole batch, no half
    async with database.get_session() as session:
        failed = (
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
    assert failed is not None
    assert failed.status == "failed"
    assert failed.error == f"tenant {caller.tenant_id}: RuntimeError"
    assert failed.finished_at is not None

    rerun = await _run(database, master_keys, caller, batch_size=2)
    assert rerun.status == "succeeded"
    assert rerun.counts[caller.tenant_id]["record"] == 3
    assert await _rows(database, caller.tenant_id) == {}


async def test_a_second_concurrent_run_is_refused_and_changes_nothing(
    caller: Caller, database: SQLAlchemyAsyncConfig, master_keys: MasterKeyring
) -> None:
    record = await caller.create(created_at=(_now() - 500 * DAY).isoformat())
    engine = database.get_engine()
    from sqlalchemy.ext.asyncio import async_sessionmaker

    async with run_lock(engine, async_sessionmaker(engine), "run_someone_else"):
        with pytest.raises(RetentionLocked, match="in progress"):
            await _run(database, master_keys, caller)
        assert record["id"] in await _rows(database, caller.tenant_id)
    report = await _run(database, master_keys, caller)
    assert report.status == "succeeded"
    assert record["id"] not in await _rows(database, caller.tenant_id)


async def test_month_keys_are_destroyed_after_held_records_move_to_the_hold_key(
    caller: Caller, database: SQLAlchemyAsyncConfig, master_keys: MasterKeyring
) -> None:
    january = "2026-01-15T10:00:00Z"
    held = await caller.create(user_id="usr_alice", created_at=january, content="keep 424242")
    gone = await caller.create(user_id="usr_bob", created_at=january, content="drop 535353")
    officer = caller.auth("usr_officer", "compliance_officer")
    hold = await caller.client.post(
        "/compliance/legal-holds",
        json=hold_body(reason="litigation", scope="user", user_id="usr_alice"),
        headers=officer,
    )
    now = datetime(2026, 11, 20, tzinfo=UTC)
    report = await _run(database, master_keys, caller, clock=lambda: now)
    destroyed = {(k["purpose"], k["epoch"]) for k in report.keys_destroyed}
    assert destroyed == {("content", "2026-01"), ("recipient", "2026-01")}
    # the held record moves once, both of its keys at the first destruction
    assert sum(k["held_records_moved"] for k in report.keys_destroyed) == 1

    async with database.get_session() as session:
        keys = {
            key.id: key
            for key in (
                await session.execute(
                    select(TenantKey).where(TenantKey.tenant_id == caller.tenant_id)
                )
            ).scalars()
        }
    january_keys = [k for k in keys.values() if k.epoch == "2026-01"]
    assert january_keys
    assert all(k.state == KeyState.DESTROYED and k.wrapped_key is None for k in january_keys)
    rows = await _rows(database, caller.tenant_id)
    assert keys[rows[held["id"]].content_key_id].epoch == HOLD_EPOCH
    assert keys[rows[held["id"]].recipient_key_id].epoch == HOLD_EPOCH

    alice = await _items(caller, "usr_alice")
    assert alice[held["id"]]["content"] == "keep ******"
    assert alice[held["id"]]["recipient"] == "+8613******000"
    bob = await _items(caller, "usr_bob")
    assert bob[gone["id"]]["content"] is None
    assert bob[gone["id"]]["recipient"] is None

    # A record backfilled into the destroyed month arrives already erased.
    late = await caller.create(created_at="2026-01-20T00:00:00Z", content="late 777777")
    assert late["content"] is None
    assert late["recipient"] is None

    # Released, the held record is erased like the rest on the next run.
    await caller.client.delete(
        f"/compliance/legal-holds/{hold.json()['data']['id']}", headers=officer
    )
    await _run(database, master_keys, caller, clock=lambda: now)
    alice = await _items(caller, "usr_alice")
    assert alice[held["id"]]["content"] is None


async def test_every_run_is_recorded_with_its_policy_counts_and_keys(
    caller: Caller, database: SQLAlchemyAsyncConfig, master_keys: MasterKeyring
) -> None:
    await caller.create(created_at="2026-01-15T10:00:00Z")
    report = await _run(database, master_keys, caller)
    record = await _run_record(database, report.run_id)
    assert record.status == "succeeded"
    assert record.dry_run is False
    assert record.actor == "test"
    assert record.policy_digest == DEFAULT_POLICY.digest()
    assert record.finished_at is not None
    assert record.finished_at >= record.started_at
    assert msgspec.json.decode(record.counts) == report.counts
    assert msgspec.json.decode(record.keys_destroyed) == report.keys_destroyed
    assert msgspec.json.decode(record.policy) == DEFAULT_POLICY.describe()


async def test_a_stale_running_record_is_marked_interrupted_by_the_next_run(
    caller: Caller, database: SQLAlchemyAsyncConfig, master_keys: MasterKeyring
) -> None:
    async with database.get_session() as session:
        await begin_write(session)
        session.add(
            RetentionRun(
                id="run_" + caller.tenant_id,
                started_at=datetime.now(UTC) - DAY,
                status="running",
                dry_run=False,
                as_of=datetime.now(UTC) - DAY,
                tenant_filter=caller.tenant_id,
                actor="died",
                policy_digest="sha256:x",
                policy="{}",
                counts="{}",
                keys_destroyed="[]",
            )
        )
        await session.commit()
    await _run(database, master_keys, caller)
    stale = await _run_record(database, "run_" + caller.tenant_id)
    assert stale.status == "failed"
    assert stale.error is not None
    assert "interrupted" in stale.error


async def test_a_readers_page_and_total_agree_between_every_batch_of_a_run(
    caller: Caller, database: SQLAlchemyAsyncConfig, master_keys: MasterKeyring
) -> None:
    now = _now()
    for age in (500, 501, 502, 503, 200, 201, 40, 41, 1):
        await caller.create(created_at=(now - age * DAY).isoformat())
    seen: list[tuple[int, int]] = []

    async def look() -> None:
        body = (await caller.list_logs(page_size=100)).json()
        seen.append((len(body["items"]), body["total"]))
        erased = [item for item in body["items"] if item["content"] is None]
        assert all(item["status"] for item in erased)

    report = await _run(database, master_keys, caller, batch_size=1, after_batch=look)
    assert report.status == "succeeded"
    assert len(seen) == 4 + 2 + 4  # one look per batch of one record
    assert all(items == total for items, total in seen)
    assert [total for _, total in seen] == sorted((total for _, total in seen), reverse=True)
    assert seen[-1][1] == 5


async def test_a_held_record_with_a_tampered_field_keeps_its_readable_fields(
    caller: Caller, database: SQLAlchemyAsyncConfig, master_keys: MasterKeyring
) -> None:
    record = await caller.create(created_at="2026-01-15T10:00:00Z", content="keep 424242")
    await caller.set_status(record["id"], status="failed", error="boom", response="said no")
    async with database.get_session() as session:
        await begin_write(session)
        row = await session.get(CommunicationLog, record["id"])
        assert row is not None
        assert row.error is not None
        row.error = row.error[:-1] + bytes([row.error[-1] ^ 1])
        await session.commit()
    officer = caller.auth("usr_officer", "compliance_officer")
    await caller.client.post("/compliance/legal-holds", json=hold_body(reason="r"), headers=officer)
    now = datetime(2026, 11, 20, tzinfo=UTC)
    await _run(database, master_keys, caller, clock=lambda: now)
    (item,) = (await _items(caller)).values()
    assert item["content"] == "keep ******"
    assert item["response"] == "said no"
    assert item["recipient"] == "+8613******000"


async def test_a_run_that_cannot_reach_its_database_fails_cleanly(
    master_keys: MasterKeyring,
) -> None:
    from service.persistence.database import create_engine

    engine = create_engine("postgresql+asyncpg://nobody:x@127.0.0.1:1/none")
    try:
        with pytest.raises(RetentionFailed) as raised:
            await run_retention(
                engine, master_keys, UnwrappedKeyCache(), DEFAULT_POLICY, RunOptions(actor="t")
            )
    finally:
        await engine.dispose()
    assert "\n" not in str(raised.value)


async def test_a_run_that_loses_its_lock_stops_at_once(
    caller: Caller, database: SQLAlchemyAsyncConfig, master_keys: MasterKeyring
) -> None:
    from sqlalchemy import delete, text

    from compliance.retention.lock import RetentionLockLost
    from compliance.retention.models import RetentionLock

    old = (_now() - 500 * DAY).isoformat()
    for _ in range(4):
        await caller.create(created_at=old)

    async def lose_the_lock() -> None:
        async with database.get_session() as session:
            if session.bind.dialect.name == "postgresql":
                await session.execute(
                    text(
                        "SELECT pg_terminate_backend(pid) FROM pg_locks "
                        "WHERE locktype = 'advisory' AND pid <> pg_backend_pid()"
                    )
                )
            else:
                await session.execute(delete(RetentionLock))
            await session.commit()

    with pytest.raises(RetentionLockLost):
        await _run(database, master_keys, caller, batch_size=1, after_batch=lose_the_lock)
    assert len(await _rows(database, caller.tenant_id)) == 3  # stopped after one batch
    rerun = await _run(database, master_keys, caller)
    assert rerun.status == "succeeded"
    assert await _rows(database, caller.tenant_id) == {}
