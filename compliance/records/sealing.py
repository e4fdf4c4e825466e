"""Sealing and opening the personal fields of send records: the one place it happens.

``recipient`` is sealed with the tenant's ``recipient`` key of the record's epoch;
``content``, ``error``, ``response`` and ``template_params`` (a templated send's stored
parameters, never a secret value) share its ``content`` key, so the content stage of
retention and the destruction of a month's content key erase them together. A field that cannot be
opened has one of two documented outcomes:

- its key was destroyed (retention, tenant shredding): the field is erased and reads as
  ``None``;
- it fails authentication (a flipped bit, a ciphertext pasted from another row, column or
  tenant): the field is *unreadable*, named in ``SendRecord.unreadable``, and an integrity
  alert naming only the record id and column is logged. The rest of the page is served.
"""

from __future__ import annotations

import enum
import logging
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from msgspec.structs import replace

from compliance.encryption.envelope import (
    EnvelopeError,
    blind_index,
    column_context,
    field_context,
    idempotency_digest,
    idempotency_key_secret,
    key_id_of,
    open_checked_envelope,
    opened_or_none,
    readers,
    recipient_digest,
    row_context,
    seal,
)
from compliance.encryption.keystore import DataKey, KeyPurpose, KeyStore, epoch_of
from compliance.records.models import CommunicationLog
from policies.channels import Channel, DeliveryStatus
from policies.disclosure import RULES_VERSION, stored_form
from policies.providers import reduced_or_none
from policies.recipients import blind_index_input
from policies.records import SendRecord, StoredView

logger = logging.getLogger("commlog.integrity")

RECIPIENT_COLUMNS = ("recipient", "shown_recipient")
CONTENT_COLUMNS = ("content", "error", "response", "template_params", "shown_content")
SEALED_COLUMNS = RECIPIENT_COLUMNS + CONTENT_COLUMNS
VIEW_COLUMNS = {"shown_recipient": "recipient", "shown_content": "content"}
"""The sealed masked views (``policies.disclosure.stored_form``) and the field each shows."""
FIELD_COLUMNS = tuple(column for column in SEALED_COLUMNS if column not in VIEW_COLUMNS)
"""The sealed fields themselves."""
SHOWN_COLUMNS = ("shown_recipient", "shown_content", "error", "response")
"""What a masked read of a record stored under the current rules opens."""
FIELDS_AND_PROOF = (*FIELD_COLUMNS, "shown_content")
"""What a read of the fields opens of a record stored under the current rules: the fields,
and one view, whose associated data proves the version (its value is not used)."""


class Opening(enum.Enum):
    """Which sealed columns a read opens."""

    SHOWN = "shown"
    """What :func:`policies.disclosure.disclose` shows: the stored views and provider
    answers of a record written under the current rules (four columns instead of seven);
    the fields themselves for any other record, which are masked as they leave."""
    FIELDS = "fields"
    """The fields themselves (reveal exports, subject access, comparisons)."""
    ALL = "all"
    """Fields and views (re-sealing a row keeps its views)."""


def stored_values(record: SendRecord) -> dict[str, str | None]:
    """The plaintext of each sealed column for ``record`` as :func:`stored_form` left it."""
    view = record.view
    return {
        "recipient": record.recipient,
        "shown_recipient": None if view is None else view.recipient,
        "content": record.content,
        "error": record.error,
        "response": record.response,
        "template_params": record.template_params,
        "shown_content": None if view is None else view.content,
    }


@dataclass(frozen=True, slots=True)
class WriteKeys:
    recipient: DataKey | None
    content: DataKey | None
    index_secret: bytes | None


def _seal(
    key: DataKey | None, value: str | None, tenant_id: str, record_id: str, column: str
) -> bytes | None:
    if key is None or value is None:
        return None
    context = field_context(tenant_id, record_id, _context_name(column))
    return seal(key.aead, key.key_id, value, context)


def _context_name(column: str) -> str:
    """The column as the associated data names it: a view's name carries the rules version
    it was computed under, so a view opens only as a view of that version (changing
    ``shown_version`` in the database cannot make old views, or unreduced provider answers,
    pass for current ones)."""
    return f"{column}/v{RULES_VERSION}" if column in VIEW_COLUMNS else column


def sealed_columns(record: SendRecord, keys: WriteKeys) -> dict[str, Any]:
    """The sealed columns of a new row for ``record`` under ``keys`` (its epoch's write
    keys): envelopes, blind index and key ids; fields of destroyed epochs stay empty."""
    record = stored_form(record)
    values = stored_values(record)
    tenant, rid = record.tenant_id, record.id
    recipient = _seal(keys.recipient, record.recipient, tenant, rid, "recipient")
    columns: dict[str, Any] = {
        "recipient": recipient,
        "shown_recipient": (
            None
            if recipient is None
            else _seal(keys.recipient, values["shown_recipient"], tenant, rid, "shown_recipient")
        ),
        "shown_version": record.view_version,
        "recipient_key_id": (
            keys.recipient.key_id if recipient is not None and keys.recipient else None
        ),
        "recipient_index": (
            blind_index(
                keys.index_secret,
                record.channel.value,
                blind_index_input(record.channel, record.recipient),
            )
            if keys.index_secret is not None
            and record.recipient is not None
            and recipient is not None
            else None
        ),
    }
    key = keys.content
    sealed_any = False
    for column in CONTENT_COLUMNS:
        sealed = _seal(key, values[column], tenant, rid, column)
        columns[column] = sealed
        sealed_any = sealed_any or sealed is not None
    columns["content_key_id"] = key.key_id if key is not None and sealed_any else None
    return columns


class RecordSealer:
    """Turns send records into sealed rows and back, with the tenant's data keys."""

    def __init__(self, keys: KeyStore) -> None:
        self.keys = keys

    async def write_keys(
        self, tenant_id: str, epoch: str, *, with_index: bool = False
    ) -> WriteKeys:
        """The tenant's current keys of ``epoch`` (``None`` where that epoch was destroyed)."""
        version = await self.keys.tenant_version(tenant_id)
        recipient = await self.keys.writing_key(
            tenant_id, KeyPurpose.RECIPIENT, epoch, version=version
        )
        content = await self.keys.writing_key(tenant_id, KeyPurpose.CONTENT, epoch, version=version)
        index = (
            await self.keys.blind_index_key(tenant_id)
            if with_index and recipient is not None
            else None
        )
        return WriteKeys(recipient, content, None if index is None else index.secret)

    async def _epochs_of(self, row: CommunicationLog) -> tuple[str, str]:
        """The epochs a row's fields live in now: its month, or ``hold`` after retention
        moved a held record out of a month whose keys it destroyed."""
        month = epoch_of(row.created_at)
        ids = {i for i in (row.recipient_key_id, row.content_key_id) if i is not None}
        keys = await self.keys.keys_by_id(row.tenant_id, ids)

        def epoch(key_id: int | None) -> str:
            key = keys.get(key_id) if key_id is not None else None
            return key.epoch if key is not None else month

        return epoch(row.recipient_key_id), epoch(row.content_key_id)

    async def recipient_index(
        self, tenant_id: str, channel: Channel, recipient: str
    ) -> bytes | None:
        """The blind index a stored ``recipient`` would have (for exact-match lookups)."""
        index = await self.keys.blind_index_key(tenant_id)
        if index is None:
            return None
        return blind_index(index.secret, channel.value, blind_index_input(channel, recipient))

    async def recipient_digest(
        self, tenant_id: str, channel: Channel, recipient: str
    ) -> bytes | None:
        """The full keyed digest of a normalised ``recipient`` whose first bytes are its
        blind index (:func:`compliance.encryption.envelope.recipient_digest`); ``None``
        once the tenant's blind-index key is destroyed."""
        index = await self.keys.blind_index_key(tenant_id)
        if index is None:
            return None
        return recipient_digest(index.secret, channel.value, blind_index_input(channel, recipient))

    async def idempotency_digest(self, tenant_id: str, key: str) -> str | None:
        """What an ``Idempotency-Key`` of ``tenant_id`` is stored and looked up as; ``None``
        once the tenant's blind-index key is destroyed (shredded: nothing can match)."""
        index = await self.keys.blind_index_key(tenant_id)
        if index is None:
            return None
        return idempotency_digest(idempotency_key_secret(index.secret), key)

    async def seal_new(self, record: SendRecord, row: CommunicationLog) -> SendRecord:
        """Fill ``row``'s sealed columns from ``record`` (fields of destroyed epochs stay
        empty); return ``record`` as stored (``policies.disclosure.stored_form``)."""
        keys = await self.write_keys(record.tenant_id, epoch_of(record.created_at), with_index=True)
        stored = stored_form(record)
        for column, value in sealed_columns(stored, keys).items():
            setattr(row, column, value)
        return stored

    def _seal_columns(
        self,
        row: CommunicationLog,
        columns: Sequence[str],
        key: DataKey | None,
        values: Mapping[str, str | None],
        keep: set[str],
    ) -> None:
        """Seal ``columns`` of ``row`` from ``values`` under ``key``, except those in
        ``keep``, whose stored bytes stay as they are (unreadable evidence of tampering)."""
        for column in columns:
            if column not in keep:
                setattr(row, column, _seal(key, values[column], row.tenant_id, row.id, column))

    def _write(
        self,
        row: CommunicationLog,
        record: SendRecord,
        *,
        recipient_key: DataKey | None,
        content_key: DataKey | None,
        columns: Sequence[str],
        keep: set[str],
    ) -> None:
        """Write ``record`` (through :func:`stored_form`) into ``columns`` of ``row``: the
        recipient columns under ``recipient_key``, the content columns under
        ``content_key``, except the fields in ``keep`` (their bytes stay). The views and
        their rules version follow the fields."""
        stored = stored_form(record)
        values = stored_values(stored)
        if "recipient" in columns:
            if "recipient" in keep:  # erased, or unreadable evidence: no view of it
                row.shown_recipient = None
            else:
                self._seal_columns(row, RECIPIENT_COLUMNS, recipient_key, values, keep)
                if row.recipient is None:
                    row.shown_recipient = None
                    row.recipient_index = None
                row.recipient_key_id = (
                    recipient_key.key_id
                    if recipient_key is not None and row.recipient is not None
                    else None
                )
        self._seal_columns(row, CONTENT_COLUMNS, content_key, values, keep)
        sealed_any = any(getattr(row, column) is not None for column in CONTENT_COLUMNS)
        row.content_key_id = content_key.key_id if content_key is not None and sealed_any else None
        row.shown_version = stored.view_version

    async def reseal_content(
        self,
        row: CommunicationLog,
        opened: SendRecord,
        *,
        error: str | None,
        response: str | None,
    ) -> None:
        """Write a new error and/or response (``None``: keep what is stored), reduced to the
        provider's allow-list; all content fields move to the current content key of the
        row's epoch, so key accounting and retention's key destruction stay per row.

        ``opened`` must be opened with :attr:`Opening.ALL`. A row stored before views were
        kept (or under older rules) is re-sealed whole, with its views computed now."""
        replaced = {"error": error, "response": response}
        updated = replace(
            opened,
            error=opened.error if error is None else reduced_or_none(error, row.provider),
            response=(
                opened.response if response is None else reduced_or_none(response, row.provider)
            ),
        )
        keep = {
            column
            for column in FIELD_COLUMNS
            if column in opened.unreadable and replaced.get(column) is None
        }
        if opened.view is None or opened.view_version != RULES_VERSION:
            await self._reseal(row, updated, keep=keep, epoch=None)
            return
        _, content_epoch = await self._epochs_of(row)
        keys = await self.write_keys(row.tenant_id, content_epoch)
        self._write(
            row,
            updated,
            recipient_key=None,
            content_key=keys.content,
            columns=CONTENT_COLUMNS,
            keep=keep,
        )

    async def reseal_all(
        self, row: CommunicationLog, opened: SendRecord, *, epoch: str | None = None
    ) -> None:
        """Re-encrypt every readable field under the tenant's current keys of ``epoch``
        (default: the epochs the fields live in now). Unreadable fields keep their bytes;
        the views are re-sealed with them (computed anew if missing or stale).
        ``opened`` must be opened with :attr:`Opening.ALL`."""
        keep = {column for column in FIELD_COLUMNS if column in opened.unreadable}
        await self._reseal(row, opened, keep=keep, epoch=epoch)

    async def _reseal(
        self, row: CommunicationLog, record: SendRecord, *, keep: set[str], epoch: str | None
    ) -> None:
        recipient_epoch, content_epoch = await self._epochs_of(row)
        recipient_keys = await self.write_keys(row.tenant_id, epoch or recipient_epoch)
        content_keys = (
            recipient_keys
            if (epoch or content_epoch) == (epoch or recipient_epoch)
            else await self.write_keys(row.tenant_id, epoch or content_epoch)
        )
        if row.recipient is None:
            keep = keep | {"recipient"}  # erased: stays erased
        self._write(
            row,
            record,
            recipient_key=recipient_keys.recipient,
            content_key=content_keys.content,
            columns=SEALED_COLUMNS,
            keep=keep,
        )

    async def open_rows(
        self, rows: Sequence[StoredRow], opening: Opening = Opening.ALL
    ) -> list[SendRecord]:
        """Decrypt a page of rows with one key look-up per tenant on it.

        ``rows`` are ORM objects or plain mappings of column values (the page query reads
        Core rows: attribute instrumentation would cost more than the decryption).
        ``opening`` says which sealed columns are opened (:class:`Opening`).
        """
        mappings = [_as_mapping(row) for row in rows]
        # The keys the rows' key columns name: every envelope of a row is sealed under one
        # of them, except bytes kept as evidence after a failed check. An envelope naming
        # another key has it looked up when it is met (absent: not this tenant's).
        wanted: dict[str, set[int]] = defaultdict(set)
        for row in mappings:
            ids = wanted[row["tenant_id"]]
            for column in ("recipient_key_id", "content_key_id"):
                if row[column] is not None:
                    ids.add(row[column])
        keys = {
            tenant: dict(await self.keys.keys_by_id(tenant, ids)) for tenant, ids in wanted.items()
        }
        # The common masked read first, in one pass (_opened_shown); any row it declines
        # takes the checked way below, which finds and reports what is wrong.
        by_header = (
            {
                tenant: readers(
                    {key_id: key.aead for key_id, key in found.items() if key is not None}
                )
                for tenant, found in keys.items()
            }
            if opening is Opening.SHOWN
            else {}
        )
        records = []
        for row in mappings:
            tenant = row["tenant_id"]
            if by_header:
                shown = _opened_shown(row, by_header[tenant])
                if shown is not None:
                    records.append(shown)
                    continue
            while True:  # ends: each turn looks up one more of at most seven key ids
                try:
                    records.append(self._open(row, keys[tenant], opening, wanted[tenant]))
                    break
                except _KeyNotLookedUp as missing:
                    wanted[tenant].add(missing.key_id)
                    keys[tenant].update(await self.keys.keys_by_id(tenant, {missing.key_id}))
        return records

    def _open(
        self,
        row: Mapping[str, Any],
        keys: dict[int, DataKey | None],
        opening: Opening,
        looked_up: set[int],
    ) -> SendRecord:
        values: dict[str, str | None] = {}
        unreadable: set[str] | None = None
        damaged_view = False
        # A row's rules version is believed when one of its views opens under it (or its
        # view was erased with a destroyed key): see _context_name.
        proven = False
        context: bytes | None = None
        tenant_id, record_id = row["tenant_id"], row["id"]
        version = row["shown_version"]
        current = version == RULES_VERSION
        for column in _columns_to_open(row, opening):
            envelope: bytes | None = row[column]
            if envelope is None:
                continue
            try:
                key_id = key_id_of(envelope)
                if key_id not in keys:
                    if key_id not in looked_up:
                        raise _KeyNotLookedUp(key_id)
                    raise EnvelopeError("sealed with a key that is not this tenant's")
                key = keys[key_id]
                if key is None:
                    proven = proven or column in VIEW_COLUMNS
                    continue  # erased: its key was destroyed
                if context is None:
                    context = row_context(tenant_id, record_id)
                values[column] = open_checked_envelope(
                    key.aead, envelope, context + _CONTEXT_SUFFIXES[column]
                )
                proven = proven or column in VIEW_COLUMNS
            except EnvelopeError:
                # A damaged view shows its field as unreadable on a masked read;
                # re-sealing computes it anew from the field (``stored_form``).
                if unreadable is None:
                    unreadable = set()
                if column not in VIEW_COLUMNS:
                    unreadable.add(column)
                elif opening is Opening.SHOWN:
                    unreadable.add(VIEW_COLUMNS[column])
                else:
                    damaged_view = True
                logger.warning(
                    "integrity alert: record %s field %s failed authentication", record_id, column
                )
        if current and not proven:
            # No view opened: believed only for a row whose views and provider answers
            # were all erased (nothing is shown from them); else its views are taken as
            # damaged and its answers are reduced again on the way out.
            current = all(
                row[column] is None for column in ("shown_recipient", "shown_content", "error")
            ) and (row["response"] is None)
            if not current:
                logger.warning("integrity alert: record %s views do not open", record_id)
                if opening is Opening.SHOWN:
                    unreadable = (unreadable or set()) | {"recipient", "content"}
        view = None
        if current and opening is not Opening.FIELDS:
            view = StoredView(values.get("shown_recipient"), values.get("shown_content"))
            if opening is Opening.ALL and damaged_view:
                view = None  # re-sealing computes it anew from the fields
        return _record_of(
            row,
            recipient=values.get("recipient"),
            content=values.get("content"),
            error=values.get("error"),
            response=values.get("response"),
            template_params=values.get("template_params"),
            unreadable=frozenset(unreadable) if unreadable else _NOTHING_UNREADABLE,
            view=view,
            view_version=version
            if current and (view is not None or opening is Opening.FIELDS)
            else None,
        )


_CONTEXT_SUFFIXES = {
    column: column_context(b"", _context_name(column)) for column in SEALED_COLUMNS
}
"""What :func:`column_context` appends to a row's context for each sealed column."""
_SHOWN_SUFFIXES = tuple(_CONTEXT_SUFFIXES[column] for column in SHOWN_COLUMNS)


def _opened_shown(row: Mapping[str, Any], by_header: Mapping[bytes, AESGCM]) -> SendRecord | None:
    """What :meth:`RecordSealer._open` returns for a masked read (:attr:`Opening.SHOWN`)
    of a row in the state almost every row is in: stored under the current rules, with a
    view that opens, and every one of its views and provider answers present opening
    under a live key of ``by_header`` (:func:`readers`). ``None`` for any other row (an
    erased, damaged or forged column, a key not looked up, older rules), which the
    checked path reads.
    ``tests/compliance/test_opening_fast_path.py`` holds the two paths equal."""
    if row["shown_version"] != RULES_VERSION:
        return None
    opened = opened_or_none(
        by_header,
        [row[column] for column in SHOWN_COLUMNS],
        row_context(row["tenant_id"], row["id"]),
        _SHOWN_SUFFIXES,
    )
    if opened is None:
        return None
    shown_recipient, shown_content, error, response = opened
    if shown_recipient is None and shown_content is None:
        return None  # the version is believed only when a view opens
    return _record_of(
        row,
        recipient=None,
        content=None,
        error=error,
        response=response,
        template_params=None,
        unreadable=_NOTHING_UNREADABLE,
        view=StoredView(shown_recipient, shown_content),
        view_version=RULES_VERSION,
    )


def _record_of(
    row: Mapping[str, Any],
    *,
    recipient: str | None,
    content: str | None,
    error: str | None,
    response: str | None,
    template_params: str | None,
    unreadable: frozenset[str],
    view: StoredView | None,
    view_version: int | None,
) -> SendRecord:
    """The record of ``row``: its plain columns, and what was opened of its sealed ones."""
    return SendRecord(
        id=row["id"],
        tenant_id=row["tenant_id"],
        user_id=row["user_id"],
        channel=_CHANNELS[row["channel"]],
        provider=row["provider"],
        template_id=row["template_id"],
        recipient=recipient,
        content=content,
        status=_STATUSES[row["status"]],
        error=error,
        response=response,
        created_at=row["created_at"],
        sent_at=row["sent_at"],
        updated_at=row["updated_at"],
        template_version=row["template_version"],
        template_params=template_params,
        content_erase_after=row["content_erase_after"],
        unreadable=unreadable,
        view=view,
        view_version=view_version,
    )


_CHANNELS = {channel.value: channel for channel in Channel}
_STATUSES = {status.value: status for status in DeliveryStatus}
_NOTHING_UNREADABLE: frozenset[str] = frozenset()
COLUMN_NAMES = tuple(column.key for column in CommunicationLog.__table__.columns)
UNREAD_COLUMNS = frozenset(("idempotency_key", "request_fingerprint", "recipient_index"))
"""Columns a record is not opened from: a read that opens records leaves them out."""
StoredRow = CommunicationLog | Mapping[str, Any]


class _KeyNotLookedUp(Exception):
    def __init__(self, key_id: int) -> None:
        self.key_id = key_id


def _columns_to_open(row: Mapping[str, Any], opening: Opening) -> tuple[str, ...]:
    """The sealed columns ``opening`` reads of ``row``: views only exist for rows written
    under the current rules."""
    if row["shown_version"] != RULES_VERSION:
        return FIELD_COLUMNS
    if opening is Opening.SHOWN:
        return SHOWN_COLUMNS
    # A read of the fields opens the content's view too, only to believe the version.
    return SEALED_COLUMNS if opening is Opening.ALL else FIELDS_AND_PROOF


def _as_mapping(row: StoredRow) -> Mapping[str, Any]:
    if isinstance(row, CommunicationLog):
        return {name: getattr(row, name) for name in COLUMN_NAMES}
    return row
