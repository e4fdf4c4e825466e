"""``commlog audit verify`` and ``commlog audit list`` as an operator runs them."""

from __future__ import annotations

import asyncio
import subprocess
from pathlib import Path

import pytest
from sqlalchemy import select, update

from compliance.audit.models import AuditEventRow
from compliance.audit.trail import append_event
from compliance.encryption.master import new_master_key_entry, parse_master_keys
from compliance.transactions import begin_write, commit
from policies.audit_chain import SYSTEM_CHAIN, Actor, ActorKind
from service.persistence.database import create_database_config
from tests.compliance.test_audit_verify import owner_bypassing_the_guard
from tests.factories import run_commlog

KEYS = new_master_key_entry("m1")
MASTER = parse_master_keys(KEYS, source="tests")


@pytest.fixture
def database_url(private_database_url: str) -> str:
    return private_database_url


def _commlog(
    database_url: str, tmp_path: Path, *args: str, **env: str
) -> subprocess.CompletedProcess[str]:
    return run_commlog(
        *args, var_dir=tmp_path, database_url=database_url, **{"COMMLOG_MASTER_KEYS": KEYS, **env}
    )


def _record(database_url: str, chains: dict[str, int]) -> None:
    async def run() -> None:
        database = create_database_config(database_url)
        try:
            for tenant_id, count in chains.items():
                for index in range(count):
                    async with database.get_session() as session:
                        await begin_write(session)
                        await append_event(
                            session,
                            MASTER,
                            tenant_id=tenant_id,
                            actor=Actor(
                                id="ops", kind=ActorKind.CLI, origin={"os_user": "u", "host": "h"}
                            ),
                            action="legal_hold.placed" if index % 2 else "keys.rotated",
                            target=f"hold_{index}",
                            details={"index": index, "备注": "测试"},
                        )
                        await commit(session, operation="test_audit")
        finally:
            await database.get_engine().dispose()

    asyncio.run(run())


def _tamper(database_url: str, tenant_id: str, sequence: int) -> None:
    async def run() -> None:
        database = create_database_config(database_url)
        try:
            async with owner_bypassing_the_guard(database) as session:
                await session.execute(
                    update(AuditEventRow)
                    .where(AuditEventRow.tenant_id == tenant_id, AuditEventRow.sequence == sequence)
                    .values(details='{"index":99}')
                )
        finally:
            await database.get_engine().dispose()

    asyncio.run(run())


def _head_hash(database_url: str, tenant_id: str) -> str:
    async def run() -> str:
        database = create_database_config(database_url)
        try:
            async with database.get_session() as session:
                return (
                    await session.execute(
                        select(AuditEventRow.hash)
                        .where(AuditEventRow.tenant_id == tenant_id)
                        .order_by(AuditEventRow.sequence.desc())
                        .limit(1)
                    )
                ).scalar_one()
        finally:
            await database.get_engine().dispose()

    return asyncio.run(run())


def test_verify_prints_one_line_per_chain_and_exits_0_when_intact(
    database_url: str, tmp_path: Path
) -> None:
    empty = _commlog(database_url, tmp_path, "audit", "verify")
    assert (empty.returncode, empty.stdout.strip()) == (0, "no audit events")
    _record(database_url, {SYSTEM_CHAIN: 1, "tnt_a": 3, "tnt_b": 2})
    result = _commlog(database_url, tmp_path, "audit", "verify")
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""
    assert result.stdout.splitlines() == [
        f"(system): 1 events, head 1 {_head_hash(database_url, SYSTEM_CHAIN)}: intact",
        f"tnt_a: 3 events, head 3 {_head_hash(database_url, 'tnt_a')}: intact",
        f"tnt_b: 2 events, head 2 {_head_hash(database_url, 'tnt_b')}: intact",
    ]
    one = _commlog(database_url, tmp_path, "audit", "verify", "--tenant", "(system)")
    assert one.stdout.startswith("(system): 1 events")


def test_verify_names_the_first_broken_link_and_exits_1(database_url: str, tmp_path: Path) -> None:
    _record(database_url, {"tnt_a": 4, "tnt_b": 2})
    _tamper(database_url, "tnt_a", 2)
    result = _commlog(database_url, tmp_path, "audit", "verify")
    assert result.returncode == 1
    assert result.stdout.splitlines()[0].startswith("tnt_a: ")
    assert result.stdout.splitlines()[0].endswith(": BROKEN")
    assert result.stdout.splitlines()[1].endswith(": intact")
    (line,) = result.stderr.splitlines()
    assert line.startswith("commlog: audit chain tnt_a broken at sequence 2: hash does not match")
    assert "Traceback" not in result.stderr
    only_b = _commlog(database_url, tmp_path, "audit", "verify", "--tenant", "tnt_b")
    assert only_b.returncode == 0


def test_a_head_signed_by_a_master_key_not_configured_cannot_be_checked_exit_2(
    database_url: str, tmp_path: Path
) -> None:
    _record(database_url, {"tnt_a": 1})
    other = new_master_key_entry("m2")
    result = _commlog(database_url, tmp_path, "audit", "verify", COMMLOG_MASTER_KEYS=other)
    assert result.returncode == 2
    assert result.stdout.strip().endswith(": NOT CHECKED")
    assert "master key 'm1', which is not configured" in result.stderr


def test_list_prints_a_tenants_events_newest_first_filtered(
    database_url: str, tmp_path: Path
) -> None:
    _record(database_url, {"tnt_a": 4, "tnt_b": 1})
    listed = _commlog(database_url, tmp_path, "audit", "list", "--tenant", "tnt_a")
    assert listed.returncode == 0, listed.stderr
    lines = listed.stdout.splitlines()
    assert [line.split("  ")[1] for line in lines] == ["4", "3", "2", "1"]
    assert "ops (cli; host=h,os_user=u)  legal_hold.placed  hold_3" in lines[0]
    assert lines[0].endswith('{"index":3,"备注":"测试"}')
    holds = _commlog(
        database_url, tmp_path, "audit", "list", "--tenant", "tnt_a", "--action", "legal_hold."
    )
    assert [line.split("  ")[1] for line in holds.stdout.splitlines()] == ["4", "2"]
    later = _commlog(
        database_url,
        tmp_path,
        *("audit", "list", "--tenant", "tnt_a", "--since", "2999-01-01T00:00Z", "--limit", "1"),
    )
    assert (later.returncode, later.stdout) == (0, "")
    bad = _commlog(database_url, tmp_path, "audit", "list", "--tenant", "tnt_a", "--since", "now")
    assert bad.returncode == 2
    assert bad.stderr.startswith("commlog: --since must be")
