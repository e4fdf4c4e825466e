"""The only place send records are read from and written to the database.

Rows leave this module as :class:`policies.records.SendRecord` values with their personal
fields decrypted (by :class:`compliance.records.sealing.RecordSealer`), never as ORM
objects and never as ciphertext.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncGenerator, Awaitable, Callable, Mapping, Sequence
from datetime import datetime
from typing import Any, cast

import anyio
from advanced_alchemy.repository import SQLAlchemyAsyncRepository
from msgspec.structs import replace
from sqlalchemy import ColumnElement, Select, Table, case, exists, func, insert, null, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_scoped_session

from compliance.encryption.envelope import is_idempotency_digest
from compliance.encryption.keystore import KeyStore, epoch_of
from compliance.records.models import CommunicationLog
from compliance.records.sealing import (
    FIELD_COLUMNS,
    SHOWN_COLUMNS,
    UNREAD_COLUMNS,
    Opening,
    RecordSealer,
    StoredRow,
    WriteKeys,
    sealed_columns,
)
from compliance.templates.repository import TemplateCache, TemplateStore
from compliance.transactions import begin_consistent_read, begin_write
from policies.access import OwnerScope
from policies.channels import Channel, DeliveryStatus
from policies.disclosure import RULES_VERSION
from policies.exports import ExportFilters
from policies.paging import PageRequest
from policies.records import SendRecord, StoredView

NEWEST_FIRST = (CommunicationLog.created_at.desc(), CommunicationLog.id.desc())
OLDEST_FIRST = (CommunicationLog.created_at, CommunicationLog.id)


def _plain_values(record: SendRecord) -> dict[str, Any]:
    return {
        "id": record.id,
        "tenant_id": record.tenant_id,
        "user_id": record.user_id,
        "channel": record.channel.value,
        "provider": record.provider,
        "template_id": record.template_id,
        "status": record.status.value,
        "idempotency_key": None,
        "request_fingerprint": None,
        "created_at": record.created_at,
        "sent_at": record.sent_at,
        "updated_at": record.updated_at,
        "template_version": record.template_version,
        "content_erase_after": record.content_erase_after,
    }


def _plain_row(record: SendRecord, stored_key: str | None) -> CommunicationLog:
    return CommunicationLog(
        id=record.id,
        tenant_id=record.tenant_id,
        user_id=record.user_id,
        channel=record.channel.value,
        provider=record.provider,
        template_id=record.template_id,
        status=record.status.value,
        idempotency_key=stored_key,
        created_at=record.created_at,
        sent_at=record.sent_at,
        updated_at=record.updated_at,
        template_version=record.template_version,
        content_erase_after=record.content_erase_after,
    )


async def open_records(
    rows: Sequence[StoredRow],
    *,
    sealer: RecordSealer,
    templates: TemplateStore,
    opening: Opening = Opening.ALL,
) -> list[SendRecord]:
    """Decrypt ``rows`` (the columns ``opening`` names) and attach the template version
    each templated send without a stored view was rendered from (versions are immutable
    and cached: usually no query). The one way stored rows become records, for pages,
    single records and export chunks alike."""
    records = await sealer.open_rows(rows, opening)
    return await attach_templates(records, templates, lambda record: record.view is None)


async def attach_templates(
    records: Sequence[SendRecord],
    templates: TemplateStore,
    needs: Callable[[SendRecord], bool],
) -> list[SendRecord]:
    """``records`` with the template version each templated send was rendered from
    attached, where ``needs(record)``: a record without a stored view is rendered from it
    when it is shown, and a new record's view is rendered from it when it is written."""

    pairs: list[tuple[str, int] | None] = [
        None
        if record.template_id is None or record.template_version is None or not needs(record)
        else (record.template_id, record.template_version)
        for record in records
    ]
    if not any(pairs):  # the common page or chunk: nothing to attach
        return list(records)
    keys: dict[str, set[tuple[str, int]]] = {}
    for record, pair in zip(records, pairs, strict=True):
        if pair is not None:
            keys.setdefault(record.tenant_id, set()).add(pair)
    if not keys:
        return list(records)
    found = {tenant: await templates.versions(tenant, pairs_) for tenant, pairs_ in keys.items()}
    return [
        record if pair is None else replace(record, template=found[record.tenant_id].get(pair))
        for record, pair in zip(records, pairs, strict=True)
    ]


def _projection(opening: Opening) -> list[ColumnElement[Any]]:
    """The columns a read that opens ``opening`` needs. A masked read
    (:attr:`Opening.SHOWN`) of a row stored under the current rules opens only its views
    and provider answers: the database leaves that row's other sealed fields out (they
    are read, and masked, only for rows without current views). A read of the fields
    leaves the views out; no read takes the columns records are not opened from
    (:data:`~compliance.records.sealing.UNREAD_COLUMNS`)."""
    table = CommunicationLog.__table__.c
    read: list[ColumnElement[Any]] = [c for c in table if c.key not in UNREAD_COLUMNS]
    if opening is Opening.ALL:
        return read
    if opening is Opening.FIELDS:
        # The content's view only proves the rules version (sealing.FIELDS_AND_PROOF).
        return [column for column in read if column.key != "shown_recipient"]
    current = table.shown_version == RULES_VERSION
    return [
        case((current, null()), else_=column).label(column.key)
        if column.key in FIELD_COLUMNS and column.key not in SHOWN_COLUMNS
        else column
        for column in read
    ]


async def _opened_chunks(
    session: AsyncSession | async_scoped_session[AsyncSession],
    statement: Select[Any],
    chunk_rows: int,
    open_rows: Callable[[list[Mapping[str, Any]]], Awaitable[list[SendRecord]]],
) -> AsyncGenerator[list[SendRecord], None]:
    """The rows ``statement`` selects, ``chunk_rows`` at a time through a server-side
    cursor in the session's transaction, each chunk passed through ``open_rows``.

    On PostgreSQL the rows come from the driver's own cursor (asyncpg records, read by
    column name like mappings): an export reads every row of a tenant, and SQLAlchemy's
    result rows cost more per row than decrypting the row's views does. Once a chunk is
    opened (which may look up keys on the connection), the next one is asked for before
    this one is handed over, so the database reads it while the consumer encodes this
    one. Elsewhere, SQLAlchemy's streamed result, one chunk after the other."""
    connection = await session.connection()
    if connection.dialect.name != "postgresql":
        result = await connection.stream(statement.execution_options(yield_per=chunk_rows))
        try:
            async for partition in result.partitions(chunk_rows):
                yield await open_rows([row._mapping for row in partition])
        finally:
            await result.close()
        return
    # The driver opens its transaction with the first statement SQLAlchemy sends (a
    # cursor needs one); that statement also takes the transaction's snapshot.
    await connection.exec_driver_sql("SELECT 1")
    driver = (await connection.get_raw_connection()).driver_connection
    compiled = statement.compile(dialect=connection.dialect)
    params = compiled.construct_params()
    assert driver is not None
    assert compiled.positiontup is not None
    cursor = await driver.cursor(compiled.string, *(params[n] for n in compiled.positiontup))
    rows = await cursor.fetch(chunk_rows)
    following: asyncio.Future[list[Any]] | None = None
    try:
        while rows:
            records = await open_rows(rows)
            following = asyncio.ensure_future(cursor.fetch(chunk_rows))
            await asyncio.sleep(0)  # let it send its request before the consumer works
            yield records
            # Shielded: a cancellation of this reader must not cancel the driver's read
            # half-way (the finally below waits for it instead).
            rows = await asyncio.shield(following)
            following = None
    finally:
        if following is not None:
            # Stopped early (the client went away, or the task was cancelled): let the
            # last request finish, shielded from the cancellation, so the connection is
            # idle when the session ends the transaction. asyncpg's command timeout bounds
            # the wait on a database that stopped answering.
            with anyio.CancelScope(shield=True), contextlib.suppress(Exception):
                await following


class SendLogRepository(SQLAlchemyAsyncRepository[CommunicationLog]):
    """Send records, always addressed within one tenant."""

    model_type = CommunicationLog

    def __init__(
        self, *, keys: KeyStore, templates: TemplateCache | None = None, **kwargs: Any
    ) -> None:
        super().__init__(**kwargs)
        self.sealer = RecordSealer(keys)
        self.templates = TemplateStore(self.session, templates or TemplateCache())

    async def _open(
        self, rows: Sequence[StoredRow], opening: Opening = Opening.ALL
    ) -> list[SendRecord]:
        return await open_records(
            rows, sealer=self.sealer, templates=self.templates, opening=opening
        )

    async def begin_write(self) -> None:
        """Declare, before the first statement, that this transaction will write."""
        await begin_write(self.session)

    async def page_for_owner(
        self,
        scope: OwnerScope,
        page: PageRequest,
        *,
        channel: Channel | None = None,
        status: DeliveryStatus | None = None,
    ) -> tuple[list[SendRecord], int]:
        """One page of the owner's records, newest first, with the total they come from."""
        await begin_consistent_read(self.session)
        owner = [
            CommunicationLog.tenant_id == scope.tenant_id,
            CommunicationLog.user_id == scope.user_id,
        ]
        if channel is not None:
            owner.append(CommunicationLog.channel == channel.value)
        if status is not None:
            owner.append(CommunicationLog.status == status.value)
        # Core rows, not ORM objects: a page is read-only, and instrumentation would cost
        # more per page than decrypting it.
        page_rows = await self.session.execute(
            select(*_projection(Opening.SHOWN))
            .where(*owner)
            .order_by(*NEWEST_FIRST)
            .limit(page.page_size)
            .offset(page.offset)
        )
        total = await self.session.scalar(
            select(func.count()).select_from(CommunicationLog).where(*owner)
        )
        mappings = cast("list[Mapping[str, Any]]", [row._mapping for row in page_rows])
        records = await self._open(mappings, Opening.SHOWN)
        return records, int(total or 0)

    async def stream_for_tenant(
        self,
        tenant_id: str,
        filters: ExportFilters,
        *,
        chunk_rows: int,
        opening: Opening = Opening.ALL,
    ) -> AsyncGenerator[list[SendRecord], None]:
        """Every record of ``tenant_id`` that ``filters`` select, oldest first (``created_at``,
        then ``id``), decrypted (the columns ``opening`` names), in chunks of at most
        ``chunk_rows``.

        One statement read through a server-side cursor (``yield_per``): the database
        sorts once, and only one chunk of rows is in memory at a time. On PostgreSQL the
        transaction is REPEATABLE READ, so the whole stream is one snapshot even when
        writes and retention runs go on meanwhile (SQLite transactions already are one).
        Call it on a session that has run nothing yet, and keep the session open until
        the iterator is done.
        """
        await begin_consistent_read(self.session)
        where = [CommunicationLog.tenant_id == tenant_id]
        if filters.since is not None:
            where.append(CommunicationLog.created_at >= filters.since)
        if filters.until is not None:
            where.append(CommunicationLog.created_at < filters.until)
        if filters.channel is not None:
            where.append(CommunicationLog.channel == filters.channel.value)
        if filters.status is not None:
            where.append(CommunicationLog.status == filters.status.value)
        if filters.user_id is not None:
            where.append(CommunicationLog.user_id == filters.user_id)
        statement = select(*_projection(opening)).where(*where).order_by(*OLDEST_FIRST)

        async def opened(rows: list[Mapping[str, Any]]) -> list[SendRecord]:
            return await self._open(rows, opening)

        # Closed with this generator (an abandoned download): its cursor and any read it
        # has in flight end before the session does.
        chunks = _opened_chunks(self.session, statement, chunk_rows, opened)
        async with contextlib.aclosing(chunks):
            async for records in chunks:
                yield records

    async def _row_in_tenant(
        self, tenant_id: str, log_id: str, *, for_update: bool = False
    ) -> CommunicationLog | None:
        statement = select(CommunicationLog).where(
            CommunicationLog.tenant_id == tenant_id, CommunicationLog.id == log_id
        )
        if for_update:
            statement = statement.with_for_update()
        return (await self.session.execute(statement)).scalar_one_or_none()

    async def get_in_tenant(
        self, tenant_id: str, log_id: str, *, for_update: bool = False
    ) -> SendRecord | None:
        """The record ``log_id`` if it belongs to ``tenant_id``; other tenants' are invisible."""
        row = await self._row_in_tenant(tenant_id, log_id, for_update=for_update)
        return None if row is None else (await self._open([row]))[0]

    async def find_by_idempotency_key(
        self, tenant_id: str, key: str
    ) -> tuple[SendRecord, str | None] | None:
        """The record stored under ``key`` and its request fingerprint (``None`` for
        records stored before fingerprints were kept).

        Keys are stored as their keyed digest (:meth:`RecordSealer.idempotency_digest`);
        a row stored before that holds the key itself and is matched too, until
        ``commlog database upgrade`` has replaced it by its digest.
        """
        stored_as = [key] if not is_idempotency_digest(key) else []
        digest = await self.sealer.idempotency_digest(tenant_id, key)
        if digest is not None:
            stored_as.append(digest)
        if not stored_as:
            return None
        statement = (
            select(CommunicationLog)
            .where(
                CommunicationLog.tenant_id == tenant_id,
                CommunicationLog.idempotency_key.in_(stored_as),
            )
            .order_by(CommunicationLog.created_at, CommunicationLog.id)
            .limit(1)
        )
        row = (await self.session.execute(statement)).scalar_one_or_none()
        if row is None:
            return None
        # The fields themselves, with the template version attached: a retry is compared
        # with what was asked for, not with what is shown.
        return (await self._open([row], Opening.FIELDS))[0], row.request_fingerprint

    async def find_by_recipient(
        self, tenant_id: str, channel: Channel, recipient: str
    ) -> list[SendRecord]:
        """Every record of ``tenant_id`` sent to ``recipient`` (already normalised).

        The blind index narrows the candidates; each is decrypted and compared, so a
        truncation collision never returns another recipient's record.
        """
        index = await self.sealer.recipient_index(tenant_id, channel, recipient)
        if index is None:
            return []
        rows = (
            await self.session.execute(
                select(CommunicationLog)
                .where(
                    CommunicationLog.tenant_id == tenant_id,
                    CommunicationLog.recipient_index == index,
                    CommunicationLog.channel == channel.value,
                )
                .order_by(*NEWEST_FIRST)
            )
        ).scalars()
        opened = await self._open(list(rows))
        return [record for record in opened if record.recipient == recipient]

    async def insert(
        self,
        record: SendRecord,
        *,
        idempotency_key: str | None,
        request_fingerprint: str | None = None,
    ) -> SendRecord | None:
        """Store a new record and return it as stored (fields of a destroyed key epoch are
        erased on arrival). ``None`` when another request already used ``idempotency_key``.

        The key is stored as its keyed digest, never as given; a shredded tenant (blind-index
        key destroyed) has no digest, and its record is stored without the key.
        """
        stored_key = (
            None
            if idempotency_key is None
            else await self.sealer.idempotency_digest(record.tenant_id, idempotency_key)
        )
        (record,) = await attach_templates(
            [record], self.templates, lambda record: record.template is None
        )
        row = _plain_row(record, stored_key)
        row.request_fingerprint = request_fingerprint
        record = await self.sealer.seal_new(record, row)
        try:
            async with self.session.begin_nested():
                self.session.add(row)
                await self.session.flush()
        except IntegrityError:
            if stored_key is None:
                raise
            return None
        self.session.expunge(row)
        return replace(
            record,
            recipient=record.recipient if row.recipient is not None else None,
            content=record.content if row.content is not None else None,
            error=record.error if row.error is not None else None,
            response=record.response if row.response is not None else None,
            template_params=record.template_params if row.template_params is not None else None,
            view=None
            if record.view is None
            else StoredView(
                recipient=record.view.recipient if row.shown_recipient is not None else None,
                content=record.view.content if row.shown_content is not None else None,
            ),
        )

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
        """Write a delivery outcome onto an existing record of ``tenant_id``.

        ``error`` / ``response`` of ``None`` keep what is stored (including bytes that
        failed their integrity check: evidence is not overwritten by accident)."""
        row = await self._row_in_tenant(tenant_id, log_id)
        if row is None:  # pragma: no cover - callers hold the row locked
            raise LookupError("record vanished while locked")
        opened = (await self._open([row]))[0]
        await self.sealer.reseal_content(row, opened, error=error, response=response)
        row.status = status.value
        row.sent_at = sent_at
        row.updated_at = updated_at
        await self.session.flush()
        return (await self._open([row]))[0]

    async def tenant_has_records(self, tenant_id: str) -> bool:
        statement = select(exists().where(CommunicationLog.tenant_id == tenant_id))
        return bool((await self.session.execute(statement)).scalar())

    async def insert_many(self, records: Sequence[SendRecord]) -> None:
        """Bulk insert (demo data, benchmarks); no idempotency keys.

        One executemany of plain column values: ORM objects would cost more per row
        than sealing it. Keys are looked up once per tenant and month of the batch.
        """
        keys: dict[tuple[str, str], WriteKeys] = {}
        values = []
        records = await attach_templates(
            records, self.templates, lambda record: record.template is None
        )
        for record in records:
            slot = (record.tenant_id, epoch_of(record.created_at))
            if slot not in keys:
                keys[slot] = await self.sealer.write_keys(*slot, with_index=True)
            values.append(_plain_values(record) | sealed_columns(record, keys[slot]))
        if values:
            await self.session.execute(insert(cast("Table", CommunicationLog.__table__)), values)
