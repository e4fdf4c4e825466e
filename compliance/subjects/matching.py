"""Which send records belong to a request's subject.

By user id: the user's records in the tenant. By recipient: the blind index narrows the
candidates on each channel the request matches on, and each candidate is decrypted and
its recipient's full keyed digest compared with the request's, so a record whose
truncated index merely collides with the subject's is never returned nor erased (the
same rule as :meth:`compliance.records.repository.SendLogRepository.find_by_recipient`).
A candidate whose recipient fails its integrity check cannot be confirmed either; it is
counted as ``unconfirmed``. A phone number is matched in each form it may be stored in
(one digest per form); :attr:`SubjectMatcher.by_form` counts the confirmed records per form.
"""

from __future__ import annotations

import hmac
from collections import Counter
from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import ColumnElement, Select, and_, false, or_, select

from compliance.encryption.envelope import recipient_digest
from compliance.records.models import CommunicationLog
from compliance.records.sealing import SEALED_COLUMNS, RecordSealer
from compliance.subjects.requests import SubjectRequest
from policies.channels import Channel
from policies.recipients import blind_index_input
from policies.records import SendRecord


def subject_filter(request: SubjectRequest) -> list[ColumnElement[bool]]:
    """SQL: the tenant's records that may be the subject's (candidates, before decryption
    confirms a recipient match)."""
    log = CommunicationLog
    where: list[ColumnElement[bool]] = [log.tenant_id == request.tenant_id]
    if request.user_id is not None:
        where.append(log.user_id == request.user_id)
    elif request.recipients:
        where.append(
            or_(
                *(
                    and_(log.channel == m.channel.value, log.recipient_index == m.index)
                    for m in request.recipients
                )
            )
        )
    else:  # pragma: no cover - a stored request always names its subject
        where.append(false())
    return where


def candidates_after(request: SubjectRequest, after: str | None, limit: int) -> Select[Any]:
    """The next ``limit`` candidate rows (Core rows) in id order, after id ``after``."""
    where = subject_filter(request)
    if after is not None:
        where.append(CommunicationLog.id > after)
    return (
        select(CommunicationLog.__table__).where(*where).order_by(CommunicationLog.id).limit(limit)
    )


class SubjectMatcher:
    """Confirms candidates of one request by decrypting their recipient."""

    def __init__(self, request: SubjectRequest, sealer: RecordSealer) -> None:
        self.request = request
        self.sealer = sealer
        self._digests: dict[Channel, dict[bytes, str | None]] = {}
        for m in request.recipients:
            self._digests.setdefault(m.channel, {})[m.digest] = m.form
        self._secret: bytes | None = None
        self.by_form: Counter[str] = Counter()
        """Confirmed records per stored form of a phone number (``e164``, ``national``…)."""

    async def confirmed(self, records: Sequence[SendRecord]) -> tuple[list[SendRecord], int]:
        """The records of ``records`` that are the subject's, and how many candidates
        could not be confirmed (another recipient, or an unreadable one)."""
        if self.request.user_id is not None:
            return list(records), 0
        if self._secret is None:
            index = await self.sealer.keys.blind_index_key(self.request.tenant_id)
            if index is None:  # shredded since: nothing can be confirmed any more
                return [], len(records)
            self._secret = index.secret
        kept = []
        for record in records:
            found, form = self._is_subjects(record, self._secret)
            if found:
                kept.append(record)
                if form is not None:
                    self.by_form[form] += 1
        return kept, len(records) - len(kept)

    def _is_subjects(self, record: SendRecord, secret: bytes) -> tuple[bool, str | None]:
        expected = self._digests.get(record.channel)
        if expected is None or record.recipient is None or "recipient" in record.unreadable:
            return False, None
        actual = recipient_digest(
            secret, record.channel.value, blind_index_input(record.channel, record.recipient)
        )
        for digest, form in expected.items():
            if hmac.compare_digest(actual, digest):
                return True, form
        return False, None


def has_personal_fields(row: Mapping[str, Any]) -> bool:
    """Whether a stored row still holds any field an erasure clears."""
    return any(row[column] is not None for column in (*SEALED_COLUMNS, "recipient_index"))


__all__ = ["SubjectMatcher", "candidates_after", "has_personal_fields", "subject_filter"]
