"""Real infrastructure faults for tests: a small file system that fills up; a database
that refuses some audit writes (a trigger, as a full or frozen disk would refuse them).

The tests run as root here and in CI, so a size-limited tmpfs can be mounted. Where it
cannot, the test is skipped with a loud reason, or fails under CI
(``COMMLOG_REQUIRE_POSTGRES=1`` or ``CI`` set).
"""

from __future__ import annotations

import errno
import os
import subprocess
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from pathlib import Path

import pytest
from advanced_alchemy.extensions.litestar import SQLAlchemyAsyncConfig
from sqlalchemy import text


def _in_ci() -> bool:
    return os.environ.get("COMMLOG_REQUIRE_POSTGRES") == "1" or bool(os.environ.get("CI"))


def mount(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(  # noqa: S603 - fixed arguments
        ["mount", *args],  # noqa: S607 - the system's mount
        capture_output=True,
        text=True,
        check=False,
    )


@contextmanager
def small_filesystem(where: Path, size: str = "3m") -> Iterator[Path]:
    """A tmpfs of ``size`` mounted on ``where`` (created), unmounted afterwards."""
    where.mkdir(exist_ok=True)
    mounted = mount("-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(where))
    if mounted.returncode != 0:
        reason = (
            "cannot mount a size-limited tmpfs (the full-disk tests need root or "
            f"CAP_SYS_ADMIN): {mounted.stderr.strip()}"
        )
        if _in_ci():
            pytest.fail(reason, pytrace=False)
        pytest.skip(f"!!! FULL-DISK DURABILITY TEST NOT RUN: {reason}")
    try:
        yield where
    finally:
        if subprocess.run(["umount", str(where)], check=False).returncode != 0:  # noqa: S603, S607
            subprocess.run(["umount", "-l", str(where)], check=False)  # noqa: S603, S607


def resize(where: Path, size: str) -> None:
    """Give the tmpfs on ``where`` a new size (an operator freeing space)."""
    resized = mount("-o", f"remount,size={size}", str(where))
    assert resized.returncode == 0, resized.stderr


def fill(directory: Path) -> Path:
    """Take every byte left on the file system of ``directory``; delete the returned
    file to give the space back."""
    filler = directory / "filler"
    try:
        with filler.open("wb") as handle:
            chunk = b"\0" * 4096
            while True:
                handle.write(chunk)
                handle.flush()
    except OSError as exc:
        if exc.errno != errno.ENOSPC:
            raise
    return filler


_REFUSAL = "commlog_test_refuse_audit"


@asynccontextmanager
async def refusing_audit_events(
    database: SQLAlchemyAsyncConfig, tenant_id: str, action_like: str
) -> AsyncIterator[None]:
    """While open, the database refuses to insert an audit event of ``tenant_id`` whose
    action is ``LIKE action_like`` (PostgreSQL: SQLSTATE 53100 disk_full; SQLite: an
    abort), whatever connection writes it. Only that tenant's events are refused, so
    other tests sharing the database are untouched; the trigger is dropped on exit."""
    tenant = tenant_id.replace("'", "''")
    like = action_like.replace("'", "''")
    engine = database.get_engine()
    async with engine.begin() as connection:
        if connection.dialect.name == "sqlite":
            await connection.execute(
                text(
                    f"CREATE TRIGGER {_REFUSAL} BEFORE INSERT ON audit_events "
                    f"WHEN NEW.tenant_id = '{tenant}' AND NEW.action LIKE '{like}' "
                    "BEGIN SELECT RAISE(ABORT, 'refused'); END"
                )
            )
        else:
            await connection.execute(
                text(
                    f"CREATE FUNCTION {_REFUSAL}() RETURNS trigger LANGUAGE plpgsql AS $$ "
                    f"BEGIN IF NEW.tenant_id = '{tenant}' AND NEW.action LIKE '{like}' THEN "
                    "RAISE EXCEPTION 'refused' USING ERRCODE = 'disk_full'; END IF; "
                    "RETURN NEW; END $$"
                )
            )
            await connection.execute(
                text(
                    f"CREATE TRIGGER {_REFUSAL} BEFORE INSERT ON audit_events "
                    f"FOR EACH ROW EXECUTE FUNCTION {_REFUSAL}()"
                )
            )
    try:
        yield
    finally:
        async with engine.begin() as connection:
            if connection.dialect.name == "sqlite":
                await connection.execute(text(f"DROP TRIGGER IF EXISTS {_REFUSAL}"))
            else:
                await connection.execute(text(f"DROP TRIGGER IF EXISTS {_REFUSAL} ON audit_events"))
                await connection.execute(text(f"DROP FUNCTION IF EXISTS {_REFUSAL}()"))
