"""Compliance officers' endpoints: legal holds and the record of retention runs."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Annotated

import msgspec
from litestar import Controller, Response, delete, get, patch, post
from litestar.datastructures import State
from litestar.di import NamedDependency
from litestar.params import JSONBody, Parameter
from litestar.status_codes import HTTP_200_OK, HTTP_201_CREATED
from sqlalchemy.ext.asyncio import AsyncSession

from compliance.encryption.keystore import KeyStore
from compliance.records.sealing import RecordSealer
from compliance.retention.holds import (
    UNCHANGED,
    Hold,
    HoldAlreadyReleased,
    HoldEnded,
    HoldError,
    HoldNotFound,
    change_legal_hold,
    holds_due_for_review,
    list_holds,
    place_legal_hold,
    release_legal_hold,
)
from compliance.retention.runs import RunSummary, list_runs
from compliance.transactions import begin_write
from policies.access import Principal, scope_for_compliance
from policies.audit_chain import Actor, ActorKind
from policies.holds import DEFAULT_REVIEW_WITHIN_DAYS, MAX_REVIEW_WITHIN_DAYS, due_for_review
from policies.paging import DEFAULT_PAGE_SIZE, MAX_PAGE, MAX_PAGE_SIZE, PageRequest, page_info
from service.dependencies import allowed
from service.errors import BadRequest, Conflict, RecordNotFound, error_responses
from service.guards import compliance_officers_only
from service.logging import current_request
from service.persistence.unit_of_work import commit
from service.schemas import (
    DestroyedKey,
    LegalHoldChangeRequest,
    LegalHoldEnvelope,
    LegalHoldListResponse,
    LegalHoldRequest,
    LegalHoldResponse,
    PageInfo,
    PathId,
    RetentionRunListResponse,
    RetentionRunResponse,
    rfc3339,
    utc_timestamp,
)
from service.settings import Settings


def officer(principal: Principal) -> Actor:
    """The audit trail's actor for an officer's request: the token subject, and the
    request id its access line carries."""
    context = current_request.get()
    origin = {"request_id": context.request_id} if context is not None else {}
    return Actor(id=principal.user_id, kind=ActorKind.OFFICER, origin=origin)


def _hold_view(hold: Hold, now: datetime) -> LegalHoldResponse:
    def stamp(moment: datetime | None) -> str | None:
        return rfc3339(moment) if moment is not None else None

    return LegalHoldResponse(
        id=hold.id,
        tenant_id=hold.tenant_id,
        scope=hold.scope,
        user_id=hold.user_id,
        channel=hold.channel,
        recipient=hold.recipient,
        reason=hold.reason,
        created_by=hold.created_by,
        created_at=rfc3339(hold.created_at),
        expires_at=stamp(hold.expires_at),
        review_by=stamp(hold.review_by),
        created_before=stamp(hold.created_before),
        keep_short_lived_content=hold.keep_short_lived_content,
        changed_at=stamp(hold.changed_at),
        changed_by=hold.changed_by,
        released_at=stamp(hold.released_at),
        released_by=hold.released_by,
        active=hold.active_at(now),
        due_for_review=due_for_review(
            released_at=hold.released_at,
            expires_at=hold.expires_at,
            review_by=hold.review_by,
            now=now,
            within=timedelta(days=DEFAULT_REVIEW_WITHIN_DAYS),
        ),
        other_forms_found=hold.other_forms_found,
    )


def _run_view(run: RunSummary, tenant_id: str) -> RetentionRunResponse:
    return RetentionRunResponse(
        id=run.id,
        started_at=rfc3339(run.started_at),
        finished_at=rfc3339(run.finished_at) if run.finished_at else None,
        status=run.status,
        dry_run=run.dry_run,
        as_of=rfc3339(run.as_of),
        policy_digest=run.policy_digest,
        counts=run.counts.get(tenant_id, {}),
        keys_destroyed=[
            DestroyedKey(
                purpose=str(k["purpose"]),
                epoch=str(k["epoch"]),
                held_records_moved=int(k.get("held_records_moved", 0)),
            )
            for k in run.keys_destroyed
        ],
        error=run.error,
    )


class ComplianceController(Controller):
    path = "/compliance"
    tags = ["compliance"]
    security = [{"BearerToken": []}]
    guards = [compliance_officers_only]

    @post(
        "/legal-holds",
        summary="Place a legal hold (role compliance_officer)",
        description=(
            "Keeps records from every retention stage until released or expired "
            "(GDPR Art. 17(3)(b) and (e)). `scope` says what: `tenant` (every record), "
            "`user` (`user_id`'s records) or `recipient` (`recipient` with `channel`, "
            "matched through the blind index; with `user_id` only that user's sends to "
            "them). An `sms` recipient must carry its country code (`+` or `00`): a "
            "number without one is a 400. The hold keeps every form of the number with its "
            "country code (E.164, `00`…); national digits may be another country's "
            "number, so when records of the tenant are stored that way the response's "
            "`other_forms_found` counts them: the retention job does not hold those (a "
            "subject erasure does). A hold needs `expires_at` or "
            "`review_by` (or both), each in the future "
            "and within COMMLOG_HOLD_MAX_DAYS (default 730); `created_before` limits it to "
            "older records. Unless `keep_short_lived_content` is true, the content of "
            "records whose template set `content_retention_days` is still erased on that "
            "window. Recorded in the audit trail (`legal_hold.placed`)."
        ),
        status_code=HTTP_201_CREATED,
        operation_id="placeLegalHold",
        responses=error_responses(400, 401, 403, 413, 415, 500, 503),
    )
    async def place_hold(
        self,
        principal: NamedDependency[Principal],
        db_session: NamedDependency[AsyncSession],
        keys: NamedDependency[KeyStore],
        state: State,
        data: JSONBody[LegalHoldRequest],
    ) -> LegalHoldEnvelope:
        scope = allowed(scope_for_compliance(principal))
        settings: Settings = state["settings"]
        await begin_write(db_session)
        try:
            hold = await place_legal_hold(
                db_session,
                RecordSealer(keys),
                settings.master_keys,
                actor=officer(principal),
                tenant_id=scope.tenant_id,
                scope=data.scope,
                reason=data.reason,
                user_id=data.user_id,
                channel=data.channel,
                recipient=data.recipient,
                expires_at=data.expires_at,
                review_by=data.review_by,
                created_before=data.created_before,
                keep_short_lived_content=data.keep_short_lived_content,
                max_days=settings.hold_max_days,
            )
        except HoldError as exc:
            raise BadRequest(str(exc)) from None
        await commit(db_session, operation="place_legal_hold")
        return LegalHoldEnvelope(
            code=HTTP_201_CREATED,
            message="legal hold placed",
            timestamp=utc_timestamp(),
            data=_hold_view(hold, datetime.now(UTC)),
        )

    @get(
        "/legal-holds",
        summary="List your tenant's legal holds (role compliance_officer)",
        description=(
            "With `due_for_review=true`: only active holds whose `review_by` or `expires_at` "
            "falls within `within_days` days (default 30; overdue reviews included), "
            "soonest first."
        ),
        operation_id="listLegalHolds",
        responses=error_responses(400, 401, 403, 500, 503),
    )
    async def list_legal_holds(
        self,
        principal: NamedDependency[Principal],
        db_session: NamedDependency[AsyncSession],
        include_released: Annotated[bool, Parameter(description="also list released holds")] = True,
        due_for_review: Annotated[
            bool, Parameter(description="only active holds due for review or expiry soon")
        ] = False,
        within_days: Annotated[
            int,
            Parameter(
                ge=0,
                le=MAX_REVIEW_WITHIN_DAYS,
                description="with due_for_review: how many days ahead counts as due",
            ),
        ] = DEFAULT_REVIEW_WITHIN_DAYS,
    ) -> LegalHoldListResponse:
        scope = allowed(scope_for_compliance(principal))
        if due_for_review:
            holds = await holds_due_for_review(
                db_session, scope.tenant_id, within=timedelta(days=within_days)
            )
        else:
            holds = await list_holds(db_session, scope.tenant_id, include_released=include_released)
        now = datetime.now(UTC)
        return LegalHoldListResponse(
            code=HTTP_200_OK,
            message="success",
            timestamp=utc_timestamp(),
            items=[_hold_view(hold, now) for hold in holds],
            total=len(holds),
        )

    @patch(
        "/legal-holds/{hold_id:str}",
        summary="Change a legal hold's bounds or reason (role compliance_officer)",
        description=(
            "Only the fields given change: `expires_at` and `review_by` may be extended or "
            "shortened (each in the future and within COMMLOG_HOLD_MAX_DAYS of now; `null` "
            "clears one, one must remain), `reason` amended. 404 outside your tenant; 409 "
            "when the hold is released or has expired. Recorded in the audit trail "
            "(`legal_hold.changed`)."
        ),
        status_code=HTTP_200_OK,
        operation_id="changeLegalHold",
        responses=error_responses(400, 401, 403, 404, 409, 413, 415, 500, 503),
    )
    async def change_legal_hold(
        self,
        principal: NamedDependency[Principal],
        db_session: NamedDependency[AsyncSession],
        state: State,
        hold_id: PathId,
        data: JSONBody[LegalHoldChangeRequest],
    ) -> LegalHoldEnvelope:
        scope = allowed(scope_for_compliance(principal))
        settings: Settings = state["settings"]
        await begin_write(db_session)
        try:
            hold = await change_legal_hold(
                db_session,
                settings.master_keys,
                hold_id,
                actor=officer(principal),
                tenant_id=scope.tenant_id,
                reason=None if data.reason is msgspec.UNSET else data.reason,
                max_days=settings.hold_max_days,
                expires_at=UNCHANGED if data.expires_at is msgspec.UNSET else data.expires_at,
                review_by=UNCHANGED if data.review_by is msgspec.UNSET else data.review_by,
            )
        except HoldNotFound as exc:
            raise RecordNotFound(str(exc)) from None
        except HoldEnded as exc:
            raise Conflict(str(exc)) from None
        except HoldError as exc:
            raise BadRequest(str(exc)) from None
        await commit(db_session, operation="change_legal_hold")
        return LegalHoldEnvelope(
            code=HTTP_200_OK,
            message="legal hold changed",
            timestamp=utc_timestamp(),
            data=_hold_view(hold, datetime.now(UTC)),
        )

    @delete(
        "/legal-holds/{hold_id:str}",
        summary="Release a legal hold (role compliance_officer)",
        status_code=HTTP_200_OK,
        operation_id="releaseLegalHold",
        responses=error_responses(400, 401, 403, 404, 409, 500, 503),
    )
    async def release_legal_hold(
        self,
        principal: NamedDependency[Principal],
        db_session: NamedDependency[AsyncSession],
        state: State,
        hold_id: PathId,
    ) -> Response[LegalHoldEnvelope]:
        scope = allowed(scope_for_compliance(principal))
        settings: Settings = state["settings"]
        await begin_write(db_session)
        try:
            hold = await release_legal_hold(
                db_session,
                settings.master_keys,
                hold_id,
                actor=officer(principal),
                tenant_id=scope.tenant_id,
            )
        except HoldNotFound as exc:
            raise RecordNotFound(str(exc)) from None
        except HoldAlreadyReleased as exc:
            raise Conflict(str(exc)) from None
        await commit(db_session, operation="release_legal_hold")
        return Response(
            LegalHoldEnvelope(
                code=HTTP_200_OK,
                message="legal hold released",
                timestamp=utc_timestamp(),
                data=_hold_view(hold, datetime.now(UTC)),
            ),
            status_code=HTTP_200_OK,
        )

    @get(
        "/retention-runs",
        summary="Retention runs and what they did to your tenant (role compliance_officer)",
        operation_id="listRetentionRuns",
        responses=error_responses(400, 401, 403, 500, 503),
    )
    async def retention_runs(
        self,
        principal: NamedDependency[Principal],
        db_session: NamedDependency[AsyncSession],
        page: Annotated[int, Parameter(ge=1, le=MAX_PAGE)] = 1,
        page_size: Annotated[int, Parameter(ge=1, le=MAX_PAGE_SIZE)] = DEFAULT_PAGE_SIZE,
    ) -> RetentionRunListResponse:
        scope = allowed(scope_for_compliance(principal))
        request = PageRequest(page=page, page_size=page_size)
        runs, total = await list_runs(
            db_session, limit=request.page_size, offset=request.offset, tenant_id=scope.tenant_id
        )
        return RetentionRunListResponse(
            code=HTTP_200_OK,
            message="success",
            timestamp=utc_timestamp(),
            items=[_run_view(run, scope.tenant_id) for run in runs],
            total=total,
            pagination=PageInfo.of(page_info(request, total)),
        )
