"""An export stream that stops between chunks must give its connection back to the pool,
clean (found by an attack on the pipelined reader, i9b).

On PostgreSQL ``_opened_chunks`` asks asyncpg for the next chunk before handing this one
over. When the consumer stops (client disconnect), the fetch is still running on the
connection when the session closes: the rollback fails with "another operation is in
progress", the connection is never checked in (only the garbage collector reclaims it)
and the server keeps an idle-in-transaction backend meanwhile."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from advanced_alchemy.extensions.litestar import SQLAlchemyAsyncConfig

from compliance.encryption.keystore import UnwrappedKeyCache
from compliance.encryption.master import MasterKeyring
from compliance.exports.stream import ExportRequest, LogExport
from compliance.templates.repository import TemplateCache
from policies.channels import Channel, DeliveryStatus
from policies.exports import ExportFormat
from policies.records import SendRecord
from tests.factories import store_records

T0 = datetime(2026, 11, 20, 8, 0, 0, tzinfo=UTC)
ROWS = 4000
CHUNK = 500


def many(tenant_id: str) -> list[SendRecord]:
    return [
        SendRecord(
            id=f"log_{i:06d}_{tenant_id.removeprefix('tnt_')}",
            tenant_id=tenant_id,
            user_id="usr_alice",
            channel=Channel.SMS,
            provider="aliyun",
            template_id=None,
            recipient=f"+86138{i:08d}",
            content=f"您的验证码是{i:06d}，5分钟内有效。" * 4,
            status=DeliveryStatus.DELIVERED,
            error=None,
            response=None,
            created_at=T0 + timedelta(seconds=i),
            sent_at=None,
            updated_at=T0 + timedelta(seconds=i),
        )
        for i in range(ROWS)
    ]


def exporting(
    database: SQLAlchemyAsyncConfig, master_keys: MasterKeyring, tenant: str
) -> LogExport:
    return LogExport(
        ExportRequest(tenant_id=tenant, format=ExportFormat.CSV),
        sessions=database.get_session,
        master_keys=master_keys,
        key_cache=UnwrappedKeyCache(),
        templates=TemplateCache(),
        chunk_rows=CHUNK,
    )


def checked_out(database: SQLAlchemyAsyncConfig) -> int:
    pool = database.get_engine().pool
    return int(pool.checkedout())  # type: ignore[attr-defined]


async def test_an_export_abandoned_between_chunks_returns_its_connection(
    database: SQLAlchemyAsyncConfig, master_keys: MasterKeyring, tenant_id: str
) -> None:
    await store_records(database, master_keys, many(tenant_id))
    export = exporting(database, master_keys, tenant_id)
    await export.__anext__()
    await export.__anext__()
    # What ExportDownload.finish does when the client went away while a chunk was sent.
    await export.aclose()  # must not raise, must release the session's connection
    assert checked_out(database) == 0
