"""``GET /compliance/exports/communication-logs``: who may export what, what the file holds,
and the audit event that proves which file was received."""

from __future__ import annotations

import csv
import hashlib
import io
import json
import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import anyio
import msgspec
import pytest
from advanced_alchemy.extensions.litestar import SQLAlchemyAsyncConfig
from sqlalchemy import select, update

from compliance.audit.models import AuditEventRow
from compliance.encryption.keystore import KeyPurpose, TenantKey
from compliance.encryption.master import MasterKeyring
from policies.channels import Channel, DeliveryStatus
from policies.masking import mask_content
from policies.records import SendRecord
from policies.retention import parse_policy
from service.app import create_app
from service.auth import TokenCodec
from service.settings import Settings
from tests.compliance.test_export_stream import T0
from tests.conftest import TEST_JWT_SECRET
from tests.factories import Caller, put_template, store_records, templated_send
from tests.faults import refusing_audit_events

EXPORT = "/compliance/exports/communication-logs"
STORED_RECIPIENTS = ("+8613812348000", "13912345678", "bob@example.org")
STORED_CONTENTS = ("您的验证码是123456", "=SUM(A1:A9) 您的验证码是 654321")


@pytest.fixture
def settings(
    database_url: str, tmp_path: Path, master_keys: MasterKeyring, tenant_id: str
) -> Settings:
    """The test's tenant may reveal; no other tenant may."""
    return Settings(
        database_url=database_url,
        jwt_secret=TEST_JWT_SECRET,
        var_dir=tmp_path,
        master_keys=master_keys,
        retention_policy=parse_policy(
            f'[tenants."{tenant_id}"]\nreveal = true\n', source="test policy"
        ),
    )


def officer(caller: Caller, tenant_id: str | None = None) -> dict[str, str]:
    return caller.auth("usr_officer", "compliance_officer", tenant_id=tenant_id)


async def record_sends(caller: Caller) -> list[dict[str, Any]]:
    """Three sends of the caller's tenant, through the API."""
    return [
        await caller.create(),
        await caller.create(
            user_id="usr_bob", recipient="13912345678", content="=SUM(A1:A9) 您的验证码是 654321"
        ),
        await caller.create(
            channel="email", recipient="bob@example.org", content="hello", provider=None
        ),
    ]


async def audit_event(database: SQLAlchemyAsyncConfig, event_id: str) -> AuditEventRow:
    async with database.get_session() as session:
        row = (
            await session.execute(select(AuditEventRow).where(AuditEventRow.id == event_id))
        ).scalar_one()
        session.expunge(row)
        return row


async def export_events(database: SQLAlchemyAsyncConfig, tenant_id: str) -> list[AuditEventRow]:
    """The tenant's ``export.*`` events, in chain order."""
    async with database.get_session() as session:
        rows = list(
            (
                await session.execute(
                    select(AuditEventRow)
                    .where(
                        AuditEventRow.tenant_id == tenant_id,
                        AuditEventRow.action.startswith("export."),
                    )
                    .order_by(AuditEventRow.sequence)
                )
            ).scalars()
        )
        session.expunge_all()
        return rows


def details(row: AuditEventRow) -> dict[str, Any]:
    decoded: dict[str, Any] = msgspec.json.decode(row.details)
    return decoded


async def test_an_officers_export_is_masked_and_its_event_holds_the_digest_of_the_bytes_received(
    caller: Caller, database: SQLAlchemyAsyncConfig
) -> None:
    recorded = await record_sends(caller)
    response = await caller.client.get(EXPORT, params={"format": "csv"}, headers=officer(caller))
    assert response.status_code == 200
    assert response.headers["content-type"] == "text/csv; charset=utf-8"
    disposition = response.headers["content-disposition"]
    assert disposition.startswith('attachment; filename="communication-logs_')
    assert disposition.endswith('.csv"')
    body = response.content
    assert body.startswith(b"\xef\xbb\xbfid,tenant_id,user_id,channel,")
    text = body.decode("utf-8-sig")
    for stored in (*STORED_RECIPIENTS, *STORED_CONTENTS, "123456", "654321"):
        assert stored not in text
    rows = list(csv.DictReader(io.StringIO(text, newline="")))
    assert [row["id"] for row in rows] == [item["id"] for item in recorded]
    assert rows[1]["content"].startswith("'=SUM(A1:A9)")  # neutralised, then masked

    event = await audit_event(database, response.headers["x-audit-event-id"])
    assert event.action == "export.completed"
    assert event.tenant_id == caller.tenant_id
    assert (event.actor, event.actor_kind) == ("usr_officer", "officer")
    assert "request_id" in msgspec.json.decode(event.actor_origin)
    started = await audit_event(database, details(event)["started_event_id"])
    assert details(event) == {
        "format": "csv",
        "filters": {"since": None, "until": None, "channel": None, "status": None, "user_id": None},
        "reveal": False,
        "reason": None,
        "rows": 3,
        "bytes": len(body),
        "sha256": hashlib.sha256(body).hexdigest(),
        "counted": "handed_to_transport",
        "started_event_id": started.id,
    }
    for stored in (*STORED_RECIPIENTS, *STORED_CONTENTS):
        assert stored not in event.details


async def test_an_export_is_recorded_as_started_before_its_bytes_then_as_completed(
    caller: Caller, database: SQLAlchemyAsyncConfig
) -> None:
    await record_sends(caller)
    response = await caller.client.get(EXPORT, params={"format": "csv"}, headers=officer(caller))
    assert response.status_code == 200
    final_id = response.headers["x-audit-event-id"]
    started, completed = await export_events(database, caller.tenant_id)
    assert (started.action, completed.action) == ("export.started", "export.completed")
    assert started.sequence < completed.sequence
    assert completed.id == final_id  # the header names the final event
    assert details(started) == {
        "format": "csv",
        "filters": {"since": None, "until": None, "channel": None, "status": None, "user_id": None},
        "reveal": False,
        "reason": None,
        "final_event_id": final_id,
    }
    assert details(completed)["started_event_id"] == started.id
    assert (started.actor, started.actor_kind) == ("usr_officer", "officer")


@pytest.mark.parametrize("export_format", ["csv", "jsonl"])
async def test_an_export_whose_started_event_the_database_refuses_is_a_503_and_sends_nothing(
    caller: Caller, database: SQLAlchemyAsyncConfig, export_format: str
) -> None:
    await record_sends(caller)
    async with refusing_audit_events(database, caller.tenant_id, "export.started"):
        response = await caller.client.get(
            EXPORT,
            params={"format": export_format, "reveal": "true", "reason": "audit 7"},
            headers=officer(caller),
        )
    assert response.status_code == 503, response.text
    body = response.json()
    assert set(body) == {"code", "message", "timestamp"}
    assert body["code"] == 503
    assert "nothing was sent" in body["message"]
    assert "x-audit-event-id" not in response.headers
    for stored in (*STORED_RECIPIENTS, *STORED_CONTENTS):
        assert stored not in response.text
    assert await export_events(database, caller.tenant_id) == []
    # The database takes writes again: the next export is recorded as usual.
    again = await caller.client.get(EXPORT, params={"format": "csv"}, headers=officer(caller))
    assert again.status_code == 200
    assert [e.action for e in await export_events(database, caller.tenant_id)] == [
        "export.started",
        "export.completed",
    ]


REASON_WITH_PERSONAL_DATA = "case re Alice.Smith@Example.COM +8613812348000"


async def test_a_reason_is_recorded_masked_with_its_digest_never_in_clear_in_events_or_logs(
    caller: Caller, database: SQLAlchemyAsyncConfig, caplog: pytest.LogCaptureFixture
) -> None:
    for name in ("commlog", "litestar", "advanced_alchemy", "sqlalchemy"):
        caplog.set_level(logging.DEBUG, logger=name)
    await record_sends(caller)
    response = await caller.client.get(
        EXPORT,
        params={"format": "jsonl", "reveal": "true", "reason": REASON_WITH_PERSONAL_DATA},
        headers=officer(caller),
    )
    assert response.status_code == 200
    events = await export_events(database, caller.tenant_id)
    assert [e.action for e in events] == ["export.started", "export.completed"]
    expected = {
        "masked": mask_content(REASON_WITH_PERSONAL_DATA),
        "sha256": hashlib.sha256(REASON_WITH_PERSONAL_DATA.encode()).hexdigest(),
        "chars": len(REASON_WITH_PERSONAL_DATA),
    }
    assert expected["masked"].startswith("case re ")
    for event in events:
        assert details(event)["reason"] == expected
    async with database.get_session() as session:
        stored = [
            f"{row.details} {row.target} {row.actor_origin}"
            for row in (await session.execute(select(AuditEventRow))).scalars()
        ]
    service = [r for r in caplog.records if not r.name.startswith(("httpx", "httpcore"))]
    assert service
    logged = [r.getMessage() + repr(getattr(r, "fields", "")) for r in service]
    for private in ("Alice.Smith", "alice.smith", "Example.COM", "8613812348000", "12348000"):
        for text in (*stored, *logged):
            assert private not in text


async def test_a_jsonl_export_holds_the_api_items_of_the_same_records(
    caller: Caller, database: SQLAlchemyAsyncConfig
) -> None:
    await record_sends(caller)
    response = await caller.client.get(
        EXPORT, params={"format": "jsonl", "user_id": "usr_alice"}, headers=officer(caller)
    )
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/x-ndjson"
    lines = response.content.split(b"\n")
    assert lines[-1] == b""
    exported = [json.loads(line) for line in lines[:-1]]
    listed = (await caller.list_logs("usr_alice", page_size=100)).json()["items"]
    assert exported == list(reversed(listed))  # the list is newest first, exports oldest first
    event = await audit_event(database, response.headers["x-audit-event-id"])
    assert details(event)["filters"]["user_id"] == "usr_alice"
    assert details(event)["sha256"] == hashlib.sha256(response.content).hexdigest()


async def test_templated_sends_are_rendered_in_exports_with_their_secrets_hidden(
    caller: Caller,
) -> None:
    assert (await put_template(caller)).status_code == 201
    await caller.create(**templated_send())
    masked = await caller.client.get(EXPORT, params={"format": "jsonl"}, headers=officer(caller))
    revealed = await caller.client.get(
        EXPORT,
        params={"format": "jsonl", "reveal": "true", "reason": "case 2026-117"},
        headers=officer(caller),
    )
    assert json.loads(masked.content)["content"] == (
        "【招商银行】王**您好，您的验证码为******，5分钟内有效，请勿泄露。"
    )
    assert json.loads(revealed.content)["content"] == (
        "【招商银行】王芳您好，您的验证码为******，5分钟内有效，请勿泄露。"
    )
    assert b"482913" not in revealed.content


async def test_a_reveal_with_a_reason_shows_recipients_and_content_and_records_the_reason(
    caller: Caller, database: SQLAlchemyAsyncConfig
) -> None:
    await record_sends(caller)
    response = await caller.client.get(
        EXPORT,
        params={"format": "jsonl", "reveal": "true", "reason": "subpoena 2026-44"},
        headers=officer(caller),
    )
    assert response.status_code == 200
    items = [json.loads(line) for line in response.content.splitlines()]
    assert [item["recipient"] for item in items] == list(STORED_RECIPIENTS)
    assert items[0]["content"] == "您的验证码是123456"
    event = await audit_event(database, response.headers["x-audit-event-id"])
    assert details(event)["reveal"] is True
    assert details(event)["reason"] == {
        "masked": mask_content("subpoena 2026-44"),
        "sha256": hashlib.sha256(b"subpoena 2026-44").hexdigest(),
        "chars": 16,
    }


@pytest.mark.parametrize("reason", [None, "", "   "])
async def test_a_reveal_without_a_reason_is_a_400(caller: Caller, reason: str | None) -> None:
    params = {"format": "csv", "reveal": "true"}
    if reason is not None:
        params["reason"] = reason
    response = await caller.client.get(EXPORT, params=params, headers=officer(caller))
    assert response.status_code == 400
    assert response.json()["message"] == "invalid request: reveal=true needs a non-blank 'reason'"
    assert "x-audit-event-id" not in response.headers


async def test_a_reveal_the_tenants_policy_does_not_allow_is_a_403(caller: Caller) -> None:
    other = caller.tenant_id + "_b"
    response = await caller.client.get(
        EXPORT,
        params={"format": "csv", "reveal": "true", "reason": "curious"},
        headers=officer(caller, other),
    )
    assert response.status_code == 403
    assert set(response.json()) == {"code", "message", "timestamp"}
    assert "policy does not allow" in response.json()["message"]


@pytest.mark.parametrize("roles", [("user",), ("ingest",), ("user", "ingest")])
async def test_users_and_sending_services_may_not_export(
    caller: Caller, roles: tuple[str, ...]
) -> None:
    await record_sends(caller)
    response = await caller.client.get(
        EXPORT, params={"format": "csv"}, headers=caller.auth("usr_alice", *roles)
    )
    assert response.status_code == 403
    assert "compliance_officer" in response.json()["message"]
    assert "x-audit-event-id" not in response.headers


async def test_another_tenants_records_never_appear_in_an_export(
    caller: Caller, tokens: TokenCodec
) -> None:
    await record_sends(caller)
    other = Caller(client=caller.client, tokens=tokens, tenant_id=caller.tenant_id + "_b")
    await other.create(recipient="+8613700001111", content="other tenant's 777")
    for tenant, expected in ((caller.tenant_id, 3), (other.tenant_id, 1)):
        response = await caller.client.get(
            EXPORT, params={"format": "jsonl"}, headers=officer(caller, tenant)
        )
        items = [json.loads(line) for line in response.content.splitlines()]
        assert len(items) == expected
        assert {item["tenant_id"] for item in items} == {tenant}


@pytest.mark.parametrize(
    ("params", "fragment"),
    [
        ({"format": "xml"}, "query parameter 'format'"),
        ({}, "format"),
        (
            {"format": "csv", "since": "2026-12-01T00:00:00Z", "until": "2026-11-01T00:00:00Z"},
            "'since' must not be later than 'until'",
        ),
        ({"format": "csv", "since": "2026-12-01T00:00:00"}, "query parameter 'since'"),
        ({"format": "csv", "until": "0001-01-01T00:00:00Z"}, "1970-01-01T00:00:00Z"),
        ({"format": "csv", "since": "9999-12-31T23:00:00-05:00"}, "9999-01-01T00:00:00Z"),
        ({"format": "csv", "channel": "fax"}, "query parameter 'channel'"),
        ({"format": "csv", "status": "lost"}, "query parameter 'status'"),
        ({"format": "csv", "user_id": " usr"}, "query parameter 'user_id'"),
        ({"format": "csv", "reveal": "maybe"}, "query parameter 'reveal'"),
        ({"format": "csv", "since": "1700000000"}, "query parameter 'since'"),
        ({"format": "csv", "since": "1e10"}, "query parameter 'since'"),
        ({"format": "csv", "until": "1700000000.5"}, "query parameter 'until'"),
        ({"format": "csv", "since": "2026-12-01 00:00:00Z"}, "query parameter 'since'"),
        ({"format": "csv", "reason": "\x00"}, "query parameter 'reason'"),
        ({"format": "csv", "reason": "why\x00not"}, "query parameter 'reason'"),
    ],
)
async def test_bad_parameters_are_a_400_naming_the_parameter(
    caller: Caller, params: dict[str, str], fragment: str
) -> None:
    response = await caller.client.get(EXPORT, params=params, headers=officer(caller))
    assert response.status_code == 400, response.text
    body = response.json()
    assert set(body) == {"code", "message", "timestamp"}
    assert fragment in body["message"]


async def test_a_repeated_parameter_is_a_400(caller: Caller) -> None:
    response = await caller.client.get(f"{EXPORT}?format=csv&format=jsonl", headers=officer(caller))
    assert response.status_code == 400
    assert "repeated" in response.json()["message"]


async def test_filters_are_applied_and_recorded(
    caller: Caller, database: SQLAlchemyAsyncConfig
) -> None:
    await record_sends(caller)
    response = await caller.client.get(
        EXPORT,
        params={
            "format": "jsonl",
            "channel": "email",
            "status": "pending",
            "since": "2000-01-01T08:00:00+08:00",
        },
        headers=officer(caller),
    )
    items = [json.loads(line) for line in response.content.splitlines()]
    assert [item["channel"] for item in items] == ["email"]
    recorded = details(await audit_event(database, response.headers["x-audit-event-id"]))
    assert recorded["filters"] == {
        "since": "2000-01-01T00:00:00Z",
        "until": None,
        "channel": "email",
        "status": "pending",
        "user_id": None,
    }
    assert recorded["rows"] == 1


# --- Interrupted downloads -----------------------------------------------------------------


async def _store_many(
    database: SQLAlchemyAsyncConfig,
    master_keys: MasterKeyring,
    tenant_id: str,
    n: int,
    *,
    month: int = 11,
) -> None:
    created = T0.replace(month=month)
    await store_records(
        database,
        master_keys,
        [
            SendRecord(
                id=f"log_{tenant_id.removeprefix('tnt_')}_{month:02d}_{index:05d}",
                tenant_id=tenant_id,
                user_id="usr_alice",
                channel=Channel.SMS,
                provider="aliyun",
                template_id=None,
                recipient="+8613812348000",
                content=f"您的验证码是{index:06d}",
                status=DeliveryStatus.DELIVERED,
                error=None,
                response=None,
                created_at=created,
                sent_at=created,
                updated_at=created,
            )
            for index in range(n)
        ],
    )


@dataclass
class Download:
    """What a client driving the app over ASGI saw: headers and each body chunk."""

    headers: dict[str, str] = field(default_factory=dict)
    chunks: list[bytes] = field(default_factory=list)
    ended: bool = False


async def _download(settings: Settings, tenant_id: str, *, leave_at_chunk: int | None) -> Download:
    """Ask for a JSONL export over ASGI; the client goes away when chunk number
    ``leave_at_chunk`` (from 0) is being sent, or stays to the end."""
    app = create_app(settings)
    token = TokenCodec(settings).issue(
        tenant_id=tenant_id, user_id="usr_officer", roles=["compliance_officer"]
    )
    scope: dict[str, Any] = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "GET",
        "scheme": "http",
        "path": EXPORT,
        "raw_path": EXPORT.encode(),
        "query_string": b"format=jsonl",
        "root_path": "",
        "headers": [(b"host", b"test"), (b"authorization", f"Bearer {token}".encode())],
        "client": ("127.0.0.1", 50000),
        "server": ("test", 80),
        "state": {},
    }
    left = anyio.Event()
    requested = False
    seen = Download()

    async def receive() -> dict[str, Any]:
        nonlocal requested
        if not requested:
            requested = True
            return {"type": "http.request", "body": b"", "more_body": False}
        await left.wait()
        return {"type": "http.disconnect"}

    async def send(message: dict[str, Any]) -> None:
        if message["type"] == "http.response.start":
            seen.headers.update({k.decode(): v.decode() for k, v in message["headers"]})
            return
        if not message.get("more_body", False):
            seen.ended = True
            left.set()  # as servers do: once the response is complete, receive says so
            return
        if len(seen.chunks) == leave_at_chunk:  # the client is gone before it arrives
            left.set()
            await anyio.sleep_forever()
        seen.chunks.append(message["body"])

    async with app.lifespan():
        with anyio.fail_after(60):
            await app(scope, receive, send)  # type: ignore[arg-type]
    return seen


async def test_a_download_the_client_abandons_is_recorded_as_interrupted_with_what_it_received(
    settings: Settings, database: SQLAlchemyAsyncConfig, master_keys: MasterKeyring, tenant_id: str
) -> None:
    # More than one chunk (500 rows), so the client leaves after the first.
    await _store_many(database, master_keys, tenant_id, 600)
    seen = await _download(settings, tenant_id, leave_at_chunk=1)
    assert not seen.ended
    event = await audit_event(database, seen.headers["x-audit-event-id"])
    assert event.action == "export.interrupted"
    recorded = details(event)
    assert recorded["interruption"] == "client_disconnected"
    # What the server's send accepted, said so: not what the client acknowledged.
    assert recorded["counted"] == "handed_to_transport"
    started = await audit_event(database, recorded["started_event_id"])
    assert started.action == "export.started"
    assert details(started)["final_event_id"] == event.id
    assert started.sequence < event.sequence
    assert recorded["rows"] == 500
    assert recorded["bytes"] == len(seen.chunks[0])
    assert recorded["sha256"] == hashlib.sha256(seen.chunks[0]).hexdigest()
    assert len(seen.chunks[0].splitlines()) == 500


async def test_an_export_that_fails_midway_is_recorded_as_failed_and_never_looks_complete(
    settings: Settings, database: SQLAlchemyAsyncConfig, master_keys: MasterKeyring, tenant_id: str
) -> None:
    # A full first chunk from November; December's content key is damaged, so the second
    # chunk cannot be opened.
    await _store_many(database, master_keys, tenant_id, 500, month=11)
    await _store_many(database, master_keys, tenant_id, 10, month=12)
    async with database.get_session() as session:
        key = (
            await session.execute(
                select(TenantKey).where(
                    TenantKey.tenant_id == tenant_id,
                    TenantKey.purpose == KeyPurpose.CONTENT,
                    TenantKey.epoch == "2026-12",
                )
            )
        ).scalar_one()
        assert key.wrapped_key is not None
        intact = key.wrapped_key
        key.wrapped_key = intact[:-1] + bytes([intact[-1] ^ 1])
        await session.commit()

    try:
        seen = await _download(settings, tenant_id, leave_at_chunk=None)
    finally:
        # The database is shared by the suite: a damaged key would make every later
        # readiness check of it report an integrity failure.
        async with database.get_session() as session:
            await session.execute(
                update(TenantKey).where(TenantKey.id == key.id).values(wrapped_key=intact)
            )
            await session.commit()
    assert not seen.ended  # no end of response: the client sees a broken transfer
    assert len(seen.chunks) == 1
    event = await audit_event(database, seen.headers["x-audit-event-id"])
    assert event.action == "export.interrupted"
    recorded = details(event)
    assert recorded["interruption"] == "failed"
    assert recorded["failure"] == "MasterKeyMismatch"
    assert recorded["rows"] == 500
    assert recorded["sha256"] == hashlib.sha256(seen.chunks[0]).hexdigest()


async def test_a_download_that_runs_to_the_end_is_recorded_before_it_ends(
    settings: Settings, database: SQLAlchemyAsyncConfig, master_keys: MasterKeyring, tenant_id: str
) -> None:
    await _store_many(database, master_keys, tenant_id, 501)
    seen = await _download(settings, tenant_id, leave_at_chunk=None)
    assert seen.ended
    body = b"".join(seen.chunks)
    event = await audit_event(database, seen.headers["x-audit-event-id"])
    assert event.action == "export.completed"
    assert details(event)["rows"] == 501
    assert details(event)["sha256"] == hashlib.sha256(body).hexdigest()


async def test_the_export_is_documented_with_both_formats_and_its_audit_header(
    caller: Caller,
) -> None:
    document = (await caller.client.get("/schema/openapi.json")).json()
    operation = document["paths"][EXPORT]["get"]
    assert operation["operationId"] == "exportCommunicationLogs"
    ok = operation["responses"]["200"]
    assert set(ok["content"]) == {"text/csv; charset=utf-8", "application/x-ndjson"}
    assert ok["headers"]["X-Audit-Event-Id"]["required"] is True
    assert {"400", "401", "403", "500", "503"} <= set(operation["responses"])
    format_parameter = next(p for p in operation["parameters"] if p["name"] == "format")
    assert format_parameter["required"] is True
