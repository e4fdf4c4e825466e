"""Legal holds: keep records from retention while a legal claim or obligation needs them.

GDPR Art. 17(3)(b) (a legal obligation) and 17(3)(e) (legal claims) are the exceptions
to erasure a hold stands on. A hold covers a whole tenant, or one user's records, or
one recipient's (matched through the blind index, so the recipient is never stored in
clear), or both. The whole tenant is never held by omission: it is asked for
explicitly. Every retention stage skips what an active hold covers.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import ColumnElement, and_, exists, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from compliance.records.models import CommunicationLog
from compliance.records.sealing import RecordSealer
from compliance.retention.models import LegalHold
from policies.channels import Channel
from policies.masking import mask_recipient
from policies.recipients import normalize_recipient

HOLD_ID_PREFIX = "hold_"
MAX_REASON_CHARS = 2_000


class HoldError(Exception):
    """A hold request that cannot be carried out; the message names no personal data."""


class HoldNotFound(HoldError):
    pass


class HoldAlreadyReleased(HoldError):
    pass


class HoldScopeMissing(HoldError):
    """Neither a user, a recipient nor the whole tenant was named."""


class HoldScopeConflict(HoldError):
    """The whole tenant was asked for together with a user or a recipient."""


@dataclass(frozen=True, slots=True, kw_only=True)
class Hold:
    """A legal hold as shown to compliance officers (the recipient only masked)."""

    id: str
    tenant_id: str
    user_id: str | None
    channel: Channel | None
    recipient: str | None
    reason: str
    created_by: str
    created_at: datetime
    expires_at: datetime | None
    released_at: datetime | None
    released_by: str | None

    def active_at(self, moment: datetime) -> bool:
        return self.released_at is None and (self.expires_at is None or self.expires_at > moment)


def _view(row: LegalHold) -> Hold:
    return Hold(
        id=row.id,
        tenant_id=row.tenant_id,
        user_id=row.user_id,
        channel=Channel(row.channel) if row.channel else None,
        recipient=row.recipient_masked,
        reason=row.reason,
        created_by=row.created_by,
        created_at=row.created_at,
        expires_at=row.expires_at,
        released_at=row.released_at,
        released_by=row.released_by,
    )


async def add_hold(
    session: AsyncSession,
    sealer: RecordSealer,
    *,
    tenant_id: str,
    reason: str,
    actor: str,
    user_id: str | None = None,
    channel: Channel | None = None,
    recipient: str | None = None,
    whole_tenant: bool = False,
    expires_at: datetime | None = None,
    now: datetime | None = None,
) -> Hold:
    """Place a hold on a user, a recipient (or both), or with ``whole_tenant`` on every
    record of the tenant. A recipient needs its channel (it is normalised as on ingest)."""
    moment = now or datetime.now(UTC)
    if whole_tenant and (user_id is not None or recipient is not None):
        raise HoldScopeConflict("a whole-tenant hold cannot also name a user or a recipient")
    if not whole_tenant and user_id is None and recipient is None:
        raise HoldScopeMissing("a hold must name a user, a recipient, or the whole tenant")
    if not reason.strip():
        raise HoldError("a hold needs a reason")
    if len(reason) > MAX_REASON_CHARS:
        raise HoldError(f"the reason is limited to {MAX_REASON_CHARS} characters")
    if expires_at is not None and expires_at <= moment:
        raise HoldError("expires_at must be in the future")
    if (recipient is None) != (channel is None):
        raise HoldError("a recipient hold needs both 'recipient' and 'channel'")
    index = masked = None
    if recipient is not None and channel is not None:
        canonical = normalize_recipient(channel, recipient)
        index = await sealer.recipient_index(tenant_id, channel, canonical)
        if index is None:
            raise HoldError("this tenant's keys were shredded: recipients can no longer be matched")
        masked = mask_recipient(channel, canonical)
    row = LegalHold(
        id=HOLD_ID_PREFIX + secrets.token_hex(12),
        tenant_id=tenant_id,
        user_id=user_id,
        channel=channel.value if channel else None,
        recipient_index=index,
        recipient_masked=masked,
        reason=reason.strip(),
        created_by=actor,
        created_at=moment,
        expires_at=expires_at,
    )
    session.add(row)
    await session.flush()
    return _view(row)


async def list_holds(
    session: AsyncSession, tenant_id: str, *, include_released: bool = True
) -> list[Hold]:
    statement = select(LegalHold).where(LegalHold.tenant_id == tenant_id)
    if not include_released:
        statement = statement.where(LegalHold.released_at.is_(None))
    statement = statement.order_by(LegalHold.created_at.desc(), LegalHold.id.desc())
    return [_view(row) for row in (await session.execute(statement)).scalars()]


async def release_hold(
    session: AsyncSession,
    hold_id: str,
    *,
    actor: str,
    tenant_id: str | None = None,
    now: datetime | None = None,
) -> Hold:
    """Release a hold; its records become eligible on the next retention run.

    ``tenant_id`` confines the look-up to one tenant (the API); a hold of another tenant
    is reported as not found, whether or not it exists.
    """
    statement = select(LegalHold).where(LegalHold.id == hold_id).with_for_update()
    if tenant_id is not None:
        statement = statement.where(LegalHold.tenant_id == tenant_id)
    row = (await session.execute(statement)).scalar_one_or_none()
    if row is None:
        raise HoldNotFound("no legal hold with this id" + (" in your tenant" if tenant_id else ""))
    if row.released_at is not None:
        raise HoldAlreadyReleased("this legal hold was already released")
    row.released_at = now or datetime.now(UTC)
    row.released_by = actor
    # A released hold matches nothing again: its keyed hash of the recipient goes (the
    # masked form stays, to say what was held).
    row.recipient_index = None
    await session.flush()
    return _view(row)


def hold_covers(now: datetime) -> list[ColumnElement[bool]]:
    """SQL conditions: the ``LegalHold`` row is active at ``now`` and covers the
    ``CommunicationLog`` row of the surrounding query (:func:`not_held` and
    :func:`holds_covering` are both built on it, so they never disagree)."""
    hold = LegalHold
    return [
        hold.tenant_id == CommunicationLog.tenant_id,
        hold.released_at.is_(None),
        or_(hold.expires_at.is_(None), hold.expires_at > now),
        or_(hold.user_id.is_(None), hold.user_id == CommunicationLog.user_id),
        or_(
            hold.recipient_index.is_(None),
            and_(
                hold.recipient_index == CommunicationLog.recipient_index,
                hold.channel == CommunicationLog.channel,
            ),
        ),
    ]


def not_held(now: datetime) -> ColumnElement[bool]:
    """SQL: the send record of the surrounding query is covered by no active hold."""
    return ~exists().where(*hold_covers(now))


async def holds_covering(
    session: AsyncSession, tenant_id: str, record_ids: list[str], now: datetime
) -> dict[str, int]:
    """For each active hold of ``tenant_id`` that covers some of ``record_ids``: how many
    (a record two holds cover counts for both)."""
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


def held(now: datetime) -> ColumnElement[bool]:
    """SQL: the send record of the surrounding query is covered by an active hold."""
    return ~not_held(now)


__all__ = [
    "Hold",
    "HoldAlreadyReleased",
    "HoldError",
    "HoldNotFound",
    "add_hold",
    "held",
    "hold_covers",
    "holds_covering",
    "list_holds",
    "not_held",
    "release_hold",
]
