"""What the record of processing (``policies.processing_record``) needs from the database:
the providers named on a tenant's records."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from compliance.records.models import CommunicationLog

MAX_PROVIDERS = 200
"""At most this many provider names are listed; more is reported as truncated."""


async def providers_seen(
    session: AsyncSession, tenant_id: str, *, limit: int = MAX_PROVIDERS
) -> tuple[list[str], bool]:
    """The distinct provider names on ``tenant_id``'s records still held, sorted, at most
    ``limit`` of them, and whether there were more (GDPR Art. 30(1)(d): the processors the
    tenant's data went to). Provider names are identifiers, never personal data."""
    statement = (
        select(CommunicationLog.provider)
        .where(CommunicationLog.tenant_id == tenant_id, CommunicationLog.provider.is_not(None))
        .distinct()
        .order_by(CommunicationLog.provider)
        .limit(limit + 1)
    )
    names = [name for name in (await session.execute(statement)).scalars() if name is not None]
    return names[:limit], len(names) > limit
