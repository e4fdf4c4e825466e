"""Liveness and readiness probes: no authentication, no data."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Coroutine
from typing import Any

from litestar import Controller, Response, get
from litestar.datastructures import State
from litestar.status_codes import HTTP_200_OK, HTTP_503_SERVICE_UNAVAILABLE

from service.errors import error_responses
from service.readiness import Readiness
from service.schemas import SimpleResponse, utc_timestamp

READINESS_TIMEOUT_SECONDS = 2.0
logger = logging.getLogger("commlog.health")


def _forget(task: asyncio.Task[str | None]) -> None:
    """Collect a probe that outlived its answer (its connection's close can take a while)."""
    if not task.cancelled() and task.exception() is not None:
        logger.warning("readiness check failed late: %s", type(task.exception()).__name__)


async def _bounded(probe: Coroutine[Any, Any, str | None]) -> str | None:
    """The probe's answer within :data:`READINESS_TIMEOUT_SECONDS`, else "unreachable".

    ``asyncio.timeout`` would also wait for the cancelled probe to unwind, and closing a
    connection to a frozen server has a timeout of its own: the answer came after 4 s.
    The probe is cancelled and left to finish in the background instead.
    """
    task = asyncio.ensure_future(probe)
    done, _ = await asyncio.wait({task}, timeout=READINESS_TIMEOUT_SECONDS)
    if not done:
        task.cancel()
        task.add_done_callback(_forget)
        logger.warning("readiness check failed: no answer within %g s", READINESS_TIMEOUT_SECONDS)
        return "database unreachable"
    if (error := task.exception()) is not None:
        logger.warning("readiness check failed: %s", type(error).__name__)
        return "database unreachable"
    return task.result()


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
        problem = await _bounded(readiness.problem())
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
