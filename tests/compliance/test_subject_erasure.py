"""Erasure requests as a mechanism, on SQLite and PostgreSQL: batches commit one by one,
an interrupted run leaves the request open with what committed, and a rerun finishes it
with the digest over every id erased, across both runs."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import msgspec
import pytest
from advanced_alchemy.extensions.litestar import SQLAlchemyAsyncConfig
from sqlalchemy import select

from compliance.audit.models import AuditEventRow
from compliance.encryption.keystore import KeyStore, UnwrappedKeyCache
from compliance.encryption.master import MasterKeyring
from compliance.records.models import CommunicationLog
from compliance.records.repository import SendLogRepository
from compliance.records.sealing import RecordSealer
from compliance.retention.job import _ERASE
from compliance.subjects.erasure import ERASED_FIELDS, ErasureOptions, run_erasure
from compliance.subjects.requests import create_request, get_request, view
from compliance.transactions import begin_write, commit
from policies.audit_chain import Actor, ActorKind
from policies.channels import Channel, DeliveryStatus
from policies.records import SendRecord
from policies.retention import Stage
from policies.subject_requests import RequestStatus, RequestType, ids_digest

ACTOR = Actor(id="usr_officer", kind=ActorKind.OFFICER)
RECIPIENT = "+8613812348000"


class Crash(Exception):
    pass


def _record(tenant_id: str, number: int, recipient: str = RECIPIENT) -> SendRecord:
    moment = datetime.now(UTC) - timedelta(minutes=number)
    return SendRecord(
        id=f"log_{uuid.uuid4().hex[:24]}",
        tenant_id=tenant_id,
        user_id="usr_alice",
        channel=Channel.SMS,
        provider="aliyun",
        template_id=None,
        recipient=recipient,
        content=f"message {number}",
        status=DeliveryStatus.DELIVERED,
        error=None,
        response=None,
        created_at=moment,
        sent_at=moment,
        updated_at=moment,
    )


def test_an_erasure_clears_what_the_retention_stages_clear_together() -> None:
    assert dict(ERASED_FIELDS) == {**_ERASE[Stage.RECIPIENT], **_ERASE[Stage.CONTENT]}


async def test_an_interrupted_erasure_stays_open_and_a_rerun_finishes_it(
    database: SQLAlchemyAsyncConfig, master_keys: MasterKeyring, tenant_id: str
) -> None:
    cache = UnwrappedKeyCache()
    records = [_record(tenant_id, n) for n in range(5)]
    stranger = _record(tenant_id, 9, recipient="+8613900001111")
    async with database.get_session() as session:
        repository = SendLogRepository(session=session, keys=KeyStore(session, master_keys, cache))
        await repository.begin_write()
        await repository.insert_many([*records, stranger])
        await commit(session, operation="test")

        await begin_write(session)
        request = await create_request(
            session,
            RecordSealer(KeyStore(session, master_keys, cache)),
            master_keys,
            tenant_id=tenant_id,
            actor=ACTOR,
            type=RequestType.ERASURE,
            reference="case 1",
            recipient=RECIPIENT,
            channel=Channel.SMS,
        )
        await commit(session, operation="test")

    batches = 0

    async def crash_after_two() -> None:
        nonlocal batches
        batches += 1
        if batches == 2:
            raise Crash

    async with database.get_session() as session:
        sealer = RecordSealer(KeyStore(session, master_keys, cache))
        with pytest.raises(Crash):
            await run_erasure(
                session,
                sealer,
                master_keys,
                request.id,
                actor=ACTOR,
                options=ErasureOptions(batch_size=2, after_batch=crash_after_two),
            )
    async with database.get_session() as session:
        halfway = view(await get_request(session, request.id))
        erased_so_far = (
            await session.execute(
                select(CommunicationLog.id).where(
                    CommunicationLog.tenant_id == tenant_id, CommunicationLog.recipient.is_(None)
                )
            )
        ).scalars()
        assert len(list(erased_so_far)) == 4
    assert halfway.status is RequestStatus.OPEN
    assert halfway.outcome["erased"] == 4
    assert halfway.completed_at is None

    async with database.get_session() as session:
        sealer = RecordSealer(KeyStore(session, master_keys, cache))
        done = await run_erasure(
            session, sealer, master_keys, request.id, actor=ACTOR, options=ErasureOptions()
        )
    assert done.status is RequestStatus.COMPLETED
    assert done.outcome["matched"] == 5
    assert done.outcome["erased"] == 5
    assert done.outcome["erased_ids_sha256"] == ids_digest(r.id for r in records)
    async with database.get_session() as session:
        events = list(
            (
                await session.execute(
                    select(AuditEventRow).where(
                        AuditEventRow.tenant_id == tenant_id,
                        AuditEventRow.action == "subject_request.erasure",
                    )
                )
            ).scalars()
        )
        kept = await session.scalar(
            select(CommunicationLog.recipient).where(CommunicationLog.id == stranger.id)
        )
    assert kept is not None
    (event,) = events
    details = msgspec.json.decode(event.details)
    assert details["erased"] == 5
    assert details["erased_ids_sha256"] == ids_digest(r.id for r in records)
    assert event.target == request.id
    assert done.audit_event_id == event.id
