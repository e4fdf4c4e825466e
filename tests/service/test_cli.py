"""The ``commlog`` console script, run as an operator runs it."""

from __future__ import annotations

import asyncio
import importlib.metadata
import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import jwt
import pytest
from sqlalchemy.engine import make_url

from compliance.encryption.master import new_master_key_entry
from tests.conftest import BACKENDS, TEST_JWT_SECRET, _admin_postgres, migrate
from tests.factories import in_days, run_commlog, served_commlog


def _run(tmp_path: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    return run_commlog(
        *args,
        var_dir=tmp_path,
        database_url=f"sqlite+aiosqlite:///{tmp_path / 'cli.db'}",
        **env,
    )


def _migrated(tmp_path: Path) -> Path:
    """The CLI's database, migrated (issuing a token is recorded in the audit trail)."""
    migrate(f"sqlite+aiosqlite:///{tmp_path / 'cli.db'}")
    return tmp_path


def test_token_prints_a_jwt_with_the_requested_claims(tmp_path: Path) -> None:
    _migrated(tmp_path)
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


UNREACHABLE_POSTGRES = "postgresql+asyncpg://commlog:pw-never-printed@127.0.0.1:1/commlog"
# One of each path to the database: a read, Alembic's upgrade, a write after the master
# keys are checked, and the retention job (every other command shares one of these).
COMMANDS_THAT_TOUCH_THE_DATABASE = [
    ["keys", "status"],
    ["database", "upgrade", "--no-prompt"],
    ["tenant", "shred", "--tenant", "tnt_a", "--confirm", "tnt_a"],
    ["retention", "run"],
]


@pytest.mark.parametrize("command", COMMANDS_THAT_TOUCH_THE_DATABASE, ids=" ".join)
def test_an_unreachable_postgresql_is_one_line_naming_no_secret(
    tmp_path: Path, command: list[str]
) -> None:
    result = run_commlog(*command, var_dir=tmp_path, database_url=UNREACHABLE_POSTGRES)
    assert result.returncode == 1, result.stdout
    assert result.stderr.splitlines() == [
        "commlog: database unavailable (ConnectionRefusedError): postgresql at 127.0.0.1:1/commlog"
    ]
    assert "pw-never-printed" not in result.stdout + result.stderr


def test_an_sqlite_file_that_cannot_be_opened_is_one_line(tmp_path: Path) -> None:
    in_the_way = tmp_path / "commlog.db"
    in_the_way.mkdir()  # a folder where the database file should be
    result = run_commlog(
        "database",
        "upgrade",
        "--no-prompt",
        var_dir=tmp_path,
        database_url=f"sqlite+aiosqlite:///{in_the_way}",
    )
    assert result.returncode == 1
    assert result.stderr.splitlines() == [
        f"commlog: database unavailable (OperationalError): sqlite {in_the_way}"
    ]


@pytest.fixture(params=BACKENDS)
def unmigrated_database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """An empty database of each kind: reachable, but without commlog's tables."""
    if request.param == "sqlite":
        yield f"sqlite+aiosqlite:///{tmp_path / 'empty.db'}"
        return
    shared: str = request.getfixturevalue("postgresql_url")
    name = f"commlog_empty_{uuid.uuid4().hex[:10]}"
    asyncio.run(_admin_postgres(shared, f'CREATE DATABASE "{name}"'))
    try:
        yield make_url(shared).set(database=name).render_as_string(hide_password=False)
    finally:
        asyncio.run(_admin_postgres(shared, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


def test_a_database_without_tables_says_to_upgrade_it(
    unmigrated_database_url: str, tmp_path: Path
) -> None:
    result = run_commlog(
        "holds", "list", "--tenant", "tnt_a", var_dir=tmp_path, database_url=unmigrated_database_url
    )
    assert result.returncode == 1
    (line,) = result.stderr.splitlines()
    assert line.startswith("commlog: database has no commlog tables (")
    assert line.endswith("; run 'commlog database upgrade --no-prompt'")


def test_a_var_dir_that_cannot_be_written_is_one_configuration_line(tmp_path: Path) -> None:
    in_the_way = tmp_path / "var"
    in_the_way.write_text("not a folder")
    var_dir = in_the_way / "commlog"
    result = run_commlog(
        "keys",
        "status",
        var_dir=var_dir,
        database_url=f"sqlite+aiosqlite:///{tmp_path / 'cli.db'}",
        COMMLOG_JWT_SECRET="",
    )
    assert result.returncode == 2
    (line,) = result.stderr.splitlines()
    assert line.startswith(f"commlog: configuration error: COMMLOG_VAR_DIR ({var_dir}) ")


def test_every_configuration_problem_is_reported_at_once_one_per_line(tmp_path: Path) -> None:
    result = _run(
        tmp_path,
        "run",
        "--port",
        "1",
        COMMLOG_ENV="production",
        COMMLOG_DATABASE_URL="mysql://commlog:hunter2@db/commlog",
        COMMLOG_JWT_SECRET="short",
        COMMLOG_JWT_MAX_LIFETIME="0",
        COMMLOG_RETENTION_AT="noon",
    )
    assert result.returncode == 2
    lines = result.stderr.splitlines()
    assert [line.split()[3] for line in lines] == [
        "COMMLOG_DATABASE_URL",
        "COMMLOG_JWT_SECRET",
        "COMMLOG_JWT_MAX_LIFETIME",
        "COMMLOG_RETENTION_AT",
        "COMMLOG_MASTER_KEYS",
    ]
    assert all(line.startswith("commlog: configuration error: ") for line in lines)
    assert "hunter2" not in result.stderr


def test_version_names_commlog_and_its_schema_head_even_when_misconfigured(
    tmp_path: Path,
) -> None:
    from service.persistence.database import schema_head

    expected = f"commlog {importlib.metadata.version('commlog')} (database schema {schema_head()})"
    result = _run(tmp_path, "version", COMMLOG_ENV="staging")
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0] == expected
    assert lines[1] == f"litestar {importlib.metadata.version('litestar')}"


def test_token_ttl_respects_the_maximum_token_lifetime(tmp_path: Path) -> None:
    _migrated(tmp_path)
    refused = _run(
        tmp_path,
        "token",
        "--tenant",
        "t",
        "--user",
        "u",
        "--ttl",
        "601",
        COMMLOG_JWT_MAX_LIFETIME="600",
    )
    assert refused.returncode == 2
    assert refused.stderr.splitlines() == [
        "commlog: --ttl 601 exceeds COMMLOG_JWT_MAX_LIFETIME (600 seconds): "
        "the service would refuse the token"
    ]
    default = _run(
        tmp_path, "token", "--tenant", "t", "--user", "u", COMMLOG_JWT_MAX_LIFETIME="600"
    )
    assert default.returncode == 0, default.stderr
    claims = jwt.decode(default.stdout.strip(), TEST_JWT_SECRET, algorithms=["HS256"])
    assert claims["exp"] - claims["iat"] == 600


@pytest.mark.parametrize(
    ("scope", "message"),
    [
        (
            ["--scope", "tenant", "--user", "usr_a"],
            "scope 'tenant' holds every record: it names no user, recipient or channel",
        ),
        (["--scope", "user"], "scope 'user' needs --user"),
        (["--scope", "recipient"], "scope 'recipient' needs --recipient and --channel"),
    ],
)
def test_a_hold_names_its_scope_or_is_a_usage_error(
    tmp_path: Path, scope: list[str], message: str
) -> None:
    result = _run(
        tmp_path,
        "holds",
        "add",
        "--tenant",
        "tnt_a",
        "--reason",
        "r",
        "--review-by",
        in_days(30),
        *scope,
    )
    assert result.returncode == 2
    assert result.stderr.splitlines() == [f"commlog: {message}"]


def test_a_hold_without_a_scope_is_a_usage_error(tmp_path: Path) -> None:
    result = _run(
        tmp_path, "holds", "add", "--tenant", "tnt_a", "--reason", "r", "--review-by", in_days(30)
    )
    assert result.returncode == 2
    assert "--scope" in result.stderr


@pytest.mark.parametrize(
    ("bounds", "message"),
    [
        ([], "a hold needs --expires or --review-by (or both)"),
        (["--expires", "2020-01-01T00:00Z"], "--expires must be in the future"),
        (
            ["--review-by", "2099-01-01T00:00Z"],
            "--review-by must be within 730 days (the configured maximum)",
        ),
    ],
)
def test_a_holds_bounds_from_the_cli_follow_the_apis_rules(
    tmp_path: Path, bounds: list[str], message: str
) -> None:
    result = _run(
        tmp_path,
        "holds",
        "add",
        "--tenant",
        "tnt_a",
        "--scope",
        "tenant",
        "--reason",
        "r",
        *bounds,
    )
    assert result.returncode == 2
    assert result.stderr.splitlines() == [f"commlog: {message}"]


@pytest.mark.parametrize(
    ("options", "message"),
    [
        (["--user", "usr_a\u202e"], "--user must not contain control characters"),
        (["--user", " "], "--user must"),
        (["--user", "usr_a", "--tenant", "tnt\tb"], "--tenant must"),
        (["--user", "usr_a", "--expires", "9999-12-31T23:59:59-01:00"], "--expires must be"),
        (["--user", "usr_a", "--expires", "0001-01-01T00:00:00+01:00"], "--expires must be"),
    ],
)
def test_a_hold_from_the_cli_follows_the_apis_rules_in_one_line(
    tmp_path: Path, options: list[str], message: str
) -> None:
    result = _run(
        tmp_path,
        "holds",
        "add",
        "--tenant",
        "tnt_a",
        "--scope",
        "user",
        "--reason",
        "r",
        "--review-by",
        in_days(30),
        *options,
    )
    assert result.returncode == 2, result.stderr
    (line,) = result.stderr.splitlines()
    assert line.startswith(f"commlog: {message}"), line


@pytest.mark.parametrize("workers", ["1", "2"])
def test_the_served_api_does_not_announce_its_server_software(tmp_path: Path, workers: str) -> None:
    with served_commlog(tmp_path, "--wc", workers) as served:
        live = httpx.get(f"{served.base_url}/health/live", timeout=5)
        unauthenticated = httpx.get(f"{served.base_url}/communication/logs", timeout=5)
    assert live.status_code == 200
    assert "server" not in live.headers
    assert unauthenticated.status_code == 401
    assert "server" not in unauthenticated.headers
    assert unauthenticated.headers["WWW-Authenticate"] == 'Bearer realm="commlog"'
