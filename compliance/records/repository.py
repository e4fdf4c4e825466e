"""The only place send records are read from and written to the database.

Rows leave this module as :class:`policies.records.SendRecord` values, never as ORM
objects, so that field decryption (and nothing else) can live here.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import cast

from advanced_alchemy.filters import LimitOffset, StatementFilter
from advanced_alchemy.repository import SQLAlchemyAsyncRepository
from sqlalchemy import ColumnElement, Select, exists, select
from sqlalchemy.exc import IntegrityError

from policies.access import OwnerScope
from policies.channels import Channel, DeliveryStatus
from policies.paging import PageRequest
from policies.records import SendRecord
from service.persistence.database import WRITE_TRANSACTION
from service.persistence.models import CommunicationLog

NEWEST_FIRST = (CommunicationLog.created_at.desc(), CommunicationLog.id.desc())


def _to_record(row: CommunicationLog) -> SendRecord:
    return SendRecord(
        id=row.id,
        tenant_id=row.tenant_id,
        user_id=row.user_id,
        channel=Channel(row.channel),
        provider=row.provider,
        template_id=row.template_id,
        recipient=row.recipient,
        content=row.content,
        status=DeliveryStatus(row.status),
        error=row.error,
        response=row.response,
        created_at=row.created_at,
        sent_at=row.sent_at,
        updated_at=row.updated_at,
    )


def _to_row(record: SendRecord, idempotency_key: str | None) -> CommunicationLog:
    return CommunicationLog(
        id=record.id,
        tenant_id=record.tenant_id,
        user_id=record.user_id,
        channel=record.channel.value,
        provider=record.provider,
        template_id=record.template_id,
        recipient=record.recipient,
        content=record.content,
        status=record.status.value,
        error=record.error,
        response=record.response,
        idempotency_key=idempotency_key,
        created_at=record.created_at,
        sent_at=record.sent_at,
        updated_at=record.updated_at,
    )


class SendLogRepository(SQLAlchemyAsyncRepository[CommunicationLog]):
    """Send records, always addressed within one tenant."""

    model_type = CommunicationLog

    async def begin_write(self) -> None:
        """Declare, before the first statement, that this transaction will write."""
        await self.session.connection(execution_options={WRITE_TRANSACTION: True})

    async def _begin_consistent_read(self) -> None:
        # One snapshot for the page and its total. SQLite sessions already are one (see
        # persistence.database); PostgreSQL's default READ COMMITTED takes a snapshot per
        # statement, so ask for REPEATABLE READ before the first statement runs.
        if self.session.bind is not None and self.session.bind.dialect.name == "postgresql":
            await self.session.connection(execution_options={"isolation_level": "REPEATABLE READ"})

    async def page_for_owner(
        self,
        scope: OwnerScope,
        page: PageRequest,
        *,
        channel: Channel | None = None,
        status: DeliveryStatus | None = None,
    ) -> tuple[list[SendRecord], int]:
        """One page of the owner's records, newest first, with the total they come from."""
        await self._begin_consistent_read()
        filters: list[StatementFilter | ColumnElement[bool]] = [
            CommunicationLog.tenant_id == scope.tenant_id,
            CommunicationLog.user_id == scope.user_id,
        ]
        if channel is not None:
            filters.append(CommunicationLog.channel == channel.value)
        if status is not None:
            filters.append(CommunicationLog.status == status.value)
        filters.append(LimitOffset(limit=page.page_size, offset=page.offset))
        rows, total = await self.get_many_and_count(
            *filters,
            statement=cast(
                "Select[tuple[CommunicationLog]]", select(CommunicationLog).order_by(*NEWEST_FIRST)
            ),
            count_with_window_function=False,
            use_cache=False,
        )
        return [_to_record(row) for row in rows], total

    async def get_in_tenant(
        self, tenant_id: str, log_id: str, *, for_update: bool = False
    ) -> SendRecord | None:
        """The record ``log_id`` if it belongs to ``tenant_id``; other tenants' are invisible."""
        statement = select(CommunicationLog).where(
            CommunicationLog.tenant_id == tenant_id, CommunicationLog.id == log_id
        )
        if for_update:
            statement = statement.with_for_update()
        row = (await self.session.execute(statement)).scalar_one_or_none()
        return None if row is None else _to_record(row)

    async def find_by_idempotency_key(self, tenant_id: str, key: str) -> SendRecord | None:
        statement = select(CommunicationLog).where(
            CommunicationLog.tenant_id == tenant_id, CommunicationLog.idempotency_key == key
        )
        row = (await self.session.execute(statement)).scalar_one_or_none()
        return None if row is None else _to_record(row)

    async def insert(self, record: SendRecord, *, idempotency_key: str | None) -> bool:
        """Store a new record. False when another request already used ``idempotency_key``."""
        row = _to_row(record, idempotency_key)
        try:
            async with self.session.begin_nested():
                self.session.add(row)
                await self.session.flush()
        except IntegrityError:
            if idempotency_key is None:
                raise
            return False
        self.session.expunge(row)
        return True

    async def save_outcome(
        self,
        tenant_id: str,
        log_id: str,
        *,
        status: DeliveryStatus,
        error: str | None,
        response: str | None,
        sent_at: datetime | None,
        updated_at: datetime,
    ) -> SendRecord:
        """Write a delivery outcome onto an existing record of ``tenant_id``."""
        row = (
            await self.session.execute(
                select(CommunicationLog).where(
                    CommunicationLog.tenant_id == tenant_id, CommunicationLog.id == log_id
                )
            )
        ).scalar_one()
        row.status = status.value
        row.error = error
        row.response = response
        row.sent_at = sent_at
        row.updated_at = updated_at
        await self.session.flush()
        return _to_record(row)

    async def tenant_has_records(self, tenant_id: str) -> bool:
        statement = select(exists().where(CommunicationLog.tenant_id == tenant_id))
        return bool((await self.session.execute(statement)).scalar())

    async def insert_many(self, records: Sequence[SendRecord]) -> None:
        """Bulk insert (demo data, benchmarks); no idempotency keys."""
        self.session.add_all([_to_row(record, None) for record in records])
        await self.session.flush()
        self.session.expunge_all()
