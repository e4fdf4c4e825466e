"""The one settings object: read from the environment (and a ``.env`` file) once."""

from __future__ import annotations

import enum
import os
import secrets
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from datetime import time
from pathlib import Path
from typing import Any

import msgspec
from dotenv import dotenv_values
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

from compliance.encryption.master import (
    MasterKeyError,
    MasterKeyring,
    development_master_keys,
    new_master_key_entry,
    parse_master_keys,
)
from policies.holds import DEFAULT_MAX_DAYS as DEFAULT_HOLD_MAX_DAYS
from policies.holds import DEFAULT_RELEASED_HOLD_DAYS, MAX_MAX_DAYS
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
DEFAULT_DATABASE_URL = "sqlite+aiosqlite:///var/commlog.db"
# A bearer token is a credential anyone holding it can replay: a day bounds the damage of
# one that leaks, and identity providers issue access tokens for minutes to hours.
DEFAULT_JWT_MAX_LIFETIME = 24 * 3600
JWT_MAX_LIFETIME_CEILING = 30 * 24 * 3600
# The audit trail's own window (docs/compliance/audit-retention.md): six years by default;
# never shorter than six months (the issue cites China's Cybersecurity Law Art. 21(3) for
# network logs) nor than the longest record window (the trail must outlive what it proves).
DEFAULT_AUDIT_RETENTION_DAYS = 2_190
MIN_AUDIT_RETENTION_DAYS = 183
MAX_AUDIT_RETENTION_DAYS = 36_500


class ConfigurationError(Exception):
    """Configuration that cannot work: one or more problems, each one line naming its variable.

    ``problems`` lists them all, so an operator fixes a deployment in one round, not one
    restart per variable; ``str()`` joins them with ``; `` (still one line).
    """

    def __init__(self, problem: str, *more: str) -> None:
        self.problems: tuple[str, ...] = (problem, *more)
        super().__init__("; ".join(self.problems))


class _Problems:
    """Collects every configuration problem found while settings are read."""

    def __init__(self) -> None:
        self.found: list[str] = []

    @contextmanager
    def collect(self) -> Iterator[None]:
        """Run one independent check; a :class:`ConfigurationError` is noted, not raised."""
        try:
            yield
        except ConfigurationError as exc:
            # Two checks may trip over the same cause (both development secrets live in
            # COMMLOG_VAR_DIR): say it once.
            self.found.extend(p for p in exc.problems if p not in self.found)

    def raise_any(self) -> None:
        if self.found:
            raise ConfigurationError(*self.found)


class Environment(enum.StrEnum):
    DEVELOPMENT = "development"
    PRODUCTION = "production"


class Settings(msgspec.Struct, frozen=True, kw_only=True):
    """Everything the service is configured with. Secrets never appear in ``repr``."""

    environment: Environment = Environment.DEVELOPMENT
    database_url: str = DEFAULT_DATABASE_URL
    jwt_secret: str | None = msgspec.field(default=None)
    jwt_public_key: str | None = None
    jwt_issuer: str | None = None
    jwt_audience: str | None = None
    jwt_max_lifetime: int = DEFAULT_JWT_MAX_LIFETIME
    var_dir: Path = PROJECT_ROOT / "var"
    retention_policy: RetentionPolicy = DEFAULT_POLICY
    retention_at: time = time(3, 0)
    audit_retention_days: int = DEFAULT_AUDIT_RETENTION_DAYS
    hold_max_days: int = DEFAULT_HOLD_MAX_DAYS
    """The latest a legal hold's ``expires_at``/``review_by`` may be, in days from now."""
    released_hold_days: int = DEFAULT_RELEASED_HOLD_DAYS
    """How long a released or lapsed legal hold is kept before the retention job purges it."""
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

    @property
    def database_location(self) -> str:
        """Where the database is, for an operator's error line: never user or password."""
        try:
            url = make_url(self.database_url)
        except ArgumentError:
            return self.database_backend
        if self.database_backend == "sqlite":
            return f"sqlite {url.database or ':memory:'}"
        host = f"{url.host or 'localhost'}:{url.port or 5432}"
        return f"{self.database_backend} at {host}/{url.database}"


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


SQLITE_URL_PREFIX = "sqlite+aiosqlite:///"


def sqlite_file(database_url: str) -> Path | None:
    """The file an embedded-database URL names (as written); ``None`` for PostgreSQL, an
    in-memory database or a ``file:`` URI."""
    if not database_url.startswith(SQLITE_URL_PREFIX):
        return None
    raw = database_url[len(SQLITE_URL_PREFIX) :]
    if raw in ("", ":memory:") or raw.startswith("file:"):
        return None
    return Path(raw)


def _resolve_sqlite_path(url: str, var_dir: Path) -> str:
    """Make a relative SQLite path relative to the project, and create its folder."""
    path = sqlite_file(url)
    if path is None:
        return url
    if not path.is_absolute():
        path = PROJECT_ROOT / path
    path.parent.mkdir(parents=True, exist_ok=True)
    return SQLITE_URL_PREFIX + str(path)


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


def _unwritable_var_dir(var_dir: Path, exc: OSError) -> ConfigurationError:
    return ConfigurationError(
        f"COMMLOG_VAR_DIR ({var_dir}) cannot hold the development secrets: "
        f"{type(exc).__name__}; point it at a writable folder, or set the secrets explicitly"
    )


def _load_master_keys(
    env: Mapping[str, str], environment: Environment | None, var_dir: Path
) -> MasterKeyring | None:
    """The master keyring; ``None`` only where a problem about the environment is noted."""
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
        if environment is None:
            return None
        try:
            spec = development_master_keys(var_dir)
        except OSError as exc:
            raise _unwritable_var_dir(var_dir, exc) from None
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


def _parse_environment(env: Mapping[str, str]) -> Environment:
    try:
        return Environment(env.get("COMMLOG_ENV", Environment.DEVELOPMENT.value))
    except ValueError:
        raise ConfigurationError("COMMLOG_ENV must be 'development' or 'production'") from None


def _parse_database_url(env: Mapping[str, str], var_dir: Path) -> str:
    database_url = env.get("COMMLOG_DATABASE_URL", DEFAULT_DATABASE_URL)
    if not database_url.startswith(tuple(driver + ":" for driver in SUPPORTED_DRIVERS)):
        raise ConfigurationError(
            "COMMLOG_DATABASE_URL must start with one of: "
            + ", ".join(driver + "://" for driver in SUPPORTED_DRIVERS)
        )
    try:
        return _resolve_sqlite_path(database_url, var_dir)
    except OSError as exc:
        raise ConfigurationError(
            f"COMMLOG_DATABASE_URL: the SQLite file's folder cannot be created "
            f"({type(exc).__name__})"
        ) from None


def _read_public_key(path: str) -> str:
    try:
        public_key = Path(path).read_text(encoding="utf-8")
    except OSError:
        raise ConfigurationError(
            "COMMLOG_JWT_PUBLIC_KEY names a file that cannot be read"
        ) from None
    if "BEGIN PUBLIC KEY" not in public_key:
        raise ConfigurationError("COMMLOG_JWT_PUBLIC_KEY is not a PEM public key")
    return public_key


def _check_jwt_secret(secret: str | None) -> None:
    if secret is not None and len(secret.encode()) < MIN_HS256_SECRET_BYTES:
        raise ConfigurationError(
            f"COMMLOG_JWT_SECRET must be at least {MIN_HS256_SECRET_BYTES} bytes long"
        )


def _check_production_tokens(env: Mapping[str, str]) -> None:
    """Production tokens need a verifier; an identity provider's also issuer and audience.

    With a public key, any service the provider issues tokens for could otherwise replay
    its tokens here: only ``iss`` and ``aud`` say a token was meant for commlog.
    """
    problems: list[str] = []
    public_key = env.get("COMMLOG_JWT_PUBLIC_KEY")
    if not env.get("COMMLOG_JWT_SECRET") and not public_key:
        problems.append("COMMLOG_JWT_SECRET or COMMLOG_JWT_PUBLIC_KEY must be set in production")
    if public_key:
        problems.extend(
            f"{variable} must be set in production when COMMLOG_JWT_PUBLIC_KEY is"
            for variable in ("COMMLOG_JWT_ISSUER", "COMMLOG_JWT_AUDIENCE")
            if not env.get(variable)
        )
    if problems:
        raise ConfigurationError(*problems)


def _parse_jwt_max_lifetime(env: Mapping[str, str]) -> int:
    raw = env.get("COMMLOG_JWT_MAX_LIFETIME")
    if raw is None:
        return DEFAULT_JWT_MAX_LIFETIME
    try:
        seconds = int(raw.strip())
    except ValueError:
        seconds = 0
    if not 1 <= seconds <= JWT_MAX_LIFETIME_CEILING:
        raise ConfigurationError(
            "COMMLOG_JWT_MAX_LIFETIME must be a whole number of seconds from 1 to "
            f"{JWT_MAX_LIFETIME_CEILING} (30 days)"
        )
    return seconds


def longest_record_days(policy: RetentionPolicy) -> int:
    """The longest ``record`` window anywhere in ``policy`` (default, tenants, channels)."""
    windows = [policy.default, *policy.tenants.values(), *policy.channels.values()]
    return max(windows.record.days for windows in windows)


def _parse_audit_retention_days(env: Mapping[str, str], policy: RetentionPolicy) -> int:
    raw = env.get("COMMLOG_AUDIT_RETENTION_DAYS")
    try:
        days = DEFAULT_AUDIT_RETENTION_DAYS if raw is None else int(raw.strip())
    except ValueError:
        days = 0
    floor = max(MIN_AUDIT_RETENTION_DAYS, longest_record_days(policy))
    if not floor <= days <= MAX_AUDIT_RETENTION_DAYS:
        raise ConfigurationError(
            f"COMMLOG_AUDIT_RETENTION_DAYS must be a whole number of days from {floor} (at "
            f"least {MIN_AUDIT_RETENTION_DAYS} days and the longest record window of the "
            f"retention policy) to {MAX_AUDIT_RETENTION_DAYS}"
        )
    return days


def _whole_days(env: Mapping[str, str], variable: str, default: int) -> int:
    text = env.get(variable, "").strip()
    if not text:
        return default
    days = int(text) if text.isdigit() else 0
    if not 1 <= days <= MAX_MAX_DAYS:
        raise ConfigurationError(
            f"{variable} must be a whole number of days from 1 to {MAX_MAX_DAYS}"
        )
    return days


def load_settings(
    environ: Mapping[str, str] | None = None, env_file: Path | None = PROJECT_ROOT / ".env"
) -> Settings:
    """Build :class:`Settings` from ``COMMLOG_*`` variables.

    Every problem is found before any is reported: :class:`ConfigurationError` lists them
    all, one line each naming its variable.
    """
    env = _read_environment(os.environ if environ is None else environ, env_file)
    problems = _Problems()
    var_dir = Path(env.get("COMMLOG_VAR_DIR", str(PROJECT_ROOT / "var")))

    environment: Environment | None = None
    with problems.collect():
        environment = _parse_environment(env)

    database_url = DEFAULT_DATABASE_URL
    with problems.collect():
        database_url = _parse_database_url(env, var_dir)

    public_key: str | None = None
    public_key_path = env.get("COMMLOG_JWT_PUBLIC_KEY") or None
    if public_key_path is not None:
        with problems.collect():
            public_key = _read_public_key(public_key_path)
    secret = env.get("COMMLOG_JWT_SECRET") or None
    with problems.collect():
        _check_jwt_secret(secret)
    if environment is Environment.PRODUCTION:
        with problems.collect():
            _check_production_tokens(env)
    elif environment is Environment.DEVELOPMENT and secret is None and public_key_path is None:
        with problems.collect():
            try:
                secret = _development_secret(var_dir)
            except OSError as exc:
                raise _unwritable_var_dir(var_dir, exc) from None
    jwt_max_lifetime = DEFAULT_JWT_MAX_LIFETIME
    with problems.collect():
        jwt_max_lifetime = _parse_jwt_max_lifetime(env)

    retention_policy = DEFAULT_POLICY
    with problems.collect():
        try:
            retention_policy = load_policy(env.get("COMMLOG_RETENTION_POLICY_FILE") or None)
        except PolicyError as exc:
            raise ConfigurationError(f"COMMLOG_RETENTION_POLICY_FILE: {exc}") from None
    retention_at = time(3, 0)
    with problems.collect():
        try:
            retention_at = parse_daily_time(env.get("COMMLOG_RETENTION_AT", "03:00"))
        except ValueError as exc:
            raise ConfigurationError(str(exc)) from None

    audit_retention_days = DEFAULT_AUDIT_RETENTION_DAYS
    with problems.collect():
        audit_retention_days = _parse_audit_retention_days(env, retention_policy)
    hold_days = {
        "hold_max_days": DEFAULT_HOLD_MAX_DAYS,
        "released_hold_days": DEFAULT_RELEASED_HOLD_DAYS,
    }
    for field, variable, default in (
        ("hold_max_days", "COMMLOG_HOLD_MAX_DAYS", DEFAULT_HOLD_MAX_DAYS),
        ("released_hold_days", "COMMLOG_RELEASED_HOLD_DAYS", DEFAULT_RELEASED_HOLD_DAYS),
    ):
        with problems.collect():
            hold_days[field] = _whole_days(env, variable, default)

    master_keys: MasterKeyring | None = None
    with problems.collect():
        master_keys = _load_master_keys(env, environment, var_dir)

    text_limits = TextLimits()
    with problems.collect():
        text_limits = _load_text_limits(env)
    database_timeouts: dict[str, float] = {}
    for field, variable in (
        ("db_connect_timeout", "COMMLOG_DB_CONNECT_TIMEOUT"),
        ("db_pool_timeout", "COMMLOG_DB_POOL_TIMEOUT"),
        ("db_statement_timeout", "COMMLOG_DB_STATEMENT_TIMEOUT"),
    ):
        with problems.collect():
            database_timeouts[field] = _seconds(env, variable)

    problems.raise_any()
    # Where either is missing a problem was noted and raised above.
    assert environment is not None
    assert master_keys is not None
    return Settings(
        **database_timeouts,
        hold_max_days=hold_days["hold_max_days"],
        released_hold_days=hold_days["released_hold_days"],
        text_limits=text_limits,
        retention_policy=retention_policy,
        retention_at=retention_at,
        audit_retention_days=audit_retention_days,
        master_keys=master_keys,
        environment=environment,
        database_url=database_url,
        jwt_secret=secret,
        jwt_public_key=public_key,
        jwt_issuer=env.get("COMMLOG_JWT_ISSUER") or None,
        jwt_audience=env.get("COMMLOG_JWT_AUDIENCE") or None,
        jwt_max_lifetime=jwt_max_lifetime,
        var_dir=var_dir,
    )
