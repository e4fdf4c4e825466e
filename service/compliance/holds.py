"""Compliance officers' endpoints: legal holds and the record of retention runs."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from litestar import Controller, Response, delete, get, post
from litestar.di import NamedDependency
from litestar.params import JSONBody, Parameter
from litestar.status_codes import HTTP_200_OK, HTTP_201_CREATED
from sqlalchemy.ext.asyncio import AsyncSession

from compliance.encryption.keystore import KeyStore
from compliance.records.sealing import RecordSealer
from compliance.retention.holds import (
    Hold,
    HoldAlreadyReleased,
    HoldError,
    HoldNotFound,
    HoldScopeConflict,
    HoldScopeMissing,
    add_hold,
    list_holds,
    release_hold,
)
from compliance.retention.runs import RunSummary, list_runs
from compliance.transactions import begin_write
from policies.access import Principal, scope_for_compliance
from policies.paging import DEFAULT_PAGE_SIZE, MAX_PAGE, MAX_PAGE_SIZE, PageRequest, page_info
from service.dependencies import allowed
from service.errors import BadRequest, Conflict, RecordNotFound, error_responses
from service.guards import compliance_officers_only
from service.persistence.unit_of_work import commit
from service.schemas import (
    DestroyedKey,
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


def _hold_view(hold: Hold, now: datetime) -> LegalHoldResponse:
    return LegalHoldResponse(
        id=hold.id,
        tenant_id=hold.tenant_id,
        user_id=hold.user_id,
        channel=hold.channel,
        recipient=hold.recipient,
        reason=hold.reason,
        created_by=hold.created_by,
        created_at=rfc3339(hold.created_at),
        expires_at=rfc3339(hold.expires_at) if hold.expires_at else None,
        released_at=rfc3339(hold.released_at) if hold.released_at else None,
        released_by=hold.released_by,
        active=hold.active_at(now),
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
            "Keeps one user's records, or one recipient's (matched through the blind "
            "index), or both — or, with `whole_tenant: true`, every record of the tenant — "
            "from every retention stage until released or expired. A hold names its scope: "
            "without `user_id`, `recipient` or `whole_tenant` it is a 400. "
            "GDPR Art. 17(3)(b) and (e)."
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
        data: JSONBody[LegalHoldRequest],
    ) -> LegalHoldEnvelope:
        scope = allowed(scope_for_compliance(principal))
        await begin_write(db_session)
        sealer = RecordSealer(keys)
        try:
            hold = await add_hold(
                db_session,
                sealer,
                tenant_id=scope.tenant_id,
                reason=data.reason,
                actor=principal.user_id,
                user_id=data.user_id,
                channel=data.channel,
                recipient=data.recipient,
                whole_tenant=data.whole_tenant,
                expires_at=data.expires_at,
            )
        except HoldScopeMissing:
            raise BadRequest(
                "say what the hold keeps: 'user_id', 'recipient' (with 'channel'), or "
                "'whole_tenant': true"
            ) from None
        except HoldScopeConflict:
            raise BadRequest(
                "'whole_tenant': true cannot be combined with 'user_id' or 'recipient'"
            ) from None
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
        operation_id="listLegalHolds",
        responses=error_responses(400, 401, 403, 500, 503),
    )
    async def list_legal_holds(
        self,
        principal: NamedDependency[Principal],
        db_session: NamedDependency[AsyncSession],
        include_released: Annotated[bool, Parameter(description="also list released holds")] = True,
    ) -> LegalHoldListResponse:
        scope = allowed(scope_for_compliance(principal))
        holds = await list_holds(db_session, scope.tenant_id, include_released=include_released)
        now = datetime.now(UTC)
        return LegalHoldListResponse(
            code=HTTP_200_OK,
            message="success",
            timestamp=utc_timestamp(),
            items=[_hold_view(hold, now) for hold in holds],
            total=len(holds),
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
        hold_id: PathId,
    ) -> Response[LegalHoldEnvelope]:
        scope = allowed(scope_for_compliance(principal))
        await begin_write(db_session)
        try:
            hold = await release_hold(
                db_session, hold_id, actor=principal.user_id, tenant_id=scope.tenant_id
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
