"""``commlog export`` as an operator runs it: the file, its digest, its audit event, and
the refusals."""

from __future__ import annotations

import asyncio
import hashlib
import json
import subprocess
from pathlib import Path

import msgspec
import pytest
from sqlalchemy import select

from compliance.audit.models import AuditEventRow
from compliance.encryption.master import new_master_key_entry
from service.persistence.database import create_database_config
from tests.factories import run_commlog

KEYS = new_master_key_entry("m1")


@pytest.fixture
def database_url(private_database_url: str) -> str:
    return private_database_url


@pytest.fixture
def seeded(database_url: str, tmp_path: Path) -> str:
    seeded = _commlog(database_url, tmp_path, "demo", "seed")
    assert seeded.returncode == 0, seeded.stderr
    return database_url


def _commlog(
    database_url: str, tmp_path: Path, *args: str, **env: str
) -> subprocess.CompletedProcess[str]:
    return run_commlog(
        *args, var_dir=tmp_path, database_url=database_url, **{"COMMLOG_MASTER_KEYS": KEYS, **env}
    )


def _printed(output: str) -> dict[str, str]:
    return dict(line.split(": ", 1) for line in output.strip().splitlines())


async def _event(database_url: str, event_id: str) -> AuditEventRow:
    database = create_database_config(database_url)
    try:
        async with database.get_session() as session:
            row = (
                await session.execute(select(AuditEventRow).where(AuditEventRow.id == event_id))
            ).scalar_one()
            session.expunge(row)
            return row
    finally:
        await database.get_engine().dispose()


def test_an_export_writes_the_file_and_records_its_digest_with_the_cli_actor(
    seeded: str, tmp_path: Path
) -> None:
    out = tmp_path / "export.csv"
    result = _commlog(
        seeded,
        tmp_path,
        "export",
        "--tenant",
        "tnt_demo",
        "--format",
        "csv",
        "--out",
        str(out),
        "--actor",
        "auditor-ann",
    )
    assert result.returncode == 0, result.stderr
    printed = _printed(result.stdout)
    data = out.read_bytes()
    assert printed["file"] == str(out)
    assert printed["sha256"] == hashlib.sha256(data).hexdigest()
    assert int(printed["bytes"]) == len(data)
    assert int(printed["rows"]) == len(data.splitlines()) - 1 > 0
    assert data.startswith(b"\xef\xbb\xbfid,tenant_id,")
    assert list(tmp_path.glob(".export.csv.*")) == []  # no temporary file left

    event = asyncio.run(_event(seeded, printed["audit event"]))
    assert event.action == "export.completed"
    assert event.tenant_id == "tnt_demo"
    assert (event.actor, event.actor_kind) == ("auditor-ann", "cli")
    assert set(msgspec.json.decode(event.actor_origin)) == {"os_user", "host"}
    details = msgspec.json.decode(event.details)
    assert details["sha256"] == printed["sha256"]
    assert details["rows"] == int(printed["rows"])
    assert details["reveal"] is False


def test_an_existing_file_is_never_overwritten_without_force(seeded: str, tmp_path: Path) -> None:
    out = tmp_path / "export.jsonl"
    out.write_bytes(b"keep me")
    refused = _commlog(
        seeded, tmp_path, "export", "--tenant", "tnt_demo", "--format", "jsonl", "--out", str(out)
    )
    assert refused.returncode == 1
    assert (
        refused.stderr.strip()
        == f"commlog: {out} exists; nothing was exported (use --force to replace it)"
    )
    assert out.read_bytes() == b"keep me"
    forced = _commlog(
        seeded,
        tmp_path,
        "export",
        "--tenant",
        "tnt_demo",
        "--format",
        "jsonl",
        "--out",
        str(out),
        "--force",
    )
    assert forced.returncode == 0, forced.stderr
    lines = out.read_bytes().splitlines()
    assert all(json.loads(line)["tenant_id"] == "tnt_demo" for line in lines)


@pytest.mark.parametrize(
    ("options", "code", "fragment"),
    [
        (("--reveal",), 2, "--reveal needs a non-blank --reason"),
        (("--reveal", "--reason", "  "), 2, "--reveal needs a non-blank --reason"),
        (("--reveal", "--reason", "case 9"), 1, "policy does not allow reveal"),
        (("--since", "yesterday"), 2, "--since must be an ISO 8601 timestamp"),
        (
            ("--since", "2026-12-01T00:00Z", "--until", "2026-11-01T00:00Z"),
            2,
            "--since must not be later than --until",
        ),
        (("--until", "0001-01-01T00:00Z"), 2, "--until must be between 1970"),
        (("--user", " usr"), 2, "--user must not begin or end with whitespace"),
    ],
)
def test_refusals_are_one_line_and_write_nothing(
    tmp_path: Path, options: tuple[str, ...], code: int, fragment: str
) -> None:
    # Refused before any database is opened: this one does not even exist.
    unopened = f"sqlite+aiosqlite:///{tmp_path / 'never-opened.db'}"
    out = tmp_path / "refused.csv"
    result = _commlog(
        unopened,
        tmp_path,
        "export",
        "--tenant",
        "tnt_demo",
        "--format",
        "csv",
        "--out",
        str(out),
        *options,
    )
    assert result.returncode == code, result.stderr
    assert fragment in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert "Traceback" not in result.stderr
    assert not out.exists()
    assert not (tmp_path / "never-opened.db").exists()


def test_a_missing_directory_is_refused(tmp_path: Path) -> None:
    unopened = f"sqlite+aiosqlite:///{tmp_path / 'never-opened.db'}"
    out = tmp_path / "nowhere" / "export.csv"
    result = _commlog(
        unopened, tmp_path, "export", "--tenant", "tnt_demo", "--format", "csv", "--out", str(out)
    )
    assert result.returncode == 1
    assert result.stderr.strip() == f"commlog: no such directory: {out.parent}"


def test_a_reveal_the_policy_allows_shows_recipients_in_clear(seeded: str, tmp_path: Path) -> None:
    policy = tmp_path / "policy.toml"
    policy.write_text("[tenants.tnt_demo]\nreveal = true\n")
    masked_out, revealed_out = tmp_path / "masked.jsonl", tmp_path / "revealed.jsonl"
    common = ("export", "--tenant", "tnt_demo", "--format", "jsonl")
    env = {"COMMLOG_RETENTION_POLICY_FILE": str(policy)}
    masked = _commlog(seeded, tmp_path, *common, "--out", str(masked_out), **env)
    revealed = _commlog(
        seeded,
        tmp_path,
        *common,
        "--out",
        str(revealed_out),
        "--reveal",
        "--reason",
        "subpoena 2026-44",
        **env,
    )
    assert masked.returncode == 0, masked.stderr
    assert revealed.returncode == 0, revealed.stderr
    masked_items = [json.loads(line) for line in masked_out.read_bytes().splitlines()]
    revealed_items = [json.loads(line) for line in revealed_out.read_bytes().splitlines()]
    assert [item["id"] for item in masked_items] == [item["id"] for item in revealed_items]
    assert any("*" in (item["recipient"] or "") for item in masked_items)
    assert not any("*" in (item["recipient"] or "") for item in revealed_items)
