"""Files streamed from a database session the stream owns: exports and access files.

An HTTP request's session is closed when the response starts (advanced-alchemy), long
before a large file is written, so such a stream opens its own, reads a chunk at a time
and closes it when the iteration ends or is abandoned — the close shielded from
cancellation, since a client going away cancels the stream and a cancelled close would
leave its connection half-returned to the pool.

The running row count, byte count and SHA-256 cover exactly the bytes the consumer took:
a chunk is counted when the consumer comes back for the next one (or ends the
iteration). After an interruption they describe what was handed over; after a complete
iteration, the whole file.
"""

from __future__ import annotations

import hashlib
from abc import ABC, abstractmethod
from collections.abc import AsyncGenerator, AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, AsyncExitStack

import anyio
from sqlalchemy.ext.asyncio import AsyncSession

from compliance.encryption.gate import MasterKeyGate
from compliance.encryption.keystore import KeyStore, UnwrappedKeyCache
from compliance.encryption.master import MasterKeyring
from compliance.templates.repository import TemplateCache

SessionFactory = Callable[[], AbstractAsyncContextManager[AsyncSession]]
"""Opens a session the stream owns (``SQLAlchemyAsyncConfig.get_session``)."""

DEFAULT_CHUNK_ROWS = 500
"""Rows read, decrypted and encoded at a time: a few hundred kilobytes of output."""


class StreamTally:
    """Rows, bytes and the SHA-256 of the bytes counted so far."""

    def __init__(self) -> None:
        self.rows = 0
        self.byte_count = 0
        self._digest = hashlib.sha256()

    def add(self, data: bytes, rows: int) -> None:
        self.rows += rows
        self.byte_count += len(data)
        self._digest.update(data)

    @property
    def sha256(self) -> str:
        """Hex SHA-256 of every byte counted, in order (of the empty file at first)."""
        return self._digest.hexdigest()


class OwnedSessionStream(ABC):
    """A file as an async iterator of byte chunks, read through a session it owns, with
    its running tally. Iterate it once; :meth:`aclose` releases the session if the
    iteration is abandoned. ``gate`` (the service's) refuses to unwrap data keys before
    the master keys were verified."""

    def __init__(
        self,
        *,
        sessions: SessionFactory,
        master_keys: MasterKeyring,
        key_cache: UnwrappedKeyCache,
        templates: TemplateCache,
        gate: MasterKeyGate | None = None,
        chunk_rows: int = DEFAULT_CHUNK_ROWS,
    ) -> None:
        if chunk_rows < 1:
            raise ValueError("chunk_rows must be at least 1")
        self.tally = StreamTally()
        self.finished = False
        """True once every selected record was taken by the consumer."""
        self._sessions = sessions
        self._master_keys = master_keys
        self._key_cache = key_cache
        self._templates = templates
        self._gate = gate
        self._chunk_rows = chunk_rows
        self._chunks = self._generate()

    @property
    def rows(self) -> int:
        return self.tally.rows

    @property
    def byte_count(self) -> int:
        return self.tally.byte_count

    @property
    def sha256(self) -> str:
        return self.tally.sha256

    def __aiter__(self) -> AsyncIterator[bytes]:
        return self

    async def __anext__(self) -> bytes:
        return await self._chunks.__anext__()

    async def aclose(self) -> None:
        """End the stream where it is and release its session (idempotent)."""
        await self._chunks.aclose()

    @abstractmethod
    def _chunks_of(
        self, session: AsyncSession, keys: KeyStore, cleanup: AsyncExitStack
    ) -> AsyncIterator[tuple[bytes, int]]:
        """The file's chunks with the number of records in each, read through
        ``session``; whatever must be closed with the stream goes on ``cleanup``."""

    async def _generate(self) -> AsyncGenerator[bytes, None]:
        cleanup = AsyncExitStack()
        try:
            session = await cleanup.enter_async_context(self._sessions())
            keys = KeyStore(session, self._master_keys, self._key_cache, self._gate)
            chunks = self._chunks_of(session, keys, cleanup)
            if isinstance(chunks, AsyncGenerator):
                cleanup.push_async_callback(chunks.aclose)
            async for data, rows in chunks:
                yield data
                self.tally.add(data, rows)
        finally:
            with anyio.CancelScope(shield=True):
                await cleanup.aclose()
        self.finished = True
