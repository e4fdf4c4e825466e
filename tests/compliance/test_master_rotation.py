"""Master-key rotation touches every tenant, so these tests get a database of their own."""

from __future__ import annotations

import msgspec
import pytest
from advanced_alchemy.extensions.litestar import SQLAlchemyAsyncConfig
from litestar.testing import AsyncTestClient

from compliance.encryption.keystore import KeyState, KeyStore, UnwrappedKeyCache
from compliance.encryption.lifecycle import key_status, reencrypt
from compliance.encryption.master import (
    MasterKeyring,
    new_master_key_entry,
    parse_master_keys,
)
from compliance.transactions import begin_write
from service.app import create_app
from service.settings import Settings
from tests.factories import TEST_ACTOR, Caller


@pytest.fixture
def database_url(private_database_url: str) -> str:
    return private_database_url


async def test_rotation_end_to_end_keeps_every_record_identical(
    caller: Caller, database: SQLAlchemyAsyncConfig, settings: Settings, master_keys: MasterKeyring
) -> None:
    for index in range(5):
        await caller.create(content=f"message {index} code 55{index}1234")
    before = (await caller.list_logs(page_size=100)).json()["items"]

    # 1. A new primary master key; the old one stays configured for now.
    new_entry = new_master_key_entry("rotated-2")
    rotated = parse_master_keys(new_entry + "," + _spec_of(master_keys), source="test")
    async with database.get_session() as session:
        await begin_write(session)
        rewrapped = await KeyStore(session, rotated, UnwrappedKeyCache()).rotate_master(TEST_ACTOR)
        await session.commit()
    assert rewrapped >= 1

    # 2. A new data-key version for the tenant, and new writes under it.
    async with database.get_session() as session:
        await begin_write(session)
        version = await KeyStore(session, rotated, UnwrappedKeyCache()).rotate_tenant(
            caller.tenant_id, TEST_ACTOR
        )
        await session.commit()
    assert version == 2

    # 3. Re-encrypt, cut short after one batch, then run again to the end.
    first = await reencrypt(
        database.get_session,
        rotated,
        UnwrappedKeyCache(),
        actor=TEST_ACTOR,
        tenant_id=caller.tenant_id,
        batch_size=2,
        max_batches=1,
    )
    assert first.finished is False
    assert first.rows_rewritten == 2
    second = await reencrypt(
        database.get_session,
        rotated,
        UnwrappedKeyCache(),
        actor=TEST_ACTOR,
        tenant_id=caller.tenant_id,
        batch_size=2,
    )
    assert second.finished is True
    assert second.rows_rewritten == 3

    async with database.get_session() as session:
        status = await key_status(session, caller.tenant_id)
    assert {s.master_key_id for s in status if s.state == KeyState.ACTIVE} == {"rotated-2"}
    assert all(s.rows == 0 for s in status if s.version == 1)
    assert sum(s.rows for s in status if s.version == 2) == 10  # 5 rows x 2 keys

    # 4. Only the new master key is needed now: read everything back through the API.
    only_new = parse_master_keys(new_entry, source="test")
    async with AsyncTestClient(
        app=create_app(msgspec.structs.replace(settings, master_keys=only_new))
    ) as client:
        response = await client.get(
            "/communication/logs", params={"page_size": 100}, headers=caller.auth()
        )
    assert response.json()["items"] == before


def _spec_of(ring: MasterKeyring) -> str:
    """The spec of the session's test keyring (kept by conftest for exactly this)."""
    from tests.conftest import TEST_MASTER_KEY_ENTRY

    assert ring.primary_id == TEST_MASTER_KEY_ENTRY.split(":", 1)[0]
    return TEST_MASTER_KEY_ENTRY
