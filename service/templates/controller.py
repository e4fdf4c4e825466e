"""HTTP endpoints of message templates. Thin: parse, ask the policy layer, call the service."""

from __future__ import annotations

from typing import Annotated

from litestar import Controller, Response, get, put
from litestar.datastructures import State
from litestar.di import NamedDependency, Provide
from litestar.openapi.datastructures import ResponseSpec
from litestar.params import JSONBody, Parameter
from litestar.status_codes import HTTP_200_OK, HTTP_201_CREATED
from sqlalchemy.ext.asyncio import AsyncSession

from compliance.templates.repository import TemplateStore
from policies.access import Principal, scope_for_recording, scope_for_templates
from policies.paging import DEFAULT_PAGE_SIZE, MAX_PAGE, MAX_PAGE_SIZE, PageRequest, page_info
from service.dependencies import allowed
from service.errors import error_responses
from service.guards import ingest_only, template_readers_only
from service.schemas import PageInfo, TemplatePathId, utc_timestamp
from service.templates.schemas import (
    TemplateEnvelope,
    TemplateListResponse,
    TemplateRequest,
    TemplateResponse,
)
from service.templates.service import TemplateService

MAX_VERSION = 2**31 - 1


async def provide_template_service(
    db_session: NamedDependency[AsyncSession], state: State
) -> TemplateService:
    return TemplateService(
        TemplateStore(db_session, state["template_cache"]), state["settings"].retention_policy
    )


class TemplateController(Controller):
    path = "/templates"
    tags = ["templates"]
    dependencies = {"templates": Provide(provide_template_service)}
    security = [{"BearerToken": []}]

    @put(
        "/{template_id:str}",
        summary="Register or change a message template (role ingest)",
        description=(
            "The body uses `${name}` placeholders; `parameters` gives each one's class: "
            "`secret` (never stored, shown `******`), `personal` or `personal:<kind>` "
            "(stored encrypted, shown masked by kind: name, number, address, email, phone), "
            "`public` (shown as given). A change of channel, body, parameters or "
            "`content_retention_days` makes a new immutable version (201); the same "
            "template again is 200 with the current version. Unknown placeholders, unused "
            "or badly named parameters and unknown classes are 400 naming the parameters."
        ),
        status_code=HTTP_201_CREATED,
        guards=[ingest_only],
        operation_id="putTemplate",
        responses={
            HTTP_200_OK: ResponseSpec(
                data_container=TemplateEnvelope,
                description="the template was already so: its current version",
                generate_examples=False,
            ),
            **error_responses(400, 401, 403, 409, 413, 415, 500, 503),
        },
    )
    async def put_template(
        self,
        principal: NamedDependency[Principal],
        templates: NamedDependency[TemplateService],
        data: JSONBody[TemplateRequest],
        template_id: TemplatePathId,
    ) -> Response[TemplateEnvelope]:
        scope = allowed(scope_for_recording(principal))
        version, created = await templates.register(scope, principal.user_id, template_id, data)
        status_code = HTTP_201_CREATED if created else HTTP_200_OK
        return Response(
            TemplateEnvelope(
                code=status_code,
                message="new version" if created else "unchanged",
                timestamp=utc_timestamp(),
                data=TemplateResponse.of(version),
            ),
            status_code=status_code,
        )

    @get(
        "/",
        summary="List your tenant's templates (roles ingest, compliance_officer)",
        description="Current versions, by template id.",
        guards=[template_readers_only],
        operation_id="listTemplates",
        responses=error_responses(400, 401, 403, 500, 503),
    )
    async def list_templates(
        self,
        principal: NamedDependency[Principal],
        templates: NamedDependency[TemplateService],
        page: Annotated[int, Parameter(description="页码,从1开始", ge=1, le=MAX_PAGE)] = 1,
        page_size: Annotated[
            int, Parameter(description="每页条数", ge=1, le=MAX_PAGE_SIZE)
        ] = DEFAULT_PAGE_SIZE,
    ) -> TemplateListResponse:
        scope = allowed(scope_for_templates(principal))
        request = PageRequest(page=page, page_size=page_size)
        items, total = await templates.page(scope, request)
        return TemplateListResponse(
            code=HTTP_200_OK,
            message="success",
            timestamp=utc_timestamp(),
            items=[TemplateResponse.of(item) for item in items],
            total=total,
            pagination=PageInfo.of(page_info(request, total)),
        )

    @get(
        "/{template_id:str}",
        summary="One template: its current version, or `version` (roles ingest, "
        "compliance_officer)",
        guards=[template_readers_only],
        operation_id="getTemplate",
        responses=error_responses(400, 401, 403, 404, 500, 503),
    )
    async def get_template(
        self,
        principal: NamedDependency[Principal],
        templates: NamedDependency[TemplateService],
        template_id: TemplatePathId,
        version: Annotated[
            int | None,
            Parameter(
                description="a version number (default: the current one)", ge=1, le=MAX_VERSION
            ),
        ] = None,
    ) -> TemplateEnvelope:
        scope = allowed(scope_for_templates(principal))
        found = await templates.get(scope, template_id, version)
        return TemplateEnvelope(
            code=HTTP_200_OK,
            message="success",
            timestamp=utc_timestamp(),
            data=TemplateResponse.of(found),
        )
