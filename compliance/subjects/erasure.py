"""Carrying out an erasure request (GDPR Art. 17, PIPL Art. 47) in bounded batches.

Each batch is one short write transaction, like the retention job's: it locks the
request row, takes the next candidates after the request's cursor (in id order),
confirms them (:mod:`compliance.subjects.matching`), clears the personal fields of those
no active legal hold covers, writes their ids to ``subject_request_erasures``, and moves
the cursor and the running counts forward. A crash loses at most the batch in flight:
the request stays ``open`` with the counts so far, and a rerun (:func:`run_erasure`
again) goes on from the cursor. The batch that finds nothing left completes the request
and appends ``subject_request.erasure`` with the counts, the held counts per hold and
the SHA-256 over the sorted ids it erased, in the same transaction.

Held records (GDPR Art. 17(3)(b) and (e)) keep every field; they are counted as held,
per covering hold. A hold placed while the erasure runs wins: the hold is checked again
in the statement that erases.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, cast

import msgspec
from sqlalchemy import insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from compliance.audit.trail import append_event
from compliance.encryption.master import MasterKeyring
from compliance.records.models import CommunicationLog
from compliance.records.sealing import RecordSealer
from compliance.retention.hold_matching import (
    held_in_any_form,
    holds_covering,
    holds_covering_forms,
    not_held,
)
from compliance.subjects.matching import SubjectMatcher, candidates_after, has_personal_fields
from compliance.subjects.models import SubjectRequestErasure, SubjectRequestRow
from compliance.subjects.requests import (
    SubjectRequest,
    SubjectRequestWrongType,
    get_request,
    view,
)
from compliance.transactions import begin_write, commit
from policies.audit_chain import Actor
from policies.subject_requests import RequestStatus, RequestType, ids_digest

DEFAULT_BATCH_SIZE = 500

ERASED_FIELDS: Mapping[str, None] = {
    "recipient": None,
    "shown_recipient": None,
    "recipient_index": None,
    "recipient_key_id": None,
    "content": None,
    "error": None,
    "response": None,
    "template_params": None,
    "shown_content": None,
    "content_key_id": None,
}
"""What an erasure clears: what the retention job's recipient and content stages clear
together (recipient, its blind index, content, error, response, template parameters,
the masked views of recipient and content, and the ids of the keys that sealed them).
Ids, user id, channel, provider, template id, status and times stay: they are what
remains of a send once its personal fields are gone."""


@dataclass(frozen=True, slots=True, kw_only=True)
class ErasureOptions:
    batch_size: int = DEFAULT_BATCH_SIZE
    after_batch: Callable[[], Awaitable[None]] | None = None
    """Called after each committed batch (tests use it to crash mid-way)."""
    now: Callable[[], datetime] | None = None


def _counts(outcome: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "matched": int(outcome.get("matched", 0)),
        "erased": int(outcome.get("erased", 0)),
        "already_erased": int(outcome.get("already_erased", 0)),
        "held": int(outcome.get("held", 0)),
        "held_by": dict(outcome.get("held_by", {})),
        "unconfirmed": int(outcome.get("unconfirmed", 0)),
        "matched_by_form": dict(outcome.get("matched_by_form", {})),
        "batches": int(outcome.get("batches", 0)),
    }


async def run_erasure(
    session: AsyncSession,
    sealer: RecordSealer,
    master: MasterKeyring,
    request_id: str,
    *,
    actor: Actor,
    tenant_id: str | None = None,
    options: ErasureOptions | None = None,
) -> SubjectRequest:
    """Erase what remains to erase of request ``request_id``, one committed batch at a
    time on ``session`` (which must have no transaction open); return it completed.

    A completed request is returned as it is. ``tenant_id`` confines the look-up to one
    tenant (the API). Raises :class:`SubjectRequestNotFound`,
    :class:`SubjectRequestWrongType` (an access request), or the commit's failure
    (:class:`compliance.transactions.CommitFailed`), with every earlier batch committed.
    """
    settings = options or ErasureOptions()
    clock = settings.now or (lambda: datetime.now(UTC))
    while True:
        await begin_write(session)
        row = await get_request(session, request_id, tenant_id=tenant_id, lock=True)
        if row.type != RequestType.ERASURE.value:
            await session.rollback()
            raise SubjectRequestWrongType("this is an access request: there is nothing to run")
        if row.status == RequestStatus.COMPLETED.value:
            request = view(row)
            await session.rollback()
            return request
        finished = await _one_batch(session, sealer, master, row, actor, settings, clock())
        request = view(row)
        await commit(session, operation="subject_request_erasure_batch")
        if finished:
            return request
        if settings.after_batch is not None:
            await settings.after_batch()


async def _one_batch(
    session: AsyncSession,
    sealer: RecordSealer,
    master: MasterKeyring,
    row: SubjectRequestRow,
    actor: Actor,
    options: ErasureOptions,
    now: datetime,
) -> bool:
    """One batch in the caller's transaction; True when the request is completed."""
    request = view(row)
    counts = _counts(request.outcome)
    rows = [
        cast("Mapping[str, Any]", r._mapping)
        for r in await session.execute(candidates_after(request, row.cursor, options.batch_size))
    ]
    if not rows:
        await _complete(session, master, row, request, counts, actor, now)
        return True
    records = await sealer.open_rows(rows)
    matcher = SubjectMatcher(request, sealer)
    mine, unconfirmed = await matcher.confirmed(records)
    indexes = request.indexes_by_channel()
    by_id = {r["id"]: r for r in rows}
    empty = [record.id for record in mine if not has_personal_fields(by_id[record.id])]
    wanted = [record.id for record in mine if has_personal_fields(by_id[record.id])]
    erased: list[str] = []
    if wanted:
        # Held again in the statement itself: a hold committed since the candidates were
        # read wins.
        result = await session.execute(
            update(CommunicationLog)
            .where(
                CommunicationLog.id.in_(wanted),
                not_held(now),
                # A hold on any stored form of the subject's number keeps the record too
                # (the hold's own index only matches records stored in its form).
                ~held_in_any_form(now, indexes),
            )
            .values(dict(ERASED_FIELDS))
            .returning(CommunicationLog.id)
            .execution_options(synchronize_session=False)
        )
        erased = list(result.scalars())
    held = sorted(set(wanted) - set(erased))
    if erased:
        await session.execute(
            insert(SubjectRequestErasure),
            [{"request_id": row.id, "record_id": record_id} for record_id in erased],
        )
    for hold_id, count in (await holds_covering(session, request.tenant_id, held, now)).items():
        counts["held_by"][hold_id] = counts["held_by"].get(hold_id, 0) + count
    other_forms = await holds_covering_forms(session, request.tenant_id, held, now, indexes)
    for hold_id, count in other_forms.items():
        counts["held_by"][hold_id] = counts["held_by"].get(hold_id, 0) + count
    for form, count in matcher.by_form.items():
        counts["matched_by_form"][form] = counts["matched_by_form"].get(form, 0) + count
    counts["matched"] += len(mine)
    counts["erased"] += len(erased)
    counts["already_erased"] += len(empty)
    counts["held"] += len(held)
    counts["unconfirmed"] += unconfirmed
    counts["batches"] += 1
    row.outcome = msgspec.json.encode(counts).decode()
    row.cursor = rows[-1]["id"]
    await session.flush()
    return False


async def _complete(
    session: AsyncSession,
    master: MasterKeyring,
    row: SubjectRequestRow,
    request: SubjectRequest,
    counts: dict[str, Any],
    actor: Actor,
    now: datetime,
) -> None:
    erased_ids = list(
        (
            await session.execute(
                select(SubjectRequestErasure.record_id).where(
                    SubjectRequestErasure.request_id == row.id
                )
            )
        ).scalars()
    )
    counts["erased_ids_sha256"] = ids_digest(erased_ids)
    event = await append_event(
        session,
        master,
        tenant_id=request.tenant_id,
        actor=actor,
        action="subject_request.erasure",
        target=row.id,
        details={
            "request_id": row.id,
            "reference_sha256": row.reference_sha256,
            "match": request.match_details(),
            "matched": counts["matched"],
            "erased": counts["erased"],
            "already_erased": counts["already_erased"],
            "held": counts["held"],
            "held_by": counts["held_by"],
            "unconfirmed": counts["unconfirmed"],
            "matched_by_form": counts["matched_by_form"],
            "erased_ids_sha256": counts["erased_ids_sha256"],
        },
    )
    row.outcome = msgspec.json.encode(counts).decode()
    row.status = RequestStatus.COMPLETED.value
    row.completed_at = now
    row.audit_event_id = event.id
    await session.flush()


__all__ = ["DEFAULT_BATCH_SIZE", "ERASED_FIELDS", "ErasureOptions", "run_erasure"]
