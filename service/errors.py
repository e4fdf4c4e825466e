"""Failures as values, and the one place they become HTTP responses.

Every error leaves as the seed's ``SimpleResponse`` ``{code, message, timestamp}`` with
``code`` equal to the HTTP status. Messages are written here or by the code that raises a
domain error, never taken from an unexpected exception: those may quote SQL parameters,
recipients or content, so a 500 says only that something failed and gives a reference.
"""

from __future__ import annotations

import logging
import re
import secrets
from typing import Any

from litestar import Request, Response
from litestar.exceptions import HTTPException, ValidationException
from litestar.openapi.datastructures import ResponseSpec
from litestar.openapi.spec import Example
from litestar.status_codes import (
    HTTP_400_BAD_REQUEST,
    HTTP_401_UNAUTHORIZED,
    HTTP_403_FORBIDDEN,
    HTTP_404_NOT_FOUND,
    HTTP_409_CONFLICT,
    HTTP_413_REQUEST_ENTITY_TOO_LARGE,
    HTTP_500_INTERNAL_SERVER_ERROR,
    HTTP_503_SERVICE_UNAVAILABLE,
)
from sqlalchemy.exc import DBAPIError
from sqlalchemy.exc import TimeoutError as PoolTimeout

from compliance.audit.trail import AuditChainBroken
from compliance.encryption.gate import MasterKeysNotVerified
from compliance.encryption.master import MasterKeyError
from policies.identifiers import IDENTIFIER_RULE
from policies.recipients import InvalidRecipient
from service.compliance.denials import denial_task
from service.logging import UNMATCHED_ROUTE, current_request, exception_fields
from service.persistence.outages import database_unavailable
from service.schemas import SimpleResponse, utc_timestamp

logger = logging.getLogger("commlog.errors")
REALM = "commlog"


class CommlogError(Exception):
    """A failure the caller can act on. ``str(error)`` is safe to show: it names no data."""

    status_code: int = HTTP_400_BAD_REQUEST


class BadRequest(CommlogError):
    status_code = HTTP_400_BAD_REQUEST


class Unauthenticated(CommlogError):
    """401. ``invalid_token`` is False only when no bearer token was presented at all, so the
    challenge carries no error code then (RFC 6750, section 3.1)."""

    status_code = HTTP_401_UNAUTHORIZED

    def __init__(self, message: str, *, invalid_token: bool = True, expired: bool = False) -> None:
        super().__init__(message)
        self.invalid_token = invalid_token
        self.kind = "missing" if not invalid_token else ("expired" if expired else "invalid")
        """What the audit trail records of the failure: ``missing``, ``invalid`` or
        ``expired`` (never the token)."""


class AccessDenied(CommlogError):
    status_code = HTTP_403_FORBIDDEN


class RecordNotFound(CommlogError):
    status_code = HTTP_404_NOT_FOUND


class TransitionRejected(CommlogError):
    status_code = HTTP_409_CONFLICT


class IdempotencyConflict(CommlogError):
    status_code = HTTP_409_CONFLICT


class Conflict(CommlogError):
    status_code = HTTP_409_CONFLICT


class ServiceUnavailable(CommlogError):
    """The database (or something else the answer depends on) cannot be trusted right now.

    Nothing was stored: the caller may retry after ``retry_after`` seconds (with the same
    ``Idempotency-Key`` for a send, which then stores it exactly once).
    """

    status_code = HTTP_503_SERVICE_UNAVAILABLE

    def __init__(self, message: str, *, retry_after: int = 5) -> None:
        super().__init__(message)
        self.retry_after = retry_after


_RESPONSE_DESCRIPTIONS = {
    400: "请求参数错误 — bad request parameter",
    401: "未认证或令牌无效 — not authenticated, or token invalid",
    403: "无权访问该资源 — no permission for this resource",
    404: "记录不存在 — no such record in your tenant",
    405: "方法不允许 — method not allowed on this path",
    409: "状态冲突 — conflicting state",
    413: "请求体过大 — request body too large",
    415: "请求体类型不支持 — body must be application/json",
    500: "服务内部错误 — internal service error",
    503: "服务暂不可用,请稍后重试 — not stored; retry after the Retry-After seconds",
}


# What each error says, as the service says it: the docs page shows these, and a generated
# client's tests can use them.
_EXAMPLE_MESSAGES = {
    400: "invalid request: query parameter 'page_size': Expected `int` <= 100",
    401: "missing bearer token",
    403: "send records of other users are not accessible",
    404: "no send record with this id in your tenant",
    405: "Method Not Allowed",
    409: "status 'delivered' is final: it cannot become 'sent'",
    413: "Request Entity Too Large",
    415: "request body must be application/json",
    500: "internal server error (reference err_5f3c9a1b2d4e)",
    503: "database unavailable: nothing was stored, retry later",
}
EXAMPLE_TIMESTAMP = "2026-04-15T10:00:00Z"


def error_responses(*codes: int) -> dict[int, ResponseSpec]:
    """OpenAPI entries for the ``SimpleResponse`` errors a route can return."""
    return {
        code: ResponseSpec(
            data_container=SimpleResponse,
            description=_RESPONSE_DESCRIPTIONS[code],
            generate_examples=False,
            examples=[
                Example(
                    summary=_RESPONSE_DESCRIPTIONS[code],
                    value={
                        "code": code,
                        "message": _EXAMPLE_MESSAGES[code],
                        "timestamp": EXAMPLE_TIMESTAMP,
                    },
                )
            ],
        )
        for code in codes
    }


def simple_response(status_code: int, message: str) -> Response[SimpleResponse]:
    return Response(
        SimpleResponse(code=status_code, message=message, timestamp=utc_timestamp()),
        status_code=status_code,
        headers={"Cache-Control": "no-store"},
    )


_ECHOED_ENUM_VALUE = re.compile(r"Invalid enum value '.*'", re.DOTALL)


def without_values(reason: str) -> str:
    """A validator's reason with any value it quoted taken out: the value came from the
    client, may be personal data (a recipient in the wrong field) and may be huge."""
    return _ECHOED_ENUM_VALUE.sub("is not one of the allowed values", reason)


def _describe_validation(exc: ValidationException) -> str:
    """Name the parameter or field that failed, from Litestar's structured details."""
    extra = exc.extra if isinstance(exc.extra, list) else []
    parts: list[str] = []
    for item in extra:
        if not isinstance(item, dict):
            continue
        key = item.get("key")
        source = getattr(item.get("source"), "value", item.get("source"))  # ParamType or str
        message = without_values(str(item.get("message", "is invalid")))
        if "matching regex" in message:  # the only patterns on parameters are identifiers'
            message = IDENTIFIER_RULE
        if key == "data" and source == "body":
            parts.append("a JSON body is required")
        elif key:
            where = f"{source} parameter '{key}'" if source in ("query", "path") else f"'{key}'"
            parts.append(f"{where}: {message}")
        else:
            parts.append(message)
    if parts:
        return "invalid request: " + "; ".join(parts)
    detail = exc.detail or ""
    if detail.startswith("Validation failed for"):
        return "invalid request"
    return f"invalid request: {detail}"


def bearer_challenge(exc: Unauthenticated) -> str:
    """The ``WWW-Authenticate`` value of a 401 (RFC 6750, section 3)."""
    if exc.invalid_token:
        return f'Bearer realm="{REALM}", error="invalid_token"'
    return f'Bearer realm="{REALM}"'


def handle_commlog_error(
    request: Request[Any, Any, Any], exc: CommlogError
) -> Response[SimpleResponse]:
    response = simple_response(exc.status_code, str(exc))
    if exc.status_code in (HTTP_401_UNAUTHORIZED, HTTP_403_FORBIDDEN):
        # Refusals on /compliance/* are recorded after the response is sent.
        response.background = denial_task(
            request,
            exc.status_code,
            reason_kind=exc.kind if isinstance(exc, Unauthenticated) else None,
        )
    if isinstance(exc, ServiceUnavailable):
        response.headers["Retry-After"] = str(exc.retry_after)
    if isinstance(exc, Unauthenticated):
        response.headers["WWW-Authenticate"] = bearer_challenge(exc)
    return response


def handle_invalid_recipient(
    _: Request[Any, Any, Any], exc: InvalidRecipient
) -> Response[SimpleResponse]:
    return simple_response(HTTP_400_BAD_REQUEST, str(exc))


def handle_validation(
    _: Request[Any, Any, Any], exc: ValidationException
) -> Response[SimpleResponse]:
    return simple_response(HTTP_400_BAD_REQUEST, _describe_validation(exc))


def handle_http_exception(
    request: Request[Any, Any, Any], exc: HTTPException
) -> Response[SimpleResponse]:
    status = exc.status_code
    if status >= HTTP_500_INTERNAL_SERVER_ERROR:
        return simple_response(status, "internal server error")
    if status == HTTP_413_REQUEST_ENTITY_TOO_LARGE:
        return simple_response(status, "request body is larger than 256 KiB")
    response = simple_response(status, exc.detail or "request failed")
    if exc.headers:
        response.headers.update(exc.headers)
    response.background = denial_task(request, status)
    return response


def handle_unexpected(request: Request[Any, Any, Any], exc: Exception) -> Response[SimpleResponse]:
    """Log the failure's type, route template and stack, never its message (it may quote
    stored data) nor the raw path (it is the caller's text)."""
    reference = "err_" + secrets.token_hex(6)
    context = current_request.get()
    if context is not None:
        context.error_reference = reference
    exception = exception_fields(exc)
    logger.error(
        "unhandled %s (reference %s)",
        exception["type"],
        reference,
        extra={
            "fields": {
                "reference": reference,
                "route": request.scope.get("path_template") or UNMATCHED_ROUTE,
                **exception,
            }
        },
    )
    return simple_response(
        HTTP_500_INTERNAL_SERVER_ERROR, f"internal server error (reference {reference})"
    )


DATABASE_RETRY_AFTER_SECONDS = 5


def _unavailable(
    request: Request[Any, Any, Any], exc: Exception, *, level: int, what: str, message: str
) -> Response[SimpleResponse]:
    """503 with ``Retry-After``, and one log line naming the failure's type and the route
    template, never the exception's text (it can quote parameters or key ids)."""
    logger.log(
        level,
        "%s: %s on %s %s",
        what,
        type(exc).__name__,
        request.method,
        request.scope.get("path_template", "?"),
    )
    return handle_commlog_error(
        request, ServiceUnavailable(message, retry_after=DATABASE_RETRY_AFTER_SECONDS)
    )


def handle_database_failure(
    request: Request[Any, Any, Any], exc: Exception
) -> Response[SimpleResponse]:
    """The database refused, dropped, froze or was locked: 503, nothing was stored.

    Any other database error is a bug and stays a 500.
    """
    if not database_unavailable(exc):
        return handle_unexpected(request, exc)
    return _unavailable(
        request,
        exc,
        level=logging.WARNING,
        what="database unavailable",
        message="database unavailable, retry later",
    )


def handle_keys_not_verified(
    request: Request[Any, Any, Any], exc: MasterKeysNotVerified
) -> Response[SimpleResponse]:
    """No data key is opened or created before the master keys were verified (503)."""
    return handle_commlog_error(
        request,
        ServiceUnavailable("master keys not verified yet", retry_after=exc.retry_after),
    )


def handle_tenant_keys_unavailable(
    request: Request[Any, Any, Any], exc: MasterKeyError
) -> Response[SimpleResponse]:
    """A data key of the caller's tenant does not open under verified master keys: its
    stored row is damaged (the key store reported it, readiness says so). Nothing is read
    or written for the tenant until the row is restored; the CRITICAL line alerts an
    operator."""
    return _unavailable(
        request,
        exc,
        level=logging.CRITICAL,
        what="tenant data key cannot be opened",
        message="this tenant's data keys cannot be opened right now; retry later",
    )


def handle_audit_chain_broken(
    request: Request[Any, Any, Any], exc: AuditChainBroken
) -> Response[SimpleResponse]:
    """The tenant's audit chain does not hold up: the action it was to record is not
    performed (503), and the CRITICAL line alerts an operator to run ``commlog audit
    verify``."""
    return _unavailable(
        request,
        exc,
        level=logging.CRITICAL,
        what="audit chain failed its integrity check",
        message="the audit trail failed its integrity check: nothing was done; retry later",
    )


EXCEPTION_HANDLERS: dict[type[Exception] | int, Any] = {
    AuditChainBroken: handle_audit_chain_broken,
    DBAPIError: handle_database_failure,
    PoolTimeout: handle_database_failure,
    OSError: handle_database_failure,  # also TimeoutError, ConnectionError
    MasterKeysNotVerified: handle_keys_not_verified,
    MasterKeyError: handle_tenant_keys_unavailable,
    CommlogError: handle_commlog_error,
    InvalidRecipient: handle_invalid_recipient,
    ValidationException: handle_validation,
    HTTPException: handle_http_exception,
    Exception: handle_unexpected,
}
