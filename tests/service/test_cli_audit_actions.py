"""Every ``commlog`` command that acts is in the audit trail with the operating-system user
and host next to its ``--actor``; run as an operator runs it, on a database of its own
(master-key rotation re-signs every chain)."""

from __future__ import annotations

import getpass
import socket
import subprocess
from collections.abc import AsyncIterator
from pathlib import Path

import jwt
import msgspec
import pytest
from advanced_alchemy.extensions.litestar import SQLAlchemyAsyncConfig

from compliance.encryption.master import new_master_key_entry, parse_master_keys
from policies.audit_chain import SYSTEM_CHAIN
from service.persistence.database import create_database_config
from tests.audit_chains import assert_chain_verifies, details
from tests.conftest import TEST_JWT_SECRET
from tests.factories import run_commlog

DEMO = "tnt_demo"


@pytest.fixture
def database_url(private_database_url: str) -> str:
    return private_database_url


@pytest.fixture
async def database(database_url: str) -> AsyncIterator[SQLAlchemyAsyncConfig]:
    config = create_database_config(database_url)
    yield config
    await config.get_engine().dispose()


def _commlog(
    database_url: str, tmp_path: Path, *args: str, keys: str
) -> subprocess.CompletedProcess[str]:
    result = run_commlog(
        *args, var_dir=tmp_path, database_url=database_url, COMMLOG_MASTER_KEYS=keys
    )
    assert result.returncode == 0, result.stderr
    return result


async def test_every_command_records_its_actor_with_the_os_user_and_host(
    database_url: str, database: SQLAlchemyAsyncConfig, tmp_path: Path
) -> None:
    old = new_master_key_entry("m1")
    _commlog(database_url, tmp_path, "demo", "seed", "--actor", "alice", keys=old)
    issued = _commlog(
        database_url,
        tmp_path,
        *("token", "--tenant", DEMO, "--user", "usr_officer"),
        *("--role", "compliance_officer", "--ttl", "600", "--actor", "alice"),
        keys=old,
    )
    token = issued.stdout.strip()
    assert jwt.decode(token, TEST_JWT_SECRET, algorithms=["HS256"])["sub"] == "usr_officer"
    _commlog(database_url, tmp_path, "keys", "rotate", "--tenant", DEMO, "--actor", "bob", keys=old)
    _commlog(database_url, tmp_path, "keys", "reencrypt", "--actor", "bob", keys=old)
    _commlog(database_url, tmp_path, "retention", "run", "--actor", "carol", keys=old)
    new = new_master_key_entry("m2")
    _commlog(
        database_url, tmp_path, "keys", "rotate-master", "--actor", "dave", keys=f"{new},{old}"
    )
    _commlog(
        database_url,
        tmp_path,
        *("tenant", "shred", "--tenant", DEMO, "--confirm", DEMO, "--actor", "erin"),
        keys=new,
    )

    # Signed with m2 alone: rotate-master re-signed what m1 had signed.
    only_new = parse_master_keys(new, source="test")
    events = await assert_chain_verifies(database, only_new, DEMO)
    by_the_run = ("retention.batch", "keys.data_keys_destroyed")  # the demo's old months
    assert {e.actor for e in events if e.action in by_the_run} <= {"carol"}
    acted = [(e.action, e.actor) for e in events if e.action not in by_the_run]
    assert acted == [
        ("demo.seeded", "alice"),
        ("token.issued", "alice"),
        ("token.issued", "alice"),
        ("keys.data_key_rotated", "bob"),
        ("keys.reencrypted", "bob"),
        ("retention.tenant_outcome", "carol"),
        ("tenant.shredded", "erin"),
    ]
    origin = {"os_user": getpass.getuser(), "host": socket.gethostname()}
    for event in events:
        assert event.actor_kind == "cli"
        assert msgspec.json.decode(event.actor_origin) == origin
    token_events = [details(e) for e in events if e.action == "token.issued"]
    assert token_events[1] == {
        "sub": "usr_officer",
        "roles": ["compliance_officer"],
        "ttl_seconds": 600,
    }
    assert all(token not in e.details for e in events)

    (master,) = await assert_chain_verifies(database, only_new, SYSTEM_CHAIN)
    assert (master.action, master.actor) == ("keys.master_key_rotated", "dave")
    assert details(master)["primary"] == "m2"


def test_a_token_that_cannot_be_recorded_is_not_printed(tmp_path: Path) -> None:
    unmigrated = f"sqlite+aiosqlite:///{tmp_path / 'empty.db'}"
    result = run_commlog(
        "token", "--tenant", "t", "--user", "u", var_dir=tmp_path, database_url=unmigrated
    )
    assert result.returncode == 1
    assert result.stdout == ""
    assert len(result.stderr.strip().splitlines()) == 1
