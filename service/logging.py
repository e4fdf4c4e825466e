"""Structured logs: one JSON object per line on stderr, and one access line per request.

Every line is ``json.dumps`` of a flat object, so a newline or a quote in any value is
escaped and cannot start a line of its own (log forging). Non-ASCII is escaped too: some
readers split lines at U+2028 or U+0085.

What a line may hold is decided here and by the code that logs, never by the request: the
access line names the route *template* (``/communication/logs/{log_id}/status``), never
the raw path; an exception is logged as its type and stack, never its message (driver
messages quote SQL and parameters). Tenant and user ids are the token's pseudonymous
identifiers, not personal data in clear.

``configure_logging`` is the one place logging is set up, for the service and the CLI.
"""

from __future__ import annotations

import json
import logging
import os
import re
import secrets
import sys
import time
import traceback
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

from litestar.enums import ScopeType

from policies.access import Principal

if TYPE_CHECKING:
    from litestar.types import ASGIApp, Message, Receive, Scope, Send

REQUEST_ID_HEADER = "x-request-id"
UVICORN_LOG_CONFIG = Path(__file__).with_name("uvicorn-logging.json")
"""The same configuration for uvicorn's own processes that never load the app (the
supervisor of ``commlog run --wc N`` or ``--reload``): see :func:`serve_json_logs_only`."""
UNMATCHED_ROUTE = "unmatched"
_ACCEPTED_REQUEST_ID = re.compile(r"[\x21-\x7e]{1,128}")
_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "TRACE"})

# Loggers that print SQL with its parameters at DEBUG level: parameters are recipients and
# content, so these never log below WARNING, whatever the root level is.
PARAMETER_LOGGERS = ("aiosqlite", "sqlalchemy.engine", "sqlalchemy.pool", "asyncpg")

access_logger = logging.getLogger("commlog.access")


@dataclass(slots=True)
class RequestContext:
    """What every line logged while serving one request carries, and what its access
    line reports that only a handler deep inside knows (the 500's reference)."""

    request_id: str
    error_reference: str | None = None


current_request: ContextVar[RequestContext | None] = ContextVar("commlog_request", default=None)


def exception_fields(exc: BaseException) -> dict[str, Any]:
    """An exception as a log line may show it: its type and stack, never its message."""
    return {
        "type": type(exc).__name__,
        "stack": "".join(traceback.format_tb(exc.__traceback__)),
    }


class JsonFormatter(logging.Formatter):
    """One JSON object per record: time, level, logger, message, request id, the fields
    passed as ``extra={"fields": {...}}``, and an exception's type and stack."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        request = current_request.get()
        if request is not None:
            entry["request_id"] = request.request_id
        fields = getattr(record, "fields", None)
        if isinstance(fields, dict):
            entry.update(fields)
        if record.exc_info and record.exc_info[1] is not None:
            # Not record.exc_text: another handler may have cached the message there.
            entry["exception"] = exception_fields(record.exc_info[1])
        return json.dumps(entry, ensure_ascii=True, default=str)


class StderrHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """Writes to whatever ``sys.stderr`` is when a record is emitted (as the standard
    library's last-resort handler does), so redirections made later are honoured."""

    def __init__(self) -> None:
        logging.Handler.__init__(self)

    @property
    def stream(self) -> TextIO:
        return sys.stderr


_process_level: int | str = logging.INFO


def configure_logging(level: int | str | None = None) -> None:
    """JSON lines on stderr for every logger; no uvicorn access log; SQL parameters never.

    Idempotent: the app factory calls it (after uvicorn configured its own loggers, so
    this wins) and so does the CLI, first, with the level for the whole process (one-shot
    commands keep stderr to their one line unless something is wrong: WARNING).
    """
    global _process_level
    if level is not None:
        _process_level = level
    root = logging.getLogger()
    for handler in [h for h in root.handlers if isinstance(h, StderrHandler)]:
        root.removeHandler(handler)
    handler = StderrHandler()
    handler.setFormatter(JsonFormatter())
    root.addHandler(handler)
    logging.getLogger("commlog").setLevel(_process_level)
    for name in ("uvicorn", "uvicorn.error", "litestar"):
        # Their own handlers print plain text: route them through the root's JSON handler.
        named = logging.getLogger(name)
        named.handlers.clear()
        named.propagate = True
    # uvicorn's access line holds the raw path (forgeable, and ids are data): the access
    # middleware below logs each request instead. uvicorn logs access only when this
    # logger has a handler somewhere up its chain.
    uvicorn_access = logging.getLogger("uvicorn.access")
    uvicorn_access.handlers.clear()
    uvicorn_access.propagate = False
    uvicorn_access.disabled = True
    silence_parameter_loggers()


def serve_json_logs_only() -> None:
    """For ``commlog run``: uvicorn's command line (which Litestar runs in a subprocess
    for several workers or reloading) reads these, so its supervisor logs JSON too and
    no process prints uvicorn's access line."""
    os.environ.setdefault("UVICORN_LOG_CONFIG", str(UVICORN_LOG_CONFIG))
    os.environ.setdefault("UVICORN_ACCESS_LOG", "false")


def silence_parameter_loggers() -> None:
    for name in PARAMETER_LOGGERS:
        logging.getLogger(name).setLevel(logging.WARNING)


def _request_id(scope: Scope) -> str:
    for name, value in scope["headers"]:
        if name == b"x-request-id":
            text = value.decode("latin-1")
            if _ACCEPTED_REQUEST_ID.fullmatch(text):
                return text
            break
    return secrets.token_hex(16)


class RequestLogMiddleware:
    """Pure ASGI, outside Litestar's router: sees every request, also 404 and 405.

    Sets the request id (the caller's ``X-Request-ID`` if it is 1–128 printable ASCII
    characters without spaces, else a new one), echoes it on the response, and logs one
    access line when the response is done.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != ScopeType.HTTP:
            await self.app(scope, receive, send)
            return
        context = RequestContext(request_id=_request_id(scope))
        token = current_request.set(context)
        started = time.perf_counter()
        status = 500  # if the app ends without a response, the server answers 500
        header = (REQUEST_ID_HEADER.encode(), context.request_id.encode())

        async def send_with_request_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message["headers"] = [*message.get("headers", ()), header]
            await send(message)

        try:
            await self.app(scope, receive, send_with_request_id)
        finally:
            _log_access(scope, status, time.perf_counter() - started, context)
            current_request.reset(token)


def _log_access(scope: Scope, status: int, seconds: float, context: RequestContext) -> None:
    method = scope.get("method", "")
    fields: dict[str, Any] = {
        "method": method if method in _METHODS else "other",
        "route": scope.get("path_template") or UNMATCHED_ROUTE,
        "status": status,
        "duration_ms": round(seconds * 1000, 2),
    }
    user = scope.get("user")
    if isinstance(user, Principal):
        fields["tenant_id"] = user.tenant_id
        fields["user_id"] = user.user_id
    if status >= 500 and context.error_reference is not None:
        fields["error_reference"] = context.error_reference
    access_logger.info("request", extra={"fields": fields})
