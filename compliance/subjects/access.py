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
as a reveal, each time the file is fetched: ``subject_request.access_started`` is
committed before the first byte is sent (:func:`record_access_started`; over HTTP, a 503
and nothing sent when it cannot be), naming the pre-allocated id of the final
``subject_request.access`` event, which records the row count and the SHA-256 of the
bytes handed to the transport (``"counted": "handed_to_transport"``: after a broken
transfer, part of them may never have reached the client) and names the started event.

The stream owns its session (an HTTP request's session is closed when the response
starts) and reads one snapshot (REPEATABLE READ on PostgreSQL), a chunk at a time.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from contextlib import AsyncExitStack
from datetime import UTC, datetime
from typing import Any, cast

import msgspec
from sqlalchemy.ext.asyncio import AsyncSession

from compliance.audit.trail import append_event
from compliance.encryption.gate import MasterKeyGate
from compliance.encryption.keystore import KeyStore, UnwrappedKeyCache
from compliance.encryption.master import MasterKeyring
from compliance.records.repository import open_records
from compliance.records.sealing import Opening, RecordSealer
from compliance.streaming import DEFAULT_CHUNK_ROWS, OwnedSessionStream, SessionFactory
from compliance.subjects.matching import SubjectMatcher, candidates_after
from compliance.subjects.requests import SubjectRequest, SubjectRequestWrongType, get_request
from compliance.templates.repository import TemplateCache, TemplateStore
from compliance.transactions import begin_consistent_read, begin_write
from policies.audit_chain import Actor
from policies.exports import ExportFormat, encode_records
from policies.subject_requests import RequestStatus, RequestType

MEDIA_TYPE = ExportFormat.JSONL.media_type
ACCESS = "subject_request.access"
ACCESS_STARTED = "subject_request.access_started"


class SubjectAccessFile(OwnedSessionStream):
    """The access file of one request as an async iterator of byte chunks, with the rows
    and SHA-256 of what the consumer took so far (:class:`compliance.streaming.StreamTally`).
    Iterate it once."""

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
        super().__init__(
            sessions=sessions,
            master_keys=master_keys,
            key_cache=key_cache,
            templates=templates,
            gate=gate,
            chunk_rows=chunk_rows,
        )

    async def _chunks_of(
        self, session: AsyncSession, keys: KeyStore, cleanup: AsyncExitStack
    ) -> AsyncIterator[tuple[bytes, int]]:
        request = self.request
        await begin_consistent_read(session)
        sealer = RecordSealer(keys)
        templates = TemplateStore(session, self._templates)
        matcher = SubjectMatcher(request, sealer)
        after: str | None = None
        while True:
            rows = [
                cast("Mapping[str, Any]", r._mapping)
                for r in await session.execute(candidates_after(request, after, self._chunk_rows))
            ]
            if not rows:
                break
            after = rows[-1]["id"]
            records = await open_records(
                rows, sealer=sealer, templates=templates, opening=Opening.FIELDS
            )
            mine, _ = await matcher.confirmed(records)
            if mine:
                yield encode_records(mine, ExportFormat.JSONL, revealed=True), len(mine)


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
    started_event_id: str | None = None,
    counted: str | None = None,
) -> str:
    """In one write transaction of ``session`` (the caller commits): append
    ``subject_request.access`` for one fetch of the file, and on the first complete fetch
    mark the request completed. Returns the event id. ``started_event_id`` names the
    fetch's ``subject_request.access_started`` event; ``counted`` says what ``rows`` and
    ``sha256`` count (``handed_to_transport`` over HTTP)."""
    await begin_write(session)
    row = await get_request(session, request_id, tenant_id=tenant_id, lock=True)
    outcome = dict(msgspec.json.decode(row.outcome))
    details: dict[str, object] = {
        "request_id": row.id,
        "reference_sha256": row.reference_sha256,
        "rows": rows,
        "sha256": sha256,
        "complete": complete,
    }
    if counted is not None:
        details["counted"] = counted
    if started_event_id is not None:
        details["started_event_id"] = started_event_id
    event = await append_event(
        session,
        master,
        tenant_id=row.tenant_id,
        actor=actor,
        action=ACCESS,
        target=row.id,
        details=details,
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


async def record_access_started(
    session: AsyncSession,
    master: MasterKeyring,
    request_id: str,
    *,
    actor: Actor,
    final_event_id: str,
    tenant_id: str | None = None,
) -> str:
    """In one write transaction of ``session`` (the caller commits, before the first
    byte of the file is sent): append ``subject_request.access_started`` naming
    ``final_event_id``, the pre-allocated id of the fetch's ``subject_request.access``.
    Returns the started event's id."""
    await begin_write(session)
    row = await get_request(session, request_id, tenant_id=tenant_id)
    event = await append_event(
        session,
        master,
        tenant_id=row.tenant_id,
        actor=actor,
        action=ACCESS_STARTED,
        target=row.id,
        details={
            "request_id": row.id,
            "reference_sha256": row.reference_sha256,
            "final_event_id": final_event_id,
        },
    )
    return event.id


__all__ = [
    "ACCESS",
    "ACCESS_STARTED",
    "DEFAULT_CHUNK_ROWS",
    "MEDIA_TYPE",
    "SubjectAccessFile",
    "record_access",
    "record_access_started",
]
