"""Storing template versions, and finding the version a record was rendered from.

A version is immutable once written, so each one read is kept in a bounded in-process
cache (:class:`TemplateCache`) keyed by tenant, template id and version: reading a page of
templated records costs no query for templates already seen. The cache belongs to one
application (one database), never to the process.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Iterable, Mapping
from datetime import datetime

import msgspec
from sqlalchemy import and_, func, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_scoped_session

from compliance.templates.models import MessageTemplate, MessageTemplateVersion
from policies.channels import Channel
from policies.paging import PageRequest
from policies.templates import TemplateVersion

CACHE_SIZE = 4096
VersionKey = tuple[str, str, int]
"""(tenant id, template id, version)."""


class TemplateConflict(Exception):
    """Another request changed the same template at the same time; nothing was stored."""


class TemplateCache:
    """A bounded cache of immutable template versions (least recently used goes first)."""

    def __init__(self, size: int = CACHE_SIZE) -> None:
        self._size = size
        self._entries: OrderedDict[VersionKey, TemplateVersion] = OrderedDict()

    def get(self, key: VersionKey) -> TemplateVersion | None:
        found = self._entries.get(key)
        if found is not None:
            self._entries.move_to_end(key)
        return found

    def put(self, version: TemplateVersion) -> None:
        key = (version.tenant_id, version.template_id, version.version)
        self._entries[key] = version
        self._entries.move_to_end(key)
        if len(self._entries) > self._size:
            self._entries.popitem(last=False)

    def clear(self) -> None:
        self._entries.clear()


def _encode_parameters(parameters: Mapping[str, str]) -> str:
    return msgspec.json.encode(dict(sorted(parameters.items()))).decode()


def _version_of(row: MessageTemplateVersion) -> TemplateVersion:
    return TemplateVersion(
        tenant_id=row.tenant_id,
        template_id=row.template_id,
        version=row.version,
        channel=Channel(row.channel),
        body=row.body,
        parameters=msgspec.json.decode(row.parameters, type=dict[str, str]),
        content_retention_days=row.content_retention_days,
        created_at=row.created_at,
        created_by=row.created_by,
    )


class TemplateStore:
    """A tenant's templates through one session; versions are cached in ``cache``."""

    def __init__(
        self, session: AsyncSession | async_scoped_session[AsyncSession], cache: TemplateCache
    ) -> None:
        self.session = session
        self.cache = cache

    async def version(
        self, tenant_id: str, template_id: str, version: int
    ) -> TemplateVersion | None:
        """One version, from the cache when it was read before."""
        found = await self.versions(tenant_id, [(template_id, version)])
        return found.get((template_id, version))

    async def versions(
        self, tenant_id: str, wanted: Iterable[tuple[str, int]]
    ) -> dict[tuple[str, int], TemplateVersion]:
        """The versions named in ``wanted`` that exist in ``tenant_id``: one query for all
        those not cached yet."""
        found: dict[tuple[str, int], TemplateVersion] = {}
        missing: set[tuple[str, int]] = set()
        for template_id, number in set(wanted):
            cached = self.cache.get((tenant_id, template_id, number))
            if cached is None:
                missing.add((template_id, number))
            else:
                found[(template_id, number)] = cached
        if missing:
            version = MessageTemplateVersion
            rows = (
                await self.session.execute(
                    select(version).where(
                        version.tenant_id == tenant_id,
                        or_(
                            *(
                                and_(version.template_id == tid, version.version == number)
                                for tid, number in sorted(missing)
                            )
                        ),
                    )
                )
            ).scalars()
            for row in rows:
                loaded = _version_of(row)
                self.cache.put(loaded)
                found[(loaded.template_id, loaded.version)] = loaded
        return found

    async def current(self, tenant_id: str, template_id: str) -> TemplateVersion | None:
        """The version sends use now, or ``None`` when the tenant has no such template."""
        number = await self.session.scalar(
            select(MessageTemplate.current_version).where(
                MessageTemplate.tenant_id == tenant_id, MessageTemplate.template_id == template_id
            )
        )
        if number is None:
            return None
        return await self.version(tenant_id, template_id, number)

    async def page(self, tenant_id: str, page: PageRequest) -> tuple[list[TemplateVersion], int]:
        """One page of the tenant's templates (their current versions), by template id."""
        template = MessageTemplate
        result = await self.session.execute(
            select(template.template_id, template.current_version)
            .where(template.tenant_id == tenant_id)
            .order_by(template.template_id)
            .limit(page.page_size)
            .offset(page.offset)
        )
        keys = [(template_id, number) for template_id, number in result]
        total = await self.session.scalar(
            select(func.count()).select_from(template).where(template.tenant_id == tenant_id)
        )
        found = await self.versions(tenant_id, keys)
        return [found[key] for key in keys if key in found], int(total or 0)

    async def put(
        self,
        tenant_id: str,
        template_id: str,
        *,
        channel: Channel,
        body: str,
        parameters: Mapping[str, str],
        content_retention_days: int | None,
        created_by: str,
        now: datetime,
    ) -> tuple[TemplateVersion, bool]:
        """Make the described template the current one: a new version (``True``) unless
        the current version already is it (``False``). The caller began a write
        transaction and commits it; :class:`TemplateConflict` when a concurrent request
        wrote the same template first."""
        head = (
            await self.session.execute(
                select(MessageTemplate)
                .where(
                    MessageTemplate.tenant_id == tenant_id,
                    MessageTemplate.template_id == template_id,
                )
                .with_for_update()
            )
        ).scalar_one_or_none()
        if head is not None:
            current = await self.version(tenant_id, template_id, head.current_version)
            if current is not None and current.defines(
                channel=channel,
                body=body,
                parameters=parameters,
                content_retention_days=content_retention_days,
            ):
                return current, False
        number = 1 if head is None else head.current_version + 1
        row = MessageTemplateVersion(
            tenant_id=tenant_id,
            template_id=template_id,
            version=number,
            channel=channel.value,
            body=body,
            parameters=_encode_parameters(parameters),
            content_retention_days=content_retention_days,
            created_at=now,
            created_by=created_by,
        )
        try:
            async with self.session.begin_nested():
                if head is None:
                    self.session.add(
                        MessageTemplate(
                            tenant_id=tenant_id,
                            template_id=template_id,
                            current_version=number,
                            created_at=now,
                            updated_at=now,
                        )
                    )
                else:
                    head.current_version = number
                    head.updated_at = now
                self.session.add(row)
                await self.session.flush()
        except IntegrityError:
            raise TemplateConflict(
                "the template was changed by another request at the same time; retry"
            ) from None
        return _version_of(row), True
