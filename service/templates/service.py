"""Registering and reading a tenant's message templates."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

from compliance.templates.repository import TemplateConflict, TemplateStore
from compliance.transactions import begin_write
from policies.access import TenantScope
from policies.paging import PageRequest
from policies.retention import RetentionPolicy
from policies.templates import TemplateVersion, content_retention_problem, template_problems
from service.errors import BadRequest, Conflict, RecordNotFound
from service.persistence.unit_of_work import commit
from service.templates.schemas import TemplateRequest


def utc_now() -> datetime:
    return datetime.now(UTC)


class TemplateService:
    """Carries out the template rules (``policies.templates``) against the store."""

    def __init__(
        self,
        store: TemplateStore,
        policy: RetentionPolicy,
        clock: Callable[[], datetime] = utc_now,
    ) -> None:
        self.store = store
        self.policy = policy
        self._clock = clock

    async def register(
        self, scope: TenantScope, actor: str, template_id: str, request: TemplateRequest
    ) -> tuple[TemplateVersion, bool]:
        """Make ``request`` the template's current version: a new version (``True``)
        unless it is the current one already. Returns once the database confirmed it."""
        problems = template_problems(request.body, request.parameters)
        if problems:
            raise BadRequest(f"invalid template: {'; '.join(problems)}")
        if request.content_retention_days is not None:
            window = self.policy.windows_for(scope.tenant_id, request.channel).content
            problem = content_retention_problem(request.content_retention_days, window)
            if problem is not None:
                raise BadRequest(f"invalid template: {problem}")
        await begin_write(self.store.session)
        try:
            version, created = await self.store.put(
                scope.tenant_id,
                template_id,
                channel=request.channel,
                body=request.body,
                parameters=request.parameters,
                content_retention_days=request.content_retention_days,
                created_by=actor,
                now=self._clock(),
            )
        except TemplateConflict as conflict:
            raise Conflict(str(conflict)) from None
        await commit(self.store.session, operation="register_template")
        return version, created

    async def get(
        self, scope: TenantScope, template_id: str, version: int | None = None
    ) -> TemplateVersion:
        """The current version, or the version asked for; 404 when there is none."""
        found = (
            await self.store.current(scope.tenant_id, template_id)
            if version is None
            else await self.store.version(scope.tenant_id, template_id, version)
        )
        if found is None:
            raise RecordNotFound("no template with this id (and version) in your tenant")
        return found

    async def page(
        self, scope: TenantScope, page: PageRequest
    ) -> tuple[list[TemplateVersion], int]:
        return await self.store.page(scope.tenant_id, page)
