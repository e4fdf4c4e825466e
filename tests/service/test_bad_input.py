"""Bad input is a 4xx naming what is wrong, on SQLite and PostgreSQL alike, never a 500."""

from __future__ import annotations

import logging
from typing import Any

import pytest
from httpx import Response
from litestar import Litestar

from policies.identifiers import IDENTIFIER_PATTERN, NO_NUL_PATTERN
from service.bodies import StrictJSONBody
from service.schemas import RequestBody
from tests.factories import SMS_RECIPIENT, Caller, hold_body, send_body

JSON = {"Content-Type": "application/json"}
NOT_JSON = "body is not valid JSON/UTF-8"


async def _post_raw(caller: Caller, path: str, body: bytes, *roles: str) -> Response:
    return await caller.client.post(
        path, content=body, headers={**caller.auth("svc_sender", *roles), **JSON}
    )


async def _hold(caller: Caller, **body: Any) -> Response:
    return await caller.client.post(
        "/compliance/legal-holds",
        json=hold_body(**body),
        headers=caller.auth("officer", "compliance_officer"),
    )


def _assert_400_naming(response: Response, named: str) -> None:
    assert response.status_code == 400, response.text
    body = response.json()
    assert set(body) == {"code", "message", "timestamp"}
    assert body["code"] == 400
    assert f"'{named}'" in body["message"], body["message"]


# --- NUL and control characters ------------------------------------------------------------


@pytest.mark.parametrize("field", ["user_id", "provider", "template_id", "recipient", "content"])
async def test_nul_in_any_field_of_a_send_is_400_naming_the_field(
    caller: Caller, field: str
) -> None:
    value = {"recipient": "+86138\x0012348000", "content": "code\x00 123"}.get(field, "a\x00b")
    response = await caller.record(**{field: value})
    _assert_400_naming(response, field)
    assert (await caller.list_logs()).json()["total"] == 0


@pytest.mark.parametrize("field", ["error", "response"])
async def test_nul_in_an_outcome_is_400_naming_the_field(caller: Caller, field: str) -> None:
    created = await caller.create()
    response = await caller.set_status(created["id"], status="failed", **{field: "x\x00y"})
    _assert_400_naming(response, field)
    (item,) = (await caller.list_logs()).json()["items"]
    assert item["status"] == "pending"


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("user_id", "usr\x00a"),
        ("reason", "court order\x00"),
        ("recipient", "+8613812348000\x00"),
    ],
)
async def test_nul_in_a_hold_is_400_naming_the_field(
    caller: Caller, field: str, value: str
) -> None:
    body: dict[str, Any] = {"reason": "court order 17", "user_id": "usr_alice"}
    if field == "recipient":
        body["channel"] = "sms"
    body[field] = value
    _assert_400_naming(await _hold(caller, **body), field)


CONTROL_AND_BLANK_IDS = [
    "usr\ta",
    "usr\na",
    "usr_a\n",  # Python's ``$`` alone would let a final newline through
    "usr\ra",
    "usr\x1ba",  # ESC: terminal escape sequences
    "usr\x7fa",  # DEL
    "usr\x85a",  # C1 next line
    "usr\u2028a",  # line separator
    "usr\u2029a",  # paragraph separator
    " ",
    "\u3000",
    "   \t ",
    " usr_a",
    "usr_a ",
]


async def test_control_characters_and_blank_identifiers_are_400(caller: Caller) -> None:
    # One app for every value: each test app holds a PostgreSQL connection until it exits.
    for identifier in CONTROL_AND_BLANK_IDS:
        for field in ("user_id", "provider", "template_id"):
            _assert_400_naming(await caller.record(**{field: identifier}), field)
        _assert_400_naming(await _hold(caller, reason="r", user_id=identifier), "user_id")
    assert (await caller.list_logs()).json()["total"] == 0


async def test_user_ids_may_hold_spaces_and_any_printable_script_inside(
    caller: Caller,
) -> None:
    # template_id and provider have a stricter syntax: tests/service/test_identifier_syntax.py
    created = await caller.create(user_id="用户 7|v2")
    assert created["user_id"] == "用户 7|v2"


@pytest.mark.parametrize(
    "path", ["/communication/logs/log_%00x/status", "/communication/logs/log_x%0A/status"]
)
async def test_a_control_character_in_a_record_id_is_400(caller: Caller, path: str) -> None:
    response = await caller.client.post(
        path, json={"status": "sent"}, headers=caller.auth("svc", "ingest")
    )
    _assert_400_naming(response, "log_id")


@pytest.mark.parametrize("hold_id", ["hold_%00", "hold_%0D%0Ax", "%20"])
async def test_a_control_character_or_blank_in_a_hold_id_is_400(
    caller: Caller, hold_id: str
) -> None:
    response = await caller.client.delete(
        f"/compliance/legal-holds/{hold_id}", headers=caller.auth("officer", "compliance_officer")
    )
    _assert_400_naming(response, "hold_id")


@pytest.mark.parametrize("user_id", ["usr_alice\x00", "usr_alice\n", " "])
async def test_a_control_character_or_blank_in_the_user_id_parameter_is_400(
    caller: Caller, user_id: str
) -> None:
    _assert_400_naming(await caller.list_logs(user_id=user_id), "user_id")


@pytest.mark.parametrize("claim", ["tenant_id", "sub"])
async def test_a_token_claim_with_control_characters_is_401_on_every_endpoint(
    caller: Caller, claim: str
) -> None:
    for value in ["tnt\x00a", "tnt_a\n", "a\u2028b", "\x7f", "  "]:
        await _assert_claim_refused(caller, claim, value)


async def _assert_claim_refused(caller: Caller, claim: str, value: str) -> None:
    tenant_id, user_id = caller.tenant_id, "usr_alice"
    if claim == "tenant_id":
        tenant_id = value
    else:
        user_id = value
    token = caller.tokens.issue(
        tenant_id=tenant_id, user_id=user_id, roles=["user", "ingest", "compliance_officer"]
    )
    headers = {"Authorization": f"Bearer {token}"}
    for method, path, body in [
        ("GET", "/communication/logs", None),
        ("POST", "/communication/logs", send_body()),
        ("POST", "/communication/logs/log_x/status", {"status": "sent"}),
        ("GET", "/compliance/legal-holds", None),
        ("POST", "/compliance/legal-holds", {"reason": "r"}),
        ("DELETE", "/compliance/legal-holds/hold_x", None),
        ("GET", "/compliance/retention-runs", None),
    ]:
        response = await caller.client.request(method, path, json=body, headers=headers)
        assert response.status_code == 401, (method, path, response.text)
        assert f"'{claim}'" in response.json()["message"]


# --- bytes that are not JSON --------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (b'{"user_id":"usr_a","channel":"sms","recipient":"x","content":"\xff"}', "UTF-8"),
        (b'{"user_id":"usr_a","channel":"sms","recipient":"x","content":"\xed\xa0\x80"}', "UTF-8"),
        (b"[" * 10_000, "nested"),
        (b'{"surprise":' + b"[" * 10_000, "nested"),
        (b"{not json", "malformed"),
    ],
)
async def test_bytes_that_are_not_json_are_400_without_a_stack_trace(
    caller: Caller, caplog: pytest.LogCaptureFixture, body: bytes, reason: str
) -> None:
    caplog.set_level(logging.DEBUG)
    response = await _post_raw(caller, "/communication/logs", body, "ingest")
    assert response.status_code == 400, response.text
    assert reason in response.json()["message"]
    assert "Traceback" not in caplog.text
    assert "Error" not in caplog.text  # neither UnicodeDecodeError nor RecursionError


async def test_a_deeply_nested_status_or_hold_body_is_400(caller: Caller) -> None:
    created = await caller.create()
    for path, role in [
        (f"/communication/logs/{created['id']}/status", "ingest"),
        ("/compliance/legal-holds", "compliance_officer"),
    ]:
        response = await _post_raw(caller, path, b"[" * 10_000, role)
        assert response.status_code == 400
        assert response.json()["message"].startswith(NOT_JSON)


async def test_a_key_given_twice_is_400_naming_it(caller: Caller) -> None:
    body = (
        b'{"user_id":"usr_alice","channel":"sms","recipient":"+8613812348000",'
        b'"content":"hi","user_id":"usr_bob"}'
    )
    response = await _post_raw(caller, "/communication/logs", body, "ingest")
    _assert_400_naming(response, "user_id")
    assert "more than once" in response.json()["message"]
    assert (await caller.list_logs(as_user="usr_bob")).json()["total"] == 0


async def test_a_key_given_twice_in_an_outcome_or_hold_is_400(caller: Caller) -> None:
    created = await caller.create()
    response = await _post_raw(
        caller,
        f"/communication/logs/{created['id']}/status",
        b'{"status":"failed","status":"delivered"}',
        "ingest",
    )
    _assert_400_naming(response, "status")
    response = await _post_raw(
        caller,
        "/compliance/legal-holds",
        b'{"scope":"tenant","review_by":"2030-01-01T00:00:00Z","reason":"a","reason":"b"}',
        "compliance_officer",
    )
    _assert_400_naming(response, "reason")


async def test_an_unknown_key_that_is_not_a_plain_name_is_not_echoed(caller: Caller) -> None:
    response = await caller.record(**{SMS_RECIPIENT: "x"})
    assert response.status_code == 400
    assert SMS_RECIPIENT not in response.text


@pytest.mark.parametrize("content_type", [None, "text/plain", "application/x-www-form-urlencoded"])
async def test_a_body_that_is_not_application_json_is_415(
    caller: Caller, content_type: str | None
) -> None:
    import json

    headers = caller.auth("svc", "ingest")
    if content_type is not None:
        headers["Content-Type"] = content_type
    response = await caller.client.post(
        "/communication/logs", content=json.dumps(send_body()).encode(), headers=headers
    )
    assert response.status_code == 415, response.text
    body = response.json()
    assert set(body) == {"code", "message", "timestamp"}
    assert body["code"] == 415
    assert (await caller.list_logs()).json()["total"] == 0


async def test_json_with_a_utf8_charset_is_accepted(caller: Caller) -> None:
    import json

    response = await caller.client.post(
        "/communication/logs",
        content=json.dumps(send_body()).encode(),
        headers={**caller.auth("svc", "ingest"), "Content-Type": "application/json; charset=UTF-8"},
    )
    assert response.status_code == 201, response.text


async def test_an_empty_body_is_400(caller: Caller) -> None:
    response = await _post_raw(caller, "/communication/logs", b"", "ingest")
    assert response.status_code == 400
    assert "body is required" in response.json()["message"]


# --- times ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "expires_at",
    [
        "9999-12-31T23:59:59-01:00",  # year 10000 in UTC
        "9999-06-01T00:00:00Z",
        "0001-01-01T00:00:00Z",
        "0001-01-01T00:00:00+01:00",
        "1969-12-31T23:59:59Z",
    ],
)
async def test_a_hold_expiry_outside_the_accepted_range_is_400(
    caller: Caller, expires_at: str
) -> None:
    _assert_400_naming(await _hold(caller, reason="r", expires_at=expires_at), "expires_at")


@pytest.mark.parametrize(
    "created_at", ["0001-01-01T00:00:00Z", "1900-01-01T00:00:00Z", "1969-12-31T23:59:59Z"]
)
async def test_a_send_time_before_1970_is_400(caller: Caller, created_at: str) -> None:
    _assert_400_naming(await caller.record(created_at=created_at), "created_at")


async def test_an_outcome_time_before_1970_is_400(caller: Caller) -> None:
    created = await caller.create()
    response = await caller.set_status(created["id"], status="sent", at="0001-01-01T00:00:00Z")
    _assert_400_naming(response, "at")
    assert "1970-01-01T00:00:00Z" in response.json()["message"]


@pytest.mark.parametrize("created_at", [0, 1_700_000_000, 1.5e9, True])
async def test_a_number_is_not_a_time(caller: Caller, created_at: object) -> None:
    _assert_400_naming(await caller.record(created_at=created_at), "created_at")
    assert (await caller.list_logs()).json()["total"] == 0


async def test_numbers_are_not_coerced_anywhere_in_a_body(caller: Caller) -> None:
    _assert_400_naming(await caller.record(user_id=12), "user_id")
    _assert_400_naming(await _hold(caller, reason="r", expires_at=4_102_444_800), "expires_at")
    created = await caller.create()
    _assert_400_naming(await caller.set_status(created["id"], status="sent", at=0), "at")


async def test_the_earliest_and_a_far_future_time_are_accepted(caller: Caller) -> None:
    assert (await caller.record(created_at="1970-01-01T00:00:00Z")).status_code == 201
    response = await _hold(caller, reason="r", created_before="9998-12-31T22:59:59-01:00")
    assert response.status_code == 201, response.text


# --- query parameters ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "query", "roles", "named"),
    [
        ("/communication/logs", "user_id=usr_bob&user_id=usr_alice", ("user",), "user_id"),
        ("/communication/logs", "user_id=usr_alice&user_id=usr_bob", ("user",), "user_id"),
        ("/communication/logs", "channel=sms&channel=email", ("user",), "channel"),
        ("/communication/logs", "page=1&page=2", ("user",), "page"),
        (
            "/compliance/legal-holds",
            "include_released=true&include_released=false",
            ("compliance_officer",),
            "include_released",
        ),
        (
            "/compliance/retention-runs",
            "page_size=5&page_size=6",
            ("compliance_officer",),
            "page_size",
        ),
    ],
)
async def test_a_repeated_query_parameter_is_400_naming_it(
    caller: Caller, path: str, query: str, roles: tuple[str, ...], named: str
) -> None:
    response = await caller.client.get(f"{path}?{query}", headers=caller.auth("usr_alice", *roles))
    _assert_400_naming(response, named)
    assert "repeated" in response.json()["message"]


@pytest.mark.parametrize("name", ["page", "page_size"])
async def test_integers_in_the_query_must_be_digits(caller: Caller, name: str) -> None:
    for value in ["1.0", "1e1", "2.", "0x1", "+1", " 1"]:
        _assert_400_naming(await caller.list_logs(**{name: value}), name)
        response = await caller.client.get(
            f"/compliance/retention-runs?{name}={value}",
            headers=caller.auth("officer", "compliance_officer"),
        )
        _assert_400_naming(response, name)


# --- access before the body ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "role"),
    [
        ("/communication/logs", "user"),
        ("/communication/logs/log_x/status", "user"),
        ("/compliance/legal-holds", "user"),
        ("/compliance/legal-holds", "ingest"),
    ],
)
async def test_a_caller_without_the_role_gets_403_whatever_the_body(
    caller: Caller, path: str, role: str
) -> None:
    for body in (b"garbage", b"[" * 10_000, b'{"a":1,"a":2}', b""):
        response = await _post_raw(caller, path, body, role)
        assert response.status_code == 403, (body[:10], response.text)
    # Not even read: a body over the size limit is not a 413 for them.
    response = await _post_raw(caller, path, b"x" * (300 * 1024), role)
    assert response.status_code == 403


# --- one decoder, stated in the document ---------------------------------------------------


def test_every_request_body_is_decoded_by_the_strict_decoder(app: Litestar) -> None:
    handlers = [
        handler
        for route in app.routes
        for handler in getattr(route, "route_handlers", [])
        if getattr(handler, "parsed_data_field", None) is not None
    ]
    # record_send, record_outcome, place_hold, change_hold, put_template, create (subject
    # request)
    assert len(handlers) == 6
    for handler in handlers:
        assert handler.parsed_data_field.is_subclass_of(RequestBody)
        dto = handler.resolve_data_dto()
        assert dto is not None
        assert issubclass(dto, StrictJSONBody), handler


async def test_the_openapi_document_states_the_identifier_and_text_rules(caller: Caller) -> None:
    document = (await caller.client.get("/schema/openapi.json")).json()
    schemas = document["components"]["schemas"]
    send = schemas["RecordSendRequest"]["properties"]
    assert send["user_id"]["pattern"] == IDENTIFIER_PATTERN
    assert send["content"]["pattern"] == NO_NUL_PATTERN
    post = document["paths"]["/communication/logs"]["post"]
    assert post["requestBody"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/RecordSendRequest"
    }


async def test_a_value_outside_an_enum_is_400_without_echoing_it(caller: Caller) -> None:
    sent = "+8613899998888 <script>alert(1)</script>" + "x" * 10_000
    responses = [
        await caller.record(channel=sent),
        await caller.record(status=sent),
        await caller.list_logs(status=sent),
        await caller.list_logs(channel=sent),
    ]
    for response in responses:
        assert response.status_code == 400, response.text
        assert "+86138" not in response.text
        assert "<script>" not in response.text
        assert len(response.content) < 400
        assert "is not one of the allowed values" in response.json()["message"]
