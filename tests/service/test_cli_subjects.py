"""``commlog subject …`` as an operator runs it: the same rules as the API, one line per
failure, and the CLI actor (with OS user and host) in the audit trail."""

from __future__ import annotations

import asyncio
import getpass
import hashlib
import socket
import subprocess
from pathlib import Path

import msgspec
import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from compliance.audit.models import AuditEventRow
from compliance.encryption.master import new_master_key_entry
from service.persistence.database import create_engine
from tests.factories import run_commlog

KEYS = new_master_key_entry("m1")


@pytest.fixture
def database_url(private_database_url: str) -> str:
    return private_database_url


def _commlog(database_url: str, tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return run_commlog(*args, var_dir=tmp_path, database_url=database_url, COMMLOG_MASTER_KEYS=KEYS)


def _events(database_url: str, action: str) -> list[AuditEventRow]:
    async def read() -> list[AuditEventRow]:
        engine = create_engine(database_url)
        try:
            async with AsyncSession(engine) as session:
                return list(
                    (
                        await session.execute(
                            select(AuditEventRow)
                            .where(AuditEventRow.action == action)
                            .order_by(AuditEventRow.occurred_at)
                        )
                    ).scalars()
                )
        finally:
            await engine.dispose()

    return asyncio.run(read())


def test_access_and_erasure_from_the_command_line(database_url: str, tmp_path: Path) -> None:
    assert _commlog(database_url, tmp_path, "demo", "seed").returncode == 0
    created = _commlog(
        database_url,
        tmp_path,
        *("subject", "create", "--tenant", "tnt_demo", "--type", "access"),
        *("--user", "usr_colleague", "--reference", "DSR-9 Li Na", "--actor", "dpo@bank"),
    )
    assert created.returncode == 0, created.stderr
    request_id = created.stdout.strip()
    assert request_id.startswith("dsr_")

    out = tmp_path / "access.jsonl"
    fetched = _commlog(database_url, tmp_path, "subject", "records", request_id, "--out", str(out))
    assert fetched.returncode == 0, fetched.stderr
    lines = [msgspec.json.decode(line) for line in out.read_bytes().splitlines()]
    assert len(lines) == 12
    assert {line["user_id"] for line in lines} == {"usr_colleague"}
    assert "*" not in "".join(line["recipient"] or "" for line in lines)
    digest = hashlib.sha256(out.read_bytes()).hexdigest()
    assert digest in fetched.stdout

    (access,) = _events(database_url, "subject_request.access")
    assert msgspec.json.decode(access.details)["sha256"] == digest
    assert access.actor_kind == "cli"
    # Recorded before the first byte was written, and linked both ways.
    (started,) = _events(database_url, "subject_request.access_started")
    assert started.sequence < access.sequence
    assert msgspec.json.decode(started.details)["final_event_id"] == access.id
    assert msgspec.json.decode(access.details)["started_event_id"] == started.id
    assert msgspec.json.decode(access.details)["counted"] == "written_to_file"
    assert msgspec.json.decode(access.actor_origin) == {
        "os_user": getpass.getuser(),
        "host": socket.gethostname(),
    }

    shown = _commlog(database_url, tmp_path, "subject", "show", request_id)
    assert shown.returncode == 0, shown.stderr
    assert "completed" in shown.stdout
    assert "reference: DSR-9 Li Na" in shown.stdout

    erased = _commlog(
        database_url,
        tmp_path,
        *("subject", "create", "--tenant", "tnt_demo", "--type", "erasure"),
        *("--user", "usr_colleague", "--reference", "DSR-10", "--actor", "dpo@bank"),
    )
    assert erased.returncode == 0, erased.stderr
    assert "completed" in erased.stdout
    assert "erased=12" in erased.stdout
    (erasure,) = _events(database_url, "subject_request.erasure")
    assert erasure.actor == "dpo@bank"
    assert msgspec.json.decode(erasure.details)["erased"] == 12

    listed = _commlog(database_url, tmp_path, "subject", "list", "--tenant", "tnt_demo")
    assert listed.returncode == 0, listed.stderr
    assert len(listed.stdout.splitlines()) == 2
    assert "DSR" not in listed.stdout

    rerun = _commlog(database_url, tmp_path, "subject", "run", request_id)
    assert rerun.returncode == 1
    assert rerun.stderr.count("\n") == 1
    assert "access request" in rerun.stderr


def test_usage_errors_are_one_line_and_exit_2(database_url: str, tmp_path: Path) -> None:
    both = _commlog(
        database_url,
        tmp_path,
        *("subject", "create", "--tenant", "t", "--type", "access", "--user", "u"),
        *("--recipient", "+8613812348000", "--reference", "x"),
    )
    assert both.returncode == 2
    assert "exactly one of --recipient or --user" in both.stderr
    assert "Traceback" not in both.stderr
    late = _commlog(
        database_url,
        tmp_path,
        *("subject", "create", "--tenant", "t", "--type", "access", "--user", "u"),
        *("--reference", "x", "--due", "2099-01-01T00:00Z"),
    )
    assert late.returncode == 1
    assert "90 days" in late.stderr
    missing = _commlog(database_url, tmp_path, "subject", "show", "dsr_nothing")
    assert missing.returncode == 1
    assert "no subject request" in missing.stderr


def test_a_number_without_country_code_is_refused_in_one_line_never_echoed(
    database_url: str, tmp_path: Path
) -> None:
    refused = _commlog(
        database_url,
        tmp_path,
        *("subject", "create", "--tenant", "tnt_demo", "--type", "erasure"),
        *("--recipient", "13812348004", "--reference", "DSR-9"),
    )
    assert refused.returncode == 1
    assert len(refused.stderr.splitlines()) == 1
    assert "country code" in refused.stderr
    assert "13812348004" not in refused.stderr + refused.stdout
