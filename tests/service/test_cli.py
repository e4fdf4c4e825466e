"""The ``commlog`` console script, run as an operator runs it."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import time
from pathlib import Path

import httpx
import jwt
import pytest

from compliance.encryption.master import new_master_key_entry
from tests.conftest import TEST_JWT_SECRET
from tests.factories import COMMLOG, run_commlog


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


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@pytest.mark.parametrize("workers", ["1", "2"])
def test_the_served_api_does_not_announce_its_server_software(tmp_path: Path, workers: str) -> None:
    database_url = f"sqlite+aiosqlite:///{tmp_path / 'served.db'}"
    assert (
        run_commlog(
            "database", "upgrade", "--no-prompt", var_dir=tmp_path, database_url=database_url
        ).returncode
        == 0
    )
    port = _free_port()
    environment = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("COMMLOG_", "UVICORN_"))},
        "COMMLOG_VAR_DIR": str(tmp_path),
        "COMMLOG_DATABASE_URL": database_url,
        "COMMLOG_JWT_SECRET": TEST_JWT_SECRET,
    }
    server = subprocess.Popen(  # noqa: S603 - our own console script
        [COMMLOG, "run", "--host", "127.0.0.1", "--port", str(port), "--wc", workers],
        env=environment,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,  # with --wc, uvicorn runs in a child process: stop the group
    )
    try:
        for _ in range(300):  # up to 30 s for the server to come up
            try:
                live = httpx.get(f"http://127.0.0.1:{port}/health/live", timeout=2)
                break
            except httpx.TransportError:
                time.sleep(0.1)
        else:
            pytest.fail("commlog run did not start")
        unauthenticated = httpx.get(f"http://127.0.0.1:{port}/communication/logs", timeout=5)
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=30)
    assert live.status_code == 200
    assert "server" not in live.headers
    assert unauthenticated.status_code == 401
    assert "server" not in unauthenticated.headers
    assert unauthenticated.headers["WWW-Authenticate"] == 'Bearer realm="commlog"'
