"""The send log's use cases: list one's own records, record a send, record its outcome."""

from __future__ import annotations

import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from compliance.records.repository import SendLogRepository
from policies.access import OwnerScope, TenantScope
from policies.channels import Channel, DeliveryStatus, TransitionOutcome, transition
from policies.idempotency import send_fingerprint
from policies.paging import PageRequest
from policies.providers import reduced_or_none
from policies.recipients import normalize_recipient
from policies.records import SendRecord
from policies.templates import (
    StoredParameters,
    TemplateRejected,
    TemplateVersion,
    rendered_length,
    stored_parameters,
)
from policies.text_limits import TextLimits
from service.errors import BadRequest, IdempotencyConflict, RecordNotFound, TransitionRejected
from service.persistence.unit_of_work import commit
from service.schemas import RecordSendRequest, StatusUpdateRequest

MAX_CLOCK_SKEW = timedelta(minutes=5)
LOG_ID_PREFIX = "log_"
REACHES_RECIPIENT = frozenset({DeliveryStatus.SENT, DeliveryStatus.DELIVERED})


def _content_or_template(request: RecordSendRequest) -> None:
    """400 unless a send carries exactly one of free-text ``content`` and
    ``template_params`` (the latter with its ``template_id``)."""
    if request.template_params is None:
        if request.content is None:
            raise BadRequest("invalid request: 'content' or 'template_params' is required")
        return
    if request.content is not None:
        raise BadRequest(
            "invalid request: 'content' and 'template_params' exclude each other "
            "(a templated send is rendered by the service)"
        )
    if request.template_id is None:
        raise BadRequest("invalid request: 'template_params' needs 'template_id'")


def _same_parameters(existing: SendRecord, request: RecordSendRequest) -> bool:
    """Whether a retry gives the parameters its stored record was rendered from (see
    :meth:`SendLogService._same_send`); free-text sends have none to compare."""
    if (existing.template_version is None) != (request.template_params is None):
        return False
    if request.template_params is None:
        return True
    if existing.template is None:
        return False  # the version cannot be found: the retry cannot be shown the same
    try:
        wanted = stored_parameters(existing.template.parameters, request.template_params)
    except TemplateRejected:
        return False
    if existing.template_params is None or "template_params" in existing.unreadable:
        return True  # erased or unreadable: cannot differ
    try:
        stored = StoredParameters.from_json(existing.template_params)
    except ValueError:
        return True  # unreadable as well
    return stored == wanted


def new_log_id() -> str:
    return LOG_ID_PREFIX + secrets.token_hex(12)


def utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True, slots=True)
class Recorded:
    """The outcome of recording a send: the record, and whether this call created it."""

    record: SendRecord
    created: bool


class SendLogService:
    """Carries out the send log's rules against its repository."""

    def __init__(
        self,
        repository: SendLogRepository,
        clock: Callable[[], datetime] = utc_now,
        limits: TextLimits | None = None,
    ) -> None:
        self.repository = repository
        self._clock = clock
        self._limits = limits or TextLimits()

    def _within_limits(self, fields: dict[str, str | None]) -> None:
        oversized = self._limits.first_oversized(fields)
        if oversized is not None:
            name, limit = oversized
            raise BadRequest(f"'{name}' is longer than the {limit} characters this service stores")

    async def list_own(
        self,
        scope: OwnerScope,
        page: PageRequest,
        *,
        channel: Channel | None = None,
        status: DeliveryStatus | None = None,
    ) -> tuple[list[SendRecord], int]:
        return await self.repository.page_for_owner(scope, page, channel=channel, status=status)

    def _not_in_future(self, moment: datetime, field: str, now: datetime) -> datetime:
        try:
            utc = moment.astimezone(UTC)
        except OverflowError:  # e.g. 0001-01-01T00:00+01:00 has no UTC instant
            raise BadRequest(f"'{field}' is outside the range of representable times") from None
        if utc - now > MAX_CLOCK_SKEW:
            raise BadRequest(f"'{field}' must not be more than 5 minutes in the future")
        return utc

    async def record_send(
        self, scope: TenantScope, request: RecordSendRequest, *, idempotency_key: str | None
    ) -> Recorded:
        """Store one send. A retried request with the same idempotency key returns the
        record the first attempt stored, and stores nothing twice. Returns only once the
        database confirmed it (a data key created on the way is committed with it)."""
        recorded = await self._record_send(scope, request, idempotency_key=idempotency_key)
        await commit(self.repository.session, operation="record_send")
        return recorded

    async def _record_send(
        self, scope: TenantScope, request: RecordSendRequest, *, idempotency_key: str | None
    ) -> Recorded:
        _content_or_template(request)
        self._within_limits({"content": request.content})
        recipient = normalize_recipient(request.channel, request.recipient)
        await self.repository.begin_write()
        fingerprint = send_fingerprint(
            user_id=request.user_id,
            channel=request.channel,
            template_id=request.template_id,
            provider=request.provider,
            status=request.status,
            created_at=request.created_at,
        )
        if idempotency_key is not None:
            existing = await self.repository.find_by_idempotency_key(
                scope.tenant_id, idempotency_key
            )
            if existing is not None:
                return Recorded(
                    self._same_send(*existing, request, recipient, fingerprint), created=False
                )

        template, stored_params = await self._template_for(scope, request)
        now = self._clock()
        created_at = (
            now
            if request.created_at is None
            else self._not_in_future(request.created_at, "created_at", now)
        )
        record = SendRecord(
            id=new_log_id(),
            tenant_id=scope.tenant_id,
            user_id=request.user_id,
            channel=request.channel,
            provider=request.provider,
            template_id=request.template_id,
            recipient=recipient,
            content=request.content,
            status=request.status,
            error=None,
            response=None,
            created_at=created_at,
            sent_at=created_at if request.status in REACHES_RECIPIENT else None,
            updated_at=now,
            template_version=None if template is None else template.version,
            template_params=None if stored_params is None else stored_params.to_json(),
            content_erase_after=None
            if template is None
            else template.content_erase_after(created_at),
            template=template,
        )
        stored = await self.repository.insert(
            record, idempotency_key=idempotency_key, request_fingerprint=fingerprint
        )
        if stored is not None:
            return Recorded(stored, created=True)
        # A concurrent request with the same key won the race: answer with its record.
        assert idempotency_key is not None
        winner = await self.repository.find_by_idempotency_key(scope.tenant_id, idempotency_key)
        if winner is None:  # pragma: no cover - the unique constraint just said it exists
            raise IdempotencyConflict("Idempotency-Key is in use by a request still in flight")
        return Recorded(self._same_send(*winner, request, recipient, fingerprint), created=False)

    async def _template_for(
        self, scope: TenantScope, request: RecordSendRequest
    ) -> tuple[TemplateVersion | None, StoredParameters | None]:
        """The current version of the template a templated send names, and what of its
        parameters is stored (no secret value); ``(None, None)`` for free text."""
        if request.template_params is None:
            return None, None
        assert request.template_id is not None  # _content_or_template checked it
        template = await self.repository.templates.current(scope.tenant_id, request.template_id)
        if template is None:
            raise BadRequest(
                "'template_id' names no template of your tenant "
                "(register it with PUT /templates/{template_id})"
            )
        if template.channel is not request.channel:
            raise BadRequest(
                f"the template is for channel {template.channel.value}, not {request.channel.value}"
            )
        try:
            stored = stored_parameters(template.parameters, request.template_params)
        except TemplateRejected as rejected:
            raise BadRequest(f"invalid request: 'template_params': {rejected}") from None
        # The rendered message is held to the limit free-text content is held to: a body
        # of many placeholders must not turn a small request into megabytes per read.
        rendered = rendered_length(template.body, request.template_params)
        if rendered > self._limits.content_chars:
            raise BadRequest(
                "invalid request: 'template_params': the rendered message is longer than "
                f"the {self._limits.content_chars} characters this service stores"
            )
        return template, stored

    @staticmethod
    def _same_send(
        existing: SendRecord,
        stored_fingerprint: str | None,
        request: RecordSendRequest,
        recipient: str,
        fingerprint: str,
    ) -> SendRecord:
        """Whether a retry asks for exactly the send that is stored (any difference is 409).

        The fingerprint (``policies.idempotency``) covers every field but recipient and
        content, including the requested ``status`` and ``created_at``; records stored
        before fingerprints were kept have none and are compared field by field.
        Recipient and content stored erased (their key epoch destroyed, or retention) or
        unreadable cannot differ: they are not compared.

        A templated send is compared against the template version its record was
        rendered from (a retry after the template changed is still the same send): the
        public and personal values against the decrypted record, and which secrets were
        given. Secret values are not stored, so a retry with a different secret value
        cannot be told apart and gets the stored record."""

        def differs(name: str, wanted: str | None) -> bool:
            stored = getattr(existing, name)
            return stored is not None and name not in existing.unreadable and stored != wanted

        if (
            (stored_fingerprint is not None and stored_fingerprint != fingerprint)
            or existing.user_id != request.user_id
            or existing.channel is not request.channel
            or differs("recipient", recipient)
            or differs("content", request.content)
            or existing.template_id != request.template_id
            or existing.provider != request.provider
            or not _same_parameters(existing, request)
        ):
            raise IdempotencyConflict(
                "Idempotency-Key was already used for a different send in this tenant"
            )
        return existing

    async def record_outcome(
        self, scope: TenantScope, log_id: str, request: StatusUpdateRequest
    ) -> SendRecord:
        """Apply a delivery outcome if the status machine allows it.

        Repeating the current status changes nothing (providers retry their callbacks);
        a transition the machine forbids, such as a late ``sent`` after ``delivered``, is
        refused so the record keeps its final outcome. Returns only once the database
        confirmed the change.
        """
        record = await self._record_outcome(scope, log_id, request)
        await commit(self.repository.session, operation="record_outcome")
        return record

    async def _record_outcome(
        self, scope: TenantScope, log_id: str, request: StatusUpdateRequest
    ) -> SendRecord:
        self._within_limits({"error": request.error, "response": request.response})
        await self.repository.begin_write()
        current = await self.repository.get_in_tenant(scope.tenant_id, log_id, for_update=True)
        if current is None:
            raise RecordNotFound("no send record with this id in your tenant")
        outcome = transition(current.status, request.status)
        if outcome is TransitionOutcome.REJECTED:
            raise TransitionRejected(
                f"status cannot change from {current.status.value} to {request.status.value}"
            )
        now = self._clock()
        at = now if request.at is None else self._not_in_future(request.at, "at", now)
        if at < current.created_at:
            raise BadRequest("'at' must not be earlier than the record's created_at")
        # Only what the provider's allow-list keeps is stored (policies.providers).
        reported = {
            "error": reduced_or_none(request.error, current.provider),
            "response": reduced_or_none(request.response, current.provider),
        }
        if outcome is TransitionOutcome.UNCHANGED:
            return await self._repeated_outcome(scope, current, reported, now)
        sent_at = current.sent_at
        if sent_at is None and request.status in REACHES_RECIPIENT:
            sent_at = at
        return await self.repository.save_outcome(
            scope.tenant_id,
            log_id,
            status=request.status,
            error=reported["error"],  # None keeps what is stored
            response=reported["response"],
            sent_at=sent_at,
            updated_at=now,
        )

    async def _repeated_outcome(
        self,
        scope: TenantScope,
        current: SendRecord,
        reported: dict[str, str | None],
        now: datetime,
    ) -> SendRecord:
        """A provider repeats the current status (callbacks are retried).

        Nothing changes, except that an ``error`` / ``response`` the record does not hold
        yet is stored. One that differs from what is stored is 409: the record keeps its
        first account of the outcome rather than silently dropping the second. (Stored
        fields that are unreadable cannot be compared and are kept; a field whose key
        epoch is destroyed is erased again on arrival.) The first report's time is kept.
        ``reported`` holds the reduced texts; they are compared with the stored ones
        reduced, so a provider's retried callback matches a row stored before reduction.
        """
        added: dict[str, str] = {}
        for name in ("error", "response"):
            wanted = reported[name]
            stored: str | None = getattr(current, name)
            if wanted is None or name in current.unreadable:
                continue
            if reduced_or_none(stored, current.provider) == wanted:
                continue
            if stored is not None:
                raise TransitionRejected(
                    f"status is already {current.status.value} with a different '{name}'"
                )
            added[name] = wanted
        if not added:
            return current
        return await self.repository.save_outcome(
            scope.tenant_id,
            current.id,
            status=current.status,
            error=added.get("error"),
            response=added.get("response"),
            sent_at=current.sent_at,
            updated_at=now,
        )
