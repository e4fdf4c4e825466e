"""Every error is a SimpleResponse; nothing private leaks through errors or logs."""

from __future__ import annotations

import asyncio
import logging
import sqlite3
from pathlib import Path

import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient

from service.app import create_app
from service.settings import Settings
from tests.conftest import TEST_JWT_SECRET, migrate
from tests.factories import SMS_RECIPIENT, Caller, in_days


def _is_simple(body: object, code: int) -> bool:
    return (
        isinstance(body, dict)
        and set(body) == {"code", "message", "timestamp"}
        and body["code"] == code
    )


async def test_unknown_route_is_a_404_simple_response(caller: Caller) -> None:
    response = await caller.client.get("/nowhere", headers=caller.auth())
    assert response.status_code == 404
    assert _is_simple(response.json(), 404)


async def test_wrong_method_is_a_405_simple_response(caller: Caller) -> None:
    response = await caller.client.delete("/communication/logs", headers=caller.auth())
    assert response.status_code == 405
    assert _is_simple(response.json(), 405)


async def test_an_oversized_body_is_rejected_with_a_simple_response(caller: Caller) -> None:
    response = await caller.record(content="x" * 400_000)
    assert response.status_code == 413
    assert _is_simple(response.json(), 413)


async def test_the_body_limit_is_256_kib_on_every_body(caller: Caller) -> None:
    limit = 256 * 1024
    padding = "x" * (limit - len(b'{"reason":""}'))
    fits = await caller.client.post(
        "/compliance/legal-holds",
        content=b'{"scope":"tenant","review_by":"'
        + in_days(30).encode()
        + b'","reason":"'
        + padding.encode()[:1000]
        + b'"}',
        headers={
            **caller.auth("officer", "compliance_officer"),
            "Content-Type": "application/json",
        },
    )
    assert fits.status_code == 201, fits.text
    over = await caller.client.post(
        "/compliance/legal-holds",
        content=b'{"reason":"' + padding.encode() + b'x"}',
        headers={
            **caller.auth("officer", "compliance_officer"),
            "Content-Type": "application/json",
        },
    )
    assert over.status_code == 413
    assert over.json()["message"] == "request body is larger than 256 KiB"
    exact = await caller.client.post(
        "/communication/logs/log_000000000000000000000000/status",
        content=b" " * limit,
        headers={**caller.auth("svc", "ingest"), "Content-Type": "application/json"},
    )
    assert exact.status_code == 400  # 256 KiB exactly is read (and is no JSON object)
    beyond = await caller.client.post(
        "/communication/logs/log_000000000000000000000000/status",
        content=b" " * (limit + 1),
        headers={**caller.auth("svc", "ingest"), "Content-Type": "application/json"},
    )
    assert beyond.status_code == 413


async def test_a_database_failure_is_a_500_without_exception_text(
    tmp_path: Path, caller: Caller, caplog: pytest.LogCaptureFixture
) -> None:
    # The send log's table disappears under a running service: every query of it fails
    # inside the driver. (An unmigrated database at start is 503: test_master_key_gate.)
    path = tmp_path / "broken.db"
    await asyncio.to_thread(migrate, f"sqlite+aiosqlite:///{path}")
    broken = Settings(
        database_url=f"sqlite+aiosqlite:///{path}",
        jwt_secret=TEST_JWT_SECRET,
        var_dir=tmp_path,
    )
    caplog.set_level(logging.DEBUG)
    async with AsyncTestClient(app=create_app(broken)) as client:
        with sqlite3.connect(path) as other:
            other.execute("DROP TABLE communication_logs")
        response = await client.post(
            "/communication/logs",
            json={
                "user_id": "usr_alice",
                "channel": "sms",
                "recipient": SMS_RECIPIENT,
                "content": "您的验证码是654321",
            },
            headers=caller.auth("svc", "ingest"),
        )
    assert response.status_code == 500
    body = response.json()
    assert _is_simple(body, 500)
    assert body["message"].startswith("internal server error")
    for secret in ("communication_logs", "no such table", "654321", SMS_RECIPIENT, "SELECT"):
        assert secret not in response.text
        assert secret not in caplog.text
    assert "OperationalError" in caplog.text  # the failure's type is logged for operators


async def test_nothing_private_reaches_the_log_on_any_path(
    caller: Caller, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    created = await caller.create(content="验证码 918273 https://r.example/x?token=zz9")
    await caller.set_status(created["id"], status="failed", error="timeout for +8613812348000")
    await caller.record(channel="email", recipient="bad-address-zz@")
    await caller.list_logs()
    for secret in (SMS_RECIPIENT, "918273", "token=zz9", "bad-address-zz"):
        assert secret not in caplog.text


@pytest.mark.parametrize(
    "path",
    [
        "/communication/logs",
        "/communication/logs/log_x/status",
        "/compliance/legal-holds",
        "/compliance/legal-holds/hold_x",
        "/compliance/retention-runs",
    ],
)
async def test_options_needs_no_token_and_discloses_only_the_allowed_methods(
    client: AsyncTestClient[Litestar], path: str
) -> None:
    response = await client.options(path)
    assert response.status_code == 204
    assert "Allow" in response.headers
    assert response.content == b""
