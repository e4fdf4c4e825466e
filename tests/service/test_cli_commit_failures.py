"""Every CLI write on a full disk: exit non-zero with one line, never a success line."""

from __future__ import annotations

import re
import sqlite3
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from compliance.encryption.master import new_master_key_entry
from compliance.transactions import NOT_CONFIRMED
from tests.conftest import migrate
from tests.factories import in_days, run_commlog
from tests.faults import fill, small_filesystem

KEYS = new_master_key_entry("m1")
TENANT = "tnt_cli_full"
NOT_STORED = NOT_CONFIRMED
INFORMATIONAL_LOG = re.compile(r"^(DEBUG|INFO) - ")


@pytest.fixture
def full_disk_database(tmp_path: Path) -> Iterator[tuple[str, Path]]:
    """A migrated SQLite database on a 3 MiB tmpfs, with its write-ahead log kept open by
    a reader of the test's own (as a running service would), so the disk can fill up."""
    with small_filesystem(tmp_path / "small-fs") as where:
        path = where / "commlog.db"
        url = f"sqlite+aiosqlite:///{path}"
        migrate(url)
        reader = sqlite3.connect(path)
        try:
            reader.execute("SELECT count(*) FROM legal_holds").fetchall()
            yield url, where
        finally:
            reader.close()


def _commlog(url: str, var_dir: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return run_commlog(*args, var_dir=var_dir, database_url=url, COMMLOG_MASTER_KEYS=KEYS)


def _reported(stderr: str) -> list[str]:
    """What the command itself said: stderr without informational log records (plain
    ``INFO - …`` lines or JSON objects, whichever log format is configured)."""
    return [
        line
        for line in stderr.strip().splitlines()
        if not INFORMATIONAL_LOG.match(line)
        and not (line.startswith("{") and '"level"' in line and '"error"' not in line)
    ]


def _assert_refused_in_one_line(result: subprocess.CompletedProcess[str], operation: str) -> None:
    assert result.returncode != 0, result.stdout
    assert result.stdout == ""
    lines = _reported(result.stderr)
    assert len(lines) == 1, result.stderr
    assert operation in lines[0]
    assert NOT_STORED in lines[0]
    assert "Traceback" not in result.stderr


def test_cli_writes_on_a_full_disk_fail_with_one_line_and_change_nothing(
    full_disk_database: tuple[str, Path], tmp_path: Path
) -> None:
    url, where = full_disk_database
    var_dir = tmp_path / "var"
    var_dir.mkdir()
    placed = _commlog(
        url,
        var_dir,
        "holds",
        "add",
        "--tenant",
        TENANT,
        "--scope",
        "user",
        "--user",
        "usr_a",
        "--reason",
        "case 1",
        "--review-by",
        in_days(30),
    )
    assert placed.returncode == 0, placed.stderr
    hold_id = placed.stdout.strip()

    filler = fill(where)
    try:
        _assert_refused_in_one_line(
            _commlog(
                url,
                var_dir,
                "holds",
                "add",
                "--tenant",
                TENANT,
                "--scope",
                "user",
                "--user",
                "usr_b",
                "--reason",
                "case 2",
                "--review-by",
                in_days(30),
            ),
            "holds_add",
        )
        _assert_refused_in_one_line(
            _commlog(url, var_dir, "holds", "release", hold_id), "holds_release"
        )
        _assert_refused_in_one_line(
            _commlog(url, var_dir, "keys", "rotate", "--tenant", TENANT), "keys_rotate"
        )
        _assert_refused_in_one_line(
            _commlog(url, var_dir, "tenant", "shred", "--tenant", TENANT, "--confirm", TENANT),
            "tenant_shred",
        )
        run = _commlog(url, var_dir, "retention", "run")
        assert run.returncode == 1
        assert run.stdout == ""
        assert len(_reported(run.stderr)) == 1, run.stderr
        assert NOT_STORED in run.stderr
    finally:
        filler.unlink()

    listing = _commlog(url, var_dir, "holds", "list", "--tenant", TENANT)
    assert listing.returncode == 0, listing.stderr
    lines = listing.stdout.strip().splitlines()
    assert len(lines) == 1
    assert lines[0].startswith(f"{hold_id}  active")
