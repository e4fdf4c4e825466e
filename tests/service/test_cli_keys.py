"""``commlog keys …`` and ``commlog tenant shred``, run as an operator runs them, on a
database of their own (master-key rotation touches every tenant)."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from compliance.encryption.master import new_master_key_entry
from tests.factories import run_commlog


@pytest.fixture
def database_url(private_database_url: str) -> str:
    return private_database_url


def _commlog(
    database_url: str, tmp_path: Path, *args: str, keys: str
) -> subprocess.CompletedProcess[str]:
    return run_commlog(*args, var_dir=tmp_path, database_url=database_url, COMMLOG_MASTER_KEYS=keys)


def _shred(
    database_url: str, tmp_path: Path, tenant: str, *, confirm: str, keys: str
) -> subprocess.CompletedProcess[str]:
    return _commlog(
        database_url,
        tmp_path,
        "tenant",
        "shred",
        "--tenant",
        tenant,
        "--confirm",
        confirm,
        keys=keys,
    )


def test_rotate_master_then_reencrypt_then_status_then_shred(
    database_url: str, tmp_path: Path
) -> None:
    old = new_master_key_entry("m1")
    seeded = _commlog(database_url, tmp_path, "demo", "seed", keys=old)
    assert seeded.returncode == 0, seeded.stderr

    new = new_master_key_entry("m2")
    rotated = _commlog(database_url, tmp_path, "keys", "rotate-master", keys=f"{new},{old}")
    assert rotated.returncode == 0, rotated.stderr
    assert "under master key 'm2'" in rotated.stdout

    # The old master key is no longer needed for anything.
    tenant = _commlog(database_url, tmp_path, "keys", "rotate", "--tenant", "tnt_demo", keys=new)
    assert tenant.returncode == 0, tenant.stderr
    assert "key version 2" in tenant.stdout
    partial = _commlog(
        database_url,
        tmp_path,
        "keys",
        "reencrypt",
        "--tenant",
        "tnt_demo",
        "--batch-size",
        "10",
        "--max-batches",
        "2",
        keys=new,
    )
    assert "re-encrypted 20 rows in 2 batches (stopped early" in partial.stdout
    rest = _commlog(database_url, tmp_path, "keys", "reencrypt", keys=new)
    assert rest.returncode == 0, rest.stderr
    assert "(finished)" in rest.stdout

    status = _commlog(database_url, tmp_path, "keys", "status", "--tenant", "tnt_demo", keys=new)
    lines = status.stdout.strip().splitlines()
    assert lines[0].split() == [
        "tenant",
        "purpose",
        "epoch",
        "version",
        "state",
        "master",
        "key",
        "rows",
    ]
    version_one = [
        line.split()
        for line in lines[1:]
        if line.split()[3] == "1" and line.split()[1] != "blind_index"
    ]
    assert version_one
    assert all(columns[-1] == "0" for columns in version_one)
    assert old.split(":", 1)[1] not in status.stdout + status.stderr
    assert new.split(":", 1)[1] not in status.stdout + status.stderr

    refused = _shred(database_url, tmp_path, "tnt_demo", confirm="tnt_dem", keys=new)
    assert refused.returncode != 0
    assert "nothing was destroyed" in refused.stderr
    shredded = _shred(database_url, tmp_path, "tnt_demo", confirm="tnt_demo", keys=new)
    assert shredded.returncode == 0, shredded.stderr
    after = _commlog(database_url, tmp_path, "keys", "status", "--tenant", "tnt_demo", keys=new)
    assert "active" not in after.stdout
    assert "destroyed" in after.stdout
    again = _shred(database_url, tmp_path, "tnt_demo", confirm="tnt_demo", keys=new)
    assert again.returncode == 1
    assert again.stderr.splitlines() == [
        "commlog: no data keys for tenant tnt_demo: nothing to shred"
    ]


def test_shredding_an_unknown_tenant_is_an_error_not_a_success(
    database_url: str, tmp_path: Path
) -> None:
    keys = new_master_key_entry("m1")
    result = _shred(database_url, tmp_path, "tnt_typo", confirm="tnt_typo", keys=keys)
    assert result.returncode == 1
    assert result.stderr.splitlines() == [
        "commlog: no data keys for tenant tnt_typo: nothing to shred"
    ]
    assert "destroyed" not in result.stdout


def test_a_wrong_master_key_stops_the_cli_and_the_server_with_one_line(
    database_url: str, tmp_path: Path
) -> None:
    right = new_master_key_entry("m1")
    assert _commlog(database_url, tmp_path, "demo", "seed", keys=right).returncode == 0
    impostor = "m1:" + new_master_key_entry("x").split(":", 1)[1]
    for args in (["keys", "rotate-master"], ["run", "--port", "1"]):
        result = _commlog(database_url, tmp_path, *args, keys=impostor)
        assert result.returncode == 2
        assert result.stderr.strip().splitlines() == [
            "commlog: master key 'm1' does not match the data keys it is said to have wrapped"
        ]
    missing = _commlog(database_url, tmp_path, "run", keys=new_master_key_entry("m9"))
    assert missing.returncode == 2
    assert "master key 'm1' is not configured" in missing.stderr
