"""The configured free-text limits: too long is a 400 naming the field, and nothing is
stored; a page of the largest allowed records is served whole and masked."""

from __future__ import annotations

from pathlib import Path

import msgspec
import pytest
from litestar.testing import AsyncTestClient

from policies.text_limits import TextLimits
from service.app import create_app
from service.auth import TokenCodec
from service.settings import ConfigurationError, Settings, load_settings
from tests.factories import Caller


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return msgspec.structs.replace(
        settings, text_limits=TextLimits(content_chars=200, provider_text_chars=100)
    )


async def test_content_longer_than_the_configured_limit_is_400_and_not_stored(
    caller: Caller,
) -> None:
    response = await caller.record(content="a" * 201, idempotency_key="too-long-1")
    assert response.status_code == 400
    body = response.json()
    assert body["code"] == 400
    assert "'content'" in body["message"]
    assert "200 characters" in body["message"]
    assert "aaaa" not in body["message"]
    listed = await caller.list_logs()
    assert listed.json()["total"] == 0
    # The limit is a line, not a range: exactly the limit is stored.
    assert (await caller.record(content="a" * 200, idempotency_key="too-long-1")).status_code == 201


async def test_provider_text_longer_than_its_limit_is_400_and_the_record_is_unchanged(
    caller: Caller,
) -> None:
    created = await caller.create()
    response = await caller.set_status(created["id"], status="failed", error="e" * 101)
    assert response.status_code == 400
    assert "'error'" in response.json()["message"]
    response = await caller.set_status(created["id"], status="failed", response="r" * 101)
    assert response.status_code == 400
    assert "'response'" in response.json()["message"]
    (item,) = (await caller.list_logs()).json()["items"]
    assert item["status"] == "pending"
    assert item["error"] is None
    assert item["response"] is None


async def test_a_page_of_the_largest_allowed_records_is_served_whole_and_masked(
    settings: Settings, tenant_id: str
) -> None:
    large = msgspec.structs.replace(
        settings, text_limits=TextLimits(content_chars=65_536, provider_text_chars=16_384)
    )
    # Each record's code sits at the end of 64 KiB of text: the page is masked off the
    # event loop, and must come back exactly as the small-page path masks it.
    content = "您的订单已发货。" * 8190 + "验证码 482913"
    assert len(content) <= 65_536
    async with AsyncTestClient(app=create_app(large)) as client:
        caller = Caller(client=client, tokens=TokenCodec(large), tenant_id=tenant_id)
        for _ in range(3):
            await caller.create(content=content)
        body = (await caller.list_logs(page_size=100)).json()
    assert body["total"] == 3
    for item in body["items"]:
        assert item["content"].endswith("验证码 ******")
        assert "482913" not in item["content"]
        assert len(item["content"]) == len(content)


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("COMMLOG_MAX_CONTENT_CHARS", "0"),
        ("COMMLOG_MAX_CONTENT_CHARS", "65537"),
        ("COMMLOG_MAX_CONTENT_CHARS", "lots"),
        ("COMMLOG_MAX_PROVIDER_TEXT_CHARS", "16385"),
        ("COMMLOG_MAX_PROVIDER_TEXT_CHARS", "-1"),
    ],
)
def test_a_limit_outside_its_range_stops_start_up_naming_the_variable(
    tmp_path: Path, variable: str, value: str
) -> None:
    with pytest.raises(ConfigurationError) as raised:
        load_settings({"COMMLOG_VAR_DIR": str(tmp_path), variable: value}, env_file=None)
    assert variable in str(raised.value)


def test_configured_limits_are_loaded(tmp_path: Path) -> None:
    settings = load_settings(
        {
            "COMMLOG_VAR_DIR": str(tmp_path),
            "COMMLOG_MAX_CONTENT_CHARS": "4000",
            "COMMLOG_MAX_PROVIDER_TEXT_CHARS": "1000",
        },
        env_file=None,
    )
    assert settings.text_limits == TextLimits(content_chars=4000, provider_text_chars=1000)
