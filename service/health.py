"""Liveness and readiness probes: no authentication, no data."""

from __future__ import annotations

import asyncio
import logging

from litestar import Controller, Response, get
from litestar.datastructures import State
from litestar.status_codes import HTTP_200_OK, HTTP_503_SERVICE_UNAVAILABLE

from service.errors import error_responses
from service.readiness import Readiness
from service.schemas import SimpleResponse, utc_timestamp

READINESS_TIMEOUT_SECONDS = 2.0
logger = logging.getLogger("commlog.health")


class HealthController(Controller):
    path = "/health"
    tags = ["health"]
    opt = {"exclude_from_auth": True}

    @get("/live", summary="The process is up", operation_id="getLiveness")
    async def live(self) -> SimpleResponse:
        return SimpleResponse(code=HTTP_200_OK, message="alive", timestamp=utc_timestamp())

    @get(
        "/ready",
        summary="The database answers, its schema is current, the master keys are verified",
        operation_id="getReadiness",
        responses=error_responses(503),
    )
    async def ready(self, state: State) -> Response[SimpleResponse]:
        """503 names the failed check (never a secret); see ``service.readiness``."""
        readiness: Readiness = state["readiness"]
        try:
            async with asyncio.timeout(READINESS_TIMEOUT_SECONDS):
                problem = await readiness.problem()
        except Exception as exc:  # no answer in time, or no answer at all
            logger.warning("readiness check failed: %s", type(exc).__name__)
            problem = "database unreachable"
        if problem is not None:
            return Response(
                SimpleResponse(
                    code=HTTP_503_SERVICE_UNAVAILABLE, message=problem, timestamp=utc_timestamp()
                ),
                status_code=HTTP_503_SERVICE_UNAVAILABLE,
                headers={"Retry-After": "5"},
            )
        return Response(
            SimpleResponse(code=HTTP_200_OK, message="ready", timestamp=utc_timestamp())
        )
