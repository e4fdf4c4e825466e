"""What the audit trail records of an export, and the short transactions that record it.

An export is a read, recorded twice, each time in a write transaction of its own
(``compliance.audit.trail``). ``export.started`` is committed before the first byte is
sent (the HTTP export answers 503 and sends nothing when it cannot be): if the process
dies or the database cannot take the final write, the disclosure is still on record. It
names the request and the pre-allocated id of the final event. The final event is
appended when the stream has ended, naming the started event: ``export.completed`` when every
selected record was handed over, ``export.interrupted`` otherwise (the client went away,
the database failed, the process was stopped), each with what was handed over until
then: rows, bytes and the SHA-256 of exactly those bytes, so an auditor can tell whether
a file is the one the event describes (GDPR Art. 5(2), accountability; Art. 30). The
event names the filters, the format, whether recipients and content were revealed and
the officer's reason as :func:`policies.exports.reason_evidence` keeps it (masked, with
its SHA-256 and length; never the raw text); never a recipient or content.

Rows, bytes and the SHA-256 count what was *handed to the transport* (``"counted":
"handed_to_transport"``): a chunk counts once the consumer (the ASGI server's send, the
CLI's file write) took it. After an interruption, part of that may still have been in
socket buffers and never reached the client; the event does not claim the client
received it.
"""

from __future__ import annotations

import enum

from compliance.audit.trail import append_event
from compliance.encryption.master import MasterKeyring
from compliance.exports.stream import ExportRequest, LogExport, SessionFactory
from compliance.transactions import begin_write, commit
from policies.audit_chain import Actor, ChainedEvent
from policies.exports import reason_evidence

EXPORT_STARTED = "export.started"
EXPORT_COMPLETED = "export.completed"
EXPORT_INTERRUPTED = "export.interrupted"
EXPORT_TARGET = "communication_logs"
HANDED_TO_TRANSPORT = "handed_to_transport"
"""``counted`` of an HTTP export: what the server's send took, not what the client got."""
WRITTEN_TO_FILE = "written_to_file"
"""``counted`` of a CLI export: what was written to the (temporary) file."""


class Interruption(enum.StrEnum):
    """Why an export ended before its last record was handed over."""

    CLIENT_DISCONNECTED = "client_disconnected"
    FAILED = "failed"
    CANCELLED = "cancelled"


def request_details(request: ExportRequest, *, reason: str | None) -> dict[str, object]:
    """What every event of an export says of its request (the reason as
    :func:`reason_evidence` keeps it)."""
    return {
        "format": request.format.value,
        "filters": dict(request.filters.describe()),
        "reveal": request.reveal,
        "reason": reason_evidence(reason),
    }


def export_details(
    export: LogExport,
    *,
    reason: str | None,
    interruption: Interruption | None = None,
    failure: str | None = None,
    started_event_id: str | None = None,
    counted: str = HANDED_TO_TRANSPORT,
) -> dict[str, object]:
    """The final event's details: the request and what was handed over (``failure`` is
    an exception's type name, never its message)."""
    details = request_details(export.request, reason=reason)
    details.update({"rows": export.rows, "bytes": export.byte_count, "sha256": export.sha256})
    details["counted"] = counted
    if started_event_id is not None:
        details["started_event_id"] = started_event_id
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
    started_event_id: str | None = None,
    counted: str = HANDED_TO_TRANSPORT,
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
                export,
                reason=reason,
                interruption=interruption,
                failure=failure,
                started_event_id=started_event_id,
                counted=counted,
            ),
            event_id=event_id,
        )
        await commit(session, operation=operation)
        return event


async def record_export_started(
    sessions: SessionFactory,
    master: MasterKeyring,
    request: ExportRequest,
    *,
    actor: Actor,
    reason: str | None,
    final_event_id: str,
    operation: str = "export_audit_started",
) -> ChainedEvent:
    """Append and commit ``export.started`` (the request, and ``final_event_id``: the id
    the final event will have) before anything of the export is sent.

    Raises what the database raises when it does not take or confirm the write; the
    caller then sends nothing."""
    details = request_details(request, reason=reason)
    details["final_event_id"] = final_event_id
    async with sessions() as session:
        await begin_write(session)
        event = await append_event(
            session,
            master,
            tenant_id=request.tenant_id,
            actor=actor,
            action=EXPORT_STARTED,
            target=EXPORT_TARGET,
            details=details,
        )
        await commit(session, operation=operation)
        return event
