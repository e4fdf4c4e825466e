"""Compliance officers' endpoints of the audit trail: their tenant's events, filtered and
paged like the send log, and one event by id (GDPR Art. 5(2); PIPL Art. 54)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from litestar import Controller, get
from litestar.di import NamedDependency
from litestar.params import Parameter
from litestar.status_codes import HTTP_200_OK
from sqlalchemy.ext.asyncio import AsyncSession

from compliance.audit.events import EventFilter, get_event, list_events
from policies.access import Principal, scope_for_compliance
from policies.audit_chain import MAX_ACTION_LENGTH
from policies.identifiers import IDENTIFIER_PATTERN, MAX_IDENTIFIER_LENGTH
from policies.instants import RANGE_TEXT, accepted_instant
from policies.paging import DEFAULT_PAGE_SIZE, MAX_PAGE, MAX_PAGE_SIZE, PageRequest, page_info
from service.compliance.audit_schemas import (
    AuditEventEnvelope,
    AuditEventListResponse,
    AuditEventResponse,
)
from service.dependencies import allowed
from service.errors import BadRequest, RecordNotFound, error_responses
from service.guards import compliance_officers_only
from service.schemas import PageInfo, PathId, utc_timestamp

RFC3339_PATTERN = (
    r"^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]{1,6})?"
    r"(Z|[+-][0-9]{2}:[0-9]{2})$"
)
"""An RFC 3339 date-time with its offset (``Z`` or ``±hh:mm``), at most microseconds."""
ACTION_PATTERN = r"^[a-z][a-z0-9_]*(\.[a-z0-9_]*)*$"
"""Dotted lower-case words (``legal_hold.placed``); a trailing ``.`` makes it a prefix."""


def _instant(text: str | None, name: str) -> datetime | None:
    """A filter's instant, held to the rules a request's times follow (policies.instants)."""
    if text is None:
        return None
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        moment = None
    accepted = accepted_instant(moment) if moment is not None else None
    if accepted is None:
        raise BadRequest(
            f"invalid request: query parameter '{name}' must be an RFC 3339 time with a UTC "
            f"offset, {RANGE_TEXT}"
        )
    return accepted


class AuditEventController(Controller):
    path = "/compliance/audit-events"
    tags = ["compliance"]
    security = [{"BearerToken": []}]
    guards = [compliance_officers_only]

    @get(
        "/",
        summary="Your tenant's audit trail, newest first (role compliance_officer)",
        description=(
            "The events of your tenant's hash chain: exports, legal holds, retention "
            "outcomes, subject requests, key operations, denied requests. `action` matches "
            "exactly, or as a prefix when it ends with `.` (`legal_hold.` is every "
            "legal-hold event); `since` is inclusive, `until` exclusive. Every stored field "
            "is returned, `previous_hash` and `hash` included, so an event can be checked "
            "against its neighbours (docs/compliance/audit.md)."
        ),
        operation_id="listAuditEvents",
        responses=error_responses(400, 401, 403, 500, 503),
    )
    async def list_audit_events(
        self,
        principal: NamedDependency[Principal],
        db_session: NamedDependency[AsyncSession],
        action: Annotated[
            str | None,
            Parameter(
                description="exact action, or a prefix ending in '.'",
                min_length=1,
                max_length=MAX_ACTION_LENGTH,
                pattern=ACTION_PATTERN,
            ),
        ] = None,
        actor: Annotated[
            str | None,
            Parameter(
                description="only events by this actor (a token subject, a CLI --actor)",
                min_length=1,
                max_length=MAX_IDENTIFIER_LENGTH,
                pattern=IDENTIFIER_PATTERN,
            ),
        ] = None,
        since: Annotated[
            str | None,
            Parameter(
                description=f"from this instant on (RFC 3339 with an offset, {RANGE_TEXT})",
                schema_extra={"format": "date-time"},
                pattern=RFC3339_PATTERN,
            ),
        ] = None,
        until: Annotated[
            str | None,
            Parameter(
                description=f"before this instant (RFC 3339 with an offset, {RANGE_TEXT})",
                schema_extra={"format": "date-time"},
                pattern=RFC3339_PATTERN,
            ),
        ] = None,
        page: Annotated[int, Parameter(description="page, from 1", ge=1, le=MAX_PAGE)] = 1,
        page_size: Annotated[
            int,
            Parameter(
                description=f"events per page (default {DEFAULT_PAGE_SIZE}, at most "
                f"{MAX_PAGE_SIZE})",
                ge=1,
                le=MAX_PAGE_SIZE,
            ),
        ] = DEFAULT_PAGE_SIZE,
    ) -> AuditEventListResponse:
        scope = allowed(scope_for_compliance(principal))
        request = PageRequest(page=page, page_size=page_size)
        where = EventFilter(
            tenant_id=scope.tenant_id,
            action=action,
            actor=actor,
            since=_instant(since, "since"),
            until=_instant(until, "until"),
        )
        events, total = await list_events(
            db_session, where, limit=request.page_size, offset=request.offset
        )
        return AuditEventListResponse(
            code=HTTP_200_OK,
            message="success",
            timestamp=utc_timestamp(),
            items=[AuditEventResponse.of(event) for event in events],
            total=total,
            pagination=PageInfo.of(page_info(request, total)),
        )

    @get(
        "/{event_id:str}",
        summary="One audit event of your tenant (role compliance_officer)",
        description="Another tenant's event is 404, as a missing one is.",
        operation_id="getAuditEvent",
        responses=error_responses(400, 401, 403, 404, 500, 503),
    )
    async def get_audit_event(
        self,
        principal: NamedDependency[Principal],
        db_session: NamedDependency[AsyncSession],
        event_id: PathId,
    ) -> AuditEventEnvelope:
        scope = allowed(scope_for_compliance(principal))
        event = await get_event(db_session, scope.tenant_id, event_id)
        if event is None:
            raise RecordNotFound("audit event not found")
        return AuditEventEnvelope(
            code=HTTP_200_OK,
            message="success",
            timestamp=utc_timestamp(),
            data=AuditEventResponse.of(event),
        )
