"""Reading the audit trail: one tenant's events, filtered and newest first, for officers
(``GET /compliance/audit-events``) and operators (``commlog audit list``)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import ColumnElement, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from compliance.audit.models import AuditEventRow
from compliance.audit.verify import event_from_row
from policies.audit_chain import ChainedEvent

_EVENTS = AuditEventRow.__table__


@dataclass(frozen=True, slots=True, kw_only=True)
class EventFilter:
    """Which of a tenant's events to list.

    ``action`` is matched exactly, or, when it ends with ``.``, as a prefix
    (``legal_hold.`` is every legal-hold event). ``since`` is inclusive, ``until``
    exclusive.
    """

    tenant_id: str
    action: str | None = None
    actor: str | None = None
    since: datetime | None = None
    until: datetime | None = None


def _escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _conditions(where: EventFilter) -> list[ColumnElement[bool]]:
    conditions: list[ColumnElement[bool]] = [_EVENTS.c.tenant_id == where.tenant_id]
    if where.action is not None:
        if where.action.endswith("."):
            conditions.append(_EVENTS.c.action.like(_escape_like(where.action) + "%", escape="\\"))
        else:
            conditions.append(_EVENTS.c.action == where.action)
    if where.actor is not None:
        conditions.append(_EVENTS.c.actor == where.actor)
    if where.since is not None:
        conditions.append(_EVENTS.c.occurred_at >= where.since)
    if where.until is not None:
        conditions.append(_EVENTS.c.occurred_at < where.until)
    return conditions


async def list_events(
    session: AsyncSession, where: EventFilter, *, limit: int, offset: int = 0
) -> tuple[list[ChainedEvent], int]:
    """A page of matching events, newest first (by time, then sequence), and how many
    match in all (read in one snapshot: the session's transaction)."""
    conditions = _conditions(where)
    total = (
        await session.execute(select(func.count()).select_from(_EVENTS).where(*conditions))
    ).scalar_one()
    rows = (
        await session.execute(
            select(_EVENTS)
            .where(*conditions)
            .order_by(_EVENTS.c.occurred_at.desc(), _EVENTS.c.sequence.desc())
            .limit(limit)
            .offset(offset)
        )
    ).all()
    return [event_from_row(row) for row in rows], int(total)


async def get_event(session: AsyncSession, tenant_id: str, event_id: str) -> ChainedEvent | None:
    """The event ``event_id`` if it is in ``tenant_id``'s chain (another tenant's event is
    ``None``, as a missing one is)."""
    row = (
        await session.execute(
            select(_EVENTS).where(_EVENTS.c.id == event_id, _EVENTS.c.tenant_id == tenant_id)
        )
    ).one_or_none()
    return event_from_row(row) if row is not None else None


__all__ = ["EventFilter", "get_event", "list_events"]
