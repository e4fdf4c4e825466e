"""Streaming one tenant's send records as an export file, with a running digest.

The generator owns its database session: an HTTP request's session is closed when the
response starts (advanced-alchemy), long before a large export is written. Rows are read
through :meth:`SendLogRepository.stream_for_tenant` (one statement, a server-side cursor,
one snapshot on PostgreSQL), decrypted the way every read decrypts them
(:func:`compliance.records.repository.open_records`), passed through the one exit
(``policies.disclosure``) and encoded (``policies.exports``) a chunk at a time, so memory
stays bounded whatever the size of the export. Chunks with much free text are masked in
the application's masking lane (:mod:`compliance.masking_lane`), off the event loop.

The running row count, byte count and SHA-256 cover exactly the bytes the consumer took:
a chunk is counted when the consumer comes back for the next one (or ends the
iteration). After an interruption they describe what was handed over, not what was
prepared; after a complete iteration, the whole file. An auditor compares the SHA-256
with the file's own (``sha256sum``) to know it is the file the audit event describes.
"""

from __future__ import annotations

import hashlib
from collections.abc import AsyncGenerator, AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, AsyncExitStack
from dataclasses import dataclass, field

import anyio
from sqlalchemy.ext.asyncio import AsyncSession

from compliance.encryption.gate import MasterKeyGate
from compliance.encryption.keystore import KeyStore, UnwrappedKeyCache
from compliance.encryption.master import MasterKeyring
from compliance.masking_lane import MaskingLane
from compliance.records.repository import SendLogRepository
from compliance.templates.repository import TemplateCache
from policies.disclosure import text_chars
from policies.exports import ExportFilters, ExportFormat, encode_records, preamble
from policies.records import SendRecord

SessionFactory = Callable[[], AbstractAsyncContextManager[AsyncSession]]
"""Opens a session the export owns (``SQLAlchemyAsyncConfig.get_session``)."""

DEFAULT_CHUNK_ROWS = 500
"""Rows read, masked and encoded at a time: a few hundred kilobytes of output."""


@dataclass(frozen=True, slots=True, kw_only=True)
class ExportRequest:
    """What to export: one tenant's records selected by ``filters``, in ``format``,
    masked, or revealed (``reveal``; the caller checked the tenant's policy and the
    reason)."""

    tenant_id: str
    format: ExportFormat
    filters: ExportFilters = field(default_factory=ExportFilters)
    reveal: bool = False


class ExportTally:
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


class LogExport:
    """An export as an async iterator of byte chunks, with its running tally.

    ``sessions`` opens the session the export reads through; ``gate`` (the service's)
    refuses to unwrap data keys before the master keys were verified; ``lane`` masks
    large chunks off the event loop (none: on the loop, as the CLI does). Iterate it
    once; :meth:`aclose` releases the session if the iteration is abandoned.
    """

    def __init__(
        self,
        request: ExportRequest,
        *,
        sessions: SessionFactory,
        master_keys: MasterKeyring,
        key_cache: UnwrappedKeyCache,
        templates: TemplateCache,
        gate: MasterKeyGate | None = None,
        lane: MaskingLane | None = None,
        chunk_rows: int = DEFAULT_CHUNK_ROWS,
    ) -> None:
        if chunk_rows < 1:
            raise ValueError("chunk_rows must be at least 1")
        self.request = request
        self.tally = ExportTally()
        self.finished = False
        """True once every selected record was taken by the consumer."""
        self._sessions = sessions
        self._master_keys = master_keys
        self._key_cache = key_cache
        self._templates = templates
        self._gate = gate
        self._lane = lane
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
        """End the export where it is and release its session (idempotent)."""
        await self._chunks.aclose()

    async def _encoded(self, records: list[SendRecord]) -> bytes:
        request = self.request

        def encode() -> bytes:
            return encode_records(records, request.format, revealed=request.reveal)

        if self._lane is None:
            return encode()
        return await self._lane.run(text_chars(records), encode)

    async def _generate(self) -> AsyncGenerator[bytes, None]:
        request = self.request
        head = preamble(request.format)
        cleanup = AsyncExitStack()
        try:
            session = await cleanup.enter_async_context(self._sessions())
            keys = KeyStore(session, self._master_keys, self._key_cache, self._gate)
            repository = SendLogRepository(session=session, keys=keys, templates=self._templates)
            chunks = repository.stream_for_tenant(
                request.tenant_id, request.filters, chunk_rows=self._chunk_rows
            )
            cleanup.push_async_callback(chunks.aclose)
            async for records in chunks:
                data = head + await self._encoded(records)
                head = b""
                yield data
                self.tally.add(data, len(records))
            if head:  # nothing selected: the file is its preamble
                yield head
                self.tally.add(head, 0)
        finally:
            # Shielded: an export is often ended by a cancellation (the client went
            # away), and a cancelled close would leave its connection half-returned.
            with anyio.CancelScope(shield=True):
                await cleanup.aclose()
        self.finished = True
