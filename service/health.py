"""Liveness and readiness probes: no authentication, no data."""

from __future__ import annotations

import asyncio
import logging

from litestar import Controller, Response, get
from litestar.di import NamedDependency
from litestar.status_codes import HTTP_200_OK, HTTP_503_SERVICE_UNAVAILABLE
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from service.errors import error_responses
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
        summary="The database answers",
        operation_id="getReadiness",
        responses=error_responses(503),
    )
    async def ready(self, db_engine: NamedDependency[AsyncEngine]) -> Response[SimpleResponse]:
        try:
            async with asyncio.timeout(READINESS_TIMEOUT_SECONDS):
                async with db_engine.connect() as connection:
                    await connection.execute(text("SELECT 1"))
        except Exception as exc:  # any failure to answer means "not ready"
            logger.warning("readiness check failed: %s", type(exc).__name__)
            return Response(
                SimpleResponse(
                    code=HTTP_503_SERVICE_UNAVAILABLE,
                    message="database unreachable",
                    timestamp=utc_timestamp(),
                ),
                status_code=HTTP_503_SERVICE_UNAVAILABLE,
            )
        return Response(
            SimpleResponse(code=HTTP_200_OK, message="ready", timestamp=utc_timestamp())
        )
