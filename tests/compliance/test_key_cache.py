"""The key cache of a session's transaction: each key is read once per transaction, and a
destroyed or rotated key is never used for a new write once the change is committed,
by the same session or another. Every test runs on SQLite and PostgreSQL."""

from __future__ import annotations

import secrets
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

import pytest
from advanced_alchemy.extensions.litestar import SQLAlchemyAsyncConfig
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncSession

from compliance.encryption.envelope import EnvelopeError, field_context, open_envelope, seal
from compliance.encryption.keystore import (
    KeyPurpose,
    KeyState,
    KeyStore,
    TenantKey,
    UnwrappedKeyCache,
    epoch_of,
)
from compliance.encryption.master import MasterKeyring
from compliance.records.models import CommunicationLog
from compliance.records.repository import SendLogRepository
from compliance.transactions import begin_write
from policies.channels import Channel, DeliveryStatus
from policies.records import SendRecord
from tests.factories import TEST_ACTOR

NOW = datetime(2026, 11, 20, 8, 0, tzinfo=UTC)
EPOCH = epoch_of(NOW)


def _record(tenant_id: str, *, created_at: datetime = NOW) -> SendRecord:
    return SendRecord(
        id=f"log_{secrets.token_hex(12)}",
        tenant_id=tenant_id,
        user_id="usr_cache",
        channel=Channel.SMS,
        provider="aliyun",
        template_id=None,
        recipient="+8613912345678",
        content="您的验证码是482913",
        status=DeliveryStatus.DELIVERED,
        error=None,
        response='{"Code":"OK"}',
        created_at=created_at,
        sent_at=created_at,
        updated_at=created_at,
    )


def _repository(session: AsyncSession, master: MasterKeyring) -> SendLogRepository:
    return SendLogRepository(session=session, keys=KeyStore(session, master, UnwrappedKeyCache()))


async def _write(repository: SendLogRepository, record: SendRecord) -> None:
    await repository.begin_write()
    await repository.insert_many([record])
    await repository.session.commit()


async def _sealed_with(
    database: SQLAlchemyAsyncConfig, record_id: str
) -> tuple[TenantKey | None, CommunicationLog]:
    """The content key a stored record was sealed with (``None``: erased on arrival)."""
    async with database.get_session() as session:
        row = await session.get_one(CommunicationLog, record_id)
        key = (
            None
            if row.content_key_id is None
            else await session.get_one(TenantKey, row.content_key_id)
        )
        return key, row


async def _destroy_elsewhere(
    database: SQLAlchemyAsyncConfig,
    master: MasterKeyring,
    tenant_id: str,
    purpose: KeyPurpose | None = None,
) -> None:
    async with database.get_session() as session:
        await begin_write(session)
        await KeyStore(session, master, UnwrappedKeyCache()).destroy(
            tenant_id,
            TEST_ACTOR,
            purpose=purpose,
            epoch=None if purpose is None else EPOCH,
            reason="t",
        )
        await session.commit()


async def _rotate_elsewhere(
    database: SQLAlchemyAsyncConfig, master: MasterKeyring, tenant_id: str
) -> int:
    async with database.get_session() as session:
        await begin_write(session)
        version = await KeyStore(session, master, UnwrappedKeyCache()).rotate_tenant(
            tenant_id, TEST_ACTOR
        )
        await session.commit()
        return version


@contextmanager
def _key_queries(database: SQLAlchemyAsyncConfig) -> Iterator[list[str]]:
    """Statements that read the key table, counted on the engine."""
    seen: list[str] = []

    def count(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        if "FROM tenant_keys" in statement:
            seen.append(statement)

    engine = database.get_engine().sync_engine
    event.listen(engine, "after_cursor_execute", count)
    try:
        yield seen
    finally:
        event.remove(engine, "after_cursor_execute", count)


async def test_a_key_destroyed_by_another_session_is_not_used_by_the_next_transaction(
    database: SQLAlchemyAsyncConfig, master_keys: MasterKeyring, tenant_id: str
) -> None:
    async with database.get_session() as session:
        repository = _repository(session, master_keys)
        first = _record(tenant_id)
        await _write(repository, first)
        await _destroy_elsewhere(database, master_keys, tenant_id, KeyPurpose.CONTENT)
        later = _record(tenant_id)
        await _write(repository, later)
    key, _ = await _sealed_with(database, first.id)
    assert key is not None
    assert key.state == KeyState.DESTROYED
    key, row = await _sealed_with(database, later.id)
    assert key is None
    assert row.content is None
    assert row.response is None
    assert row.recipient is not None  # the recipient key of the month is untouched


async def test_a_rotation_committed_by_another_session_moves_the_next_transaction_to_it(
    database: SQLAlchemyAsyncConfig, master_keys: MasterKeyring, tenant_id: str
) -> None:
    async with database.get_session() as session:
        repository = _repository(session, master_keys)
        first = _record(tenant_id)
        await _write(repository, first)
        await _write(repository, _record(tenant_id))  # now every key of the month exists
        version = await _rotate_elsewhere(database, master_keys, tenant_id)
        later = _record(tenant_id)
        await _write(repository, later)
    key, _ = await _sealed_with(database, first.id)
    assert key is not None
    assert key.version == 1
    key, _ = await _sealed_with(database, later.id)
    assert key is not None
    assert key.version == version == 2


async def test_a_shredded_blind_index_key_is_not_used_by_the_next_transaction(
    database: SQLAlchemyAsyncConfig, master_keys: MasterKeyring, tenant_id: str
) -> None:
    async with database.get_session() as session:
        repository = _repository(session, master_keys)
        first = _record(tenant_id)
        await _write(repository, first)
        await _destroy_elsewhere(database, master_keys, tenant_id)
        later = _record(tenant_id)
        await _write(repository, later)
    _, row = await _sealed_with(database, first.id)
    assert row.recipient_index is not None
    _, row = await _sealed_with(database, later.id)
    assert row.recipient_index is None
    assert row.recipient is None
    assert row.content is None


async def _written_after(
    database: SQLAlchemyAsyncConfig,
    master_keys: MasterKeyring,
    tenant_id: str,
    change: Callable[[KeyStore], Awaitable[object]],
) -> SendRecord:
    """Write a record, ``change`` the keys through another key store of the same
    transaction, write a second record, commit; the second record."""
    async with database.get_session() as session:
        repository = _repository(session, master_keys)
        await repository.begin_write()
        first, later = _record(tenant_id), _record(tenant_id)
        await repository.insert_many([first])
        await change(KeyStore(session, master_keys, UnwrappedKeyCache()))
        await repository.insert_many([later])
        await session.commit()
    return later


async def test_a_key_destroyed_through_another_store_of_the_same_transaction_is_never_used(
    database: SQLAlchemyAsyncConfig, master_keys: MasterKeyring, tenant_id: str
) -> None:
    later = await _written_after(
        database,
        master_keys,
        tenant_id,
        lambda keys: keys.destroy(
            tenant_id, TEST_ACTOR, purpose=KeyPurpose.CONTENT, epoch=EPOCH, reason="t"
        ),
    )
    key, row = await _sealed_with(database, later.id)
    assert key is None
    assert row.content is None


async def test_a_rotation_in_the_same_transaction_applies_to_its_next_write(
    database: SQLAlchemyAsyncConfig, master_keys: MasterKeyring, tenant_id: str
) -> None:
    later = await _written_after(
        database, master_keys, tenant_id, lambda keys: keys.rotate_tenant(tenant_id, TEST_ACTOR)
    )
    key, _ = await _sealed_with(database, later.id)
    assert key is not None
    assert key.version == 2


async def test_a_key_created_in_a_rolled_back_savepoint_is_not_reused(
    database: SQLAlchemyAsyncConfig, master_keys: MasterKeyring, tenant_id: str
) -> None:
    async with database.get_session() as session:
        keys = KeyStore(session, master_keys, UnwrappedKeyCache())
        await begin_write(session)
        savepoint = await session.begin_nested()
        created = await keys.writing_key(tenant_id, KeyPurpose.CONTENT, EPOCH)
        await savepoint.rollback()
        again = await keys.writing_key(tenant_id, KeyPurpose.CONTENT, EPOCH)
        await session.commit()
    assert created is not None
    assert again is not None
    context = field_context(tenant_id, "log_x", "content")
    sealed_with_again = seal(again.aead, again.key_id, "kept", context)
    sealed_with_created = seal(created.aead, created.key_id, "lost", context)
    async with database.get_session() as session:
        stored = await KeyStore(session, master_keys, UnwrappedKeyCache()).keys_by_id(
            tenant_id, [again.key_id]
        )
    key = stored[again.key_id]
    assert key is not None
    assert open_envelope(key.aead, sealed_with_again, context) == "kept"
    with pytest.raises(EnvelopeError):  # the rolled-back key is gone and never used again
        open_envelope(key.aead, sealed_with_created, context)


async def test_a_transaction_reads_each_key_once_however_many_records_it_seals(
    database: SQLAlchemyAsyncConfig, master_keys: MasterKeyring, tenant_id: str
) -> None:
    async with database.get_session() as session:
        repository = _repository(session, master_keys)
        await _write(repository, _record(tenant_id))  # keys exist from here on
        with _key_queries(database) as few:
            await _write(repository, _record(tenant_id))
        with _key_queries(database) as many:
            await repository.begin_write()
            for _ in range(20):
                await repository.insert(_record(tenant_id), idempotency_key=secrets.token_hex(8))
            await repository.insert_many([_record(tenant_id) for _ in range(50)])
            await session.commit()
    assert 0 < len(many) <= len(few)


@settings(
    max_examples=12,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(
    steps=st.lists(
        st.sampled_from(["write", "destroy_content", "rotate", "shred"]), min_size=2, max_size=7
    )
)
async def test_every_write_uses_the_key_state_committed_before_its_transaction(
    database: SQLAlchemyAsyncConfig, master_keys: MasterKeyring, steps: list[str]
) -> None:
    tenant_id = f"tnt_{secrets.token_hex(6)}"
    written: list[tuple[str, int, bool, bool]] = []
    version, content_gone, shredded = 1, False, False
    async with database.get_session() as session:
        repository = _repository(session, master_keys)
        for step in ["write", *steps, "write"]:
            if step == "write":
                record = _record(tenant_id)
                await _write(repository, record)
                written.append((record.id, version, content_gone, shredded))
            elif step == "destroy_content":
                await _destroy_elsewhere(database, master_keys, tenant_id, KeyPurpose.CONTENT)
                content_gone = True
            elif step == "rotate" and not shredded:
                version = await _rotate_elsewhere(database, master_keys, tenant_id)
            elif step == "shred":
                await _destroy_elsewhere(database, master_keys, tenant_id)
                shredded = True
    for record_id, expected_version, erased, shred in written:
        key, row = await _sealed_with(database, record_id)
        if erased or shred:  # a destroyed month stays destroyed for every later version
            assert key is None
            assert row.content is None
        else:
            assert key is not None
            assert key.version == expected_version
        if shred:
            assert row.recipient is None
            assert row.recipient_index is None
