"""Compliance officers' endpoints for data-subject requests (GDPR Art. 15/17, PIPL
Art. 45/47): record a request, list and read them, fetch an access file, run an erasure.

An erasure runs in the ``POST`` that records it, in bounded batches, each committed on
its own; the ``201`` is sent only after the last batch committed and the request was
completed with its audit event. If a batch fails, the request stays ``open`` with the
counts of the batches that committed, the answer is a ``503`` naming the request, and
``POST /compliance/subject-requests/{id}/run`` (or ``commlog subject run``) finishes it.
One subject's records are few enough for one request's time; a rerun is the remedy for
the rare interruption, not a queue.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncGenerator
from datetime import UTC, datetime
from typing import Annotated

import anyio
from litestar import Controller, get, post
from litestar.datastructures import ResponseHeader, State
from litestar.di import NamedDependency
from litestar.params import JSONBody, Parameter, QueryParameter
from litestar.response import Stream
from litestar.status_codes import HTTP_200_OK, HTTP_201_CREATED
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncSession

from compliance.audit.trail import new_event_id
from compliance.encryption.keystore import KeyStore
from compliance.records.sealing import RecordSealer
from compliance.subjects.access import MEDIA_TYPE, SubjectAccessFile, record_access
from compliance.subjects.erasure import ErasureOptions, run_erasure
from compliance.subjects.requests import (
    SubjectRequest,
    SubjectRequestInvalid,
    SubjectRequestNotFound,
    SubjectRequestWrongType,
    create_request,
    get_request,
    list_requests,
    view,
)
from compliance.transactions import CommitFailed, begin_write
from compliance.transactions import commit as commit_transaction
from policies.access import Principal, scope_for_compliance
from policies.audit_chain import Actor, ActorKind
from policies.paging import DEFAULT_PAGE_SIZE, MAX_PAGE, MAX_PAGE_SIZE, PageRequest, page_info
from policies.subject_requests import RequestStatus, RequestType
from service.compliance.subject_request_schemas import (
    SubjectRequestCreate,
    SubjectRequestEnvelope,
    SubjectRequestListResponse,
    SubjectRequestResponse,
)
from service.dependencies import allowed
from service.errors import (
    BadRequest,
    Conflict,
    RecordNotFound,
    ServiceUnavailable,
    error_responses,
)
from service.guards import compliance_officers_only
from service.logging import current_request
from service.persistence.unit_of_work import commit
from service.schemas import PageInfo, PathId, utc_timestamp

logger = logging.getLogger("commlog.subjects")
AUDIT_EVENT_HEADER = "X-Audit-Event-Id"
RETRY_AFTER_SECONDS = 5
AUDIT_WRITE_SECONDS = 10.0
"""How long recording an interrupted fetch may take once the response is ending."""


def officer_actor(principal: Principal) -> Actor:
    """The audit trail's actor for an officer's request (with the request id)."""
    context = current_request.get()
    origin = {"request_id": context.request_id} if context is not None else {}
    return Actor(id=principal.user_id, kind=ActorKind.OFFICER, origin=origin)


def _response(request: SubjectRequest) -> SubjectRequestResponse:
    return SubjectRequestResponse.of(request, overdue=request.overdue_at(datetime.now(UTC)))


def _envelope(code: int, message: str, request: SubjectRequest) -> SubjectRequestEnvelope:
    return SubjectRequestEnvelope(
        code=code, message=message, timestamp=utc_timestamp(), data=_response(request)
    )


async def _erase(
    session: AsyncSession, keys: KeyStore, state: State, request_id: str, actor: Actor, tenant: str
) -> SubjectRequest:
    """Run an erasure; an interruption is a 503 naming the request (it stays open with
    what committed, and a rerun finishes it)."""
    try:
        return await run_erasure(
            session,
            RecordSealer(keys),
            state["settings"].master_keys,
            request_id,
            actor=actor,
            tenant_id=tenant,
            options=ErasureOptions(),
        )
    except (CommitFailed, DBAPIError, OSError) as exc:
        with contextlib.suppress(Exception):
            await session.rollback()
        logger.warning(
            "subject request %s: erasure interrupted (%s)", request_id, type(exc).__name__
        )
        raise ServiceUnavailable(
            f"subject request {request_id} is recorded but its erasure was interrupted; "
            f"what committed stays done: POST /compliance/subject-requests/{request_id}/run "
            "to finish it",
            retry_after=RETRY_AFTER_SECONDS,
        ) from None


class SubjectRequestController(Controller):
    path = "/compliance/subject-requests"
    tags = ["compliance"]
    security = [{"BearerToken": []}]
    guards = [compliance_officers_only]

    @post(
        "/",
        summary="Record a data-subject request; an erasure runs at once (role compliance_officer)",
        description=(
            "`type` `access` (GDPR Art. 15, PIPL Art. 45) or `erasure` (GDPR Art. 17, PIPL "
            "Art. 47); the subject by exactly one of `recipient` (with `channel`, or on every "
            "channel it is a valid recipient for; found through the blind index and confirmed "
            "by decryption) or `user_id` (account closure). Due 30 days after it is recorded "
            "unless `due_at` is earlier (at most 90 days: GDPR Art. 12(3)). An erasure clears "
            "recipient, content, error, response and template parameters of the subject's "
            "records in committed batches, except records an active legal hold covers "
            "(counted per hold); the 201 is sent after the last batch committed. A 503 names "
            "the request when an erasure was interrupted: `POST …/{id}/run` finishes it."
        ),
        status_code=HTTP_201_CREATED,
        operation_id="createSubjectRequest",
        responses=error_responses(400, 401, 403, 413, 415, 500, 503),
    )
    async def create(
        self,
        principal: NamedDependency[Principal],
        db_session: NamedDependency[AsyncSession],
        keys: NamedDependency[KeyStore],
        state: State,
        data: JSONBody[SubjectRequestCreate],
    ) -> SubjectRequestEnvelope:
        scope = allowed(scope_for_compliance(principal))
        actor = officer_actor(principal)
        await begin_write(db_session)
        try:
            request = await create_request(
                db_session,
                RecordSealer(keys),
                state["settings"].master_keys,
                tenant_id=scope.tenant_id,
                actor=actor,
                type=data.type,
                reference=data.reference,
                recipient=data.recipient,
                channel=data.channel,
                user_id=data.user_id,
                due_at=data.due_at,
            )
        except SubjectRequestInvalid as exc:
            raise BadRequest(str(exc)) from None
        await commit(db_session, operation="subject_request_create")
        if request.type is RequestType.ACCESS:
            return _envelope(HTTP_201_CREATED, "subject request recorded", request)
        done = await _erase(db_session, keys, state, request.id, actor, scope.tenant_id)
        return _envelope(HTTP_201_CREATED, "subject request recorded and erasure completed", done)

    @get(
        "/",
        summary="List your tenant's data-subject requests (role compliance_officer)",
        description="Newest first; `overdue=true` lists the open requests past their `due_at`.",
        operation_id="listSubjectRequests",
        responses=error_responses(400, 401, 403, 500, 503),
    )
    async def list_subject_requests(
        self,
        principal: NamedDependency[Principal],
        db_session: NamedDependency[AsyncSession],
        status: Annotated[
            RequestStatus | None, QueryParameter(name="status", description="open or completed")
        ] = None,
        request_type: Annotated[
            RequestType | None, QueryParameter(name="type", description="access or erasure")
        ] = None,
        overdue: Annotated[
            bool, Parameter(description="only open requests past their due_at")
        ] = False,
        page: Annotated[int, Parameter(ge=1, le=MAX_PAGE)] = 1,
        page_size: Annotated[int, Parameter(ge=1, le=MAX_PAGE_SIZE)] = DEFAULT_PAGE_SIZE,
    ) -> SubjectRequestListResponse:
        scope = allowed(scope_for_compliance(principal))
        paging = PageRequest(page=page, page_size=page_size)
        requests, total = await list_requests(
            db_session,
            scope.tenant_id,
            status=status,
            type=request_type,
            overdue_at=datetime.now(UTC) if overdue else None,
            limit=paging.page_size,
            offset=paging.offset,
        )
        return SubjectRequestListResponse(
            code=HTTP_200_OK,
            message="success",
            timestamp=utc_timestamp(),
            items=[_response(request) for request in requests],
            total=total,
            pagination=PageInfo.of(page_info(paging, total)),
        )

    @get(
        "/{request_id:str}",
        summary="One data-subject request (role compliance_officer)",
        operation_id="getSubjectRequest",
        responses=error_responses(400, 401, 403, 404, 500, 503),
    )
    async def get_subject_request(
        self,
        principal: NamedDependency[Principal],
        db_session: NamedDependency[AsyncSession],
        request_id: PathId,
    ) -> SubjectRequestEnvelope:
        scope = allowed(scope_for_compliance(principal))
        try:
            row = await get_request(db_session, request_id, tenant_id=scope.tenant_id)
        except SubjectRequestNotFound as exc:
            raise RecordNotFound(str(exc)) from None
        return _envelope(HTTP_200_OK, "success", view(row))

    @post(
        "/{request_id:str}/run",
        summary="Finish an interrupted erasure (role compliance_officer)",
        description=(
            "Goes on after the last committed batch; a completed request is returned as it is."
        ),
        status_code=HTTP_200_OK,
        operation_id="runSubjectRequest",
        responses=error_responses(400, 401, 403, 404, 409, 500, 503),
    )
    async def run(
        self,
        principal: NamedDependency[Principal],
        db_session: NamedDependency[AsyncSession],
        keys: NamedDependency[KeyStore],
        state: State,
        request_id: PathId,
    ) -> SubjectRequestEnvelope:
        scope = allowed(scope_for_compliance(principal))
        try:
            done = await _erase(
                db_session, keys, state, request_id, officer_actor(principal), scope.tenant_id
            )
        except SubjectRequestNotFound as exc:
            raise RecordNotFound(str(exc)) from None
        except SubjectRequestWrongType as exc:
            raise Conflict(str(exc)) from None
        return _envelope(HTTP_200_OK, "erasure completed", done)

    @get(
        "/{request_id:str}/records",
        summary="The access file: the subject's records, unmasked, JSONL (role compliance_officer)",
        description=(
            "One JSON object per line, the fields of an item of `GET /communication/logs`, "
            "recipient and content in clear (GDPR Art. 15(3), PIPL Art. 45: the subject's own "
            "data; the tenant's export reveal policy does not apply). Each fetch is recorded "
            "as `subject_request.access` with the row count and the SHA-256 of the bytes "
            "sent; `X-Audit-Event-Id` names that event. The first complete fetch completes "
            "the request."
        ),
        operation_id="getSubjectRequestRecords",
        media_type=MEDIA_TYPE,
        response_headers=[
            ResponseHeader(
                name=AUDIT_EVENT_HEADER,
                description="the id of the subject_request.access event that records this fetch",
                documentation_only=True,
            ),
            ResponseHeader(
                name="Content-Disposition",
                description="attachment; filename=<request id>.jsonl",
                documentation_only=True,
            ),
        ],
        responses=error_responses(400, 401, 403, 404, 409, 500, 503),
    )
    async def records(
        self,
        principal: NamedDependency[Principal],
        db_session: NamedDependency[AsyncSession],
        keys: NamedDependency[KeyStore],  # the key gate: 503 before the master keys are verified
        state: State,
        request_id: PathId,
    ) -> Stream:
        del keys
        scope = allowed(scope_for_compliance(principal))
        try:
            row = await get_request(db_session, request_id, tenant_id=scope.tenant_id)
            access = SubjectAccessFile(
                view(row),
                sessions=state["database"].get_session,
                master_keys=state["settings"].master_keys,
                key_cache=state["key_cache"],
                templates=state["template_cache"],
                gate=state["key_gate"],
            )
        except SubjectRequestNotFound as exc:
            raise RecordNotFound(str(exc)) from None
        except SubjectRequestWrongType as exc:
            raise Conflict(str(exc)) from None
        await db_session.rollback()  # end the read before the stream's own session starts
        event_id = new_event_id()
        actor = officer_actor(principal)
        database = state["database"]
        master = state["settings"].master_keys
        # The first chunk is read here: a database or key failure is still an ordinary 503.
        try:
            first: bytes | None = await access.__anext__()
        except StopAsyncIteration:
            first = None
        except BaseException:
            await access.aclose()
            raise

        async def recorded() -> None:
            async with database.get_session() as session:
                await record_access(
                    session,
                    master,
                    request_id,
                    actor=actor,
                    rows=access.rows,
                    sha256=access.sha256,
                    complete=access.finished,
                    event_id=event_id,
                    tenant_id=scope.tenant_id,
                )
                await commit_transaction(session, operation="subject_request_access")

        async def body() -> AsyncGenerator[bytes, None]:
            try:
                if first is not None:
                    yield first
                async for chunk in access:
                    yield chunk
            except BaseException:
                # The client went away, the server stopped, or reading failed: record what
                # was handed over (never raises), and let the transfer break.
                with anyio.move_on_after(AUDIT_WRITE_SECONDS, shield=True):
                    await access.aclose()
                    try:
                        await recorded()
                    except Exception as exc:
                        logger.error(
                            "subject request %s: access event %s not recorded (%s)",
                            request_id,
                            event_id,
                            type(exc).__name__,
                        )
                raise
            # Before the response's end: a file that arrives whole always has its event;
            # if the event cannot be written, the transfer breaks instead.
            with anyio.CancelScope(shield=True):
                await recorded()

        return Stream(
            body(),
            media_type=MEDIA_TYPE,
            headers={
                AUDIT_EVENT_HEADER: event_id,
                "Content-Disposition": f'attachment; filename="{request_id}.jsonl"',
            },
        )
