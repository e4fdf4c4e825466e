"""The access file as a mechanism, on SQLite and PostgreSQL: its digest covers exactly the
bytes taken, and an interrupted fetch is recorded as such without completing the request."""

from __future__ import annotations

import hashlib
import uuid
from datetime import UTC, datetime, timedelta

import msgspec
from advanced_alchemy.extensions.litestar import SQLAlchemyAsyncConfig
from sqlalchemy import select

from compliance.audit.models import AuditEventRow
from compliance.encryption.keystore import KeyStore, UnwrappedKeyCache
from compliance.encryption.master import MasterKeyring
from compliance.records.repository import SendLogRepository
from compliance.records.sealing import RecordSealer
from compliance.subjects.access import SubjectAccessFile, record_access
from compliance.subjects.requests import SubjectRequest, create_request, get_request, view
from compliance.templates.repository import TemplateCache
from compliance.transactions import begin_write, commit
from policies.audit_chain import Actor, ActorKind
from policies.channels import Channel, DeliveryStatus
from policies.records import SendRecord
from policies.subject_requests import RequestStatus, RequestType

ACTOR = Actor(id="usr_officer", kind=ActorKind.OFFICER)


def _record(tenant_id: str, number: int) -> SendRecord:
    moment = datetime.now(UTC) - timedelta(minutes=number)
    return SendRecord(
        id=f"log_{uuid.uuid4().hex[:24]}",
        tenant_id=tenant_id,
        user_id="usr_alice",
        channel=Channel.EMAIL,
        provider="ses",
        template_id=None,
        recipient="alice@example.com",
        content=f"your statement {number} is ready",
        status=DeliveryStatus.DELIVERED,
        error=None,
        response=None,
        created_at=moment,
        sent_at=moment,
        updated_at=moment,
    )


async def _access_request(
    database: SQLAlchemyAsyncConfig, master_keys: MasterKeyring, tenant_id: str
) -> SubjectRequest:
    cache = UnwrappedKeyCache()
    async with database.get_session() as session:
        repository = SendLogRepository(session=session, keys=KeyStore(session, master_keys, cache))
        await repository.begin_write()
        await repository.insert_many([_record(tenant_id, n) for n in range(3)])
        await commit(session, operation="test")
        await begin_write(session)
        request = await create_request(
            session,
            RecordSealer(KeyStore(session, master_keys, cache)),
            master_keys,
            tenant_id=tenant_id,
            actor=ACTOR,
            type=RequestType.ACCESS,
            reference="case 2",
            recipient="ALICE@example.com",
            channel=Channel.EMAIL,
        )
        await commit(session, operation="test")
    return request


async def test_an_interrupted_fetch_is_recorded_incomplete_and_leaves_the_request_open(
    database: SQLAlchemyAsyncConfig, master_keys: MasterKeyring, tenant_id: str
) -> None:
    request = await _access_request(database, master_keys, tenant_id)
    access = SubjectAccessFile(
        request,
        sessions=database.get_session,
        master_keys=master_keys,
        key_cache=UnwrappedKeyCache(),
        templates=TemplateCache(),
        chunk_rows=1,
    )
    first = await access.__anext__()
    second = await access.__anext__()  # the consumer came back: the first chunk is counted
    await access.aclose()
    assert access.rows == 1
    assert access.sha256 == hashlib.sha256(first).hexdigest()
    assert not access.finished
    assert second

    async with database.get_session() as session:
        event_id = await record_access(
            session,
            master_keys,
            request.id,
            actor=ACTOR,
            rows=access.rows,
            sha256=access.sha256,
            complete=access.finished,
        )
        await commit(session, operation="test")
    async with database.get_session() as session:
        stored = view(await get_request(session, request.id))
        event = await session.scalar(select(AuditEventRow).where(AuditEventRow.id == event_id))
    assert stored.status is RequestStatus.OPEN
    assert stored.outcome["fetches"] == 1
    assert event is not None
    assert msgspec.json.decode(event.details)["complete"] is False

    whole = SubjectAccessFile(
        request,
        sessions=database.get_session,
        master_keys=master_keys,
        key_cache=UnwrappedKeyCache(),
        templates=TemplateCache(),
        chunk_rows=2,
    )
    data = b"".join([chunk async for chunk in whole])
    assert whole.finished
    assert whole.rows == 3
    assert whole.sha256 == hashlib.sha256(data).hexdigest()
    lines = [msgspec.json.decode(line) for line in data.splitlines()]
    assert {line["recipient"] for line in lines} == {"alice@example.com"}
    assert sorted(line["content"] for line in lines) == [
        f"your statement {n} is ready" for n in range(3)
    ]
