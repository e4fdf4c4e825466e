"""The export stream: exact bytes of each format, one tenant only, its digest, its end.

Records are stored with fixed ids and times through the repository (real encryption, real
databases) so that the files can be compared byte for byte."""

from __future__ import annotations

import csv
import hashlib
import io
import json
from datetime import UTC, datetime

import pytest
from advanced_alchemy.extensions.litestar import SQLAlchemyAsyncConfig
from msgspec.structs import replace
from sqlalchemy import text

from compliance.encryption.keystore import UnwrappedKeyCache
from compliance.encryption.master import MasterKeyring
from compliance.exports.stream import ExportRequest, LogExport
from compliance.templates.repository import TemplateCache, TemplateStore
from compliance.transactions import begin_write, commit
from policies.channels import Channel, DeliveryStatus
from policies.exports import ExportFilters, ExportFormat
from policies.records import SendRecord
from policies.templates import stored_parameters
from tests.factories import store_records

T0 = datetime(2026, 11, 20, 8, 14, 0, tzinfo=UTC)
T1 = datetime(2026, 11, 20, 8, 14, 31, 654321, tzinfo=UTC)
T2 = datetime(2026, 11, 21, 9, 0, 0, tzinfo=UTC)
T3 = datetime(2026, 11, 22, 10, 30, 0, tzinfo=UTC)

TEMPLATE_BODY = "${name}您好，验证码${code}，${minutes}分钟内有效。"
TEMPLATE_CLASSES = {"name": "personal:name", "code": "secret", "minutes": "public"}


def log_id(name: str, tenant_id: str) -> str:
    """Record ids are unique across the shared test database: the tenant is in them."""
    return f"log_{name}_{tenant_id.removeprefix('tnt_')}"


def fixture_records(tenant_id: str) -> list[SendRecord]:
    """Three sends of one tenant: a plain SMS, an email whose content is a formula, and a
    templated SMS; stored out of order to show the export sorts them."""
    stored = stored_parameters(TEMPLATE_CLASSES, {"name": "王芳", "code": "482913", "minutes": "5"})
    return [
        SendRecord(
            id=log_id("c3", tenant_id),
            tenant_id=tenant_id,
            user_id="usr_bob",
            channel=Channel.SMS,
            provider="aliyun",
            template_id="tpl_login",
            recipient="+8613912345678",
            content=None,
            status=DeliveryStatus.PENDING,
            error=None,
            response=None,
            created_at=T3,
            sent_at=None,
            updated_at=T3,
            template_version=1,
            template_params=stored.to_json(),
        ),
        SendRecord(
            id=log_id("a1", tenant_id),
            tenant_id=tenant_id,
            user_id="usr_alice",
            channel=Channel.SMS,
            provider="aliyun",
            template_id="tpl_abc123",
            recipient="+8613812348000",
            content="您的验证码是123456",
            status=DeliveryStatus.DELIVERED,
            error=None,
            response=None,
            created_at=T0,
            sent_at=T1,
            updated_at=T1,
        ),
        SendRecord(
            id=log_id("b2", tenant_id),
            tenant_id=tenant_id,
            user_id="=cmd|' /C calc'!A0",
            channel=Channel.EMAIL,
            provider=None,
            template_id=None,
            recipient="alice@example.com",
            content='=HYPERLINK("http://x.example/?q=1","点击")',
            status=DeliveryStatus.FAILED,
            error="-1 timeout, retry",
            response=None,
            created_at=T2,
            sent_at=None,
            updated_at=T2,
        ),
    ]


async def store(
    database: SQLAlchemyAsyncConfig, master_keys: MasterKeyring, records: list[SendRecord]
) -> None:
    """The fixture's template, then ``records`` (their views are rendered from it)."""
    async with database.get_session() as session:
        await begin_write(session)
        tenants = {record.tenant_id for record in records}
        for tenant_id in tenants:
            await TemplateStore(session, TemplateCache()).put(
                tenant_id,
                "tpl_login",
                channel=Channel.SMS,
                body=TEMPLATE_BODY,
                parameters=TEMPLATE_CLASSES,
                content_retention_days=None,
                created_by="svc_sender",
                now=T0,
            )
        await commit(session, operation="test_template")
    await store_records(database, master_keys, records)


def exporting(
    database: SQLAlchemyAsyncConfig,
    master_keys: MasterKeyring,
    tenant_id: str,
    export_format: ExportFormat,
    *,
    reveal: bool = False,
    filters: ExportFilters | None = None,
    chunk_rows: int = 500,
) -> LogExport:
    return LogExport(
        ExportRequest(
            tenant_id=tenant_id,
            format=export_format,
            filters=filters or ExportFilters(),
            reveal=reveal,
        ),
        sessions=database.get_session,
        master_keys=master_keys,
        key_cache=UnwrappedKeyCache(),
        templates=TemplateCache(),
        chunk_rows=chunk_rows,
    )


async def read_all(export: LogExport) -> bytes:
    return b"".join([chunk async for chunk in export])


EXPECTED_CSV = (
    "\ufeff"
    "id,tenant_id,user_id,channel,provider,template_id,recipient,content,status,error,"
    "response,created_at,sent_at,updated_at\r\n"
    "log_a1_{s},{t},usr_alice,sms,aliyun,tpl_abc123,'+8613******000,您的验证码是******,delivered,,,"
    "2026-11-20T08:14:00Z,2026-11-20T08:14:31.654321Z,2026-11-20T08:14:31.654321Z\r\n"
    "log_b2_{s},{t},'=cmd|' /C calc'!A0,email,,,a***@e***.com,"
    '"\'=HYPERLINK(""http://x.example/"",""点击"")",failed,"\'-1 timeout, retry",,'
    "2026-11-21T09:00:00Z,,2026-11-21T09:00:00Z\r\n"
    "log_c3_{s},{t},usr_bob,sms,aliyun,tpl_login,'+8613******678,王**您好，验证码******，5分钟内有效。,"
    "pending,,,2026-11-22T10:30:00Z,,2026-11-22T10:30:00Z\r\n"
)


async def test_a_csv_export_is_these_exact_bytes(
    database: SQLAlchemyAsyncConfig, master_keys: MasterKeyring, tenant_id: str
) -> None:
    await store(database, master_keys, fixture_records(tenant_id))
    export = exporting(database, master_keys, tenant_id, ExportFormat.CSV)
    data = await read_all(export)
    assert data.decode() == EXPECTED_CSV.format(t=tenant_id, s=tenant_id.removeprefix("tnt_"))
    assert data.startswith(b"\xef\xbb\xbf")
    assert export.finished
    assert (export.rows, export.byte_count) == (3, len(data))
    assert export.sha256 == hashlib.sha256(data).hexdigest()


async def test_a_jsonl_export_is_one_api_item_per_line(
    database: SQLAlchemyAsyncConfig, master_keys: MasterKeyring, tenant_id: str
) -> None:
    await store(database, master_keys, fixture_records(tenant_id))
    data = await read_all(exporting(database, master_keys, tenant_id, ExportFormat.JSONL))
    t, s = tenant_id, tenant_id.removeprefix("tnt_")
    assert data.decode() == (
        f'{{"id":"log_a1_{s}","tenant_id":"{t}","user_id":"usr_alice","channel":"sms",'
        '"provider":"aliyun","template_id":"tpl_abc123","recipient":"+8613******000",'
        '"content":"您的验证码是******","status":"delivered","error":null,"response":null,'
        '"created_at":"2026-11-20T08:14:00Z","sent_at":"2026-11-20T08:14:31.654321Z",'
        '"updated_at":"2026-11-20T08:14:31.654321Z"}\n'
        f'{{"id":"log_b2_{s}","tenant_id":"{t}","user_id":"=cmd|\' /C calc\'!A0",'
        '"channel":"email","provider":null,"template_id":null,"recipient":"a***@e***.com",'
        '"content":"=HYPERLINK(\\"http://x.example/\\",\\"点击\\")","status":"failed",'
        '"error":"-1 timeout, retry","response":null,"created_at":"2026-11-21T09:00:00Z",'
        '"sent_at":null,"updated_at":"2026-11-21T09:00:00Z"}\n'
        f'{{"id":"log_c3_{s}","tenant_id":"{t}","user_id":"usr_bob","channel":"sms",'
        '"provider":"aliyun","template_id":"tpl_login","recipient":"+8613******678",'
        '"content":"王**您好，验证码******，5分钟内有效。","status":"pending","error":null,'
        '"response":null,"created_at":"2026-11-22T10:30:00Z","sent_at":null,'
        '"updated_at":"2026-11-22T10:30:00Z"}\n'
    )


@pytest.mark.parametrize("export_format", list(ExportFormat))
async def test_no_stored_recipient_or_content_appears_in_a_masked_export(
    database: SQLAlchemyAsyncConfig,
    master_keys: MasterKeyring,
    tenant_id: str,
    export_format: ExportFormat,
) -> None:
    records = fixture_records(tenant_id)
    await store(database, master_keys, records)
    text = (await read_all(exporting(database, master_keys, tenant_id, export_format))).decode()
    for record in records:
        assert record.recipient is not None
        assert record.recipient not in text
        if record.content is not None and "=HYPERLINK" not in record.content:
            assert record.content not in text
    for secret_or_personal in ("123456", "482913", "王芳", "12348000", "alice@"):
        assert secret_or_personal not in text


async def test_a_revealed_export_shows_recipients_and_content_but_never_a_secret(
    database: SQLAlchemyAsyncConfig, master_keys: MasterKeyring, tenant_id: str
) -> None:
    await store(database, master_keys, fixture_records(tenant_id))
    data = await read_all(
        exporting(database, master_keys, tenant_id, ExportFormat.JSONL, reveal=True)
    )
    items = [json.loads(line) for line in data.split(b"\n") if line]
    assert [item["recipient"] for item in items] == [
        "+8613812348000",
        "alice@example.com",
        "+8613912345678",
    ]
    assert items[0]["content"] == "您的验证码是123456"
    assert items[2]["content"] == "王芳您好，验证码******，5分钟内有效。"
    assert "482913" not in data.decode()


async def test_an_export_holds_only_its_tenants_records(
    database: SQLAlchemyAsyncConfig, master_keys: MasterKeyring, tenant_id: str
) -> None:
    other = tenant_id + "_other"
    await store(database, master_keys, fixture_records(tenant_id))
    await store(
        database,
        master_keys,
        [_moved(record, other) for record in fixture_records(other)],
    )
    data = await read_all(exporting(database, master_keys, tenant_id, ExportFormat.JSONL))
    items = [json.loads(line) for line in data.split(b"\n") if line]
    assert {item["tenant_id"] for item in items} == {tenant_id}
    assert len(items) == 3


def _moved(record: SendRecord, tenant_id: str) -> SendRecord:
    return replace(record, id=record.id + "_o", tenant_id=tenant_id)


@pytest.mark.parametrize(
    ("filters", "expected_ids"),
    [
        (ExportFilters(since=T2), ["b2", "c3"]),
        (ExportFilters(until=T2), ["a1"]),
        (ExportFilters(since=T0, until=T3), ["a1", "b2"]),
        (ExportFilters(channel=Channel.EMAIL), ["b2"]),
        (ExportFilters(status=DeliveryStatus.PENDING), ["c3"]),
        (ExportFilters(user_id="usr_alice"), ["a1"]),
        (ExportFilters(since=T3, until=T3), []),
    ],
)
async def test_filters_select_by_creation_time_channel_status_and_user(
    database: SQLAlchemyAsyncConfig,
    master_keys: MasterKeyring,
    tenant_id: str,
    filters: ExportFilters,
    expected_ids: list[str],
) -> None:
    await store(database, master_keys, fixture_records(tenant_id))
    export = exporting(database, master_keys, tenant_id, ExportFormat.CSV, filters=filters)
    data = await read_all(export)
    rows = list(csv.reader(io.StringIO(data.decode("utf-8-sig"), newline="")))
    assert rows[0][0] == "id"
    assert [row[0] for row in rows[1:]] == [log_id(name, tenant_id) for name in expected_ids]
    assert export.rows == len(expected_ids)


@pytest.mark.parametrize("export_format", list(ExportFormat))
async def test_chunk_size_changes_no_byte_of_the_file(
    database: SQLAlchemyAsyncConfig,
    master_keys: MasterKeyring,
    tenant_id: str,
    export_format: ExportFormat,
) -> None:
    await store(database, master_keys, fixture_records(tenant_id))
    whole = exporting(database, master_keys, tenant_id, export_format)
    one_by_one = exporting(database, master_keys, tenant_id, export_format, chunk_rows=1)
    chunks = [chunk async for chunk in one_by_one]
    assert len(chunks) == 3
    assert b"".join(chunks) == await read_all(whole)
    assert one_by_one.sha256 == whole.sha256


async def test_an_abandoned_export_counts_only_the_chunks_taken(
    database: SQLAlchemyAsyncConfig, master_keys: MasterKeyring, tenant_id: str
) -> None:
    await store(database, master_keys, fixture_records(tenant_id))
    export = exporting(database, master_keys, tenant_id, ExportFormat.JSONL, chunk_rows=1)
    first = await export.__anext__()
    assert export.rows == 0  # handed over, not yet taken
    second = await export.__anext__()
    assert (export.rows, export.byte_count) == (1, len(first))
    await export.aclose()
    assert not export.finished
    assert export.sha256 == hashlib.sha256(first).hexdigest()
    assert second  # prepared but never counted
    # The read asked for ahead of the consumer ended before the session: its connection
    # went back to the pool, usable.
    assert database.get_engine().pool.checkedout() == 0
    async with database.get_session() as session:
        assert (await session.execute(text("SELECT 1"))).scalar() == 1


async def test_an_empty_csv_export_is_its_header(
    database: SQLAlchemyAsyncConfig, master_keys: MasterKeyring, tenant_id: str
) -> None:
    export = exporting(database, master_keys, tenant_id, ExportFormat.CSV)
    data = await read_all(export)
    assert data.startswith(b"\xef\xbb\xbfid,tenant_id,")
    assert data.count(b"\r\n") == 1
    assert export.finished
    assert export.rows == 0
    jsonl = exporting(database, master_keys, tenant_id, ExportFormat.JSONL)
    assert await read_all(jsonl) == b""
    assert jsonl.finished
    assert jsonl.sha256 == hashlib.sha256(b"").hexdigest()
