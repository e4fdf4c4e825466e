"""Refused requests to the officers' endpoints, recorded as ``access.denied``.

A 401 or 403 on ``/compliance/*`` is evidence of someone trying to reach personal data
they may not see (GDPR Art. 32(1)(d), testing the measures; Art. 33 needs such attempts to
be noticed). It is recorded after the response was sent, in a session of its own (the
request's transaction is rolled back), so the refusal is never slower, different or a
503 because the trail could not be written: a failure costs one log line naming the
failure's type, no personal data.

- 401 (no valid token, so no tenant): the system chain, actor ``anonymous``; details are
  the method, the route template, the kind of failure (``missing``, ``invalid``,
  ``expired``; never the token) and the client address.
- 403 (a valid token without the role): the token's tenant chain, actor its subject, kind
  by the roles it holds; details are the method, the route template and the missing role.

Each denial is one row and one lock of its chain's head: a flood of refused requests
turns into a flood of appends (all 401s share the system chain's head). Rate limiting
belongs in front of this (issue 11).
"""

from __future__ import annotations

import logging
from typing import Any

from advanced_alchemy.extensions.litestar import SQLAlchemyAsyncConfig
from litestar import Request
from litestar.background_tasks import BackgroundTask

from compliance.audit.trail import append_event
from compliance.encryption.master import MasterKeyring
from compliance.transactions import begin_write, commit
from policies.access import Principal, Role
from policies.audit_chain import SYSTEM_CHAIN, Actor, ActorKind
from service.logging import UNMATCHED_ROUTE, current_request

logger = logging.getLogger("commlog.audit")
COMPLIANCE_PREFIX = "/compliance"
ANONYMOUS = "anonymous"


def _is_compliance_path(path: str) -> bool:
    return path == COMPLIANCE_PREFIX or path.startswith(COMPLIANCE_PREFIX + "/")


def _actor_kind(principal: Principal) -> ActorKind:
    if principal.has(Role.COMPLIANCE_OFFICER):
        return ActorKind.OFFICER
    if principal.has(Role.INGEST):
        return ActorKind.INGEST
    return ActorKind.USER


def denial_task(
    request: Request[Any, Any, Any], status_code: int, *, reason_kind: str | None = None
) -> BackgroundTask | None:
    """The background task that records a 401/403 on a compliance endpoint, or ``None``
    for any other path or status."""
    if status_code not in (401, 403) or not _is_compliance_path(request.scope.get("path", "")):
        return None
    context = current_request.get()
    origin = {"request_id": context.request_id} if context is not None else {}
    details: dict[str, object] = {
        "status": status_code,
        "method": request.scope.get("method", ""),
        "route": request.scope.get("path_template") or UNMATCHED_ROUTE,
    }
    user = request.scope.get("user")
    if status_code == 401 or not isinstance(user, Principal):
        tenant_id = SYSTEM_CHAIN
        actor = Actor(id=ANONYMOUS, kind=ActorKind.ANONYMOUS, origin=origin)
        details["reason"] = reason_kind or "invalid"
        client = request.scope.get("client")
        details["client"] = client[0] if client else None
    else:
        tenant_id = user.tenant_id
        actor = Actor(id=user.user_id, kind=_actor_kind(user), origin=origin)
        details["missing_role"] = (
            None if user.has(Role.COMPLIANCE_OFFICER) else Role.COMPLIANCE_OFFICER.value
        )
    state = request.app.state
    return BackgroundTask(
        _record, state["database"], state["settings"].master_keys, tenant_id, actor, details
    )


async def _record(
    database: SQLAlchemyAsyncConfig,
    master: MasterKeyring,
    tenant_id: str,
    actor: Actor,
    details: dict[str, object],
) -> None:
    try:
        async with database.get_session() as session:
            await begin_write(session)
            await append_event(
                session,
                master,
                tenant_id=tenant_id,
                actor=actor,
                action="access.denied",
                details=details,
            )
            await commit(session, operation="audit_access_denied")
    except Exception as exc:  # the refusal was sent already; the trail is best effort here
        logger.warning(
            "access.denied not recorded in the audit trail: %s (status %s)",
            type(exc).__name__,
            details["status"],
        )


__all__ = ["denial_task"]
