"""What the audit trail records of an export, and the short transaction that records it.

An export is a read: its event is appended when the stream has ended, in a write
transaction of its own (``compliance.audit.trail``). ``export.completed`` when every
selected record was handed over, ``export.interrupted`` otherwise (the client went away,
the database failed, the process was stopped), each with what was handed over until
then: rows, bytes and the SHA-256 of exactly those bytes, so an auditor can tell whether
a file is the one the event describes (GDPR Art. 5(2), accountability; Art. 30). The
event names the filters, the format, whether recipients and content were revealed and
the officer's reason; never a recipient or content.
"""

from __future__ import annotations

import enum

from compliance.audit.trail import append_event
from compliance.encryption.master import MasterKeyring
from compliance.exports.stream import LogExport, SessionFactory
from compliance.transactions import begin_write, commit
from policies.audit_chain import Actor, ChainedEvent

EXPORT_COMPLETED = "export.completed"
EXPORT_INTERRUPTED = "export.interrupted"
EXPORT_TARGET = "communication_logs"


class Interruption(enum.StrEnum):
    """Why an export ended before its last record was handed over."""

    CLIENT_DISCONNECTED = "client_disconnected"
    FAILED = "failed"
    CANCELLED = "cancelled"


def export_details(
    export: LogExport,
    *,
    reason: str | None,
    interruption: Interruption | None = None,
    failure: str | None = None,
) -> dict[str, object]:
    """The event's details: the request and what was handed over (``failure`` is an
    exception's type name, never its message)."""
    request = export.request
    details: dict[str, object] = {
        "format": request.format.value,
        "filters": dict(request.filters.describe()),
        "reveal": request.reveal,
        "reason": reason,
        "rows": export.rows,
        "bytes": export.byte_count,
        "sha256": export.sha256,
    }
    if interruption is not None:
        details["interruption"] = interruption.value
    if failure is not None:
        details["failure"] = failure
    return details


async def record_export(
    sessions: SessionFactory,
    master: MasterKeyring,
    export: LogExport,
    *,
    actor: Actor,
    event_id: str,
    reason: str | None,
    interruption: Interruption | None = None,
    failure: str | None = None,
    operation: str = "export_audit",
) -> ChainedEvent:
    """Append the export's event (``export.completed`` unless ``interruption`` is given)
    as ``event_id`` to its tenant's chain, in a short write transaction of its own.

    Raises what :func:`compliance.transactions.commit` raises when the database does not
    confirm it."""
    action = EXPORT_COMPLETED if interruption is None else EXPORT_INTERRUPTED
    async with sessions() as session:
        await begin_write(session)
        event = await append_event(
            session,
            master,
            tenant_id=export.request.tenant_id,
            actor=actor,
            action=action,
            target=EXPORT_TARGET,
            details=export_details(
                export, reason=reason, interruption=interruption, failure=failure
            ),
            event_id=event_id,
        )
        await commit(session, operation=operation)
        return event
