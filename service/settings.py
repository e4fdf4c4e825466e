"""The one settings object: read from the environment (and a ``.env`` file) once."""

from __future__ import annotations

import enum
import os
import secrets
from collections.abc import Mapping
from datetime import time
from pathlib import Path
from typing import Any

import msgspec
from dotenv import dotenv_values

from compliance.encryption.master import (
    MasterKeyError,
    MasterKeyring,
    development_master_keys,
    new_master_key_entry,
    parse_master_keys,
)
from policies.retention import (
    DEFAULT_POLICY,
    PolicyError,
    RetentionPolicy,
    load_policy,
    parse_daily_time,
)
from policies.text_limits import CONTENT_CEILING_CHARS, PROVIDER_TEXT_CEILING_CHARS, TextLimits

PROJECT_ROOT = Path(__file__).resolve().parent.parent
MIN_HS256_SECRET_BYTES = 32
SUPPORTED_DRIVERS = ("sqlite+aiosqlite", "postgresql+asyncpg")
DEFAULT_DB_TIMEOUT_SECONDS = 5.0
MAX_DB_TIMEOUT_SECONDS = 300.0


class ConfigurationError(Exception):
    """Configuration that cannot work. The message is one line and names the variable."""


class Environment(enum.StrEnum):
    DEVELOPMENT = "development"
    PRODUCTION = "production"


class Settings(msgspec.Struct, frozen=True, kw_only=True):
    """Everything the service is configured with. Secrets never appear in ``repr``."""

    environment: Environment = Environment.DEVELOPMENT
    database_url: str = "sqlite+aiosqlite:///var/commlog.db"
    jwt_secret: str | None = msgspec.field(default=None)
    jwt_public_key: str | None = None
    jwt_issuer: str | None = None
    jwt_audience: str | None = None
    var_dir: Path = PROJECT_ROOT / "var"
    retention_policy: RetentionPolicy = DEFAULT_POLICY
    retention_at: time = time(3, 0)
    text_limits: TextLimits = msgspec.field(default_factory=TextLimits)
    master_keys: MasterKeyring = msgspec.field(
        default_factory=lambda: parse_master_keys(new_master_key_entry("ephemeral"), source="-")
    )
    # How long a request may wait for the database before it is answered 503
    # (docs/architecture.md, "When the database is slow or gone").
    db_connect_timeout: float = DEFAULT_DB_TIMEOUT_SECONDS
    db_pool_timeout: float = DEFAULT_DB_TIMEOUT_SECONDS
    db_statement_timeout: float = DEFAULT_DB_TIMEOUT_SECONDS

    def __repr__(self) -> str:
        verifier = "public key" if self.jwt_public_key else "hs256"
        return (
            f"Settings(environment={self.environment.value!r}, "
            f"database={self.database_backend!r}, jwt={verifier})"
        )

    def __rich_repr__(self) -> list[tuple[str, Any]]:
        """What rich may print: never secrets (msgspec's default lists every field)."""
        return [("environment", self.environment.value), ("database", self.database_backend)]

    @property
    def is_development(self) -> bool:
        return self.environment is Environment.DEVELOPMENT

    @property
    def database_backend(self) -> str:
        return self.database_url.split(":", 1)[0].split("+", 1)[0]


def _read_environment(environ: Mapping[str, str], env_file: Path | None) -> dict[str, str]:
    """``COMMLOG_*`` values; an empty value counts as unset (``VAR= commlog …``)."""
    values: dict[str, str] = {}
    if env_file is not None and env_file.is_file():
        values.update({k: v for k, v in dotenv_values(env_file).items() if v is not None})
    values.update(environ)  # the real environment wins over the file
    return {k: v for k, v in values.items() if k.startswith("COMMLOG_") and v.strip()}


def _development_secret(var_dir: Path) -> str:
    """A per-checkout HS256 secret, generated once and kept private to this user."""
    path = var_dir / "jwt-secret"
    if path.is_file():
        return path.read_text(encoding="utf-8").strip()
    var_dir.mkdir(parents=True, exist_ok=True)
    secret = secrets.token_urlsafe(48)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(secret + "\n")
    return secret


def _resolve_sqlite_path(url: str, var_dir: Path) -> str:
    """Make a relative SQLite path relative to the project, and create its folder."""
    prefix = "sqlite+aiosqlite:///"
    if not url.startswith(prefix):
        return url
    raw = url[len(prefix) :]
    if raw in ("", ":memory:") or raw.startswith("file:"):
        return url
    path = Path(raw)
    if not path.is_absolute():
        path = PROJECT_ROOT / path
    path.parent.mkdir(parents=True, exist_ok=True)
    return prefix + str(path)


def _seconds(env: Mapping[str, str], variable: str) -> float:
    """A positive number of seconds (fractions allowed), at most five minutes."""
    raw = env.get(variable)
    if raw is None:
        return DEFAULT_DB_TIMEOUT_SECONDS
    try:
        value = float(raw)
    except ValueError:
        value = float("nan")
    if not 0 < value <= MAX_DB_TIMEOUT_SECONDS:  # also refuses nan and inf
        raise ConfigurationError(
            f"{variable} must be a number of seconds above 0 and at most {MAX_DB_TIMEOUT_SECONDS:g}"
        )
    return value


def _load_master_keys(
    env: Mapping[str, str], environment: Environment, var_dir: Path
) -> MasterKeyring:
    spec = env.get("COMMLOG_MASTER_KEYS") or None
    source = "COMMLOG_MASTER_KEYS"
    key_file = env.get("COMMLOG_MASTER_KEY_FILE") or None
    if spec is not None and key_file is not None:
        raise ConfigurationError("set COMMLOG_MASTER_KEYS or COMMLOG_MASTER_KEY_FILE, not both")
    if key_file is not None:
        source = "COMMLOG_MASTER_KEY_FILE"
        try:
            spec = Path(key_file).read_text(encoding="utf-8")
        except OSError:
            raise ConfigurationError(
                "COMMLOG_MASTER_KEY_FILE names a file that cannot be read"
            ) from None
    if spec is None:
        if environment is Environment.PRODUCTION:
            raise ConfigurationError(
                "COMMLOG_MASTER_KEYS or COMMLOG_MASTER_KEY_FILE must be set in production"
            )
        spec = development_master_keys(var_dir)
        source = f"{var_dir / 'master-keys'}"
    try:
        return parse_master_keys(spec, source=source)
    except MasterKeyError as exc:
        raise ConfigurationError(str(exc)) from None


def _load_text_limits(env: Mapping[str, str]) -> TextLimits:
    """``COMMLOG_MAX_CONTENT_CHARS`` and ``COMMLOG_MAX_PROVIDER_TEXT_CHARS``."""
    values: dict[str, int] = {}
    for variable, name, ceiling in (
        ("COMMLOG_MAX_CONTENT_CHARS", "content_chars", CONTENT_CEILING_CHARS),
        ("COMMLOG_MAX_PROVIDER_TEXT_CHARS", "provider_text_chars", PROVIDER_TEXT_CEILING_CHARS),
    ):
        raw = env.get(variable)
        if raw is None:
            continue
        if not raw.strip().isdigit() or not 1 <= int(raw) <= ceiling:
            raise ConfigurationError(f"{variable} must be a whole number from 1 to {ceiling}")
        values[name] = int(raw)
    return TextLimits(**values)


def load_settings(
    environ: Mapping[str, str] | None = None, env_file: Path | None = PROJECT_ROOT / ".env"
) -> Settings:
    """Build :class:`Settings` from ``COMMLOG_*`` variables, failing with one clear line."""
    env = _read_environment(os.environ if environ is None else environ, env_file)

    raw_environment = env.get("COMMLOG_ENV", Environment.DEVELOPMENT.value)
    try:
        environment = Environment(raw_environment)
    except ValueError:
        raise ConfigurationError("COMMLOG_ENV must be 'development' or 'production'") from None

    var_dir = Path(env.get("COMMLOG_VAR_DIR", str(PROJECT_ROOT / "var")))

    database_url = env.get("COMMLOG_DATABASE_URL", "sqlite+aiosqlite:///var/commlog.db")
    if not database_url.startswith(tuple(driver + ":" for driver in SUPPORTED_DRIVERS)):
        raise ConfigurationError(
            "COMMLOG_DATABASE_URL must start with one of: "
            + ", ".join(driver + "://" for driver in SUPPORTED_DRIVERS)
        )
    database_url = _resolve_sqlite_path(database_url, var_dir)

    public_key_path = env.get("COMMLOG_JWT_PUBLIC_KEY") or None
    public_key: str | None = None
    if public_key_path is not None:
        try:
            public_key = Path(public_key_path).read_text(encoding="utf-8")
        except OSError:
            raise ConfigurationError(
                "COMMLOG_JWT_PUBLIC_KEY names a file that cannot be read"
            ) from None
        if "BEGIN PUBLIC KEY" not in public_key:
            raise ConfigurationError("COMMLOG_JWT_PUBLIC_KEY is not a PEM public key")

    secret = env.get("COMMLOG_JWT_SECRET") or None
    if secret is not None and len(secret.encode()) < MIN_HS256_SECRET_BYTES:
        raise ConfigurationError(
            f"COMMLOG_JWT_SECRET must be at least {MIN_HS256_SECRET_BYTES} bytes long"
        )
    if secret is None and public_key is None:
        if environment is Environment.PRODUCTION:
            raise ConfigurationError(
                "COMMLOG_JWT_SECRET or COMMLOG_JWT_PUBLIC_KEY must be set in production"
            )
        secret = _development_secret(var_dir)

    try:
        retention_policy = load_policy(env.get("COMMLOG_RETENTION_POLICY_FILE") or None)
    except PolicyError as exc:
        raise ConfigurationError(f"COMMLOG_RETENTION_POLICY_FILE: {exc}") from None
    try:
        retention_at = parse_daily_time(env.get("COMMLOG_RETENTION_AT", "03:00"))
    except ValueError as exc:
        raise ConfigurationError(str(exc)) from None

    text_limits = _load_text_limits(env)
    database_timeouts = {
        "db_connect_timeout": _seconds(env, "COMMLOG_DB_CONNECT_TIMEOUT"),
        "db_pool_timeout": _seconds(env, "COMMLOG_DB_POOL_TIMEOUT"),
        "db_statement_timeout": _seconds(env, "COMMLOG_DB_STATEMENT_TIMEOUT"),
    }

    return Settings(
        **database_timeouts,
        text_limits=text_limits,
        retention_policy=retention_policy,
        retention_at=retention_at,
        master_keys=_load_master_keys(env, environment, var_dir),
        environment=environment,
        database_url=database_url,
        jwt_secret=secret,
        jwt_public_key=public_key,
        jwt_issuer=env.get("COMMLOG_JWT_ISSUER") or None,
        jwt_audience=env.get("COMMLOG_JWT_AUDIENCE") or None,
        var_dir=var_dir,
    )
