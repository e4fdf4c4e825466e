"""``GET /compliance/processing-record``: the tenant's record of processing (GDPR Art. 30),
built on each request from the live configuration (``policies.processing_record``)."""

from __future__ import annotations

from datetime import UTC, datetime

import msgspec
from litestar import Controller, get
from litestar.datastructures import State
from litestar.di import NamedDependency
from litestar.status_codes import HTTP_200_OK
from sqlalchemy.ext.asyncio import AsyncSession

from compliance.processing import providers_seen
from policies.access import Principal, scope_for_compliance
from policies.processing_record import ProcessingRecord, build_processing_record
from service.dependencies import allowed
from service.errors import error_responses
from service.guards import compliance_officers_only
from service.schemas import Timestamp, utc_timestamp
from service.settings import Settings

AUDIT_TRAIL_BUILT = True
"""Whether the record lists the audit trail among the security measures."""


class ProcessingRecordEnvelope(msgspec.Struct, frozen=True, kw_only=True):
    code: int
    message: str
    timestamp: Timestamp
    data: ProcessingRecord


async def processing_record(
    session: AsyncSession, settings: Settings, tenant_id: str, now: datetime
) -> ProcessingRecord:
    """The record for ``tenant_id`` from ``settings`` and the providers its records name
    (one function for the API and the CLI)."""
    providers, truncated = await providers_seen(session, tenant_id)
    return build_processing_record(
        tenant_id=tenant_id,
        generated_at=now,
        policy=settings.retention_policy,
        providers_seen=providers,
        providers_truncated=truncated,
        master_key_ids=settings.master_keys.key_ids,
        primary_master_key_id=settings.master_keys.primary_id,
        hold_max_days=settings.hold_max_days,
        released_hold_days=settings.released_hold_days,
        audit_trail=AUDIT_TRAIL_BUILT,
    )


class ProcessingRecordController(Controller):
    path = "/compliance"
    tags = ["compliance"]
    security = [{"BearerToken": []}]
    guards = [compliance_officers_only]

    @get(
        "/processing-record",
        summary="Your tenant's record of processing, GDPR Art. 30 (role compliance_officer)",
        description=(
            "Generated on each request from the live configuration: purposes, categories of "
            "data and of data subjects, recipients by role, the providers named on your "
            "tenant's records, transfers, your tenant's retention windows per channel with "
            "their legal basis, and the security measures (master-key ids and count only). "
            "No personal data."
        ),
        operation_id="getProcessingRecord",
        responses=error_responses(401, 403, 500, 503),
    )
    async def get_processing_record(
        self,
        principal: NamedDependency[Principal],
        db_session: NamedDependency[AsyncSession],
        state: State,
    ) -> ProcessingRecordEnvelope:
        scope = allowed(scope_for_compliance(principal))
        record = await processing_record(
            db_session, state["settings"], scope.tenant_id, datetime.now(UTC)
        )
        return ProcessingRecordEnvelope(
            code=HTTP_200_OK, message="success", timestamp=utc_timestamp(), data=record
        )
