"""The ``commlog`` console script, run as an operator runs it."""

from __future__ import annotations

import subprocess
from pathlib import Path

import jwt
import pytest

from compliance.encryption.master import new_master_key_entry
from tests.conftest import TEST_JWT_SECRET
from tests.factories import run_commlog


def _run(tmp_path: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    return run_commlog(
        *args,
        var_dir=tmp_path,
        database_url=f"sqlite+aiosqlite:///{tmp_path / 'cli.db'}",
        **env,
    )


def test_token_prints_a_jwt_with_the_requested_claims(tmp_path: Path) -> None:
    result = _run(
        tmp_path,
        "token",
        "--tenant",
        "tnt_a",
        "--user",
        "usr_a",
        "--role",
        "ingest",
        "--role",
        "user",
        "--ttl",
        "60",
    )
    assert result.returncode == 0, result.stderr
    claims = jwt.decode(result.stdout.strip(), TEST_JWT_SECRET, algorithms=["HS256"])
    assert claims["tenant_id"] == "tnt_a"
    assert claims["sub"] == "usr_a"
    assert claims["roles"] == ["ingest", "user"]
    assert claims["exp"] - claims["iat"] == 60


def test_token_refuses_when_only_a_public_key_is_configured(tmp_path: Path) -> None:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ec

    pem = (
        ec.generate_private_key(ec.SECP256R1())
        .public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    )
    key_file = tmp_path / "idp.pem"
    key_file.write_bytes(pem)
    result = _run(
        tmp_path,
        "token",
        "--tenant",
        "t",
        "--user",
        "u",
        COMMLOG_JWT_SECRET="",
        COMMLOG_JWT_PUBLIC_KEY=str(key_file),
    )
    assert result.returncode != 0
    assert "COMMLOG_JWT_PUBLIC_KEY" in result.stderr
    assert "Traceback" not in result.stderr


def test_invalid_configuration_stops_the_cli_with_one_line(tmp_path: Path) -> None:
    result = _run(tmp_path, "token", "--tenant", "t", "--user", "u", COMMLOG_ENV="staging")
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    assert "COMMLOG_ENV" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_upgrade_then_demo_seed_is_idempotent_and_prints_a_working_curl(tmp_path: Path) -> None:
    upgrade = _run(tmp_path, "database", "upgrade", "--no-prompt")
    assert upgrade.returncode == 0, upgrade.stderr + upgrade.stdout
    first = _run(tmp_path, "demo", "seed")
    assert first.returncode == 0, first.stderr
    assert "send records added" in first.stdout
    assert "curl -s -H 'Authorization: Bearer " in first.stdout
    second = _run(tmp_path, "demo", "seed")
    assert "already present" in second.stdout


def test_demo_data_is_never_seeded_in_production(tmp_path: Path) -> None:
    result = _run(
        tmp_path,
        "demo",
        "seed",
        COMMLOG_ENV="production",
        COMMLOG_MASTER_KEYS=new_master_key_entry("prod-1"),
    )
    assert result.returncode != 0
    assert "development" in result.stderr


@pytest.mark.parametrize("command", [["--help"], ["run", "--help"], ["database", "--help"]])
def test_the_litestar_cli_is_preset_with_the_app(tmp_path: Path, command: list[str]) -> None:
    result = _run(tmp_path, *command)
    assert result.returncode == 0, result.stderr
