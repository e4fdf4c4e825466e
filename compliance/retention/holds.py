"""Legal holds: keep records from retention while a legal claim or obligation needs them.

GDPR Art. 17(3)(b) (a legal obligation) and 17(3)(e) (legal claims) are the exceptions
to erasure a hold stands on. The rules a hold must follow (an explicit scope, an end or a
review date within the configured maximum, what ``created_before`` and the short-lived
content exemption mean) are pure and live in :mod:`policies.holds`; this module stores
holds and gives the retention job the SQL predicates (:func:`held`, :func:`not_held`)
that every stage applies. The API and the CLI both call the functions here, so they apply
the same rules.

A recipient is matched through the blind index: it is never stored in clear, only its
keyed hash (cleared on release) and its masked form. An SMS recipient must be named with
its country code (:func:`policies.recipients.international_phone`); the hold keeps the
E.164 form's index only (one column), so records ingest stored under another form of the
number (national digits, ``00``…) are not held by the retention job. Placing the hold
counts them (``other_forms_found``) so the officer knows; a subject erasure does honour a
hold on any form (:func:`held_in_any_form`).
"""

from __future__ import annotations

import dataclasses
import secrets
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, and_, delete, exists, false, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from compliance.audit.trail import append_event
from compliance.encryption.master import MasterKeyring
from compliance.records.models import CommunicationLog
from compliance.records.sealing import RecordSealer
from compliance.retention.models import LegalHold
from policies.audit_chain import Actor
from policies.channels import Channel
from policies.holds import (
    DEFAULT_MAX_DAYS,
    HoldFacts,
    HoldScope,
    active_at,
    bounds_problem,
    due_for_review,
    reason_problem,
    scope_problem,
)
from policies.masking import mask_recipient
from policies.recipients import international_phone, normalize_recipient, phone_forms
from policies.retention import Stage

HOLD_ID_PREFIX = "hold_"


class HoldError(Exception):
    """A hold request that cannot be carried out; the message names no personal data."""


class HoldNotFound(HoldError):
    pass


class HoldAlreadyReleased(HoldError):
    pass


class HoldEnded(HoldError):
    """The hold is released or has lapsed: it can no longer be changed (place a new one)."""


class HoldScopeInvalid(HoldError):
    """The scope and the names given do not go together (``policies.holds.scope_problem``)."""


class HoldBoundsInvalid(HoldError):
    """No end or review date, or one in the past or beyond the configured maximum."""


@dataclass(frozen=True, slots=True, kw_only=True)
class Hold:
    """A legal hold as shown to compliance officers (the recipient only masked)."""

    id: str
    tenant_id: str
    scope: HoldScope
    user_id: str | None
    channel: Channel | None
    recipient: str | None
    reason: str
    created_by: str
    created_at: datetime
    expires_at: datetime | None
    review_by: datetime | None
    created_before: datetime | None
    keep_short_lived_content: bool
    changed_at: datetime | None
    changed_by: str | None
    released_at: datetime | None
    released_by: str | None
    other_forms_found: int | None = None
    """On placing an SMS recipient hold: how many of the tenant's records carry the blind
    index of another form of the number (national digits, ``00``…), which this hold does
    not keep from the retention job; ``None`` otherwise."""

    def active_at(self, moment: datetime) -> bool:
        return active_at(released_at=self.released_at, expires_at=self.expires_at, moment=moment)


def _view(row: LegalHold) -> Hold:
    return Hold(
        id=row.id,
        tenant_id=row.tenant_id,
        scope=HoldScope(row.scope),
        user_id=row.user_id,
        channel=Channel(row.channel) if row.channel else None,
        recipient=row.recipient_masked,
        reason=row.reason,
        created_by=row.created_by,
        created_at=row.created_at,
        expires_at=row.expires_at,
        review_by=row.review_by,
        created_before=row.created_before,
        keep_short_lived_content=row.keep_short_lived_content,
        changed_at=row.changed_at,
        changed_by=row.changed_by,
        released_at=row.released_at,
        released_by=row.released_by,
    )


def facts(row: LegalHold, *, recipient_index: bytes | None = None) -> HoldFacts:
    """What the audit trail records of a hold: scope, bounds, user id, the recipient's keyed
    hash (hex), the reason's SHA-256 and length; never the recipient or the reason."""
    index = recipient_index if recipient_index is not None else row.recipient_index
    return HoldFacts(
        scope=HoldScope(row.scope),
        user_id=row.user_id,
        channel=row.channel,
        recipient_index_hex=index.hex() if index is not None else None,
        created_before=row.created_before,
        expires_at=row.expires_at,
        review_by=row.review_by,
        keep_short_lived_content=row.keep_short_lived_content,
        reason=row.reason,
    )


async def add_hold(
    session: AsyncSession,
    sealer: RecordSealer,
    *,
    tenant_id: str,
    scope: HoldScope,
    reason: str,
    actor: str,
    user_id: str | None = None,
    channel: Channel | None = None,
    recipient: str | None = None,
    expires_at: datetime | None = None,
    review_by: datetime | None = None,
    created_before: datetime | None = None,
    keep_short_lived_content: bool = False,
    max_days: int = DEFAULT_MAX_DAYS,
    now: datetime | None = None,
) -> tuple[Hold, HoldFacts]:
    """Place a hold (rules in :mod:`policies.holds`). A recipient is normalised as on ingest
    and stored only as its keyed hash and masked form. Returns the hold and its audit facts."""
    moment = now or datetime.now(UTC)
    problem = scope_problem(scope, user_id=user_id, recipient=recipient, channel=channel)
    if problem is not None:
        raise HoldScopeInvalid(problem)
    problem = reason_problem(reason)
    if problem is not None:
        raise HoldError(problem)
    problem = bounds_problem(
        expires_at=expires_at, review_by=review_by, now=moment, max_days=max_days
    )
    if problem is not None:
        raise HoldBoundsInvalid(problem)
    index = masked = None
    other_forms: int | None = None
    if recipient is not None and channel is not None:
        if channel == Channel.SMS:
            canonical = international_phone(recipient)
        else:
            canonical = normalize_recipient(channel, recipient)
        index = await sealer.recipient_index(tenant_id, channel, canonical)
        if index is None:
            raise HoldError("this tenant's keys were shredded: recipients can no longer be matched")
        masked = mask_recipient(channel, canonical)
        if channel == Channel.SMS:
            others = [
                other
                for other in (await phone_form_indexes(sealer, tenant_id, canonical)).values()
                if other != index
            ]
            other_forms = await _count_indexed(session, tenant_id, channel, others, user_id)
    row = LegalHold(
        id=HOLD_ID_PREFIX + secrets.token_hex(12),
        tenant_id=tenant_id,
        scope=scope.value,
        user_id=user_id,
        channel=channel.value if channel else None,
        recipient_index=index,
        recipient_masked=masked,
        reason=reason.strip(),
        created_by=actor,
        created_at=moment,
        expires_at=expires_at,
        review_by=review_by,
        created_before=created_before,
        keep_short_lived_content=keep_short_lived_content,
    )
    session.add(row)
    await session.flush()
    return dataclasses.replace(_view(row), other_forms_found=other_forms), facts(row)


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


async def _count_indexed(
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


UNCHANGED: object = object()
"""A date :func:`change_hold` leaves as it is (``None`` clears it)."""


async def _locked(session: AsyncSession, hold_id: str, tenant_id: str | None) -> LegalHold:
    statement = select(LegalHold).where(LegalHold.id == hold_id).with_for_update()
    if tenant_id is not None:
        statement = statement.where(LegalHold.tenant_id == tenant_id)
    row = (await session.execute(statement)).scalar_one_or_none()
    if row is None:
        raise HoldNotFound("no legal hold with this id" + (" in your tenant" if tenant_id else ""))
    return row


async def change_hold(
    session: AsyncSession,
    hold_id: str,
    *,
    actor: str,
    tenant_id: str | None = None,
    expires_at: datetime | object | None = UNCHANGED,
    review_by: datetime | object | None = UNCHANGED,
    reason: str | None = None,
    max_days: int = DEFAULT_MAX_DAYS,
    now: datetime | None = None,
) -> tuple[Hold, HoldFacts, list[str]]:
    """Extend or shorten a hold's ``expires_at``/``review_by`` (``None`` clears one; at
    least one must remain) or amend its reason. A date that changes must be in the future
    and within ``max_days``; a released or lapsed hold cannot be changed
    (:class:`HoldEnded`). Returns the hold, its audit facts and the names of what changed.
    """
    moment = now or datetime.now(UTC)
    row = await _locked(session, hold_id, tenant_id)
    if not active_at(released_at=row.released_at, expires_at=row.expires_at, moment=moment):
        raise HoldEnded(
            "this legal hold was released" if row.released_at else "this legal hold has expired"
        )
    new_expires = row.expires_at if expires_at is UNCHANGED else expires_at
    new_review = row.review_by if review_by is UNCHANGED else review_by
    assert new_expires is None or isinstance(new_expires, datetime)
    assert new_review is None or isinstance(new_review, datetime)
    changed = [
        name
        for name, before, after in (
            ("expires_at", row.expires_at, new_expires),
            ("review_by", row.review_by, new_review),
        )
        if before != after
    ]
    problem = bounds_problem(
        expires_at=new_expires,
        review_by=new_review,
        now=moment,
        max_days=max_days,
        checked=frozenset(changed),
    )
    if problem is not None:
        raise HoldBoundsInvalid(problem)
    if reason is not None:
        problem = reason_problem(reason)
        if problem is not None:
            raise HoldError(problem)
        if reason.strip() != row.reason:
            changed.append("reason")
    if not changed:
        raise HoldError("nothing to change: give 'expires_at', 'review_by' or 'reason'")
    row.expires_at = new_expires
    row.review_by = new_review
    if reason is not None:
        row.reason = reason.strip()
    row.changed_at = moment
    row.changed_by = actor
    await session.flush()
    return _view(row), facts(row), changed


async def list_holds(
    session: AsyncSession, tenant_id: str, *, include_released: bool = True
) -> list[Hold]:
    statement = select(LegalHold).where(LegalHold.tenant_id == tenant_id)
    if not include_released:
        statement = statement.where(LegalHold.released_at.is_(None))
    statement = statement.order_by(LegalHold.created_at.desc(), LegalHold.id.desc())
    return [_view(row) for row in (await session.execute(statement)).scalars()]


async def holds_due_for_review(
    session: AsyncSession, tenant_id: str, *, within: timedelta, now: datetime | None = None
) -> list[Hold]:
    """Active holds whose review date or expiry falls within ``within`` of now (overdue
    reviews included), soonest first (``policies.holds.due_for_review``)."""
    moment = now or datetime.now(UTC)
    horizon = moment + within
    statement = select(LegalHold).where(
        LegalHold.tenant_id == tenant_id,
        LegalHold.released_at.is_(None),
        or_(LegalHold.expires_at.is_(None), LegalHold.expires_at > moment),
        or_(LegalHold.review_by <= horizon, LegalHold.expires_at <= horizon),
    )
    holds = [_view(row) for row in (await session.execute(statement)).scalars()]
    holds = [
        hold
        for hold in holds
        if due_for_review(
            released_at=hold.released_at,
            expires_at=hold.expires_at,
            review_by=hold.review_by,
            now=moment,
            within=within,
        )
    ]
    return sorted(holds, key=lambda hold: (_soonest(hold), hold.id))


def _soonest(hold: Hold) -> datetime:
    return min(when for when in (hold.review_by, hold.expires_at) if when is not None)


async def release_hold(
    session: AsyncSession,
    hold_id: str,
    *,
    actor: str,
    tenant_id: str | None = None,
    now: datetime | None = None,
) -> tuple[Hold, HoldFacts]:
    """Release a hold; its records become eligible on the next retention run.

    ``tenant_id`` confines the look-up to one tenant (the API); a hold of another tenant
    is reported as not found, whether or not it exists.
    """
    row = await _locked(session, hold_id, tenant_id)
    if row.released_at is not None:
        raise HoldAlreadyReleased("this legal hold was already released")
    index = row.recipient_index
    row.released_at = now or datetime.now(UTC)
    row.released_by = actor
    # A released hold matches nothing again: its keyed hash of the recipient goes (the
    # masked form stays until the hold is purged, to say what was held).
    row.recipient_index = None
    await session.flush()
    return _view(row), facts(row, recipient_index=index)


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
                hold.recipient_index.is_not(None),
                hold.recipient_index == log.recipient_index,
                hold.channel == log.channel,
                or_(hold.user_id.is_(None), hold.user_id == log.user_id),
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
    :func:`hold_covers` does not (a hold on another form of the number)."""
    per_channel = [
        and_(
            LegalHold.channel == channel.value,
            CommunicationLog.channel == channel.value,
            LegalHold.recipient_index.in_(list(values)),
            LegalHold.recipient_index != CommunicationLog.recipient_index,
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


# -- with their evidence: what the API and the CLI call ---------------------------------


async def _record(
    session: AsyncSession,
    master: MasterKeyring,
    *,
    tenant_id: str,
    actor: Actor,
    action: str,
    hold_id: str,
    details: Mapping[str, object],
) -> None:
    """Append the audit event of a hold action in the caller's write transaction (the
    change and its evidence commit together or not at all; GDPR Art. 5(2)). The details
    name the recipient by its keyed hash and the reason by its SHA-256 and length."""
    await append_event(
        session,
        master,
        tenant_id=tenant_id,
        actor=actor,
        action=action,
        target=hold_id,
        details=details,
    )


async def place_legal_hold(
    session: AsyncSession,
    sealer: RecordSealer,
    master: MasterKeyring,
    *,
    actor: Actor,
    tenant_id: str,
    **request: Any,
) -> Hold:
    """:func:`add_hold` and its ``legal_hold.placed`` audit event, in one transaction."""
    hold, hold_facts = await add_hold(
        session, sealer, tenant_id=tenant_id, actor=actor.id, **request
    )
    await _record(
        session,
        master,
        tenant_id=tenant_id,
        actor=actor,
        action="legal_hold.placed",
        hold_id=hold.id,
        details={**hold_facts.details(), "other_forms_found": hold.other_forms_found},
    )
    return hold


async def change_legal_hold(
    session: AsyncSession,
    master: MasterKeyring,
    hold_id: str,
    *,
    actor: Actor,
    tenant_id: str | None = None,
    expires_at: datetime | object | None = UNCHANGED,
    review_by: datetime | object | None = UNCHANGED,
    reason: str | None = None,
    max_days: int = DEFAULT_MAX_DAYS,
) -> Hold:
    """:func:`change_hold` and its ``legal_hold.changed`` audit event (naming what changed)."""
    hold, hold_facts, changed = await change_hold(
        session,
        hold_id,
        actor=actor.id,
        tenant_id=tenant_id,
        expires_at=expires_at,
        review_by=review_by,
        reason=reason,
        max_days=max_days,
    )
    await _record(
        session,
        master,
        tenant_id=hold.tenant_id,
        actor=actor,
        action="legal_hold.changed",
        hold_id=hold.id,
        details={**hold_facts.details(), "changed": changed},
    )
    return hold


async def release_legal_hold(
    session: AsyncSession,
    master: MasterKeyring,
    hold_id: str,
    *,
    actor: Actor,
    tenant_id: str | None = None,
) -> Hold:
    """:func:`release_hold` and its ``legal_hold.released`` audit event."""
    hold, hold_facts = await release_hold(session, hold_id, actor=actor.id, tenant_id=tenant_id)
    await _record(
        session,
        master,
        tenant_id=hold.tenant_id,
        actor=actor,
        action="legal_hold.released",
        hold_id=hold.id,
        details=hold_facts.details(),
    )
    return hold


async def purge_holds(
    session: AsyncSession, master: MasterKeyring, hold_ids: list[str], *, actor: Actor
) -> int:
    """Delete these holds (their reason text and masked recipient go with them), each with
    its ``legal_hold.purged`` audit event in the same transaction; returns how many. The
    caller chose them with :func:`purgeable`."""
    rows = list(
        (
            await session.execute(
                select(LegalHold).where(LegalHold.id.in_(hold_ids)).with_for_update()
            )
        ).scalars()
    )
    for row in rows:
        released = row.released_at
        await _record(
            session,
            master,
            tenant_id=row.tenant_id,
            actor=actor,
            action="legal_hold.purged",
            hold_id=row.id,
            details={
                **facts(row).details(),
                "released_at": released.isoformat().replace("+00:00", "Z") if released else None,
            },
        )
    if rows:
        await session.execute(
            delete(LegalHold)
            .where(LegalHold.id.in_([row.id for row in rows]))
            .execution_options(synchronize_session=False)
        )
    return len(rows)


__all__ = [
    "Hold",
    "HoldAlreadyReleased",
    "HoldBoundsInvalid",
    "HoldEnded",
    "HoldError",
    "HoldNotFound",
    "HoldScopeInvalid",
    "add_hold",
    "change_hold",
    "change_legal_hold",
    "held",
    "held_in_any_form",
    "hold_covers",
    "holds_covering",
    "holds_covering_forms",
    "holds_due_for_review",
    "list_holds",
    "not_held",
    "phone_form_indexes",
    "place_legal_hold",
    "purge_holds",
    "purgeable",
    "release_hold",
    "release_legal_hold",
]
