"""``GET /compliance/exports/communication-logs``: an officer's audit export, streamed.

The handler checks the request, pre-allocates the audit event's id (it goes out in the
``X-Audit-Event-Id`` header before any byte of the file) and reads the first chunk, so a
database or key failure is still an ordinary 503. The rest streams from a session the
export owns. When the stream ends, :class:`AuditedExportStream` records it: the
``export.completed`` event is committed after the last byte of the file and before the
response's end, so a download that looks complete always has its event;
``export.interrupted`` is recorded when the client goes away, the export fails, or the
server stops. Those writes are shielded from the cancellation that ends the response.
"""

from __future__ import annotations

import itertools
import logging
from collections.abc import AsyncGenerator, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Annotated, Any

import anyio
from litestar import Controller, Request, get
from litestar.datastructures import State
from litestar.di import NamedDependency
from litestar.openapi.datastructures import ResponseSpec
from litestar.openapi.spec import OpenAPIHeader, OpenAPIResponse, OpenAPIType, Operation, Schema
from litestar.params import Parameter
from litestar.response import Stream
from litestar.response.base import ASGIResponse
from litestar.response.streaming import ASGIStreamingResponse
from litestar.status_codes import HTTP_200_OK

from compliance.audit.trail import new_event_id
from compliance.encryption.master import MasterKeyring
from compliance.exports.audit import Interruption, record_export
from compliance.exports.stream import ExportRequest, LogExport, SessionFactory
from policies.access import Principal, scope_for_compliance
from policies.audit_chain import Actor, ActorKind
from policies.channels import Channel, DeliveryStatus
from policies.exports import ExportFilters, ExportFormat, export_filename
from policies.identifiers import IDENTIFIER_PATTERN, MAX_IDENTIFIER_LENGTH, NO_NUL_PATTERN
from policies.instants import RANGE_TEXT, accepted_instant
from service.dependencies import allowed
from service.errors import AccessDenied, BadRequest, error_responses
from service.guards import compliance_officers_only
from service.logging import current_request

if TYPE_CHECKING:
    from litestar.app import Litestar
    from litestar.background_tasks import BackgroundTask, BackgroundTasks
    from litestar.datastructures.cookie import Cookie
    from litestar.enums import MediaType
    from litestar.types import HTTPResponseBodyEvent, Receive, Send, TypeEncodersMap

logger = logging.getLogger("commlog.exports")
AUDIT_EVENT_HEADER = "X-Audit-Event-Id"
AUDIT_WRITE_SECONDS = 10.0
"""How long recording an export's event may take once the response is ending (the
write is shielded from cancellation, not unbounded)."""
MAX_REASON_CHARS = 2000


class ExportDownload:
    """One export on its way to one client, and the one event that records it."""

    def __init__(
        self,
        export: LogExport,
        first: bytes | None,
        *,
        sessions: SessionFactory,
        master: MasterKeyring,
        actor: Actor,
        event_id: str,
        reason: str | None,
    ) -> None:
        self.export = export
        self._first = first
        self._sessions = sessions
        self._master = master
        self._actor = actor
        self.event_id = event_id
        self._reason = reason
        self._interruption: Interruption | None = None
        self._failure: str | None = None
        self._recorded = False
        self.chunks = self._chunks()
        """The file: the chunk the handler read, then the rest of the export."""

    async def _chunks(self) -> AsyncGenerator[bytes, None]:
        if self._first is not None:
            yield self._first
        async for chunk in self.export:
            yield chunk

    def interrupted(self, why: Interruption, failure: BaseException | None = None) -> None:
        """Note why the download ends early (the first reason given stands)."""
        if self._interruption is None:
            self._interruption = why
            self._failure = None if failure is None else type(failure).__name__

    async def complete(self) -> None:
        """Record ``export.completed`` (every record was handed over). Shielded: a client
        that leaves now does not stop the record of what it received."""
        with anyio.CancelScope(shield=True):
            await self._record(None)

    async def finish(self) -> None:
        """End the export and, unless it was completed, record ``export.interrupted``
        with what was handed over. Never raises; shielded, at most
        :data:`AUDIT_WRITE_SECONDS`."""
        with anyio.move_on_after(AUDIT_WRITE_SECONDS, shield=True) as scope:
            try:
                await self.chunks.aclose()
                await self.export.aclose()
            except Exception as exc:
                logger.warning("export %s: closing failed: %s", self.event_id, type(exc).__name__)
            if not self._recorded:
                try:
                    await self._record(self._interruption or Interruption.CLIENT_DISCONNECTED)
                except Exception as exc:
                    logger.error(
                        "export %s: its audit event could not be recorded: %s",
                        self.event_id,
                        type(exc).__name__,
                    )
        if scope.cancelled_caught:
            logger.error("export %s: recording its audit event timed out", self.event_id)

    async def _record(self, interruption: Interruption | None) -> None:
        self._recorded = True  # one attempt: the event id is used once, whatever happens
        await record_export(
            self._sessions,
            self._master,
            self.export,
            actor=self._actor,
            event_id=self.event_id,
            reason=self._reason,
            interruption=interruption,
            failure=self._failure,
        )


class AuditedStreamingResponse(ASGIStreamingResponse):
    """Litestar's streaming response, with the export's event recorded at its end."""

    __slots__ = ("_chunks", "download")

    def __init__(self, *, download: ExportDownload, **kwargs: Any) -> None:
        super().__init__(iterator=download.chunks, **kwargs)
        self.download = download
        self._chunks = download.chunks

    async def send_body(self, send: Send, receive: Receive) -> None:
        try:
            async with anyio.create_task_group() as group:
                group.start_soon(self._stream_then_stop, send, group.cancel_scope)
                await self._listen_for_disconnect(cancel_scope=group.cancel_scope, receive=receive)
        except BaseException:
            # The server stopped the response (shutdown), or something failed around it.
            self.download.interrupted(Interruption.CANCELLED)
            raise
        finally:
            await self.download.finish()

    async def _stream_then_stop(self, send: Send, stop: anyio.CancelScope) -> None:
        """Send every chunk, record the event, then end the response. When the export
        fails, the response is not ended: the client sees a broken transfer, never a
        short file that looks whole."""
        while True:
            try:
                chunk = await self._chunks.__anext__()
            except StopAsyncIteration:
                break
            except Exception as exc:
                logger.error(
                    "export %s failed after %d rows: %s",
                    self.download.event_id,
                    self.download.export.rows,
                    type(exc).__name__,
                )
                self.download.interrupted(Interruption.FAILED, exc)
                stop.cancel()
                return
            body: HTTPResponseBodyEvent = {
                "type": "http.response.body",
                "body": chunk,
                "more_body": True,
            }
            try:
                await send(body)
            except OSError:
                self.download.interrupted(Interruption.CLIENT_DISCONNECTED)
                stop.cancel()
                return
        try:
            await self.download.complete()
        except Exception as exc:
            logger.error(
                "export %s: its audit event could not be recorded (%s); the download is "
                "not completed",
                self.download.event_id,
                type(exc).__name__,
            )
            stop.cancel()
            return
        end: HTTPResponseBodyEvent = {"type": "http.response.body", "body": b"", "more_body": False}
        await send(end)


class AuditedExportStream(Stream):
    """The response a handler returns: a :class:`Stream` whose ASGI response records
    the export's event when it ends."""

    __slots__ = ("download",)

    def __init__(
        self, download: ExportDownload, *, headers: dict[str, str], media_type: str
    ) -> None:
        super().__init__(download.chunks, headers=headers, media_type=media_type)
        self.download = download

    def to_asgi_response(
        self,
        app: Litestar | None,
        request: Request[Any, Any, Any],
        *,
        background: BackgroundTask | BackgroundTasks | None = None,
        cookies: Iterable[Cookie] | None = None,
        encoded_headers: Iterable[tuple[bytes, bytes]] | None = None,
        headers: dict[str, str] | None = None,
        is_head_response: bool = False,
        media_type: MediaType | str | None = None,
        status_code: int | None = None,
        type_encoders: TypeEncodersMap | None = None,
    ) -> ASGIResponse:
        merged = {**headers, **self.headers} if headers is not None else self.headers
        return AuditedStreamingResponse(
            download=self.download,
            background=self.background or background,
            content_length=0,
            cookies=self.cookies if cookies is None else itertools.chain(self.cookies, cookies),
            encoded_headers=encoded_headers,
            encoding=self.encoding,
            headers=merged,
            is_head_response=is_head_response,
            media_type=str(self.media_type or media_type),
            status_code=self.status_code or status_code,
        )


def _instant(value: datetime | None, name: str) -> datetime | None:
    if value is None:
        return None
    accepted = accepted_instant(value)
    if accepted is None:
        raise BadRequest(
            f"invalid request: query parameter '{name}' must be an RFC 3339 time with a UTC "
            f"offset, {RANGE_TEXT}"
        )
    return accepted


def _reveal_reason(reveal: bool, reason: str | None) -> str | None:
    if reason is not None and not reason.strip():
        reason = None
    if reveal and reason is None:
        raise BadRequest("invalid request: reveal=true needs a non-blank 'reason'")
    return reason


CSV_CONTENT_TYPE = "text/csv; charset=utf-8"
JSONL_CONTENT_TYPE = "application/x-ndjson"


@dataclass
class ExportOperation(Operation):
    """The export's OpenAPI operation: its 200 is documented for both formats (a
    ``ResponseSpec`` names one media type) with the headers it carries."""

    def __post_init__(self) -> None:
        ok = (self.responses or {}).get(str(HTTP_200_OK))
        if not isinstance(ok, OpenAPIResponse):
            return
        media = (ok.content or {}).get(CSV_CONTENT_TYPE)
        if media is not None:
            ok.content = {CSV_CONTENT_TYPE: media, JSONL_CONTENT_TYPE: media}
        ok.headers = {
            AUDIT_EVENT_HEADER: OpenAPIHeader(
                schema=Schema(type=OpenAPIType.STRING, examples=["aud_5c1f0e2a9b7d3c4e8f6a1b2c"]),
                description=(
                    "the id of the audit event that records this export when it ends "
                    "(export.completed with the file's SHA-256, or export.interrupted)"
                ),
                required=True,
            ),
            "Content-Disposition": OpenAPIHeader(
                schema=Schema(type=OpenAPIType.STRING),
                description='attachment; filename="communication-logs_<tenant>_<time>.<format>"',
                required=True,
            ),
        }


_EXPORT_DESCRIPTION = (
    "Every send record of your tenant that the filters select, oldest first "
    "(`created_at`, then `id`), as a file: `format=csv` (RFC 4180, UTF-8 with a byte-order "
    "mark, CRLF, a header row; cells beginning with `=`, `+`, `-`, `@`, tab or CR are "
    "prefixed with `'` against formula injection) or `format=jsonl` (one item of "
    "`GET /communication/logs` per line). `since` is inclusive, `until` exclusive. "
    "Recipients and content are masked with the API's rules. `reveal=true` shows them "
    "in clear (secret template parameters stay `******`: they are never stored); it "
    "needs a non-blank `reason` (else 400) and a tenant policy that allows reveals "
    "(else 403). The response streams; `X-Audit-Event-Id` names the audit event that "
    "records the export when it ends: `export.completed` with the row count, byte count "
    "and SHA-256 of the file (`sha256sum` of the download must equal it), or "
    "`export.interrupted` with what was sent until the download broke off. "
    "GDPR Art. 5(2), Art. 30."
)


class ComplianceExportController(Controller):
    path = "/compliance/exports"
    tags = ["compliance"]
    security = [{"BearerToken": []}]
    guards = [compliance_officers_only]

    @get(
        "/communication-logs",
        summary="Export your tenant's send records as CSV or JSONL (role compliance_officer)",
        description=_EXPORT_DESCRIPTION,
        operation_id="exportCommunicationLogs",
        operation_class=ExportOperation,
        responses={
            HTTP_200_OK: ResponseSpec(
                data_container=str,
                media_type=CSV_CONTENT_TYPE,
                description=("the file, streamed: text/csv; charset=utf-8 or application/x-ndjson"),
                generate_examples=False,
            ),
            **error_responses(400, 401, 403, 500, 503),
        },
    )
    async def export_logs(
        self,
        state: State,
        principal: NamedDependency[Principal],
        format: Annotated[ExportFormat, Parameter(description="csv or jsonl")],
        since: Annotated[
            datetime | None,
            Parameter(description=f"created at or after this instant ({RANGE_TEXT})"),
        ] = None,
        until: Annotated[
            datetime | None,
            Parameter(description=f"created before this instant ({RANGE_TEXT})"),
        ] = None,
        channel: Annotated[Channel | None, Parameter(description="sms, email or push")] = None,
        status: Annotated[
            DeliveryStatus | None, Parameter(description="pending, sent, failed or delivered")
        ] = None,
        user_id: Annotated[
            str | None,
            Parameter(
                description="only this user's records",
                min_length=1,
                max_length=MAX_IDENTIFIER_LENGTH,
                pattern=IDENTIFIER_PATTERN,
            ),
        ] = None,
        reveal: Annotated[
            bool,
            Parameter(description="recipients and content in clear (needs reason and policy)"),
        ] = False,
        reason: Annotated[
            str | None,
            Parameter(
                description="why (recorded in the audit event; required with reveal=true)",
                max_length=MAX_REASON_CHARS,
                pattern=NO_NUL_PATTERN,
            ),
        ] = None,
    ) -> AuditedExportStream:
        scope = allowed(scope_for_compliance(principal))
        export_format = format
        filters = ExportFilters(
            since=_instant(since, "since"),
            until=_instant(until, "until"),
            channel=channel,
            status=status,
            user_id=user_id,
        )
        problem = filters.problem()
        if problem is not None:
            raise BadRequest(f"invalid request: {problem}")
        reason = _reveal_reason(reveal, reason)
        settings = state["settings"]
        if reveal and not settings.retention_policy.reveal_allowed(scope.tenant_id):
            raise AccessDenied(
                "your tenant's policy does not allow revealing recipients and content"
            )
        state["key_gate"].require()

        context = current_request.get()
        actor = Actor(
            id=principal.user_id,
            kind=ActorKind.OFFICER,
            origin={} if context is None else {"request_id": context.request_id},
        )
        sessions: SessionFactory = state["database"].get_session
        export = LogExport(
            ExportRequest(
                tenant_id=scope.tenant_id, format=export_format, filters=filters, reveal=reveal
            ),
            sessions=sessions,
            master_keys=settings.master_keys,
            key_cache=state["key_cache"],
            templates=state["template_cache"],
            gate=state["key_gate"],
            lane=state["masking_lane"],
        )
        # The first chunk is read before the response starts: an unreachable database or
        # an unopenable key is still a 503 envelope, and nothing was disclosed.
        try:
            first: bytes | None = await export.__anext__()
        except StopAsyncIteration:
            first = None
        event_id = new_event_id()
        download = ExportDownload(
            export,
            first,
            sessions=sessions,
            master=settings.master_keys,
            actor=actor,
            event_id=event_id,
            reason=reason,
        )
        filename = export_filename(scope.tenant_id, export_format, datetime.now(UTC))
        return AuditedExportStream(
            download,
            headers={
                "Content-Disposition": f'attachment; filename="{filename}"',
                AUDIT_EVENT_HEADER: event_id,
            },
            media_type=export_format.media_type,
        )
