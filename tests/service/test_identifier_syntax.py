"""``template_id`` and ``provider`` on ingest and on the way out (SQLite and PostgreSQL)."""

from __future__ import annotations

import logging

import pytest
from advanced_alchemy.extensions.litestar import SQLAlchemyAsyncConfig
from sqlalchemy import update

from compliance.records.models import CommunicationLog
from policies.identifiers import PROVIDER_PATTERN, TEMPLATE_ID_PATTERN
from policies.masking import FULLY_MASKED
from tests.factories import Caller


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("template_id", "otp-13812348000-zhangwei"),
        ("template_id", "模板 7|v2"),
        ("template_id", "tpl login"),
        ("provider", "aliyun:张伟"),
        ("provider", "Aliyun SMS"),
    ],
)
async def test_a_template_id_or_provider_outside_the_syntax_is_400_without_echoing_it(
    caller: Caller, field: str, value: str, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.DEBUG):
        response = await caller.record(**{field: value})
    assert response.status_code == 400, response.text
    message = response.json()["message"]
    assert f"'{field}'" in message
    assert "ASCII letter" in message
    for secret in ("13812348000", "张伟", value):
        assert secret not in response.text
        assert secret not in caplog.text
    assert (await caller.list_logs()).json()["total"] == 0


@pytest.mark.parametrize(
    ("provider", "template_id"),
    [("aliyun", "SMS_164561229"), ("twilio", "HXb5b62575e6e4ff6129ad7c8efe1f983e")],
)
async def test_provider_issued_template_codes_are_accepted_and_shown(
    caller: Caller, provider: str, template_id: str
) -> None:
    created = await caller.create(provider=provider, template_id=template_id)
    assert (created["provider"], created["template_id"]) == (provider, template_id)


async def test_the_openapi_document_states_both_patterns(caller: Caller) -> None:
    schema = (await caller.client.get("/schema/openapi.json")).json()
    properties = schema["components"]["schemas"]["RecordSendRequest"]["properties"]
    assert properties["template_id"]["pattern"] == TEMPLATE_ID_PATTERN
    assert properties["provider"]["pattern"] == PROVIDER_PATTERN


async def test_a_legacy_free_text_provider_or_template_id_is_shown_fully_masked(
    caller: Caller, database: SQLAlchemyAsyncConfig
) -> None:
    created = await caller.create(provider="aliyun", template_id="tpl_login_code")
    async with database.get_session() as session:
        # What a probe stored before the syntax was enforced.
        await session.execute(
            update(CommunicationLog)
            .where(CommunicationLog.id == created["id"])
            .values(provider="aliyun:张伟", template_id="otp-13812348000-zhangwei")
        )
        await session.commit()
    response = await caller.list_logs()
    (item,) = response.json()["items"]
    assert item["provider"] == FULLY_MASKED
    assert item["template_id"] == FULLY_MASKED
    assert "13812348000" not in response.text
    assert "张伟" not in response.text
