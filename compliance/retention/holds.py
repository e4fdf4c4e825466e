"""Legal holds: keep records from retention while a legal claim or obligation needs them.

GDPR Art. 17(3)(b) (a legal obligation) and 17(3)(e) (legal claims) are the exceptions
to erasure a hold stands on. The rules a hold must follow (an explicit scope, an end or a
review date within the configured maximum, what ``created_before`` and the short-lived
content exemption mean) are pure and live in :mod:`policies.holds`; this module stores,
changes, releases and purges holds, and :mod:`compliance.retention.hold_matching` gives
the retention job the SQL predicates (``held``, ``not_held``) that every stage applies.
The API and the CLI both call the functions here, so they apply the same rules.

A recipient is matched through the blind index: it is never stored in clear, only its
keyed hash and its masked form. An SMS recipient must be named with its country code
(:func:`policies.recipients.international_phone`); the hold stores the index of every
form of the number that carries the country code (E.164, ``00``…), and a record whose
index equals any of them is held (:mod:`compliance.retention.hold_matching`, which says
why the national forms are left out). Placing the hold counts the tenant's records under
the national forms (``other_forms_found``) so the officer knows; a subject erasure, which
confirms each record is the subject's, honours a hold on any form
(:func:`held_in_any_form`). The indexes go when the hold is released.
"""

from __future__ import annotations

import dataclasses
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import delete, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from compliance.audit.trail import append_event
from compliance.encryption.master import MasterKeyring
from compliance.records.sealing import RecordSealer
from compliance.retention.hold_matching import (
    CANONICAL_FORM,
    add_forms,
    count_indexed,
    drop_forms,
    held_forms,
    phone_form_indexes,
)
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
from policies.recipients import international_phone, normalize_recipient

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
    index of a national form of the number (no country code), which this hold does not
    keep from the retention job (:mod:`compliance.retention.hold_matching`); ``None``
    otherwise."""

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
    forms: dict[str, bytes] = {}
    if recipient is not None and channel is not None:
        if channel == Channel.SMS:
            canonical = international_phone(recipient)
        else:
            canonical = normalize_recipient(channel, recipient)
        index = await sealer.recipient_index(tenant_id, channel, canonical)
        if index is None:
            raise HoldError("this tenant's keys were shredded: recipients can no longer be matched")
        masked = mask_recipient(channel, canonical)
        forms = {CANONICAL_FORM: index}
        if channel == Channel.SMS:
            forms, others = held_forms(await phone_form_indexes(sealer, tenant_id, canonical))
            if not forms:  # shredded between the two look-ups
                raise HoldError(
                    "this tenant's keys were shredded: recipients can no longer be matched"
                )
            other_forms = await count_indexed(session, tenant_id, channel, others, user_id)
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
    add_forms(session, row.id, forms)
    await session.flush()
    return dataclasses.replace(_view(row), other_forms_found=other_forms), facts(row)


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
    # A released hold matches nothing again: its keyed hashes of the recipient go (the
    # masked form stays until the hold is purged, to say what was held).
    row.recipient_index = None
    await drop_forms(session, [row.id])
    await session.flush()
    return _view(row), facts(row, recipient_index=index)


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
    """Delete these holds (their reason text, masked recipient and stored form indexes go
    with them), each with its ``legal_hold.purged`` audit event in the same transaction;
    returns how many. The caller chose them with :func:`purgeable`."""
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
        # Explicit as well as ON DELETE CASCADE: SQLite enforces foreign keys only where
        # the connection turned them on.
        await drop_forms(session, [row.id for row in rows])
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
    "holds_due_for_review",
    "list_holds",
    "place_legal_hold",
    "purge_holds",
    "release_hold",
    "release_legal_hold",
]
