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

from collections.abc import AsyncIterator
from contextlib import AsyncExitStack
from dataclasses import dataclass, field

from sqlalchemy.ext.asyncio import AsyncSession

from compliance.encryption.gate import MasterKeyGate
from compliance.encryption.keystore import KeyStore, UnwrappedKeyCache
from compliance.encryption.master import MasterKeyring
from compliance.masking_lane import MaskingLane
from compliance.records.repository import SendLogRepository
from compliance.records.sealing import Opening
from compliance.streaming import (
    DEFAULT_CHUNK_ROWS,
    OwnedSessionStream,
    SessionFactory,
    StreamTally,
)
from compliance.templates.repository import TemplateCache
from policies.disclosure import text_chars
from policies.exports import ExportFilters, ExportFormat, encode_records, preamble
from policies.records import SendRecord


@dataclass(frozen=True, slots=True, kw_only=True)
class ExportRequest:
    """What to export: one tenant's records selected by ``filters``, in ``format``,
    masked, or revealed (``reveal``; the caller checked the tenant's policy and the
    reason)."""

    tenant_id: str
    format: ExportFormat
    filters: ExportFilters = field(default_factory=ExportFilters)
    reveal: bool = False


ExportTally = StreamTally
"""The export's name for :class:`compliance.streaming.StreamTally`."""


class LogExport(OwnedSessionStream):
    """An export as an async iterator of byte chunks, with its running tally.

    ``lane`` masks large chunks off the event loop (none: on the loop, as the CLI does).
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
        self.request = request
        self._lane = lane
        super().__init__(
            sessions=sessions,
            master_keys=master_keys,
            key_cache=key_cache,
            templates=templates,
            gate=gate,
            chunk_rows=chunk_rows,
        )

    async def _encoded(self, records: list[SendRecord]) -> bytes:
        request = self.request

        def encode() -> bytes:
            return encode_records(records, request.format, revealed=request.reveal)

        if self._lane is None:
            return encode()
        return await self._lane.run(text_chars(records), encode)

    async def _chunks_of(
        self, session: AsyncSession, keys: KeyStore, cleanup: AsyncExitStack
    ) -> AsyncIterator[tuple[bytes, int]]:
        request = self.request
        head = preamble(request.format)
        repository = SendLogRepository(session=session, keys=keys, templates=self._templates)
        chunks = repository.stream_for_tenant(
            request.tenant_id,
            request.filters,
            chunk_rows=self._chunk_rows,
            # A masked export reads the stored views; a reveal, the fields themselves.
            opening=Opening.FIELDS if request.reveal else Opening.SHOWN,
        )
        cleanup.push_async_callback(chunks.aclose)
        async for records in chunks:
            data = head + await self._encoded(records)
            head = b""
            yield data, len(records)
        if head:  # nothing selected: the file is its preamble
            yield head, 0


__all__ = [
    "DEFAULT_CHUNK_ROWS",
    "ExportRequest",
    "ExportTally",
    "LogExport",
    "SessionFactory",
]
