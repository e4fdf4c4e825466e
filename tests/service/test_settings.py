"""Configuration: defaults that work, and one clear line for anything that cannot."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from compliance.encryption.master import new_master_key_entry
from service.settings import ConfigurationError, Environment, Settings, load_settings


def _load(tmp_path: Path, **env: str) -> Settings:
    return load_settings({"COMMLOG_VAR_DIR": str(tmp_path), **env}, env_file=None)


def test_development_defaults_generate_a_private_secret_once(tmp_path: Path) -> None:
    first = load_settings({"COMMLOG_VAR_DIR": str(tmp_path)}, env_file=None)
    second = load_settings({"COMMLOG_VAR_DIR": str(tmp_path)}, env_file=None)
    assert first.environment is Environment.DEVELOPMENT
    assert first.jwt_secret
    assert first.jwt_secret == second.jwt_secret
    mode = stat.S_IMODE((tmp_path / "jwt-secret").stat().st_mode)
    assert mode == 0o600
    assert first.database_url.startswith("sqlite+aiosqlite:///")
    assert first.database_url.endswith("var/commlog.db")


def test_production_refuses_to_start_without_explicit_keys(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError, match="COMMLOG_JWT_SECRET"):
        _load(tmp_path, COMMLOG_ENV="production")
    assert not (tmp_path / "jwt-secret").exists()


@pytest.mark.parametrize(
    ("env", "variable"),
    [
        ({"COMMLOG_ENV": "staging"}, "COMMLOG_ENV"),
        ({"COMMLOG_DATABASE_URL": "mysql://x"}, "COMMLOG_DATABASE_URL"),
        ({"COMMLOG_DATABASE_URL": "postgresql://sync-driver/db"}, "COMMLOG_DATABASE_URL"),
        ({"COMMLOG_JWT_SECRET": "short"}, "COMMLOG_JWT_SECRET"),
        ({"COMMLOG_JWT_PUBLIC_KEY": "/nonexistent.pem"}, "COMMLOG_JWT_PUBLIC_KEY"),
    ],
)
def test_invalid_configuration_names_the_variable(
    tmp_path: Path, env: dict[str, str], variable: str
) -> None:
    with pytest.raises(ConfigurationError) as raised:
        _load(tmp_path, **env)
    message = str(raised.value)
    assert variable in message
    assert "\n" not in message


def test_the_secret_value_is_never_part_of_an_error_or_repr(tmp_path: Path) -> None:
    secret = "s3cr3t-" + "q" * 40
    settings = load_settings(
        {"COMMLOG_VAR_DIR": str(tmp_path), "COMMLOG_JWT_SECRET": secret}, env_file=None
    )
    assert secret not in repr(settings)
    with pytest.raises(ConfigurationError) as raised:
        load_settings(
            {"COMMLOG_VAR_DIR": str(tmp_path), "COMMLOG_JWT_SECRET": "short-secret"}, env_file=None
        )
    assert "short-secret" not in str(raised.value)


def test_a_dotenv_file_is_read_and_the_environment_wins(tmp_path: Path) -> None:
    env_file = tmp_path / ".env"
    env_file.write_text("COMMLOG_JWT_ISSUER=https://from-file.example\nCOMMLOG_JWT_AUDIENCE=file\n")
    settings = load_settings(
        {"COMMLOG_VAR_DIR": str(tmp_path), "COMMLOG_JWT_AUDIENCE": "environment"},
        env_file=env_file,
    )
    assert settings.jwt_issuer == "https://from-file.example"
    assert settings.jwt_audience == "environment"


def test_an_invalid_retention_policy_file_stops_start_up_with_one_line(tmp_path: Path) -> None:
    policy = tmp_path / "retention.toml"
    policy.write_text("[tenants.tnt_bank.channels.fax]\ncontent_days = 3\n")
    with pytest.raises(ConfigurationError) as raised:
        _load(tmp_path, COMMLOG_RETENTION_POLICY_FILE=str(policy))
    message = str(raised.value)
    assert message.startswith("COMMLOG_RETENTION_POLICY_FILE: ")
    assert "tnt_bank" in message
    assert "fax" in message
    assert "\n" not in message


def test_a_valid_retention_policy_and_daily_time_are_loaded(tmp_path: Path) -> None:
    policy = tmp_path / "retention.toml"
    policy.write_text("[tenants.tnt_bank]\ncontent_days = 7\n")
    settings = load_settings(
        {
            "COMMLOG_VAR_DIR": str(tmp_path),
            "COMMLOG_RETENTION_POLICY_FILE": str(policy),
            "COMMLOG_RETENTION_AT": "4:30",
        },
        env_file=None,
    )
    assert settings.retention_at.hour == 4
    assert settings.retention_at.minute == 30
    assert settings.retention_policy.tenants["tnt_bank"].content.days == 7
    with pytest.raises(ConfigurationError, match="COMMLOG_RETENTION_AT"):
        _load(tmp_path, COMMLOG_RETENTION_AT="25:00")


def test_an_empty_variable_counts_as_unset(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    settings = load_settings(
        {
            "COMMLOG_VAR_DIR": "",
            "COMMLOG_ENV": "",
            "COMMLOG_JWT_SECRET": "x" * 40,
            "COMMLOG_MASTER_KEYS": new_master_key_entry("t1"),
        },
        env_file=None,
    )
    assert settings.environment is Environment.DEVELOPMENT
    assert settings.var_dir.name == "var"
    assert not (tmp_path / "master-keys").exists()
    assert not (tmp_path / "jwt-secret").exists()


def test_database_timeouts_default_to_five_seconds_and_accept_fractions(tmp_path: Path) -> None:
    defaults = load_settings({"COMMLOG_VAR_DIR": str(tmp_path)}, env_file=None)
    assert (
        defaults.db_connect_timeout,
        defaults.db_pool_timeout,
        defaults.db_statement_timeout,
    ) == (5.0, 5.0, 5.0)
    tuned = load_settings(
        {
            "COMMLOG_VAR_DIR": str(tmp_path),
            "COMMLOG_DB_CONNECT_TIMEOUT": "1.5",
            "COMMLOG_DB_POOL_TIMEOUT": "2",
            "COMMLOG_DB_STATEMENT_TIMEOUT": "30",
        },
        env_file=None,
    )
    assert (tuned.db_connect_timeout, tuned.db_pool_timeout, tuned.db_statement_timeout) == (
        1.5,
        2.0,
        30.0,
    )


@pytest.mark.parametrize(
    "variable",
    ["COMMLOG_DB_CONNECT_TIMEOUT", "COMMLOG_DB_POOL_TIMEOUT", "COMMLOG_DB_STATEMENT_TIMEOUT"],
)
@pytest.mark.parametrize("value", ["0", "-1", "five", "nan", "inf", "301"])
def test_a_database_timeout_that_cannot_work_names_the_variable(
    tmp_path: Path, variable: str, value: str
) -> None:
    with pytest.raises(ConfigurationError, match=variable):
        _load(tmp_path, **{variable: value})


def test_every_problem_of_a_production_configuration_is_reported_at_once(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError) as raised:
        _load(
            tmp_path,
            COMMLOG_ENV="production",
            COMMLOG_DATABASE_URL="mysql://commlog:hunter2@db/commlog",
            COMMLOG_JWT_SECRET="too-short",
            COMMLOG_JWT_MAX_LIFETIME="forever",
            COMMLOG_RETENTION_AT="25:00",
        )
    problems = raised.value.problems
    assert [problem.split()[0] for problem in problems] == [
        "COMMLOG_DATABASE_URL",
        "COMMLOG_JWT_SECRET",
        "COMMLOG_JWT_MAX_LIFETIME",
        "COMMLOG_RETENTION_AT",
        "COMMLOG_MASTER_KEYS",
    ]
    assert all("\n" not in problem for problem in problems)
    assert "hunter2" not in str(raised.value)
    assert "too-short" not in str(raised.value)


@pytest.mark.parametrize("missing", ["COMMLOG_JWT_ISSUER", "COMMLOG_JWT_AUDIENCE"])
def test_production_with_an_identity_providers_key_needs_issuer_and_audience(
    tmp_path: Path, missing: str
) -> None:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ec

    key_file = tmp_path / "idp.pem"
    key_file.write_bytes(
        ec.generate_private_key(ec.SECP256R1())
        .public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    )
    env = {
        "COMMLOG_ENV": "production",
        "COMMLOG_JWT_PUBLIC_KEY": str(key_file),
        "COMMLOG_JWT_ISSUER": "https://idp.example",
        "COMMLOG_JWT_AUDIENCE": "commlog",
        "COMMLOG_MASTER_KEYS": new_master_key_entry("prod-1"),
    }
    assert _load(tmp_path, **env)
    with pytest.raises(ConfigurationError) as raised:
        _load(tmp_path, **{**env, missing: ""})
    assert raised.value.problems == (
        f"{missing} must be set in production when COMMLOG_JWT_PUBLIC_KEY is",
    )


@pytest.mark.parametrize("value", ["0", "-5", "1.5", "forever", str(31 * 24 * 3600)])
def test_the_maximum_token_lifetime_is_a_sane_number_of_seconds(tmp_path: Path, value: str) -> None:
    assert (
        load_settings(
            {"COMMLOG_VAR_DIR": str(tmp_path), "COMMLOG_JWT_MAX_LIFETIME": "900"}, env_file=None
        ).jwt_max_lifetime
        == 900
    )
    assert _load(tmp_path).jwt_max_lifetime == 24 * 3600  # type: ignore[attr-defined]
    with pytest.raises(ConfigurationError, match="COMMLOG_JWT_MAX_LIFETIME"):
        _load(tmp_path, COMMLOG_JWT_MAX_LIFETIME=value)


@pytest.mark.parametrize("kind", ["a file", "under a file"])
def test_a_var_dir_that_cannot_hold_the_development_secrets_is_one_problem(
    tmp_path: Path, kind: str
) -> None:
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("")
    var_dir = blocker if kind == "a file" else blocker / "var"
    with pytest.raises(ConfigurationError) as raised:
        load_settings({"COMMLOG_VAR_DIR": str(var_dir)}, env_file=None)
    (problem,) = raised.value.problems  # the JWT secret and the master keys: said once
    assert problem.startswith(f"COMMLOG_VAR_DIR ({var_dir}) cannot hold the development secrets")


def test_the_audit_trail_is_kept_six_years_by_default(tmp_path: Path) -> None:
    assert _load(tmp_path).audit_retention_days == 2_190
    assert _load(tmp_path, COMMLOG_AUDIT_RETENTION_DAYS="400").audit_retention_days == 400


@pytest.mark.parametrize("days", ["182", "0", "-5", "six", "36501"])
def test_an_audit_window_under_six_months_or_out_of_range_is_a_configuration_error(
    tmp_path: Path, days: str
) -> None:
    with pytest.raises(ConfigurationError, match="COMMLOG_AUDIT_RETENTION_DAYS") as raised:
        _load(tmp_path, COMMLOG_AUDIT_RETENTION_DAYS=days)
    assert "from 400" in str(raised.value)  # the built-in record window is the floor here


def test_the_audit_window_must_outlive_the_longest_record_window_of_the_policy(
    tmp_path: Path,
) -> None:
    policy = tmp_path / "retention.toml"
    policy.write_text("[tenants.tnt_bank.channels.sms]\nrecord_days = 3000\n")
    with pytest.raises(ConfigurationError, match="from 3000"):
        _load(tmp_path, COMMLOG_RETENTION_POLICY_FILE=str(policy))
    settings = _load(
        tmp_path,
        COMMLOG_RETENTION_POLICY_FILE=str(policy),
        COMMLOG_AUDIT_RETENTION_DAYS="3000",
    )
    assert settings.audit_retention_days == 3_000


def test_hold_bounds_default_to_two_years_and_a_year_and_can_be_set(tmp_path: Path) -> None:
    defaults = _load(tmp_path)
    assert (defaults.hold_max_days, defaults.released_hold_days) == (730, 365)
    configured = _load(tmp_path, COMMLOG_HOLD_MAX_DAYS="90", COMMLOG_RELEASED_HOLD_DAYS="30")
    assert (configured.hold_max_days, configured.released_hold_days) == (90, 30)


@pytest.mark.parametrize("value", ["0", "-1", "two", "36501", "1.5"])
def test_hold_bounds_outside_1_to_36500_days_stop_start_up_naming_both(
    tmp_path: Path, value: str
) -> None:
    with pytest.raises(ConfigurationError) as caught:
        _load(tmp_path, COMMLOG_HOLD_MAX_DAYS=value, COMMLOG_RELEASED_HOLD_DAYS=value)
    assert caught.value.problems == (
        "COMMLOG_HOLD_MAX_DAYS must be a whole number of days from 1 to 36500",
        "COMMLOG_RELEASED_HOLD_DAYS must be a whole number of days from 1 to 36500",
    )
