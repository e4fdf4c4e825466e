"""What "ready" means, and verifying the master keys until they are verified.

Ready (``GET /health/ready`` is 200) means all of:

1. the database answers (within the probe's time bound);
2. its schema is at the migration head this code was built for;
3. it can be written (SQLite: the file and its folder are writable; PostgreSQL: the
   session is not read-only, e.g. not a hot standby);
4. the master keys were verified against the stored data keys, and every stored data key
   opened ("key store integrity": a corrupt key row of one tenant makes the whole
   service not ready, because its records can be neither read nor retained and the
   operator must restore the row; the other tenants keep being served meanwhile).

Checks 1-3 run on every probe; check 4 reads the :class:`MasterKeyGate`, which a
background task keeps up to date: it verifies at start-up, retries with backoff while the
database is unreachable, unmigrated or the keys are refused, and re-checks when a request
reports a data key that failed to open.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os

from advanced_alchemy.extensions.litestar import SQLAlchemyAsyncConfig
from alembic.script import ScriptDirectory
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from compliance.encryption.gate import GateState, MasterKeyGate
from compliance.encryption.keystore import KeyStore, UnwrappedKeyCache
from compliance.encryption.master import MasterKeyError, MasterKeyring
from service.persistence.database import MIGRATIONS_DIR
from service.persistence.outages import database_unavailable
from service.settings import sqlite_file

logger = logging.getLogger("commlog.readiness")

RETRY_FIRST_SECONDS = 0.5
RETRY_MAX_SECONDS = 30.0
SCHEMA_NOT_MIGRATED = "database schema not migrated (run: commlog database upgrade)"
SCHEMA_NOT_AT_HEAD = "database schema not at the migration head (run: commlog database upgrade)"


def migration_head() -> str:
    """The newest migration this code knows (read once, at start-up)."""
    head = ScriptDirectory(str(MIGRATIONS_DIR)).get_current_head()
    if head is None:  # pragma: no cover - the package always ships migrations
        raise RuntimeError("no migrations found")
    return head


class Readiness:
    """The readiness checks and the background verification of the master keys."""

    def __init__(
        self,
        database: SQLAlchemyAsyncConfig,
        master: MasterKeyring,
        cache: UnwrappedKeyCache,
        gate: MasterKeyGate,
        database_url: str,
    ) -> None:
        self.database = database
        self.master = master
        self.cache = cache
        self.gate = gate
        self.head = migration_head()
        self.sqlite_file = sqlite_file(database_url)
        self._task: asyncio.Task[None] | None = None
        self._reported_unreadable: frozenset[int] = frozenset()

    # -- the probe -------------------------------------------------------------------

    async def _schema_problem(self, connection: AsyncConnection | AsyncSession) -> str | None:
        try:
            versions = (
                (await connection.execute(text("SELECT version_num FROM alembic_versions")))
                .scalars()
                .all()
            )
        except DBAPIError as exc:
            if database_unavailable(exc):
                raise
            return SCHEMA_NOT_MIGRATED  # no version table
        if not versions:
            return SCHEMA_NOT_MIGRATED
        return None if list(versions) == [self.head] else SCHEMA_NOT_AT_HEAD

    def _sqlite_writable(self) -> bool:
        path = self.sqlite_file
        if path is None:
            return True
        candidates = [path.parent, path] + [
            path.with_name(path.name + suffix) for suffix in ("-wal", "-shm")
        ]
        # os.access also answers for root: EROFS (read-only mount), EPERM (immutable).
        return all(os.access(item, os.W_OK) for item in candidates if item.exists())

    async def problem(self) -> str | None:
        """Why the service is not ready, in one line naming the check; None when ready.

        Raises when the database does not answer (the caller bounds the time).
        """
        if not await asyncio.to_thread(self._sqlite_writable):
            return "database is read-only"
        async with self.database.get_engine().connect() as connection:
            schema = await self._schema_problem(connection)
            if schema is not None:
                return schema
            if connection.dialect.name == "postgresql":
                read_only = await connection.scalar(
                    text("SELECT current_setting('transaction_read_only')")
                )
                if read_only == "on":
                    return "database is read-only"
        if self.gate.state is not GateState.VERIFIED:
            return f"master keys not verified: {self.gate.reason}"
        unreadable = len(self.gate.unreadable_keys)
        if unreadable:
            return f"key store integrity: {unreadable} data key(s) cannot be opened"
        return None

    # -- verifying the master keys ------------------------------------------------------

    def _not_verified(self, reason: str) -> None:
        """An attempt that proved nothing. Keys proven once stay proven: only master keys
        that fail to open the data keys close the gate again, never a connection dropped
        (or a probe that failed) during a re-check; the next re-check tries again."""
        if self.gate.state is GateState.VERIFIED:
            logger.warning("master key re-check postponed: %s", reason)
            return
        self.gate.mark_pending(reason)
        logger.warning("master keys not verified: %s", reason)

    async def verify_once(self) -> None:
        """One verification attempt; the gate says how it went.

        Raises :class:`MasterKeyError` when the configured master keys do not open the
        stored data keys (the CLI prints it; the service logs it, see :meth:`_attempt`).
        """
        try:
            async with self.database.get_session() as session:
                schema = await self._schema_problem(session)
                if schema is not None:
                    self._not_verified(schema)
                    return
                check = await KeyStore(session, self.master, self.cache).verify_master_keys()
        except MasterKeyError:
            self.gate.mark_refused("the configured master keys do not open the stored data keys")
            raise
        except Exception as exc:
            reason = (
                "database unavailable"
                if database_unavailable(exc)
                else f"verification failed ({type(exc).__name__})"
            )
            self._not_verified(f"{reason} ({type(exc).__name__})")
            return
        if check.unreadable and check.unreadable != self._reported_unreadable:
            logger.critical(
                "key store integrity: %d data key(s) cannot be opened (key ids %s)",
                len(check.unreadable),
                ",".join(str(key_id) for key_id in sorted(check.unreadable)[:20]),
            )
        self._reported_unreadable = check.unreadable
        if self.gate.state is not GateState.VERIFIED:
            logger.info("master keys verified (%d data keys opened)", check.opened)
        self.gate.mark_verified(check.unreadable)

    async def _attempt(self) -> None:
        """:meth:`verify_once`, logging a refusal CRITICAL once per series of refusals."""
        refused_before = self.gate.state is GateState.REFUSED
        try:
            await self.verify_once()
        except MasterKeyError as exc:
            if not refused_before:
                logger.critical("master keys refused, no data key will be opened: %s", exc)
            raise

    async def _watch(self) -> None:
        delay = RETRY_FIRST_SECONDS
        while True:
            # start() has just attempted once: look at the gate before trying again.
            if self.gate.state is GateState.VERIFIED and not self.gate.unreadable_keys:
                delay = RETRY_FIRST_SECONDS
                await self.gate.wait_for_recheck()
            else:
                await asyncio.sleep(delay)
                delay = min(delay * 2, RETRY_MAX_SECONDS)
            with contextlib.suppress(MasterKeyError):  # logged; keep refusing, keep trying
                await self._attempt()

    async def start(self) -> None:
        """Start-up hook: verify once (a wrong master key stops start-up), then keep the
        gate up to date in the background."""
        self.gate.arm()
        await self._attempt()
        self._task = asyncio.create_task(self._watch(), name="commlog-master-key-verification")

    async def stop(self) -> None:
        """Shutdown hook: stop the background verification (the app then disposes the
        engine once more: a verification running meanwhile may have opened a connection)."""
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
