"""Which send records belong to a request's subject.

By user id: the user's records in the tenant. By recipient: the blind index narrows the
candidates on each channel the request matches on, and each candidate is decrypted and
its recipient's full keyed digest compared with the request's, so a record whose
truncated index merely collides with the subject's is never returned nor erased (the
same rule as :meth:`compliance.records.repository.SendLogRepository.find_by_recipient`).
A candidate whose recipient fails its integrity check cannot be confirmed either; it is
counted as ``unconfirmed``.
"""

from __future__ import annotations

import hmac
from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import ColumnElement, Select, and_, false, or_, select

from compliance.encryption.envelope import recipient_digest
from compliance.records.models import CommunicationLog
from compliance.records.sealing import SEALED_COLUMNS, RecordSealer
from compliance.subjects.requests import SubjectRequest
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
        self._digests = {m.channel: m.digest for m in request.recipients}
        self._secret: bytes | None = None

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
        kept = [record for record in records if self._is_subjects(record, self._secret)]
        return kept, len(records) - len(kept)

    def _is_subjects(self, record: SendRecord, secret: bytes) -> bool:
        expected = self._digests.get(record.channel)
        if expected is None or record.recipient is None or "recipient" in record.unreadable:
            return False
        actual = recipient_digest(
            secret, record.channel.value, blind_index_input(record.channel, record.recipient)
        )
        return hmac.compare_digest(actual, expected)


def has_personal_fields(row: Mapping[str, Any]) -> bool:
    """Whether a stored row still holds any field an erasure clears."""
    return any(row[column] is not None for column in (*SEALED_COLUMNS, "recipient_index"))


__all__ = ["SubjectMatcher", "candidates_after", "has_personal_fields", "subject_filter"]
