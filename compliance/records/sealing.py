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

import contextlib
import logging
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from compliance.encryption.envelope import (
    EnvelopeError,
    blind_index,
    field_context,
    idempotency_digest,
    idempotency_key_secret,
    key_id_of,
    open_envelope,
    recipient_digest,
    seal,
)
from compliance.encryption.keystore import DataKey, KeyPurpose, KeyStore, epoch_of
from compliance.records.models import CommunicationLog
from policies.channels import Channel, DeliveryStatus
from policies.recipients import blind_index_input
from policies.records import SendRecord

logger = logging.getLogger("commlog.integrity")

RECIPIENT_COLUMNS = ("recipient",)
CONTENT_COLUMNS = ("content", "error", "response", "template_params")
SEALED_COLUMNS = RECIPIENT_COLUMNS + CONTENT_COLUMNS


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
    return seal(key.aead, key.key_id, value, field_context(tenant_id, record_id, column))


def sealed_columns(record: SendRecord, keys: WriteKeys) -> dict[str, Any]:
    """The sealed columns of a new row for ``record`` under ``keys`` (its epoch's write
    keys): envelopes, blind index and key ids; fields of destroyed epochs stay empty."""
    tenant, rid = record.tenant_id, record.id
    recipient = _seal(keys.recipient, record.recipient, tenant, rid, "recipient")
    columns: dict[str, Any] = {
        "recipient": recipient,
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
        sealed = _seal(key, getattr(record, column), tenant, rid, column)
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

    async def seal_new(self, record: SendRecord, row: CommunicationLog) -> None:
        """Fill ``row``'s sealed columns from ``record`` (fields of destroyed epochs stay empty)."""
        keys = await self.write_keys(record.tenant_id, epoch_of(record.created_at), with_index=True)
        for column, value in sealed_columns(record, keys).items():
            setattr(row, column, value)

    def _seal_content(
        self, row: CommunicationLog, key: DataKey | None, values: Mapping[str, str | None]
    ) -> None:
        tenant, rid = row.tenant_id, row.id
        for column in CONTENT_COLUMNS:
            setattr(row, column, _seal(key, values[column], tenant, rid, column))
        sealed_any = any(getattr(row, column) is not None for column in CONTENT_COLUMNS)
        row.content_key_id = key.key_id if key is not None and sealed_any else None

    def _reseal_content_fields(
        self,
        row: CommunicationLog,
        key: DataKey | None,
        values: dict[str, str | None],
        keep: set[str],
    ) -> None:
        """Seal the content fields under ``key``, except the columns in ``keep``, whose
        stored bytes stay as they are (unreadable evidence of tampering)."""
        kept = {column: getattr(row, column) for column in keep}
        self._seal_content(row, key, values)
        for column, stored in kept.items():
            setattr(row, column, stored)

    async def reseal_content(
        self,
        row: CommunicationLog,
        opened: SendRecord,
        *,
        error: str | None,
        response: str | None,
    ) -> None:
        """Write a new error and/or response (``None``: keep what is stored); all content
        fields move to the current content key of the row's epoch, so key accounting and
        retention's key destruction stay per row."""
        _, content_epoch = await self._epochs_of(row)
        keys = await self.write_keys(row.tenant_id, content_epoch)
        replaced = {"error": error, "response": response}
        values = {
            "content": opened.content,
            "error": error if error is not None else opened.error,
            "response": response if response is not None else opened.response,
            "template_params": opened.template_params,
        }
        keep = {
            column
            for column in CONTENT_COLUMNS
            if column in opened.unreadable and replaced.get(column) is None
        }
        self._reseal_content_fields(row, keys.content, values, keep)

    async def reseal_all(
        self, row: CommunicationLog, opened: SendRecord, *, epoch: str | None = None
    ) -> None:
        """Re-encrypt every readable field under the tenant's current keys of ``epoch``
        (default: the epochs the fields live in now). Unreadable fields keep their bytes."""
        recipient_epoch, content_epoch = await self._epochs_of(row)
        recipient_keys = await self.write_keys(row.tenant_id, epoch or recipient_epoch)
        content_keys = (
            recipient_keys
            if (epoch or content_epoch) == (epoch or recipient_epoch)
            else await self.write_keys(row.tenant_id, epoch or content_epoch)
        )
        if "recipient" not in opened.unreadable and row.recipient is not None:
            key = recipient_keys.recipient
            row.recipient = _seal(key, opened.recipient, row.tenant_id, row.id, "recipient")
            row.recipient_key_id = key.key_id if key is not None else None
            if row.recipient is None:
                row.recipient_index = None
        values = {column: getattr(opened, column) for column in CONTENT_COLUMNS}
        keep = {column for column in CONTENT_COLUMNS if column in opened.unreadable}
        self._reseal_content_fields(row, content_keys.content, values, keep)

    async def open_rows(self, rows: Sequence[StoredRow]) -> list[SendRecord]:
        """Decrypt a page of rows with one key look-up per tenant on it.

        ``rows`` are ORM objects or plain mappings of column values (the page query reads
        Core rows: attribute instrumentation would cost more than the decryption).
        """
        mappings = [_as_mapping(row) for row in rows]
        wanted: dict[str, set[int]] = defaultdict(set)
        for row in mappings:
            for column in SEALED_COLUMNS:
                envelope = row[column]
                if envelope is not None:
                    with contextlib.suppress(EnvelopeError):
                        wanted[row["tenant_id"]].add(key_id_of(envelope))
        keys = {tenant: await self.keys.keys_by_id(tenant, ids) for tenant, ids in wanted.items()}
        return [self._open(row, keys.get(row["tenant_id"], {})) for row in mappings]

    def _open(self, row: Mapping[str, Any], keys: dict[int, DataKey | None]) -> SendRecord:
        values: dict[str, str | None] = {}
        unreadable: set[str] = set()
        tenant_id, record_id = row["tenant_id"], row["id"]
        for column in SEALED_COLUMNS:
            envelope: bytes | None = row[column]
            values[column] = None
            if envelope is None:
                continue
            try:
                key_id = key_id_of(envelope)
                if key_id not in keys:
                    raise EnvelopeError("sealed with a key that is not this tenant's")
                key = keys[key_id]
                if key is None:
                    continue  # erased: its key was destroyed
                values[column] = open_envelope(
                    key.aead, envelope, field_context(tenant_id, record_id, column)
                )
            except EnvelopeError:
                unreadable.add(column)
                logger.warning(
                    "integrity alert: record %s field %s failed authentication", record_id, column
                )
        return SendRecord(
            id=record_id,
            tenant_id=tenant_id,
            user_id=row["user_id"],
            channel=_CHANNELS[row["channel"]],
            provider=row["provider"],
            template_id=row["template_id"],
            recipient=values["recipient"],
            content=values["content"],
            status=_STATUSES[row["status"]],
            error=values["error"],
            response=values["response"],
            created_at=row["created_at"],
            sent_at=row["sent_at"],
            updated_at=row["updated_at"],
            template_version=row["template_version"],
            template_params=values["template_params"],
            content_erase_after=row["content_erase_after"],
            unreadable=frozenset(unreadable) if unreadable else _NOTHING_UNREADABLE,
        )


_CHANNELS = {channel.value: channel for channel in Channel}
_STATUSES = {status.value: status for status in DeliveryStatus}
_NOTHING_UNREADABLE: frozenset[str] = frozenset()
COLUMN_NAMES = tuple(column.key for column in CommunicationLog.__table__.columns)
StoredRow = CommunicationLog | Mapping[str, Any]


def _as_mapping(row: StoredRow) -> Mapping[str, Any]:
    if isinstance(row, CommunicationLog):
        return {name: getattr(row, name) for name in COLUMN_NAMES}
    return row
