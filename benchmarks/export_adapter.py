"""The export the benchmark measures, behind one function: the exports helper's
:class:`compliance.exports.stream.LogExport`, as the CLI runs it (masking on the event
loop, no masking lane: the benchmark measures throughput, not the loop's latency)."""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractAsyncContextManager

from sqlalchemy.ext.asyncio import AsyncSession

from compliance.encryption.keystore import UnwrappedKeyCache
from compliance.encryption.master import MasterKeyring
from compliance.exports.stream import DEFAULT_CHUNK_ROWS, ExportRequest, LogExport
from compliance.templates.repository import TemplateCache
from policies.exports import ExportFormat


def open_export(
    sessions: Callable[[], AbstractAsyncContextManager[AsyncSession]],
    master: MasterKeyring,
    cache: UnwrappedKeyCache,
    *,
    tenant_id: str,
    fmt: str,
    reveal: bool,
    chunk_rows: int = DEFAULT_CHUNK_ROWS,
) -> LogExport:
    """The tenant's whole export: iterate it for its bytes, then read its tally."""
    return LogExport(
        ExportRequest(tenant_id=tenant_id, format=ExportFormat(fmt), reveal=reveal),
        sessions=sessions,
        master_keys=master,
        key_cache=cache,
        templates=TemplateCache(),
        chunk_rows=chunk_rows,
    )
