"""Logs are JSON lines that cannot be forged and never hold what they must not.

The whole API surface is driven with distinctive values (recipients, content, provider
texts, tokens, the master key, an Idempotency-Key); everything the process logs is
captured (every record at DEBUG, and stderr) and searched for them.
"""

from __future__ import annotations

import json
import logging
import time
from pathlib import Path
from typing import Any

import httpx
import jwt
import pytest
from litestar import post
from litestar.params import FromPath
from litestar.testing import AsyncTestClient

from service.app import create_app
from service.logging import JsonFormatter
from service.settings import Settings
from tests.conftest import TEST_JWT_SECRET, TEST_MASTER_KEY_ENTRY
from tests.factories import Caller, hold_body, served_commlog

PHONE = "+8613812345678"
EMAIL = "zelda.quux@example.org"
CONTENT_WORD = "PLUMBAGO"
CODE = "482916"
ERROR_TEXT = "gateway refused XYLOPHONE"
RESPONSE_TEXT = "provider said VORTEX55"
HOLD_REASON = "subpoena MARMALADE"
IDEMPOTENCY_KEY = "idem-QZX7781-unique"
BAD_ADDRESS = "bad-address-QWERTY@"
EXPLOSION = "exploded near PLUMBAGO"
FORGED_PATH = "/communication/logs/x%0aCRITICAL - FORGED line%0a/status"
MASTER_KEY_MATERIAL = TEST_MASTER_KEY_ENTRY.split(":", 1)[1]
CLIENT_LOGGERS = ("httpx", "httpcore")  # the test client's own log of the URLs it asks for


@post("/test-only/explode/{item_id:str}", status_code=200)
async def explode(item_id: FromPath[str]) -> None:
    """A handler that fails with private words in its exception message."""
    raise RuntimeError(f"{EXPLOSION} for {PHONE} and {item_id}")


@pytest.fixture
def captured(caplog: pytest.LogCaptureFixture) -> pytest.LogCaptureFixture:
    # set_level also sets the capturing handler's level: DEBUG last.
    for name in CLIENT_LOGGERS:
        caplog.set_level(logging.WARNING, logger=name)
    for name in ("commlog", "litestar", "uvicorn", "advanced_alchemy"):
        caplog.set_level(logging.DEBUG, logger=name)
    caplog.set_level(logging.DEBUG)
    return caplog


def _service_records(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    return [r for r in caplog.records if not r.name.startswith(CLIENT_LOGGERS)]


def _json_lines(text: str) -> list[dict[str, Any]]:
    """Every line of ``text`` as a JSON object; fails on any line that is not one."""
    lines = []
    for line in text.splitlines():
        if not line.strip():
            continue
        entry = json.loads(line)
        assert isinstance(entry, dict), line
        lines.append(entry)
    return lines


def _access_lines(records: list[logging.LogRecord]) -> list[dict[str, Any]]:
    return [dict(r.fields) for r in records if r.name == "commlog.access"]  # type: ignore[attr-defined]


async def _drive_the_whole_api(caller: Caller) -> tuple[list[str], int]:
    """Every endpoint and every error class, with the distinctive values. Returns the raw
    tokens used and the number of requests made."""
    client = caller.client
    user_token = caller.token("usr_alice")
    ingest_token = caller.token("svc_sender", "ingest")
    officer_token = caller.token("usr_officer", "compliance_officer")
    foreign_token = jwt.encode(
        {"sub": "usr_alice", "tenant_id": caller.tenant_id, "exp": int(time.time()) + 60},
        "another-secret-" + "y" * 40,
        algorithm="HS256",
    )
    user = {"Authorization": f"Bearer {user_token}"}
    ingest = {"Authorization": f"Bearer {ingest_token}"}
    officer = {"Authorization": f"Bearer {officer_token}"}
    body = {
        "user_id": "usr_alice",
        "channel": "sms",
        "recipient": PHONE,
        "content": f"您的验证码是{CODE} {CONTENT_WORD}",
        "template_id": "tpl_abc123",
        "provider": "aliyun",
    }
    responses: list[httpx.Response] = []

    async def call(method: str, url: str, **kwargs: Any) -> httpx.Response:
        response = await client.request(method, url, **kwargs)
        responses.append(response)
        return response

    keyed = {**ingest, "Idempotency-Key": IDEMPOTENCY_KEY}
    created = await call("POST", "/communication/logs", json=body, headers=keyed)
    assert created.status_code == 201, created.text
    assert (await call("POST", "/communication/logs", json=body, headers=keyed)).status_code == 200
    changed = {**body, "content": f"another {CONTENT_WORD}"}
    assert (
        await call("POST", "/communication/logs", json=changed, headers=keyed)
    ).status_code == 409
    email = {**body, "channel": "email", "recipient": EMAIL}
    assert (
        await call("POST", "/communication/logs", json=email, headers=ingest)
    ).status_code == 201
    bad = {**body, "channel": "email", "recipient": BAD_ADDRESS}
    assert (await call("POST", "/communication/logs", json=bad, headers=ingest)).status_code == 400
    log_id = created.json()["data"]["id"]
    outcome = {"status": "failed", "error": ERROR_TEXT, "response": RESPONSE_TEXT}
    status_url = f"/communication/logs/{log_id}/status"
    assert (await call("POST", status_url, json=outcome, headers=ingest)).status_code == 200
    back = {"status": "pending", "error": ERROR_TEXT}
    assert (await call("POST", status_url, json=back, headers=ingest)).status_code == 409
    unknown = "/communication/logs/log_unknown/status"
    assert (await call("POST", unknown, json=outcome, headers=ingest)).status_code == 404
    listed = await call("GET", "/communication/logs", params={"user_id": "usr_alice"}, headers=user)
    assert listed.status_code == 200
    forbidden = {"user_id": "usr_bob"}
    assert (
        await call("GET", "/communication/logs", params=forbidden, headers=user)
    ).status_code == 403
    assert (
        await call("GET", "/communication/logs", params={"page_size": "0"}, headers=user)
    ).status_code == 400
    assert (await call("GET", "/communication/logs")).status_code == 401
    foreign = {"Authorization": f"Bearer {foreign_token}"}
    assert (await call("GET", "/communication/logs", headers=foreign)).status_code == 401
    hold = await call(
        "POST",
        "/compliance/legal-holds",
        json=hold_body(reason=HOLD_REASON, scope="recipient", recipient=PHONE, channel="sms"),
        headers=officer,
    )
    assert hold.status_code == 201, hold.text
    assert (await call("GET", "/compliance/legal-holds", headers=officer)).status_code == 200
    hold_url = f"/compliance/legal-holds/{hold.json()['data']['id']}"
    assert (await call("DELETE", hold_url, headers=officer)).status_code == 200
    assert (await call("DELETE", hold_url, headers=officer)).status_code == 409
    assert (await call("GET", "/compliance/legal-holds", headers=user)).status_code == 403
    assert (await call("GET", "/compliance/retention-runs", headers=officer)).status_code == 200
    assert (await call("GET", "/health/live")).status_code == 200
    # 503 when another test of the shared database left a corrupt key row: still a line.
    assert (await call("GET", "/health/ready")).status_code in (200, 503)
    assert (await call("GET", "/nowhere", headers=user)).status_code == 404
    assert (await call("DELETE", "/communication/logs", headers=user)).status_code == 405
    # The forged path of the report, as a user and as a sender, and through a 500.
    assert (await call("POST", FORGED_PATH, json=outcome, headers=user)).status_code == 403
    # 400: a newline is not allowed in an identifier.
    assert (await call("POST", FORGED_PATH, json=outcome, headers=ingest)).status_code == 400
    assert (await call("GET", FORGED_PATH, headers=user)).status_code == 405
    caller.client.app.register(explode)
    exploded = await call(
        "POST", "/test-only/explode/x%0aCRITICAL - FORGED line%0a", headers=ingest
    )
    assert exploded.status_code == 500
    assert EXPLOSION not in exploded.text
    for response in responses:
        assert response.headers["x-request-id"], response.request.url
    tokens = [user_token, ingest_token, officer_token, foreign_token]
    return tokens, len(responses)


def _assert_nothing_private(text: str, tokens: list[str]) -> None:
    for value in (
        PHONE,
        PHONE[1:],
        EMAIL,
        CONTENT_WORD,
        CODE,
        ERROR_TEXT,
        RESPONSE_TEXT,
        HOLD_REASON,
        IDEMPOTENCY_KEY,
        BAD_ADDRESS,
        EXPLOSION,
        "FORGED",
        TEST_JWT_SECRET,
        MASTER_KEY_MATERIAL,
        *tokens,
        *(token.split(".")[2] for token in tokens),
    ):
        assert value not in text, f"{value!r} reached the log"


async def test_no_private_value_appears_in_any_log_output_of_the_whole_api(
    caller: Caller,
    captured: pytest.LogCaptureFixture,
    capfd: pytest.CaptureFixture[str],
) -> None:
    tokens, requests = await _drive_the_whole_api(caller)

    records = _service_records(captured)
    formatter = JsonFormatter()
    for record in records:
        _assert_nothing_private(record.getMessage(), tokens)
        _assert_nothing_private(formatter.format(record), tokens)
    _assert_nothing_private(captured.text, tokens)
    out, err = capfd.readouterr()
    _assert_nothing_private(out, tokens)
    _assert_nothing_private(err, tokens)
    stderr_lines = _json_lines(err)  # every line of stderr is one JSON object
    assert not any(line.lstrip().startswith("CRITICAL") for line in err.splitlines())

    service_lines = [e for e in stderr_lines if not e["logger"].startswith(CLIENT_LOGGERS)]
    access = [e for e in service_lines if e["logger"] == "commlog.access"]
    assert len(access) == requests == len(_access_lines(records))  # one line per request
    assert {e["route"] for e in access} >= {
        "/communication/logs",
        "/communication/logs/{log_id}/status",
        "/compliance/legal-holds",
        "/compliance/legal-holds/{hold_id}",
        "/compliance/retention-runs",
        "/health/live",
        "/health/ready",
        "/test-only/explode/{item_id}",
        "unmatched",
    }
    for entry in access:
        assert set(entry) >= {"time", "level", "request_id", "method", "route", "status"}
        assert isinstance(entry["duration_ms"], float | int)
    statuses = {entry["status"] for entry in access}
    assert statuses >= {200, 201, 400, 401, 403, 404, 405, 409, 500}


async def test_an_unexpected_error_logs_its_type_reference_route_and_stack_but_not_its_message(
    caller: Caller, captured: pytest.LogCaptureFixture, capfd: pytest.CaptureFixture[str]
) -> None:
    caller.client.app.register(explode)
    response = await caller.client.post(
        "/test-only/explode/x%0aCRITICAL - FORGED line%0a",
        headers={**caller.auth("svc", "ingest"), "X-Request-ID": "req-500-check"},
    )
    assert response.status_code == 500
    assert response.headers["x-request-id"] == "req-500-check"
    reference = response.json()["message"].split("reference ")[1].rstrip(")")

    lines = [e for e in _json_lines(capfd.readouterr().err) if e["logger"] != "httpx"]
    assert len(lines) == 2  # the error and the access line: nothing forged in between
    error, access = lines
    assert error["level"] == "ERROR"
    assert error["logger"] == "commlog.errors"
    assert error["type"] == "RuntimeError"
    assert error["reference"] == reference
    assert error["route"] == "/test-only/explode/{item_id}"
    assert error["request_id"] == "req-500-check"
    assert "in explode" in error["stack"]
    assert access["status"] == 500
    assert access["error_reference"] == reference
    assert access["route"] == "/test-only/explode/{item_id}"
    assert access["request_id"] == "req-500-check"
    assert access["tenant_id"] == caller.tenant_id
    assert access["user_id"] == "svc"
    assert EXPLOSION not in captured.text
    assert "FORGED" not in captured.text


async def test_a_database_failure_logs_no_private_value_and_only_json_lines(
    tmp_path: Path,
    caller: Caller,
    captured: pytest.LogCaptureFixture,
    capfd: pytest.CaptureFixture[str],
) -> None:
    broken = Settings(
        database_url=f"sqlite+aiosqlite:///{tmp_path / 'unmigrated.db'}",
        jwt_secret=TEST_JWT_SECRET,
        var_dir=tmp_path,
    )
    ingest = caller.auth("svc", "ingest")
    async with AsyncTestClient(app=create_app(broken)) as client:
        recorded = await client.post(
            "/communication/logs",
            json={"user_id": "u", "channel": "sms", "recipient": PHONE, "content": CODE},
            headers={**ingest, "Idempotency-Key": IDEMPOTENCY_KEY},
        )
        forged = await client.post(FORGED_PATH, json={"status": "failed"}, headers=ingest)
    assert recorded.status_code >= 500
    assert forged.status_code in (400, 503)  # refused before the database is asked
    _, err = capfd.readouterr()
    tokens = [ingest["Authorization"].split()[1]]
    _assert_nothing_private(err, tokens)
    _assert_nothing_private(captured.text, tokens)
    assert "no such table" not in err
    access = [e for e in _json_lines(err) if e["logger"] == "commlog.access"]
    assert [e["route"] for e in access] == [
        "/communication/logs",
        "/communication/logs/{log_id}/status",
    ]


async def test_a_well_formed_request_id_is_echoed_and_carried_by_every_line_of_the_request(
    caller: Caller, capfd: pytest.CaptureFixture[str]
) -> None:
    response = await caller.client.post(
        "/communication/logs/log_missing/status",
        json={"status": "delivered"},
        headers={**caller.auth("svc", "ingest"), "X-Request-ID": "trace-ABC_123.x"},
    )
    assert response.status_code == 404
    assert response.headers["x-request-id"] == "trace-ABC_123.x"
    access = [e for e in _json_lines(capfd.readouterr().err) if e["logger"] == "commlog.access"]
    assert access[-1]["request_id"] == "trace-ABC_123.x"
    assert access[-1]["status"] == 404
    assert access[-1]["route"] == "/communication/logs/{log_id}/status"


@pytest.mark.parametrize(
    "offered", ["has space", "x" * 129, "é-non-ascii", "tab\there", ""], ids=repr
)
async def test_a_request_id_that_is_not_1_to_128_printable_ascii_characters_is_replaced(
    caller: Caller, capfd: pytest.CaptureFixture[str], offered: str
) -> None:
    response = await caller.client.get("/nowhere", headers=[(b"x-request-id", offered.encode())])
    assert response.status_code == 404
    echoed = response.headers["x-request-id"]
    assert echoed != offered
    assert 1 <= len(echoed) <= 128
    access = [e for e in _json_lines(capfd.readouterr().err) if e["logger"] == "commlog.access"]
    assert access[-1]["request_id"] == echoed
    assert access[-1]["route"] == "unmatched"
    assert "tenant_id" not in access[-1]  # the token is checked only once a route matched


def test_commlog_run_writes_only_json_lines_and_no_uvicorn_access_line(tmp_path: Path) -> None:
    with served_commlog(tmp_path, capture_stderr=True) as served:
        forged = httpx.get(served.base_url + FORGED_PATH.replace(" ", "%20"), timeout=10)
        assert forged.status_code == 405
        assert forged.headers["x-request-id"]
    err = served.err
    assert "FORGED" not in err
    lines = _json_lines(err)
    assert not any(line.startswith("CRITICAL") for line in err.splitlines())
    assert not [e for e in lines if e["logger"] == "uvicorn.access"]
    access = [e for e in lines if e["logger"] == "commlog.access"]
    assert [e["route"] for e in access][-1] == "unmatched"
    assert access[-1]["request_id"] == forged.headers["x-request-id"]
