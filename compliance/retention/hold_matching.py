"""Which records a legal hold keeps: the stored forms of a recipient hold's recipient,
and the SQL predicates every retention stage and a subject erasure apply.

Ingest stores an SMS recipient in the form it was given (``policies.recipients``:
``+8613812348004``, ``008613812348004``, ``13812348004``…), each with its own blind index.
A recipient hold keeps the index of every form it holds in ``legal_hold_recipient_forms``
(migration 0011), and the retention job's hold check (``holds.hold_covers``) matches a
record whose index equals any of them, so the hold keeps what GDPR Art. 17(3)(b) and (e)
require whatever form ingest stored it in.

Which forms: those that carry the country code (``UNAMBIGUOUS_PHONE_FORMS``, the forms a
subject access request hands over). The national forms are left out: the same national
digits are a possible number in dozens of countries, someone else's, and a hold on them
would keep that person's records past their retention window (GDPR Art. 5(1)(e)) on a
blind-index match no decryption can settle (the stored digits are identical). Placing
the hold counts the tenant's records under those forms (``other_forms_found``) so the
officer can widen the hold (scope ``user``) when they are the person's.

:func:`hold_covers` is the one definition of "this hold keeps this record";
:func:`held`, :func:`not_held` and :func:`holds_covering` are built on it, so the job's
stages and its reports never disagree. Storing, changing and releasing holds is
:mod:`compliance.retention.holds`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime, timedelta

from sqlalchemy import ColumnElement, and_, delete, exists, false, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from compliance.records.models import CommunicationLog
from compliance.records.sealing import RecordSealer
from compliance.retention.models import LegalHold, LegalHoldRecipientForm
from policies.channels import Channel
from policies.holds import HoldScope
from policies.recipients import UNAMBIGUOUS_PHONE_FORMS, phone_forms
from policies.retention import Stage

CANONICAL_FORM = "canonical"
"""The form name of an email address's or a device token's one stored form."""


async def phone_form_indexes(sealer: RecordSealer, tenant_id: str, e164: str) -> dict[str, bytes]:
    """The blind index of every form ingest may have stored ``e164`` in
    (:func:`policies.recipients.phone_forms`), by form name; empty once shredded."""
    indexes: dict[str, bytes] = {}
    for name, form in phone_forms(e164).items():
        index = await sealer.recipient_index(tenant_id, Channel.SMS, form)
        if index is None:
            return {}
        indexes[name] = index
    return indexes


def held_forms(indexes: Mapping[str, bytes]) -> tuple[dict[str, bytes], list[bytes]]:
    """Split a number's form indexes into those a hold keeps (the forms with the country
    code) and the others (national forms, which may be another person's number)."""
    kept = {name: index for name, index in indexes.items() if name in UNAMBIGUOUS_PHONE_FORMS}
    others = [index for name, index in indexes.items() if name not in kept]
    return kept, others


def add_forms(session: AsyncSession, hold_id: str, indexes: Mapping[str, bytes]) -> None:
    """Store the index of each form ``hold_id`` keeps (flushed with the hold)."""
    session.add_all(
        LegalHoldRecipientForm(hold_id=hold_id, form=name, recipient_index=index)
        for name, index in indexes.items()
    )


async def drop_forms(session: AsyncSession, hold_ids: Iterable[str]) -> None:
    """Delete the stored form indexes of these holds (on release and purge: a hold that
    ended keeps no keyed hash of its recipient)."""
    ids = list(hold_ids)
    if ids:
        await session.execute(
            delete(LegalHoldRecipientForm)
            .where(LegalHoldRecipientForm.hold_id.in_(ids))
            .execution_options(synchronize_session=False)
        )


def matches_a_form() -> ColumnElement[bool]:
    """SQL: the ``CommunicationLog`` row of the surrounding query carries the blind index of
    one of the stored forms of the surrounding query's ``LegalHold`` row."""
    form = LegalHoldRecipientForm
    # Correlated to whichever enclosing query holds each row (it sits inside the EXISTS
    # over legal holds of ``holds.hold_covers``, two levels below the record).
    return (
        exists()
        .where(
            form.hold_id == LegalHold.id,
            form.recipient_index == CommunicationLog.recipient_index,
        )
        .correlate_except(form)
    )


async def count_indexed(
    session: AsyncSession,
    tenant_id: str,
    channel: Channel,
    indexes: Sequence[bytes],
    user_id: str | None,
) -> int:
    """How many of the tenant's records on ``channel`` carry one of ``indexes`` (by blind
    index only, not confirmed by decryption: an upper bound)."""
    if not indexes:
        return 0
    log = CommunicationLog
    statement = (
        select(func.count())
        .select_from(log)
        .where(
            log.tenant_id == tenant_id,
            log.channel == channel.value,
            log.recipient_index.in_(list(indexes)),
        )
    )
    if user_id is not None:
        statement = statement.where(log.user_id == user_id)
    return int(await session.scalar(statement) or 0)


def purgeable(tenant_id: str, now: datetime, kept: timedelta) -> ColumnElement[bool]:
    """SQL: the tenant's holds released, or lapsed, at least ``kept`` ago (purge window)."""
    limit = now - kept
    return and_(
        LegalHold.tenant_id == tenant_id,
        or_(
            LegalHold.released_at <= limit,
            and_(LegalHold.released_at.is_(None), LegalHold.expires_at <= limit),
        ),
    )


def hold_covers(now: datetime, stage: Stage | None = None) -> list[ColumnElement[bool]]:
    """SQL conditions: the ``LegalHold`` row is active at ``now`` and covers the
    ``CommunicationLog`` row of the surrounding query for ``stage`` (:func:`not_held`,
    :func:`held` and :func:`holds_covering` are all built on it, so they never disagree)."""
    hold = LegalHold
    log = CommunicationLog
    conditions: list[ColumnElement[bool]] = [
        hold.tenant_id == log.tenant_id,
        hold.released_at.is_(None),
        or_(hold.expires_at.is_(None), hold.expires_at > now),
        or_(hold.created_before.is_(None), log.created_at < hold.created_before),
        or_(
            hold.scope == HoldScope.TENANT.value,
            and_(hold.scope == HoldScope.USER.value, hold.user_id == log.user_id),
            and_(
                hold.scope == HoldScope.RECIPIENT.value,
                hold.channel == log.channel,
                or_(hold.user_id.is_(None), hold.user_id == log.user_id),
                # Any stored form of the recipient (migration 0011; a hold placed before
                # it has its one index there).
                matches_a_form(),
            ),
        ),
    ]
    if stage is Stage.CONTENT:
        # Content its template declared short-lived goes on its own window even under a
        # hold, unless the hold keeps it (policies.holds).
        conditions.append(
            or_(hold.keep_short_lived_content.is_(True), log.content_erase_after.is_(None))
        )
    return conditions


def held_in_any_form(
    now: datetime, indexes: Mapping[Channel, Sequence[bytes]]
) -> ColumnElement[bool]:
    """SQL: an active recipient hold of the surrounding ``CommunicationLog`` row's tenant
    names, on the row's channel, one of ``indexes`` (every stored form of the subject's
    number), within its ``created_before`` and user. A subject erasure adds this to
    :func:`held` for records it has confirmed are the subject's, so a record stored in a
    national form is kept by a hold placed on the E.164 form (and the other way round)."""
    hold = LegalHold
    log = CommunicationLog
    per_channel = [
        and_(
            hold.channel == channel.value,
            log.channel == channel.value,
            hold.recipient_index.in_(list(values)),
        )
        for channel, values in indexes.items()
        if values
    ]
    if not per_channel:
        return false()
    return exists().where(
        hold.tenant_id == log.tenant_id,
        hold.released_at.is_(None),
        or_(hold.expires_at.is_(None), hold.expires_at > now),
        or_(hold.created_before.is_(None), log.created_at < hold.created_before),
        hold.scope == HoldScope.RECIPIENT.value,
        hold.recipient_index.is_not(None),
        or_(hold.user_id.is_(None), hold.user_id == log.user_id),
        or_(*per_channel),
    )


async def holds_covering_forms(
    session: AsyncSession,
    tenant_id: str,
    record_ids: list[str],
    now: datetime,
    indexes: Mapping[Channel, Sequence[bytes]],
) -> dict[str, int]:
    """Like :func:`holds_covering`, for the holds :func:`held_in_any_form` finds and
    :func:`hold_covers` does not (a hold whose stored forms leave out the record's)."""
    per_channel = [
        and_(
            LegalHold.channel == channel.value,
            CommunicationLog.channel == channel.value,
            LegalHold.recipient_index.in_(list(values)),
            ~matches_a_form(),
        )
        for channel, values in indexes.items()
        if values
    ]
    if not record_ids or not per_channel:
        return {}
    rows = await session.execute(
        select(LegalHold.id, func.count(CommunicationLog.id))
        .select_from(CommunicationLog)
        .join(
            LegalHold,
            and_(
                LegalHold.tenant_id == CommunicationLog.tenant_id,
                LegalHold.released_at.is_(None),
                or_(LegalHold.expires_at.is_(None), LegalHold.expires_at > now),
                or_(
                    LegalHold.created_before.is_(None),
                    CommunicationLog.created_at < LegalHold.created_before,
                ),
                LegalHold.scope == HoldScope.RECIPIENT.value,
                or_(LegalHold.user_id.is_(None), LegalHold.user_id == CommunicationLog.user_id),
                or_(*per_channel),
            ),
        )
        .where(CommunicationLog.tenant_id == tenant_id, CommunicationLog.id.in_(record_ids))
        .group_by(LegalHold.id)
    )
    return {hold_id: int(count) for hold_id, count in rows.all()}


def _covering(now: datetime, stage: Stage | None) -> ColumnElement[bool]:
    return exists().where(*hold_covers(now, stage))


async def holds_covering(
    session: AsyncSession, tenant_id: str, record_ids: list[str], now: datetime
) -> dict[str, int]:
    """For each active hold of ``tenant_id`` that covers some of ``record_ids`` (for any
    stage): how many (a record two holds cover counts for both)."""
    if not record_ids:
        return {}
    rows = await session.execute(
        select(LegalHold.id, func.count(CommunicationLog.id))
        .select_from(CommunicationLog)
        .join(LegalHold, and_(*hold_covers(now)))
        .where(CommunicationLog.tenant_id == tenant_id, CommunicationLog.id.in_(record_ids))
        .group_by(LegalHold.id)
    )
    return {hold_id: int(count) for hold_id, count in rows.all()}


def not_held(now: datetime, stage: Stage | None = None) -> ColumnElement[bool]:
    """SQL: the send record of the surrounding query is covered by no active hold for
    ``stage`` (``None``: for any stage, the record itself)."""
    return ~_covering(now, stage)


def held(now: datetime, stage: Stage | None = None) -> ColumnElement[bool]:
    """SQL: the send record of the surrounding query is covered by an active hold for
    ``stage`` (see :func:`not_held`)."""
    return _covering(now, stage)


__all__ = [
    "CANONICAL_FORM",
    "add_forms",
    "count_indexed",
    "drop_forms",
    "held",
    "held_forms",
    "held_in_any_form",
    "hold_covers",
    "holds_covering",
    "holds_covering_forms",
    "matches_a_form",
    "not_held",
    "phone_form_indexes",
    "purgeable",
]
