"""``Idempotency-Key`` is stored as a keyed digest, never as sent: new sends, retries,
rows stored in clear before, their conversion by ``database upgrade``, and tenant
shredding. Every test runs on SQLite and PostgreSQL."""

from __future__ import annotations

import hashlib
import hmac
import logging
import re
from pathlib import Path

import pytest
from advanced_alchemy.extensions.litestar import SQLAlchemyAsyncConfig
from sqlalchemy import select, update

from compliance.encryption.envelope import idempotency_key_secret
from compliance.encryption.keystore import KeyStore, UnwrappedKeyCache
from compliance.encryption.lifecycle import shred_tenant
from compliance.encryption.master import MasterKeyring
from compliance.records.idempotency_keys import hash_legacy_keys
from compliance.records.models import CommunicationLog
from tests.factories import TEST_ACTOR, Caller, run_commlog

DIGEST = re.compile(r"h1:[0-9a-f]{64}")
KEY = "order-1842-otp-110101199003074518"  # a key a client built from an id number


async def _stored_keys(database: SQLAlchemyAsyncConfig, tenant_id: str) -> dict[str, str | None]:
    async with database.get_session() as session:
        rows = await session.execute(
            select(CommunicationLog.id, CommunicationLog.idempotency_key).where(
                CommunicationLog.tenant_id == tenant_id
            )
        )
        return {record_id: key for record_id, key in rows}


async def _store_in_clear(database: SQLAlchemyAsyncConfig, record_id: str, key: str) -> None:
    """Make a row look as rows stored before keys were hashed."""
    async with database.get_session() as session:
        await session.execute(
            update(CommunicationLog)
            .where(CommunicationLog.id == record_id)
            .values(idempotency_key=key)
        )
        await session.commit()


async def _index_secret(
    database: SQLAlchemyAsyncConfig, master_keys: MasterKeyring, tenant_id: str
) -> bytes:
    async with database.get_session() as session:
        index = await KeyStore(session, master_keys, UnwrappedKeyCache()).blind_index_key(tenant_id)
        assert index is not None
        return index.secret


async def test_the_key_is_stored_as_an_hmac_under_the_tenants_derived_secret(
    caller: Caller, database: SQLAlchemyAsyncConfig, master_keys: MasterKeyring
) -> None:
    created = await caller.record(idempotency_key=KEY)
    assert created.status_code == 201
    record_id = created.json()["data"]["id"]
    stored = (await _stored_keys(database, caller.tenant_id))[record_id]
    assert stored is not None
    assert DIGEST.fullmatch(stored)
    # Recomputed independently: HMAC-SHA256 under HKDF(index key, own label), not under
    # the index key itself (the two keyed hashes never share a key).
    index_secret = await _index_secret(database, master_keys, caller.tenant_id)
    secret = idempotency_key_secret(index_secret)
    assert secret != index_secret
    assert stored == "h1:" + hmac.new(secret, KEY.encode(), hashlib.sha256).hexdigest()
    assert stored != "h1:" + hmac.new(index_secret, KEY.encode(), hashlib.sha256).hexdigest()
    assert KEY not in stored


async def test_a_retry_finds_its_record_through_the_digest_and_a_different_send_is_409(
    caller: Caller,
) -> None:
    first = await caller.record(idempotency_key=KEY)
    retry = await caller.record(idempotency_key=KEY)
    assert retry.status_code == 200
    assert retry.json()["data"]["id"] == first.json()["data"]["id"]
    other = await caller.record(idempotency_key=KEY, content="a different message")
    assert other.status_code == 409
    assert KEY not in other.text


async def test_the_same_key_in_two_tenants_gives_two_digests_and_two_records(
    caller: Caller, database: SQLAlchemyAsyncConfig
) -> None:
    mine = await caller.record(idempotency_key=KEY)
    other_tenant = caller.tenant_id + "_b"
    theirs = await caller.client.post(
        "/communication/logs",
        json={
            "user_id": "usr_bob",
            "channel": "sms",
            "recipient": "+8613912345678",
            "content": "x",
        },
        headers={
            **caller.auth("svc", "ingest", tenant_id=other_tenant),
            "Idempotency-Key": KEY,
        },
    )
    assert (mine.status_code, theirs.status_code) == (201, 201)
    (my_digest,) = (await _stored_keys(database, caller.tenant_id)).values()
    (their_digest,) = (await _stored_keys(database, other_tenant)).values()
    assert my_digest != their_digest


async def test_a_row_stored_in_clear_before_is_still_found_by_a_retry(
    caller: Caller, database: SQLAlchemyAsyncConfig
) -> None:
    first = (await caller.record(idempotency_key=KEY)).json()["data"]
    await _store_in_clear(database, first["id"], KEY)
    retry = await caller.record(idempotency_key=KEY)
    assert retry.status_code == 200
    assert retry.json()["data"]["id"] == first["id"]
    assert (await caller.record(idempotency_key=KEY, content="changed")).status_code == 409
    assert (await caller.list_logs()).json()["total"] == 1


async def test_conversion_replaces_keys_in_clear_by_the_digest_a_new_send_would_store(
    caller: Caller, database: SQLAlchemyAsyncConfig, master_keys: MasterKeyring
) -> None:
    legacy = (await caller.record(idempotency_key="legacy-key")).json()["data"]
    fresh = (await caller.record(idempotency_key="fresh-key")).json()["data"]
    without = (await caller.record()).json()["data"]
    expected = (await _stored_keys(database, caller.tenant_id))[legacy["id"]]
    await _store_in_clear(database, legacy["id"], "legacy-key")
    before = await _stored_keys(database, caller.tenant_id)

    report = await hash_legacy_keys(
        database.get_session, master_keys, UnwrappedKeyCache(), batch_size=1
    )

    after = await _stored_keys(database, caller.tenant_id)
    assert report.hashed >= 1
    assert after[legacy["id"]] == expected
    assert after[fresh["id"]] == before[fresh["id"]]
    assert after[without["id"]] is None
    retry = await caller.record(idempotency_key="legacy-key")
    assert (retry.status_code, retry.json()["data"]["id"]) == (200, legacy["id"])
    again = await hash_legacy_keys(database.get_session, master_keys, UnwrappedKeyCache())
    assert await _stored_keys(database, caller.tenant_id) == after
    assert again.hashed == 0


async def test_shredding_leaves_digests_useless_clears_keys_in_clear_and_breaks_nothing(
    caller: Caller, database: SQLAlchemyAsyncConfig, master_keys: MasterKeyring
) -> None:
    hashed = (await caller.record(idempotency_key=KEY)).json()["data"]
    legacy = (await caller.record(idempotency_key="legacy-key")).json()["data"]
    await _store_in_clear(database, legacy["id"], "legacy-key")
    async with database.get_session() as session:
        await shred_tenant(
            session, master_keys, UnwrappedKeyCache(), tenant_id=caller.tenant_id, actor=TEST_ACTOR
        )
        await session.commit()

    stored = await _stored_keys(database, caller.tenant_id)
    assert stored[legacy["id"]] is None
    digest = stored[hashed["id"]]
    assert digest is not None
    assert DIGEST.fullmatch(digest)
    # No digest can be computed any more: a retry is a new (erased) send, not a 500.
    retry = await caller.record(idempotency_key=KEY)
    assert retry.status_code == 201
    assert retry.json()["data"]["id"] != hashed["id"]
    assert retry.json()["data"]["recipient"] is None
    late = await _stored_keys(database, caller.tenant_id)
    assert late[retry.json()["data"]["id"]] is None
    report = await hash_legacy_keys(database.get_session, master_keys, UnwrappedKeyCache())
    assert report.hashed == 0
    assert await _stored_keys(database, caller.tenant_id) == late


async def test_the_key_appears_in_no_log_line(
    caller: Caller, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.DEBUG):
        await caller.record(idempotency_key=KEY)
        await caller.record(idempotency_key=KEY)
        await caller.record(idempotency_key=KEY, content="conflict")
    assert caplog.records
    assert KEY not in caplog.text
    assert "110101199003074518" not in caplog.text


@pytest.fixture
def private_url(private_database_url: str) -> str:
    return private_database_url


async def test_database_upgrade_hashes_keys_stored_in_clear(
    private_url: str, tmp_path: Path, master_keys: MasterKeyring
) -> None:
    from tests.conftest import TEST_MASTER_KEY_ENTRY

    keys = {"COMMLOG_MASTER_KEYS": TEST_MASTER_KEY_ENTRY}
    seeded = run_commlog("demo", "seed", var_dir=tmp_path, database_url=private_url, **keys)
    assert seeded.returncode == 0, seeded.stderr
    from advanced_alchemy.extensions.litestar import SQLAlchemyAsyncConfig as Config

    from service.persistence.database import create_database_config

    database: Config = create_database_config(private_url)
    try:
        async with database.get_session() as session:
            record_id, tenant_id = (
                await session.execute(
                    select(CommunicationLog.id, CommunicationLog.tenant_id).limit(1)
                )
            ).one()
        await _store_in_clear(database, record_id, KEY)

        upgraded = run_commlog(
            "database", "upgrade", "--no-prompt", var_dir=tmp_path, database_url=private_url, **keys
        )
        assert upgraded.returncode == 0, upgraded.stderr
        assert "1 replaced by their keyed digest" in upgraded.stdout
        assert KEY not in upgraded.stdout + upgraded.stderr
        stored = (await _stored_keys(database, tenant_id))[record_id]
        secret = idempotency_key_secret(await _index_secret(database, master_keys, tenant_id))
        assert stored == "h1:" + hmac.new(secret, KEY.encode(), hashlib.sha256).hexdigest()

        quiet = run_commlog(
            "database", "upgrade", "--no-prompt", var_dir=tmp_path, database_url=private_url, **keys
        )
        assert quiet.returncode == 0, quiet.stderr
        assert "idempotency" not in quiet.stdout
    finally:
        await database.get_engine().dispose()


async def test_database_upgrade_with_the_wrong_master_keys_says_so_in_one_line_and_exits_2(
    private_url: str, tmp_path: Path
) -> None:
    from compliance.encryption.master import new_master_key_entry
    from tests.conftest import TEST_MASTER_KEY_ENTRY

    right = {"COMMLOG_MASTER_KEYS": TEST_MASTER_KEY_ENTRY}
    wrong = {"COMMLOG_MASTER_KEYS": new_master_key_entry("not-the-one")}
    seeded = run_commlog("demo", "seed", var_dir=tmp_path, database_url=private_url, **right)
    assert seeded.returncode == 0, seeded.stderr

    refused = run_commlog(
        "database", "upgrade", "--no-prompt", var_dir=tmp_path, database_url=private_url, **wrong
    )
    assert refused.returncode == 2
    (line,) = refused.stderr.strip().splitlines()
    assert line.startswith("commlog: master key")
