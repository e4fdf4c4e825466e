"""What the retention job leaves in the audit trail: per batch and per tenant, counts and
the SHA-256 of the ids each stage erased or deleted, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from advanced_alchemy.extensions.litestar import SQLAlchemyAsyncConfig

from compliance.encryption.keystore import UnwrappedKeyCache
from compliance.encryption.master import MasterKeyring
from compliance.retention.digest import ids_digest
from compliance.retention.job import RunOptions, run_retention
from compliance.retention.lock import RetentionFailed
from compliance.retention.runs import RunReport
from policies.audit_chain import Actor, ActorKind
from policies.retention import DEFAULT_POLICY
from tests.audit_chains import assert_chain_verifies, details
from tests.factories import Caller, hold_body

DAY = timedelta(days=1)
RUNNER = Actor(id="ops", kind=ActorKind.CLI, origin={"os_user": "ops", "host": "box"})


def _now() -> datetime:
    return datetime.now(UTC).replace(microsecond=0) - timedelta(hours=1)


async def _run(
    database: SQLAlchemyAsyncConfig, master_keys: MasterKeyring, caller: Caller, **options: Any
) -> RunReport:
    return await run_retention(
        database.get_engine(),
        master_keys,
        UnwrappedKeyCache(),
        DEFAULT_POLICY,
        RunOptions(actor="ops", audit_actor=RUNNER, tenant_id=caller.tenant_id, **options),
    )


async def test_a_tenants_outcome_records_counts_and_the_digest_of_the_ids_each_stage_erased(
    caller: Caller, database: SQLAlchemyAsyncConfig, master_keys: MasterKeyring
) -> None:
    now = _now()
    ages = {"content": 31 * DAY, "recipient": 181 * DAY, "record": 401 * DAY, "young": DAY}
    ids: dict[str, list[str]] = {}
    for name, age in ages.items():
        for _ in range(3):
            created = await caller.create(created_at=(now - age).isoformat())
            ids.setdefault(name, []).append(created["id"])

    report = await _run(database, master_keys, caller, clock=lambda: now, batch_size=2)

    events = await assert_chain_verifies(database, master_keys, caller.tenant_id)
    (outcome,) = [e for e in events if e.action == "retention.tenant_outcome"]
    assert (outcome.actor, outcome.actor_kind, outcome.target) == ("ops", "cli", report.run_id)
    recorded = details(outcome)
    assert recorded["status"] == "succeeded"
    assert recorded["counts"] == {
        "content": 6,
        "recipient": 3,
        "record": 3,
        "released_holds": 0,
    }
    expected = {
        "record": ids["record"],
        "recipient": ids["recipient"],
        "content": ids["content"] + ids["recipient"],
    }
    for stage, erased in expected.items():
        assert recorded["erased"][stage] == {"ids": len(erased), "ids_sha256": ids_digest(erased)}
    assert report.erased_ids[caller.tenant_id] == recorded["erased"]

    # Every batch is in the trail on its own, and the batches add up to the outcome.
    batches = [details(e) for e in events if e.action == "retention.batch"]
    assert all(batch["ids"] <= 2 for batch in batches)
    for stage, erased in expected.items():
        assert sum(b["ids"] for b in batches if b["stage"] == stage) == len(erased)


async def test_records_erased_while_held_records_move_out_are_counted_with_their_ids(
    caller: Caller, database: SQLAlchemyAsyncConfig, master_keys: MasterKeyring
) -> None:
    january = "2026-01-15T10:00:00Z"
    alice = await caller.create(user_id="usr_alice", created_at=january, content="keep 424242")
    bob = await caller.create(user_id="usr_bob", created_at=january, content="drop 535353")
    officer = caller.auth("usr_officer", "compliance_officer")
    hold = await caller.client.post(
        "/compliance/legal-holds",
        json=hold_body(reason="litigation", scope="user", user_id="usr_alice"),
        headers=officer,
    )
    batches = 0

    async def release_after_the_stages() -> None:
        # Bob's recipient, then Bob's content: the hold goes after the recipient stage
        # is over, so Alice's recipient is erased when January's key retires.
        nonlocal batches
        batches += 1
        if batches == 2:
            hold_id = hold.json()["data"]["id"]
            await caller.client.delete(f"/compliance/legal-holds/{hold_id}", headers=officer)

    now = datetime(2026, 11, 20, tzinfo=UTC)
    report = await _run(
        database, master_keys, caller, clock=lambda: now, after_batch=release_after_the_stages
    )

    both = [alice["id"], bob["id"]]
    assert report.counts[caller.tenant_id] == {
        "content": 2,
        "recipient": 2,
        "record": 0,
        "released_holds": 0,
    }
    events = await assert_chain_verifies(database, master_keys, caller.tenant_id)
    (outcome,) = [e for e in events if e.action == "retention.tenant_outcome"]
    erased = details(outcome)["erased"]
    for stage in ("content", "recipient"):
        assert erased[stage] == {"ids": 2, "ids_sha256": ids_digest(both)}
    retired = [
        details(e)
        for e in events
        if e.action == "retention.batch" and details(e)["why"] == "month key retired"
    ]
    # Alice's recipient went with January's recipient key, not by its stage.
    assert [batch["stage"] for batch in retired] == ["recipient"]
    destroyed = [e for e in events if e.action == "keys.data_keys_destroyed"]
    assert {details(e)["purpose"] for e in destroyed} == {"content", "recipient"}
    assert all(e.target == report.run_id for e in destroyed)


async def test_a_crashed_run_leaves_each_committed_batch_and_what_it_did_in_the_trail(
    caller: Caller, database: SQLAlchemyAsyncConfig, master_keys: MasterKeyring
) -> None:
    old = (_now() - 500 * DAY).isoformat()
    created = [(await caller.create(created_at=old))["id"] for _ in range(5)]

    async def crash() -> None:
        raise RuntimeError("power cut")

    with pytest.raises(RetentionFailed):
        await _run(database, master_keys, caller, batch_size=2, after_batch=crash)

    events = await assert_chain_verifies(database, master_keys, caller.tenant_id)
    (batch,) = [details(e) for e in events if e.action == "retention.batch"]
    (outcome,) = [details(e) for e in events if e.action == "retention.tenant_outcome"]
    remaining = {item["id"] for item in (await caller.list_logs(page_size=100)).json()["items"]}
    deleted = [record_id for record_id in created if record_id not in remaining]
    assert len(deleted) == 2
    assert batch["ids"] == 2
    assert batch["ids_sha256"] == ids_digest(deleted)
    assert outcome["status"] == "failed"
    assert outcome["error"] == "internal"
    assert outcome["erased"]["record"]["ids"] == 2
    assert outcome["erased"]["record"]["ids_sha256"] == batch["ids_sha256"]


async def test_a_dry_run_records_what_it_would_do_without_ids(
    caller: Caller, database: SQLAlchemyAsyncConfig, master_keys: MasterKeyring
) -> None:
    await caller.create(created_at=(_now() - 500 * DAY).isoformat())
    report = await _run(database, master_keys, caller, dry_run=True)
    events = await assert_chain_verifies(database, master_keys, caller.tenant_id)
    assert [e.action for e in events] == ["retention.dry_run"]
    recorded = details(events[0])
    assert recorded["counts"] == {
        "content": 0,
        "recipient": 0,
        "record": 1,
        "released_holds": 0,
    }
    assert "erased" not in recorded
    assert events[0].target == report.run_id
