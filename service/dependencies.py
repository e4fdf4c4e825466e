"""What every endpoint is given: the caller, its access decision, the tenant key store."""

from __future__ import annotations

from typing import Any, TypeVar

from litestar import Request
from litestar.datastructures import State
from litestar.di import NamedDependency, Provide
from sqlalchemy.ext.asyncio import AsyncSession

from compliance.encryption.gate import MasterKeyGate
from compliance.encryption.keystore import KeyStore
from policies.access import Forbidden, OwnerScope, Principal, TenantScope
from service.errors import AccessDenied

ScopeT = TypeVar("ScopeT", OwnerScope, TenantScope)


def provide_principal(request: Request[Principal, Any, Any]) -> Principal:
    """The authenticated caller (set by :class:`service.auth.BearerTokenMiddleware`)."""
    return request.user


def provide_key_store(db_session: NamedDependency[AsyncSession], state: State) -> KeyStore:
    """Data keys through the request's session, with the process-wide unwrapped-key cache.

    Until the master keys were verified against the database, a request that needs keys
    is refused (503 with Retry-After) before it reads or writes anything.
    """
    gate: MasterKeyGate = state["key_gate"]
    gate.require()
    return KeyStore(db_session, state["settings"].master_keys, state["key_cache"], gate)


def allowed(decision: ScopeT | Forbidden) -> ScopeT:
    """The scope a policy granted, or 403 with the policy's reason."""
    if isinstance(decision, Forbidden):
        raise AccessDenied(decision.reason)
    return decision


DEPENDENCIES = {
    "principal": Provide(provide_principal, sync_to_thread=False),
    "keys": Provide(provide_key_store, sync_to_thread=False),
}
