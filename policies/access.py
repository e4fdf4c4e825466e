"""Who may see and record what.

The seed contract isolates send records by the logged-in user: a caller reads only their
own records inside their own tenant. ePrivacy 2002/58/EC Art. 6(5) limits access to traffic
data to the people who need it, and GDPR Art. 25 asks for that limit to be the default.
Every decision about access is made here, as a value the caller can act on, so that no
controller re-implements it.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable
from dataclasses import dataclass


class Role(enum.StrEnum):
    """What a token allows its bearer to do."""

    USER = "user"
    """A person reading their own send records."""
    INGEST = "ingest"
    """A sending service that records sends, and their outcomes, for its tenant."""
    COMPLIANCE_OFFICER = "compliance_officer"
    """Runs audit exports, legal holds and retention reports for their tenant."""


DEFAULT_ROLES: frozenset[Role] = frozenset({Role.USER})


def parse_roles(claimed: Iterable[str] | None) -> frozenset[Role]:
    """Turn the roles a token claims into known roles.

    A token that claims no roles is an ordinary user. Names this service does not know are
    ignored rather than trusted: an identity provider may issue roles for other systems.
    """
    if claimed is None:
        return DEFAULT_ROLES
    known = {role.value: role for role in Role}
    return frozenset(known[name] for name in claimed if name in known)


@dataclass(frozen=True, slots=True, kw_only=True)
class Principal:
    """The authenticated caller: always one user inside one tenant."""

    tenant_id: str
    user_id: str
    roles: frozenset[Role]

    def has(self, role: Role) -> bool:
        """Whether the caller holds ``role``."""
        return role in self.roles


@dataclass(frozen=True, slots=True, kw_only=True)
class OwnerScope:
    """The only rows a query may touch: one user's records inside one tenant."""

    tenant_id: str
    user_id: str


@dataclass(frozen=True, slots=True, kw_only=True)
class TenantScope:
    """All rows of one tenant (recording sends, compliance work)."""

    tenant_id: str


@dataclass(frozen=True, slots=True, kw_only=True)
class Forbidden:
    """A refusal. ``reason`` is safe to show the caller: it names no data."""

    reason: str


def scope_for_own_logs(
    principal: Principal, requested_user_id: str | None
) -> OwnerScope | Forbidden:
    """Decide which send records a caller may list.

    The tenant always comes from the token, never from the request. ``requested_user_id``
    (the seed's ``user_id`` parameter) may only repeat the caller's own id: asking for
    anybody else's records is refused outright rather than silently narrowed, so a caller
    learns nothing about whether the other user exists. Reading requires the ``user``
    role; a sending service (``ingest`` only) records sends but cannot read them back.
    """
    if not principal.has(Role.USER):
        return Forbidden(reason="this token may not read send records")
    if requested_user_id is not None and requested_user_id != principal.user_id:
        return Forbidden(reason="send records of other users are not accessible")
    return OwnerScope(tenant_id=principal.tenant_id, user_id=principal.user_id)


def scope_for_recording(principal: Principal) -> TenantScope | Forbidden:
    """Decide whether a caller may record sends and their outcomes for its tenant."""
    if not principal.has(Role.INGEST):
        return Forbidden(reason="recording sends and templates requires the ingest role")
    return TenantScope(tenant_id=principal.tenant_id)


def scope_for_compliance(principal: Principal) -> TenantScope | Forbidden:
    """Decide whether a caller may manage legal holds and read retention reports.

    Only compliance officers, and only for their own tenant (ePrivacy Art. 6(5): access
    to traffic data limited to those who handle it for a stated purpose).
    """
    if not principal.has(Role.COMPLIANCE_OFFICER):
        return Forbidden(reason="this requires the compliance_officer role")
    return TenantScope(tenant_id=principal.tenant_id)


def scope_for_templates(principal: Principal) -> TenantScope | Forbidden:
    """Decide whether a caller may read its tenant's message templates: the sending
    services that use them (``ingest``) and compliance officers, who need to know what
    each parameter class keeps. Templates hold no personal data; registering one is
    recording work (:func:`scope_for_recording`)."""
    if not (principal.has(Role.INGEST) or principal.has(Role.COMPLIANCE_OFFICER)):
        return Forbidden(reason="reading templates requires the ingest or compliance_officer role")
    return TenantScope(tenant_id=principal.tenant_id)
