"""Transaction conventions every writer and reader of commlog's tables follows."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession, async_scoped_session

Session = AsyncSession | async_scoped_session[AsyncSession]

WRITE_TRANSACTION = "commlog_write_transaction"
"""Execution option set on a session's first connection when its transaction will write.

On SQLite it makes the engine emit ``BEGIN IMMEDIATE`` (see service.persistence.database):
a deferred transaction that read first fails with SQLITE_BUSY_SNAPSHOT, rather than
waiting, when another writer committed in between.
"""


async def begin_write(session: Session) -> None:
    """Declare, before the first statement, that this transaction will write."""
    await session.connection(execution_options={WRITE_TRANSACTION: True})


async def begin_consistent_read(session: Session) -> None:
    """Make every statement of this transaction read one snapshot.

    SQLite sessions already are one snapshot (the engine emits ``BEGIN``); PostgreSQL's
    default READ COMMITTED takes a snapshot per statement, so ask for REPEATABLE READ
    before the first statement runs.
    """
    if session.bind is not None and session.bind.dialect.name == "postgresql":
        await session.connection(execution_options={"isolation_level": "REPEATABLE READ"})
