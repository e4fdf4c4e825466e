"""Retention of templated sends, on SQLite and PostgreSQL: a template's own content
retention is honoured, and the content stage erases stored parameters as it erases content."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from advanced_alchemy.extensions.litestar import SQLAlchemyAsyncConfig
from sqlalchemy import select

from compliance.encryption.keystore import UnwrappedKeyCache
from compliance.encryption.master import MasterKeyring
from compliance.records.models import CommunicationLog
from compliance.retention.job import RunOptions, run_retention
from compliance.retention.runs import RunReport
from policies.retention import DEFAULT_POLICY
from tests.factories import Caller, hold_body, put_template, templated_send

DAY = timedelta(days=1)
SECOND = timedelta(seconds=1)


def _now() -> datetime:
    return datetime.now(UTC).replace(microsecond=0) - timedelta(hours=1)


async def _run(
    database: SQLAlchemyAsyncConfig, master_keys: MasterKeyring, caller: Caller, now: datetime
) -> RunReport:
    return await run_retention(
        database.get_engine(),
        master_keys,
        UnwrappedKeyCache(),
        DEFAULT_POLICY,
        RunOptions(actor="test", tenant_id=caller.tenant_id, clock=lambda: now),
    )


async def _rows(database: SQLAlchemyAsyncConfig, tenant_id: str) -> dict[str, CommunicationLog]:
    async with database.get_session() as session:
        statement = select(CommunicationLog).where(CommunicationLog.tenant_id == tenant_id)
        return {row.id: row for row in (await session.execute(statement)).scalars()}


async def _contents(caller: Caller, user: str = "usr_alice") -> dict[str, Any]:
    body = (await caller.list_logs(user, page_size=100)).json()
    return {item["id"]: item["content"] for item in body["items"]}


async def test_a_templates_own_retention_erases_its_sends_at_the_edge(
    caller: Caller, database: SQLAlchemyAsyncConfig, master_keys: MasterKeyring
) -> None:
    now = _now()
    await put_template(caller, "tpl_otp", content_retention_days=1)
    await put_template(caller, "tpl_statement")  # the tenant's 30 days
    ids = {}
    for name, template_id, age in [
        ("due", "tpl_otp", DAY),
        ("not_yet", "tpl_otp", DAY - SECOND),
        ("no_own_retention", "tpl_statement", 2 * DAY),
    ]:
        created = await caller.create(
            **templated_send(template_id), created_at=(now - age).isoformat()
        )
        ids[name] = created["id"]
    free_text = await caller.create(created_at=(now - 2 * DAY).isoformat())

    report = await _run(database, master_keys, caller, now)
    assert report.counts[caller.tenant_id]["content"] == 1

    rows = await _rows(database, caller.tenant_id)
    assert rows[ids["due"]].template_params is None
    assert rows[ids["due"]].content_key_id is None
    assert rows[ids["not_yet"]].template_params is not None
    assert rows[ids["no_own_retention"]].template_params is not None
    assert rows[free_text["id"]].content is not None
    contents = await _contents(caller)
    assert contents[ids["due"]] is None
    assert contents[ids["not_yet"]] is not None
    assert contents[free_text["id"]] == "您的验证码是******"


async def test_the_tenants_content_window_erases_template_parameters_too(
    caller: Caller, database: SQLAlchemyAsyncConfig, master_keys: MasterKeyring
) -> None:
    now = _now()
    await put_template(caller)
    old = await caller.create(**templated_send(), created_at=(now - 30 * DAY).isoformat())
    young = await caller.create(
        **templated_send(), created_at=(now - 30 * DAY + SECOND).isoformat()
    )
    await _run(database, master_keys, caller, now)
    rows = await _rows(database, caller.tenant_id)
    assert rows[old["id"]].template_params is None
    assert rows[young["id"]].template_params is not None
    assert (await _contents(caller))[old["id"]] is None


@pytest.mark.parametrize("keep", [False, True])
async def test_a_hold_keeps_short_lived_template_content_only_when_it_says_so(
    caller: Caller, database: SQLAlchemyAsyncConfig, master_keys: MasterKeyring, keep: bool
) -> None:
    """A login-code template (a secret parameter, content kept 1 day): by default a hold
    does not keep its content past that day; the record itself and its recipient stay
    held. Content without a template window (free text) stays held either way."""
    now = _now()
    await put_template(caller, content_retention_days=1)
    otp = await caller.create(**templated_send(), created_at=(now - 2 * DAY).isoformat())
    free_text = await caller.create(created_at=(now - 40 * DAY).isoformat())
    officer = caller.auth("usr_officer", "compliance_officer")
    hold = await caller.client.post(
        "/compliance/legal-holds",
        json=hold_body(
            reason="fraud inquiry 2026-311",
            scope="user",
            user_id="usr_alice",
            keep_short_lived_content=keep,
        ),
        headers=officer,
    )
    assert hold.status_code == 201, hold.text
    report = await _run(database, master_keys, caller, now)
    assert report.counts[caller.tenant_id]["content"] == (0 if keep else 1)
    rows = await _rows(database, caller.tenant_id)
    assert (rows[otp["id"]].template_params is not None) is keep
    assert rows[otp["id"]].recipient is not None
    assert rows[free_text["id"]].content is not None
    contents = await _contents(caller)
    assert (contents[otp["id"]] == otp["content"]) is keep
    assert contents[free_text["id"]] == "您的验证码是******"

    await caller.client.delete(
        f"/compliance/legal-holds/{hold.json()['data']['id']}", headers=officer
    )
    await _run(database, master_keys, caller, now)
    rows = await _rows(database, caller.tenant_id)
    assert rows[otp["id"]].template_params is None
    assert rows[free_text["id"]].content is None
