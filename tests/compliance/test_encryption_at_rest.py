"""Encryption at rest, end to end: what the database holds, and what survives tampering,
rotation and shredding. Every test runs on SQLite and PostgreSQL."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import msgspec
import pytest
from advanced_alchemy.extensions.litestar import SQLAlchemyAsyncConfig
from litestar.testing import AsyncTestClient
from sqlalchemy import select, text, update
from sqlalchemy.engine import make_url

from compliance.audit.models import AuditEventRow
from compliance.encryption.keystore import (
    KeyState,
    KeyStore,
    TenantKey,
    UnwrappedKeyCache,
)
from compliance.encryption.lifecycle import key_status, shred_tenant
from compliance.encryption.master import (
    MasterKeyMissing,
    MasterKeyring,
    new_master_key_entry,
    parse_master_keys,
)
from compliance.records.models import CommunicationLog
from compliance.records.repository import SendLogRepository
from compliance.transactions import begin_write
from policies.channels import Channel
from policies.disclosure import UNREADABLE, disclose, reveal
from policies.masking import mask_content
from policies.records import SendRecord
from service.app import create_app
from service.settings import Settings
from tests.factories import TEST_ACTOR, Caller

RECIPIENT = "+8613912345678"
CONTENT = "绝密内容 secret-content-9f2c 您的验证码是482913"
EMAIL = "zelda.unique@example.org"


async def _raw_rows(database: SQLAlchemyAsyncConfig, tenant_id: str) -> list[CommunicationLog]:
    async with database.get_session() as session:
        statement = select(CommunicationLog).where(CommunicationLog.tenant_id == tenant_id)
        return list((await session.execute(statement)).scalars())


def _all_bytes(rows: list[Any]) -> bytes:
    chunks: list[bytes] = []
    for row in rows:
        for column in row.__table__.columns:
            value = getattr(row, column.key)
            if isinstance(value, bytes):
                chunks.append(value)
            elif value is not None:
                chunks.append(str(value).encode())
    return b"\x00".join(chunks)


def _plaintexts() -> list[bytes]:
    needles = [RECIPIENT, "8613912345678", "13912345678", CONTENT, "secret-content-9f2c", EMAIL]
    return [n.encode("utf-8") for n in needles] + [n.encode("utf-16-le") for n in needles]


async def test_the_database_holds_no_plaintext_recipient_content_or_index_input(
    caller: Caller, database: SQLAlchemyAsyncConfig, settings: Settings
) -> None:
    created = await caller.create(recipient=RECIPIENT, content=CONTENT)
    await caller.set_status(created["id"], status="failed", error=f"timeout for {RECIPIENT}")
    await caller.create(channel="email", recipient=EMAIL, content=CONTENT)
    rows = await _raw_rows(database, caller.tenant_id)
    assert len(rows) == 2
    stored = _all_bytes(rows)
    async with database.get_session() as session:
        keys = list(
            (
                await session.execute(
                    select(TenantKey).where(TenantKey.tenant_id == caller.tenant_id)
                )
            ).scalars()
        )
    stored += _all_bytes(keys)
    for needle in _plaintexts():
        assert needle not in stored
    if settings.database_backend == "sqlite":
        database_file = Path(make_url(settings.database_url).database or "")
        on_disk = b"".join(
            path.read_bytes()
            for path in database_file.parent.glob(database_file.name + "*")
            if path.is_file()
        )
        assert b"communication_logs" in on_disk  # we are reading the right file
        for needle in _plaintexts():
            assert needle not in on_disk


async def test_sealed_fields_read_back_identical_through_the_repository(
    caller: Caller, database: SQLAlchemyAsyncConfig, master_keys: MasterKeyring
) -> None:
    created = await caller.create(recipient=RECIPIENT, content=CONTENT)
    async with database.get_session() as session:
        repository = SendLogRepository(
            session=session, keys=KeyStore(session, master_keys, UnwrappedKeyCache())
        )
        record = await repository.get_in_tenant(caller.tenant_id, created["id"])
    assert record is not None
    assert record.recipient == RECIPIENT
    assert record.content == CONTENT
    assert record.unreadable == frozenset()


async def _tamper(database: SQLAlchemyAsyncConfig, log_id: str, column: str, data: bytes) -> None:
    async with database.get_session() as session:
        await session.execute(
            update(CommunicationLog).where(CommunicationLog.id == log_id).values({column: data})
        )
        await session.commit()


async def _opened_and_shown(
    database: SQLAlchemyAsyncConfig, master_keys: MasterKeyring, tenant_id: str, log_id: str
) -> tuple[SendRecord, SendRecord]:
    """The record as the repository opens it whole (fields and views), and as it leaves."""
    async with database.get_session() as session:
        repository = SendLogRepository(
            session=session, keys=KeyStore(session, master_keys, UnwrappedKeyCache())
        )
        record = await repository.get_in_tenant(tenant_id, log_id)
    assert record is not None
    return record, disclose(record)


async def test_a_flipped_bit_in_the_stored_view_makes_the_field_unreadable_on_a_page(
    caller: Caller, database: SQLAlchemyAsyncConfig, caplog: pytest.LogCaptureFixture
) -> None:
    victim = await caller.create(content=CONTENT)
    bystander = await caller.create(content="Code 112233")
    (row,) = [r for r in await _raw_rows(database, caller.tenant_id) if r.id == victim["id"]]
    assert row.shown_content is not None
    tampered = bytearray(row.shown_content)
    tampered[-1] ^= 0x01
    await _tamper(database, victim["id"], "shown_content", bytes(tampered))
    caplog.set_level(logging.WARNING, logger="commlog.integrity")
    response = await caller.list_logs()
    assert response.status_code == 200
    items = {item["id"]: item for item in response.json()["items"]}
    assert items[victim["id"]]["content"] == UNREADABLE
    assert items[victim["id"]]["recipient"] == "+8613******000"  # other fields still read
    assert items[bystander["id"]]["content"] == "Code ******"
    assert f"integrity alert: record {victim['id']} field shown_content" in caplog.text
    assert "secret-content" not in caplog.text


async def test_a_flipped_bit_in_a_field_makes_it_unreadable_wherever_the_field_is_read(
    caller: Caller,
    database: SQLAlchemyAsyncConfig,
    master_keys: MasterKeyring,
    caplog: pytest.LogCaptureFixture,
) -> None:
    # A page shows the stored view, sealed on its own; the field itself is read by a
    # reveal, a subject access, an outcome update and re-encryption, which find the damage.
    victim = await caller.create(content=CONTENT)
    (row,) = await _raw_rows(database, caller.tenant_id)
    assert row.content is not None
    tampered = bytearray(row.content)
    tampered[-1] ^= 0x01
    await _tamper(database, victim["id"], "content", bytes(tampered))
    caplog.set_level(logging.WARNING, logger="commlog.integrity")
    record, shown = await _opened_and_shown(database, master_keys, caller.tenant_id, victim["id"])
    assert record.unreadable == {"content"}
    assert record.content is None
    assert shown.content == UNREADABLE
    assert shown.recipient == "+8613******000"
    assert reveal(record).content == UNREADABLE
    assert f"integrity alert: record {victim['id']} field content" in caplog.text
    assert "secret-content" not in caplog.text
    # An outcome written onto the record keeps the damaged bytes and says so.
    updated = await caller.set_status(victim["id"], status="failed", error="timeout")
    assert updated.status_code == 200
    assert updated.json()["data"]["content"] == UNREADABLE


@pytest.mark.parametrize("target", ["another row", "another column", "another tenant"])
async def test_ciphertext_pasted_from_elsewhere_is_detected(
    caller: Caller, database: SQLAlchemyAsyncConfig, master_keys: MasterKeyring, target: str
) -> None:
    source = await caller.create(content=CONTENT)
    other_tenant = caller.tenant_id + "_x"
    if target == "another tenant":
        response = await caller.client.post(
            "/communication/logs",
            json={"user_id": "usr_alice", "channel": "sms", "recipient": RECIPIENT, "content": "x"},
            headers=caller.auth("svc", "ingest", tenant_id=other_tenant),
        )
        destination_id, destination_tenant = response.json()["data"]["id"], other_tenant
    else:
        destination_id = (await caller.create(content="harmless"))["id"]
        destination_tenant = caller.tenant_id
    (source_row,) = [r for r in await _raw_rows(database, caller.tenant_id) if r.id == source["id"]]
    column = CommunicationLog.error if target == "another column" else CommunicationLog.content
    row_id = source["id"] if target == "another column" else destination_id
    async with database.get_session() as session:
        await session.execute(
            update(CommunicationLog)
            .where(CommunicationLog.id == row_id)
            .values({column: source_row.content})
        )
        await session.commit()
    async with database.get_session() as session:
        repository = SendLogRepository(
            session=session,
            keys=KeyStore(session, master_keys, UnwrappedKeyCache()),
        )
        record = await repository.get_in_tenant(destination_tenant, row_id)
    assert record is not None
    assert column.key in record.unreadable
    assert getattr(record, column.key) is None


async def test_rows_written_after_rotation_use_the_new_version(
    caller: Caller, database: SQLAlchemyAsyncConfig, master_keys: MasterKeyring
) -> None:
    await caller.create()
    async with database.get_session() as session:
        await begin_write(session)
        await KeyStore(session, master_keys, UnwrappedKeyCache()).rotate_tenant(
            caller.tenant_id, TEST_ACTOR
        )
        await session.commit()
    await caller.create()
    async with database.get_session() as session:
        status = await key_status(session, caller.tenant_id)
    rows_by_version = {
        version: sum(s.rows for s in status if s.version == version) for version in (1, 2)
    }
    assert rows_by_version == {1: 2, 2: 2}


async def test_shredding_a_tenant_erases_its_fields_and_leaves_others_untouched(
    caller: Caller, database: SQLAlchemyAsyncConfig, master_keys: MasterKeyring
) -> None:
    created = await caller.create(recipient=RECIPIENT, content=CONTENT)
    await caller.set_status(created["id"], status="failed", error="timeout")
    other = caller.tenant_id + "_other"
    await caller.client.post(
        "/communication/logs",
        json={"user_id": "usr_alice", "channel": "sms", "recipient": RECIPIENT, "content": "hi"},
        headers=caller.auth("svc", "ingest", tenant_id=other),
    )
    async with database.get_session() as session:
        destroyed = await shred_tenant(
            session, master_keys, UnwrappedKeyCache(), tenant_id=caller.tenant_id, actor=TEST_ACTOR
        )
        await session.commit()
    assert destroyed == 3  # recipient, content and blind-index keys

    (item,) = (await caller.list_logs()).json()["items"]
    assert item["id"] == created["id"]
    assert item["status"] == "failed"
    for name in ("recipient", "content", "error", "response"):
        assert item[name] is None
    other_item = (
        await caller.client.get("/communication/logs", headers=caller.auth(tenant_id=other))
    ).json()["items"][0]
    assert other_item["recipient"] == "+8613******678"
    assert other_item["content"] == "hi"

    async with database.get_session() as session:
        keys = list(
            (
                await session.execute(
                    select(TenantKey).where(TenantKey.tenant_id == caller.tenant_id)
                )
            ).scalars()
        )
        events = list(
            (
                await session.execute(
                    select(AuditEventRow)
                    .where(AuditEventRow.tenant_id == caller.tenant_id)
                    .order_by(AuditEventRow.sequence)
                )
            ).scalars()
        )
    assert all(k.wrapped_key is None and k.state == KeyState.DESTROYED for k in keys)
    assert [e.action for e in events] == ["tenant.shredded"]
    assert msgspec.json.decode(events[0].details)["keys"] == 3
    assert events[0].actor == TEST_ACTOR.id
    assert all(r.recipient_index is None for r in await _raw_rows(database, caller.tenant_id))

    # A destroyed key is never re-created: a late write into the epoch is erased on arrival.
    late = await caller.create(content="arrives after the shred")
    assert late["content"] is None
    assert late["recipient"] is None


async def test_a_recipient_is_found_through_its_blind_index_only_exactly(
    caller: Caller, database: SQLAlchemyAsyncConfig, master_keys: MasterKeyring
) -> None:
    mine = await caller.create(recipient="+8613812348000")
    await caller.create(recipient="+8613812348001")
    await caller.create(channel="email", recipient="Alice@Example.com")
    async with database.get_session() as session:
        repository = SendLogRepository(
            session=session, keys=KeyStore(session, master_keys, UnwrappedKeyCache())
        )
        found = await repository.find_by_recipient(caller.tenant_id, Channel.SMS, "+8613812348000")
        email = await repository.find_by_recipient(
            caller.tenant_id, Channel.EMAIL, "Alice@example.com"
        )
        nobody = await repository.find_by_recipient(caller.tenant_id, Channel.SMS, "+8613700000000")
    assert [record.id for record in found] == [mine["id"]]
    assert len(email) == 1
    assert nobody == []


async def test_a_missing_master_key_stops_start_up_naming_the_key(
    caller: Caller, settings: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    await caller.create()
    stranger = parse_master_keys(new_master_key_entry("stranger"), source="test")
    with pytest.raises(ExceptionGroup) as raised:
        async with AsyncTestClient(
            app=create_app(msgspec.structs.replace(settings, master_keys=stranger))
        ):
            pass  # pragma: no cover - start-up fails
    assert raised.group_contains(MasterKeyMissing, match="master key 'test-1' is not configured")
    assert "master key 'test-1' is not configured" in caplog.text


async def test_keys_and_ciphertext_never_reach_logs_or_errors(
    caller: Caller, database: SQLAlchemyAsyncConfig, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    created = await caller.create(content=CONTENT)
    await caller.list_logs()
    async with database.get_session() as session:
        keys = list(
            (
                await session.execute(
                    select(TenantKey).where(TenantKey.tenant_id == caller.tenant_id)
                )
            ).scalars()
        )
        await session.execute(
            text("UPDATE communication_logs SET content = :junk WHERE id = :id"),
            {"junk": b"\x01" + bytes(40), "id": created["id"]},
        )
        await session.commit()
    await caller.list_logs()
    (row,) = await _raw_rows(database, caller.tenant_id)
    for secret in [k.wrapped_key for k in keys if k.wrapped_key] + [row.recipient]:
        assert secret is not None
        assert secret.hex() not in caplog.text
        assert repr(secret)[2:-1] not in caplog.text


@pytest.mark.parametrize("column", ["content", "shown_content"])
async def test_a_forged_key_id_makes_one_field_unreadable_not_the_page_fail(
    caller: Caller, database: SQLAlchemyAsyncConfig, master_keys: MasterKeyring, column: str
) -> None:
    victim = await caller.create(content=CONTENT)
    (row,) = await _raw_rows(database, caller.tenant_id)
    stored = getattr(row, column)
    assert stored is not None
    forged = bytearray(stored)
    forged[1] |= 0x80  # key id >= 2**63: no database id can be that large
    await _tamper(database, victim["id"], column, bytes(forged))
    response = await caller.list_logs()
    assert response.status_code == 200
    (item,) = response.json()["items"]
    record, shown = await _opened_and_shown(database, master_keys, caller.tenant_id, victim["id"])
    if column == "shown_content":
        # A page reads the view; a read of the whole record masks the intact field anew
        # (and re-sealing it would store a new view).
        assert item["content"] == UNREADABLE
        assert record.unreadable == frozenset()
        assert record.view is None
        assert shown.content == mask_content(CONTENT)
    else:  # the page shows the intact view; reading the field finds the forgery
        assert item["content"] == mask_content(CONTENT)
        assert record.unreadable == {"content"}
        assert shown.content == UNREADABLE


async def test_a_status_update_keeps_a_tampered_error_marked_unreadable(
    caller: Caller, database: SQLAlchemyAsyncConfig
) -> None:
    record = await caller.create()
    await caller.set_status(record["id"], status="sent", error="first error")
    (row,) = await _raw_rows(database, caller.tenant_id)
    assert row.error is not None
    async with database.get_session() as session:
        await session.execute(
            update(CommunicationLog)
            .where(CommunicationLog.id == record["id"])
            .values(error=row.error[:-1] + bytes([row.error[-1] ^ 1]))
        )
        await session.commit()
    response = await caller.set_status(record["id"], status="delivered")
    assert response.json()["data"]["error"] == UNREADABLE
    assert response.json()["data"]["content"] == "您的验证码是******"


async def test_an_envelope_is_opened_with_its_own_key_whatever_the_key_column_says(
    caller: Caller, database: SQLAlchemyAsyncConfig, master_keys: MasterKeyring
) -> None:
    # Reads look up the keys the rows' key columns name; an envelope under another of the
    # tenant's keys has its key looked up when it is met, and still opens.
    victim = await caller.create(recipient=RECIPIENT, content=CONTENT)
    async with database.get_session() as session:
        await session.execute(
            update(CommunicationLog)
            .where(CommunicationLog.id == victim["id"])
            .values(content_key_id=None, recipient_key_id=None)
        )
        await session.commit()
    record, shown = await _opened_and_shown(database, master_keys, caller.tenant_id, victim["id"])
    assert record.unreadable == frozenset()
    assert record.content == CONTENT
    assert record.recipient == RECIPIENT
    (item,) = (await caller.list_logs()).json()["items"]
    assert item["content"] == shown.content == mask_content(CONTENT)
