"""The audit trail's hash chain: what an event is, and how its hash is computed.

Accountability (GDPR Art. 5(2), Art. 30; PIPL Art. 54 audits; China's Cybersecurity Law
Art. 21(3) network logs) needs evidence that cannot be rewritten quietly. Every tenant has
one chain: each event carries its predecessor's hash and its own SHA-256 over a canonical
encoding of everything it says, so changing, removing, inserting or reordering an event
breaks every link after it. The encoding is defined here, free of any database, so an
auditor can recompute it from an export of the table with nothing but this module (and
``policies.audit_verification``, which finds the first broken link).

Events never hold a recipient, content or key in clear: records are named by id and
recipients by a keyed hash (their blind index).
"""

from __future__ import annotations

import enum
import hashlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import msgspec

CHAIN_FORMAT = 1
"""Version of the canonical encoding; it is part of every hashed document."""
GENESIS_HASH = "0" * 64
"""The ``previous_hash`` of a chain's first event."""
SYSTEM_CHAIN = ""
"""The chain of events that belong to no tenant (master-key rotation, unauthenticated
requests). Tenant ids are never empty, so it cannot collide with one."""
EVENT_ID_PREFIX = "aud_"
MAX_ACTION_LENGTH = 64
MAX_TARGET_LENGTH = 256


class ActorKind(enum.StrEnum):
    """Who caused an event."""

    OFFICER = "officer"
    """A compliance officer, through the API."""
    USER = "user"
    """A user reading their own records."""
    INGEST = "ingest"
    """A sending service."""
    CLI = "cli"
    """An operator's command; ``origin`` names the operating-system user and host."""
    SYSTEM = "system"
    """The service itself (scheduled retention)."""
    ANONYMOUS = "anonymous"
    """A request without a valid token."""


@dataclass(frozen=True, slots=True, kw_only=True)
class Actor:
    """Who did it: an id as claimed (token subject, ``--actor``), its kind, and where
    from (``{"os_user": …, "host": …}`` for the CLI, ``{"request_id": …}`` over HTTP)."""

    id: str
    kind: ActorKind
    origin: Mapping[str, str] = field(default_factory=dict)


class ChainFormatError(ValueError):
    """A value that cannot be part of an event (an unsupported type in ``details``)."""


def _check_json(value: object, where: str) -> None:
    """Details hold strings, integers, booleans, null, lists and string-keyed maps only:
    floats have no single canonical text, and anything else has no JSON form."""
    if value is None or isinstance(value, str | bool | int):
        return
    if isinstance(value, list | tuple):
        for index, item in enumerate(value):
            _check_json(item, f"{where}[{index}]")
        return
    if isinstance(value, Mapping):
        for key, item in value.items():
            if not isinstance(key, str):
                raise ChainFormatError(f"{where}: keys must be strings")
            _check_json(item, f"{where}.{key}")
        return
    raise ChainFormatError(f"{where}: {type(value).__name__} is not allowed in an audit event")


def canonical_time(moment: datetime) -> str:
    """RFC 3339 in UTC with microseconds: the one text of an instant in the chain."""
    if moment.tzinfo is None:
        raise ChainFormatError("audit times must be timezone-aware")
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def canonical_json(value: object) -> bytes:
    """Compact JSON with keys sorted at every level, UTF-8 (not ASCII-escaped)."""
    _check_json(value, "details")
    return msgspec.json.encode(value, order="sorted")


@dataclass(frozen=True, slots=True, kw_only=True)
class ChainedEvent:
    """One audit event as it is hashed and stored."""

    id: str
    tenant_id: str
    sequence: int
    occurred_at: datetime
    actor: str
    actor_kind: str
    actor_origin: Mapping[str, str]
    action: str
    target: str | None
    details: Mapping[str, Any]
    previous_hash: str
    hash: str = ""

    def document(self) -> dict[str, object]:
        """Everything the hash covers, as plain values."""
        return {
            "format": CHAIN_FORMAT,
            "id": self.id,
            "tenant_id": self.tenant_id,
            "sequence": self.sequence,
            "occurred_at": canonical_time(self.occurred_at),
            "actor": self.actor,
            "actor_kind": self.actor_kind,
            "actor_origin": dict(self.actor_origin),
            "action": self.action,
            "target": self.target,
            "details": dict(self.details),
            "previous_hash": self.previous_hash,
        }

    def canonical_bytes(self) -> bytes:
        return canonical_json(self.document())

    def computed_hash(self) -> str:
        """SHA-256 of :meth:`canonical_bytes`, lowercase hex."""
        return hashlib.sha256(self.canonical_bytes()).hexdigest()

    def sealed(self) -> ChainedEvent:
        """This event with its hash filled in."""
        return ChainedEvent(**{**_fields(self), "hash": self.computed_hash()})


def _fields(event: ChainedEvent) -> dict[str, Any]:
    return {name: getattr(event, name) for name in ChainedEvent.__dataclass_fields__}


def next_event(
    *,
    event_id: str,
    tenant_id: str,
    head_sequence: int,
    head_hash: str,
    occurred_at: datetime,
    actor: Actor,
    action: str,
    target: str | None,
    details: Mapping[str, Any],
) -> ChainedEvent:
    """The event that follows a chain whose head is (``head_sequence``, ``head_hash``),
    hashed. Sequences start at 1; an empty chain's head is (0, :data:`GENESIS_HASH`)."""
    if not action or len(action) > MAX_ACTION_LENGTH:
        raise ChainFormatError(f"an action is 1 to {MAX_ACTION_LENGTH} characters")
    if target is not None and len(target) > MAX_TARGET_LENGTH:
        raise ChainFormatError(f"a target is at most {MAX_TARGET_LENGTH} characters")
    return ChainedEvent(
        id=event_id,
        tenant_id=tenant_id,
        sequence=head_sequence + 1,
        occurred_at=occurred_at,
        actor=actor.id,
        actor_kind=actor.kind.value,
        actor_origin=dict(actor.origin),
        action=action,
        target=target,
        details=dict(details),
        previous_hash=head_hash,
    ).sealed()


def head_statement(tenant_id: str, sequence: int, event_hash: str) -> bytes:
    """What a chain head's signature covers (the master key signs it on every append, so
    rewriting a chain without the master key shows at the head)."""
    return canonical_json(
        {"format": CHAIN_FORMAT, "kind": "head", "tenant_id": tenant_id, "sequence": sequence}
        | {"hash": event_hash}
    )


def checkpoint_statement(
    tenant_id: str, sequence: int, event_hash: str, made_at: datetime
) -> bytes:
    """What a checkpoint's signature covers: the last event removed by audit retention."""
    return canonical_json(
        {
            "format": CHAIN_FORMAT,
            "kind": "checkpoint",
            "tenant_id": tenant_id,
            "sequence": sequence,
            "hash": event_hash,
            "made_at": canonical_time(made_at),
        }
    )


def chain_label(tenant_id: str) -> str:
    """How a chain is named to people: the system chain is ``(system)``."""
    return tenant_id if tenant_id != SYSTEM_CHAIN else "(system)"


__all__ = [
    "CHAIN_FORMAT",
    "EVENT_ID_PREFIX",
    "GENESIS_HASH",
    "SYSTEM_CHAIN",
    "Actor",
    "ActorKind",
    "ChainFormatError",
    "ChainedEvent",
    "canonical_json",
    "canonical_time",
    "chain_label",
    "checkpoint_statement",
    "head_statement",
    "next_event",
]
