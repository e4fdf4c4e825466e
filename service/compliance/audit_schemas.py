"""Wire formats of the audit trail's endpoints (``GET /compliance/audit-events``)."""

from __future__ import annotations

from typing import Annotated, Any

import msgspec

from policies.audit_chain import ChainedEvent, canonical_time
from service.schemas import PageInfo, Timestamp

HashHex = Annotated[
    str,
    msgspec.Meta(
        pattern="^[0-9a-f]{64}$",
        description="SHA-256, 64 lower-case hex digits",
        examples=["9f2c4e0d1b7a3c5e8f6d2a4b1c3e5f7a9b0d2c4e6f8a1b3c5d7e9f0a2b4c6d8e"],
    ),
]


class AuditEventResponse(msgspec.Struct, frozen=True, kw_only=True):
    """One audit event, every stored field: with the previous event's, an auditor
    recomputes ``hash`` from these values (docs/compliance/audit.md)."""

    id: Annotated[str, msgspec.Meta(examples=["aud_5c1f0e2a9b7d3c4e8f6a1b2c"])]
    tenant_id: Annotated[str, msgspec.Meta(examples=["tnt_xyz789"])]
    sequence: Annotated[int, msgspec.Meta(ge=1, description="position in the tenant's chain")]
    occurred_at: Annotated[
        Timestamp,
        msgspec.Meta(
            description="RFC 3339 in UTC with microseconds: exactly the text that is hashed",
            examples=["2026-12-07T09:30:00.123456Z"],
        ),
    ]
    actor: Annotated[str, msgspec.Meta(examples=["usr_officer"])]
    actor_kind: Annotated[
        str,
        msgspec.Meta(description="officer, user, ingest, cli, system or anonymous"),
    ]
    actor_origin: Annotated[
        dict[str, str],
        msgspec.Meta(
            description="where the actor acted from: {os_user, host} for the CLI, "
            "{request_id} over HTTP",
            examples=[{"request_id": "req_8c2d"}],
        ),
    ]
    action: Annotated[str, msgspec.Meta(examples=["legal_hold.placed"])]
    target: Annotated[str, msgspec.Meta(examples=["hold_3f2a9c1d7b4e"])] | None
    details: Annotated[
        dict[str, Any],
        msgspec.Meta(
            description="what the action did; never a recipient, content or key in clear",
            examples=[{"rows": 1250, "sha256": "…"}],
        ),
    ]
    previous_hash: HashHex
    hash: HashHex

    @classmethod
    def of(cls, event: ChainedEvent) -> AuditEventResponse:
        return cls(
            id=event.id,
            tenant_id=event.tenant_id,
            sequence=event.sequence,
            occurred_at=canonical_time(event.occurred_at),
            actor=event.actor,
            actor_kind=event.actor_kind,
            actor_origin=dict(event.actor_origin),
            action=event.action,
            target=event.target,
            details=dict(event.details),
            previous_hash=event.previous_hash,
            hash=event.hash,
        )


class AuditEventListResponse(msgspec.Struct, frozen=True, kw_only=True):
    code: int
    message: str
    timestamp: Timestamp
    items: list[AuditEventResponse]
    total: int
    pagination: PageInfo


class AuditEventEnvelope(msgspec.Struct, frozen=True, kw_only=True):
    code: int
    message: str
    timestamp: Timestamp
    data: AuditEventResponse
