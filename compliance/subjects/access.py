"""Answering an access request (GDPR Art. 15, PIPL Art. 45): the subject's records as a
JSONL file, unmasked, and the evidence of each time it was fetched.

The file has the shape of an export in JSONL (:mod:`policies.exports`): one object per
record, the fields of an item of ``GET /communication/logs``, in record-id order, passed
through :func:`policies.disclosure.reveal` — recipient and content in clear, provider
errors and responses reduced to the provider's allow-list as everywhere, secret template
parameters never there (they were never stored).

The tenant's export reveal policy does not apply: it limits what officers may see of
other people's messages for their own purposes; here the data goes, through the officer,
to the person it is about, whose right it is (GDPR Art. 15(1) and (3): a copy of the
personal data undergoing processing; PIPL Art. 45). What the officer receives is recorded
as a reveal: ``subject_request.access`` with the row count and the SHA-256 of the bytes
sent, each time the file is fetched.

The stream owns its session (an HTTP request's session is closed when the response
starts) and reads one snapshot (REPEATABLE READ on PostgreSQL), a chunk at a time.
"""

from __future__ import annotations

import hashlib
from collections.abc import AsyncGenerator, AsyncIterator, Callable, Mapping
from contextlib import AbstractAsyncContextManager
from datetime import UTC, datetime
from typing import Any, cast

import msgspec
from sqlalchemy.ext.asyncio import AsyncSession

from compliance.audit.trail import append_event
from compliance.encryption.gate import MasterKeyGate
from compliance.encryption.keystore import KeyStore, UnwrappedKeyCache
from compliance.encryption.master import MasterKeyring
from compliance.records.repository import open_records
from compliance.records.sealing import RecordSealer
from compliance.subjects.matching import SubjectMatcher, candidates_after
from compliance.subjects.requests import SubjectRequest, SubjectRequestWrongType, get_request
from compliance.templates.repository import TemplateCache, TemplateStore
from compliance.transactions import begin_consistent_read, begin_write
from policies.audit_chain import Actor
from policies.exports import ExportFormat, encode_records
from policies.subject_requests import RequestStatus, RequestType

SessionFactory = Callable[[], AbstractAsyncContextManager[AsyncSession]]
DEFAULT_CHUNK_ROWS = 500
MEDIA_TYPE = ExportFormat.JSONL.media_type


class SubjectAccessFile:
    """The access file of one request as an async iterator of byte chunks, with the rows
    and SHA-256 of what the consumer took so far. Iterate it once."""

    def __init__(
        self,
        request: SubjectRequest,
        *,
        sessions: SessionFactory,
        master_keys: MasterKeyring,
        key_cache: UnwrappedKeyCache,
        templates: TemplateCache,
        gate: MasterKeyGate | None = None,
        chunk_rows: int = DEFAULT_CHUNK_ROWS,
    ) -> None:
        if request.type is not RequestType.ACCESS:
            raise SubjectRequestWrongType("this is an erasure request: it has no access file")
        self.request = request
        self.rows = 0
        self.finished = False
        self._digest = hashlib.sha256()
        self._sessions = sessions
        self._master_keys = master_keys
        self._key_cache = key_cache
        self._templates = templates
        self._gate = gate
        self._chunk_rows = chunk_rows
        self._chunks = self._generate()

    @property
    def sha256(self) -> str:
        """Hex SHA-256 of the bytes taken so far (of the whole file once finished)."""
        return self._digest.hexdigest()

    def __aiter__(self) -> AsyncIterator[bytes]:
        return self

    async def __anext__(self) -> bytes:
        return await self._chunks.__anext__()

    async def aclose(self) -> None:
        await self._chunks.aclose()

    async def _generate(self) -> AsyncGenerator[bytes, None]:
        request = self.request
        async with self._sessions() as session:
            await begin_consistent_read(session)
            keys = KeyStore(session, self._master_keys, self._key_cache, self._gate)
            sealer = RecordSealer(keys)
            templates = TemplateStore(session, self._templates)
            matcher = SubjectMatcher(request, sealer)
            after: str | None = None
            while True:
                rows = [
                    cast("Mapping[str, Any]", r._mapping)
                    for r in await session.execute(
                        candidates_after(request, after, self._chunk_rows)
                    )
                ]
                if not rows:
                    break
                after = rows[-1]["id"]
                records = await open_records(rows, sealer=sealer, templates=templates)
                mine, _ = await matcher.confirmed(records)
                if not mine:
                    continue
                data = encode_records(mine, ExportFormat.JSONL, revealed=True)
                yield data
                self.rows += len(mine)
                self._digest.update(data)
        self.finished = True


async def record_access(
    session: AsyncSession,
    master: MasterKeyring,
    request_id: str,
    *,
    actor: Actor,
    rows: int,
    sha256: str,
    complete: bool,
    event_id: str | None = None,
    tenant_id: str | None = None,
) -> str:
    """In one write transaction of ``session`` (the caller commits): append
    ``subject_request.access`` for one fetch of the file, and on the first complete fetch
    mark the request completed. Returns the event id."""
    await begin_write(session)
    row = await get_request(session, request_id, tenant_id=tenant_id, lock=True)
    outcome = dict(msgspec.json.decode(row.outcome))
    event = await append_event(
        session,
        master,
        tenant_id=row.tenant_id,
        actor=actor,
        action="subject_request.access",
        target=row.id,
        details={
            "request_id": row.id,
            "reference_sha256": row.reference_sha256,
            "rows": rows,
            "sha256": sha256,
            "complete": complete,
        },
        event_id=event_id,
    )
    outcome["fetches"] = int(outcome.get("fetches", 0)) + 1
    if complete:
        outcome["rows"] = rows
        outcome["sha256"] = sha256
        if row.status != RequestStatus.COMPLETED.value:
            row.status = RequestStatus.COMPLETED.value
            row.completed_at = datetime.now(UTC)
    row.outcome = msgspec.json.encode(outcome).decode()
    row.audit_event_id = event.id
    await session.flush()
    return event.id


__all__ = ["DEFAULT_CHUNK_ROWS", "MEDIA_TYPE", "SubjectAccessFile", "record_access"]
