"""The export the benchmark measures, behind one function.

Until the exports helper's ``compliance/exports`` lands this is a stand-in with the shape
the issue asks for (stream from a session it owns, in chunks, through the repository's
decryption and :func:`policies.disclosure.disclose`, CSV with a BOM and formula
neutralisation or JSONL); once it lands, :func:`export_stream` calls it.
"""

from __future__ import annotations

import csv
import io
from collections.abc import AsyncIterator, Callable, Mapping
from contextlib import AbstractAsyncContextManager
from dataclasses import replace
from typing import Any

import msgspec
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from compliance.encryption.keystore import KeyStore, UnwrappedKeyCache
from compliance.encryption.master import MasterKeyring
from compliance.records.models import CommunicationLog
from compliance.records.repository import SendLogRepository
from compliance.transactions import begin_consistent_read
from policies.disclosure import disclose
from policies.records import SendRecord
from policies.templates import SECRET_MASK, StoredParameters, render
from service.schemas import CommunicationLogResponse

CHUNK_ROWS = 1_000
FIELDS = list(CommunicationLogResponse.__struct_fields__)
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def _revealed(record: SendRecord) -> SendRecord:
    """Unmasked (a stand-in for ``policies.disclosure.reveal``): secrets stay hidden."""
    content = record.content
    if record.template is not None and record.template_params is not None:
        stored = StoredParameters.from_json(record.template_params)
        values = dict(stored.values) | dict.fromkeys(stored.secrets, SECRET_MASK)
        content = render(record.template.body, values)
    return replace(record, content=content, template_params=None)


def _cell(value: object) -> str:
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(_FORMULA_STARTS) else text


async def export_stream(
    sessions: Callable[[], AbstractAsyncContextManager[AsyncSession]],
    master: MasterKeyring,
    cache: UnwrappedKeyCache,
    *,
    tenant_id: str,
    fmt: str,
    reveal: bool,
) -> AsyncIterator[tuple[bytes, int]]:
    """The tenant's records, oldest first, as (bytes, rows in them) chunks."""
    shown = _revealed if reveal else disclose
    encoder = msgspec.json.Encoder()
    async with sessions() as session:
        await begin_consistent_read(session)
        repository = SendLogRepository(session=session, keys=KeyStore(session, master, cache))
        result = await session.stream(
            select(CommunicationLog.__table__)
            .where(CommunicationLog.tenant_id == tenant_id)
            .order_by(CommunicationLog.created_at, CommunicationLog.id)
            .execution_options(yield_per=CHUNK_ROWS)
        )
        if fmt == "csv":
            buffer = io.StringIO()
            writer = csv.writer(buffer, lineterminator="\r\n")
            writer.writerow(FIELDS)
            yield "\ufeff".encode() + buffer.getvalue().encode(), 0
        async for partition in result.partitions(CHUNK_ROWS):
            mappings: list[Mapping[str, Any]] = [row._mapping for row in partition]
            records = await repository._open(mappings)
            views = [CommunicationLogResponse.of(shown(record)) for record in records]
            if fmt == "csv":
                buffer = io.StringIO()
                writer = csv.writer(buffer, lineterminator="\r\n")
                for view in views:
                    writer.writerow([_cell(getattr(view, name)) for name in FIELDS])
                yield buffer.getvalue().encode(), len(views)
            else:
                yield b"".join(encoder.encode(view) + b"\n" for view in views), len(views)
