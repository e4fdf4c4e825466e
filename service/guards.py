"""Checks Litestar runs before it reads a request's parameters or body.

Guards run after authentication and before any parameter is parsed or any byte of the
body is read (``litestar.routes.http.HTTPRoute.handle`` calls ``authorize_connection``
before ``_get_response_for_request``). So a caller without the role is refused with 403
whatever it sent, and its body is never decoded.
"""

from __future__ import annotations

import functools
import re
from typing import Any

from litestar.connection import ASGIConnection
from litestar.enums import ParamType
from litestar.handlers.base import BaseRouteHandler
from litestar.params import ParameterKwarg

from policies.access import (
    Principal,
    scope_for_compliance,
    scope_for_recording,
    scope_for_templates,
)
from service.dependencies import allowed
from service.errors import BadRequest

_DECIMAL = re.compile(r"[0-9]+")
_SAFE_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,63}")


def _is_preflight(connection: ASGIConnection[Any, Any, Any, Any]) -> bool:
    """``OPTIONS`` answers with the allowed methods only, and is not authenticated
    (Litestar's authentication middleware passes it through): there is no caller."""
    return connection.scope.get("method") == "OPTIONS"


def ingest_only(connection: ASGIConnection[Any, Principal, Any, Any], _: BaseRouteHandler) -> None:
    """Recording sends and outcomes: the ``ingest`` role (``policies.access``)."""
    if not _is_preflight(connection):
        allowed(scope_for_recording(connection.user))


def compliance_officers_only(
    connection: ASGIConnection[Any, Principal, Any, Any], _: BaseRouteHandler
) -> None:
    """Legal holds and retention reports: the ``compliance_officer`` role."""
    if not _is_preflight(connection):
        allowed(scope_for_compliance(connection.user))


def template_readers_only(
    connection: ASGIConnection[Any, Principal, Any, Any], _: BaseRouteHandler
) -> None:
    """Reading templates: ``ingest`` or ``compliance_officer``."""
    if not _is_preflight(connection):
        allowed(scope_for_templates(connection.user))


@functools.cache
def _integer_query_parameters(handler: BaseRouteHandler) -> frozenset[str]:
    """The query names of ``handler``'s integer parameters (``page``, ``page_size``)."""
    names: set[str] = set()
    for name, field in handler.parsed_fn_signature.parameters.items():
        kwarg = field.kwarg_definition
        if isinstance(kwarg, ParameterKwarg) and kwarg.param_type is not ParamType.QUERY:
            continue
        if field.annotation is int:
            names.add(kwarg.name or name if isinstance(kwarg, ParameterKwarg) else name)
    return frozenset(names)


def unambiguous_query(
    connection: ASGIConnection[Any, Any, Any, Any], handler: BaseRouteHandler
) -> None:
    """400 for a query that could be read two ways.

    A repeated parameter (``user_id=usr_b&user_id=usr_a``) has no single value: which one
    counted used to depend on the order. An integer must be written in decimal digits:
    ``page_size=1.0`` and ``1e1`` are refused as ``page=1.5`` is.
    """
    query = connection.query_params
    for name in query:
        if len(query.getall(name)) > 1:
            raise BadRequest(f"invalid request: {_shown(name)} is repeated")
    for name in _integer_query_parameters(handler):
        value = query.get(name)
        if value is not None and not _DECIMAL.fullmatch(value):
            raise BadRequest(
                f"invalid request: query parameter '{name}' must be a whole number in digits"
            )


def _shown(name: str) -> str:
    """The parameter, named only where its name is safe to echo (it came from the client)."""
    if _SAFE_NAME.fullmatch(name):
        return f"query parameter '{name}'"
    return "a query parameter"
