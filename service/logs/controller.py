"""HTTP endpoints of the send log. Thin: parse, ask the policy layer, call the service."""

from __future__ import annotations

import re
from typing import Annotated

from litestar import Controller, Response, get, post
from litestar.datastructures import State
from litestar.di import NamedDependency, Provide
from litestar.openapi.datastructures import ResponseSpec
from litestar.params import HeaderParameter, JSONBody, Parameter
from litestar.status_codes import HTTP_200_OK, HTTP_201_CREATED
from sqlalchemy.ext.asyncio import AsyncSession

from compliance.encryption.keystore import KeyStore
from compliance.masking_lane import MaskingLane
from compliance.records.repository import SendLogRepository
from policies.access import (
    Principal,
    scope_for_own_logs,
    scope_for_recording,
)
from policies.channels import Channel, DeliveryStatus
from policies.disclosure import disclose, text_chars
from policies.identifiers import IDENTIFIER_PATTERN, MAX_IDENTIFIER_LENGTH
from policies.paging import DEFAULT_PAGE_SIZE, MAX_PAGE, MAX_PAGE_SIZE, PageRequest, page_info
from policies.records import SendRecord
from service.dependencies import allowed
from service.errors import BadRequest, error_responses
from service.guards import ingest_only
from service.logs.service import SendLogService
from service.schemas import (
    CommunicationLogEnvelope,
    CommunicationLogListResponse,
    CommunicationLogResponse,
    PageInfo,
    PathId,
    RecordSendRequest,
    StatusUpdateRequest,
    utc_timestamp,
)

IDEMPOTENCY_KEY = re.compile(r"[\x21-\x7e]{1,255}")


async def provide_send_log_service(
    db_session: NamedDependency[AsyncSession], keys: NamedDependency[KeyStore], state: State
) -> SendLogService:
    return SendLogService(
        SendLogRepository(session=db_session, keys=keys, templates=state["template_cache"]),
        limits=state["settings"].text_limits,
    )


def _view(record: SendRecord) -> CommunicationLogResponse:
    return CommunicationLogResponse.of(disclose(record))


async def _views(records: list[SendRecord], state: State) -> list[CommunicationLogResponse]:
    """The page's records, masked and shaped, without holding the event loop for long."""
    lane: MaskingLane = state["masking_lane"]
    return await lane.run(text_chars(records), lambda: [_view(record) for record in records])


class CommunicationLogController(Controller):
    path = "/communication/logs"
    tags = ["communication logs"]
    dependencies = {"send_logs": Provide(provide_send_log_service)}
    security = [{"BearerToken": []}]

    @get(
        "/",
        summary="分页查询当前租户的消息发送记录 — list your own send records",
        description=(
            "分页查询当前租户的消息发送记录。按当前登录用户隔离数据(仅返回本人的发送记录),"
            "支持按渠道(sms/email/push)和发送状态(pending/sent/failed/delivered)筛选。"
            "参考:ePrivacy Directive 2002/58/EC、CAN-SPAM Act.\n\n"
            "Paged query of the current tenant's message-send records, isolated by the "
            "logged-in user (only the caller's own records). Newest first. Recipients and "
            "content are always masked."
        ),
        operation_id="listCommunicationLogs",
        responses={
            HTTP_200_OK: ResponseSpec(
                data_container=CommunicationLogListResponse,
                description="分页查询成功,返回发送日志摘要列表 — page of send-log summaries",
                generate_examples=False,
            ),
            **error_responses(400, 401, 403, 500, 503),
        },
    )
    async def list_logs(
        self,
        state: State,
        principal: NamedDependency[Principal],
        send_logs: NamedDependency[SendLogService],
        user_id: Annotated[
            str | None,
            Parameter(
                description="用户ID(按当前登录用户自动过滤) — must be your own user id",
                min_length=1,
                max_length=MAX_IDENTIFIER_LENGTH,
                pattern=IDENTIFIER_PATTERN,
            ),
        ] = None,
        channel: Annotated[
            Channel | None, Parameter(description="发送渠道筛选:sms/email/push")
        ] = None,
        status: Annotated[
            DeliveryStatus | None,
            Parameter(description="发送状态筛选:pending/sent/failed/delivered"),
        ] = None,
        page: Annotated[int, Parameter(description="页码,从1开始(默认1)", ge=1, le=MAX_PAGE)] = 1,
        page_size: Annotated[
            int,
            Parameter(
                description=f"每页条数(默认{DEFAULT_PAGE_SIZE},最大{MAX_PAGE_SIZE})",
                ge=1,
                le=MAX_PAGE_SIZE,
            ),
        ] = DEFAULT_PAGE_SIZE,
    ) -> CommunicationLogListResponse:
        scope = allowed(scope_for_own_logs(principal, user_id))
        request = PageRequest(page=page, page_size=page_size)
        records, total = await send_logs.list_own(scope, request, channel=channel, status=status)
        return CommunicationLogListResponse(
            code=HTTP_200_OK,
            message="success",
            timestamp=utc_timestamp(),
            items=await _views(records, state),
            total=total,
            pagination=PageInfo.of(page_info(request, total)),
        )

    @post(
        "/",
        summary="Record one send (role ingest)",
        description=(
            "A sending service records a message it sent for its tenant, with its `content`, "
            "or with `template_id` and `template_params` for a template registered with "
            "`PUT /templates/{template_id}` (the service renders it; `secret` parameters are "
            "never stored). The recipient is "
            "validated for its channel. Send the same `Idempotency-Key` when retrying: the "
            "first record is returned and nothing is stored twice. A request under a used "
            "key that differs from the first in any field (including `status` and "
            "`created_at`) is 409."
        ),
        status_code=HTTP_201_CREATED,
        guards=[ingest_only],
        operation_id="recordCommunicationLog",
        responses={
            HTTP_200_OK: ResponseSpec(
                data_container=CommunicationLogEnvelope,
                description="a retry with the same Idempotency-Key: the original record",
                generate_examples=False,
            ),
            **error_responses(400, 401, 403, 409, 413, 415, 500, 503),
        },
    )
    async def record_send(
        self,
        principal: NamedDependency[Principal],
        send_logs: NamedDependency[SendLogService],
        data: JSONBody[RecordSendRequest],
        idempotency_key: Annotated[
            str | None,
            HeaderParameter(
                name="Idempotency-Key",
                required=False,
                description="A unique string per send: 1 to 255 printable ASCII characters.",
            ),
        ] = None,
    ) -> Response[CommunicationLogEnvelope]:
        scope = allowed(scope_for_recording(principal))
        if idempotency_key is not None and not IDEMPOTENCY_KEY.fullmatch(idempotency_key):
            raise BadRequest("header 'Idempotency-Key' must be 1 to 255 printable ASCII characters")
        recorded = await send_logs.record_send(scope, data, idempotency_key=idempotency_key)
        status_code = HTTP_201_CREATED if recorded.created else HTTP_200_OK
        return Response(
            CommunicationLogEnvelope(
                code=status_code,
                message="recorded" if recorded.created else "already recorded",
                timestamp=utc_timestamp(),
                data=_view(recorded.record),
            ),
            status_code=status_code,
        )

    @post(
        "/{log_id:str}/status",
        summary="Record a delivery outcome (role ingest)",
        description=(
            "Allowed: pending→sent, pending→delivered, pending→failed, sent→delivered, "
            "sent→failed. Any other change is 409. Repeating the current status changes "
            "nothing, except that an `error` / `response` the record does not hold yet is "
            "stored; one that differs from the stored one is 409, and `at` is checked as "
            "for any outcome (400 if more than 5 minutes ahead). The first report's time "
            "is kept."
        ),
        status_code=HTTP_200_OK,
        guards=[ingest_only],
        operation_id="recordDeliveryOutcome",
        responses={
            HTTP_200_OK: ResponseSpec(
                data_container=CommunicationLogEnvelope,
                description="the record after the change",
                generate_examples=False,
            ),
            **error_responses(400, 401, 403, 404, 409, 413, 415, 500, 503),
        },
    )
    async def record_outcome(
        self,
        principal: NamedDependency[Principal],
        send_logs: NamedDependency[SendLogService],
        data: JSONBody[StatusUpdateRequest],
        log_id: PathId,
    ) -> CommunicationLogEnvelope:
        scope = allowed(scope_for_recording(principal))
        record = await send_logs.record_outcome(scope, log_id, data)
        return CommunicationLogEnvelope(
            code=HTTP_200_OK,
            message="updated",
            timestamp=utc_timestamp(),
            data=_view(record),
        )
