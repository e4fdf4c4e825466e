"""The write path: recording sends, idempotency, and delivery outcomes."""

from __future__ import annotations

import asyncio
import re
from datetime import UTC, datetime, timedelta

import pytest
from advanced_alchemy.extensions.litestar import SQLAlchemyAsyncConfig

from compliance.encryption.master import MasterKeyring
from tests.factories import EMAIL_RECIPIENT, PUSH_RECIPIENT, SMS_RECIPIENT, TEST_ACTOR, Caller


def _iso(delta: timedelta) -> str:
    return (datetime.now(UTC) + delta).isoformat()


async def test_recording_a_send_returns_201_with_the_masked_record(caller: Caller) -> None:
    response = await caller.record()
    assert response.status_code == 201
    body = response.json()
    assert set(body) == {"code", "message", "timestamp", "data"}
    assert body["code"] == 201
    data = body["data"]
    assert re.match(r"^log_[0-9a-f]{24}$", data["id"])
    assert data["tenant_id"] == caller.tenant_id
    assert data["status"] == "pending"
    assert data["recipient"] == "+8613******000"
    assert data["content"] == "您的验证码是******"
    assert data["sent_at"] is None
    assert SMS_RECIPIENT not in response.text
    assert "123456" not in response.text


async def test_recording_requires_the_ingest_role(caller: Caller) -> None:
    response = await caller.client.post(
        "/communication/logs",
        json={"user_id": "usr_alice", "channel": "sms", "recipient": SMS_RECIPIENT, "content": "x"},
        headers=caller.auth("usr_alice", "user"),
    )
    assert response.status_code == 403
    assert response.json()["code"] == 403


async def test_the_tenant_comes_from_the_token_not_the_body(caller: Caller) -> None:
    response = await caller.record(tenant_id="tnt_someone_else")
    assert response.status_code == 400  # unknown field: the body cannot name a tenant
    created = await caller.create()
    assert created["tenant_id"] == caller.tenant_id


@pytest.mark.parametrize(
    ("channel", "recipient"),
    [
        ("sms", "not a phone"),
        ("sms", "12"),
        ("sms", "+999123456789012345"),
        ("email", "alice.example.com"),
        ("email", "alice@"),
        ("email", "a b@example.com"),
        ("push", "x1y2z3"),
        ("push", "has spaces in the token"),
    ],
)
async def test_a_recipient_invalid_for_its_channel_is_400_without_echoing_it(
    caller: Caller, channel: str, recipient: str
) -> None:
    response = await caller.record(channel=channel, recipient=recipient)
    assert response.status_code == 400
    body = response.json()
    assert body["code"] == 400
    assert "recipient" in body["message"]
    assert recipient not in body["message"]


@pytest.mark.parametrize(
    ("channel", "recipient", "masked"),
    [
        ("sms", "13812348000", "138****8000"),
        ("sms", "+86 138-1234-8000", "+8613******000"),
        ("email", EMAIL_RECIPIENT, "a***@e***.com"),
        ("push", PUSH_RECIPIENT, "abcd…3456"),
    ],
)
async def test_valid_recipients_of_each_channel_are_accepted(
    caller: Caller, channel: str, recipient: str, masked: str
) -> None:
    created = await caller.create(channel=channel, recipient=recipient)
    assert created["recipient"] == masked


@pytest.mark.parametrize(
    ("overrides", "named"),
    [
        ({"channel": "fax"}, "channel"),
        ({"status": "lost"}, "status"),
        ({"user_id": ""}, "user_id"),
        ({"user_id": ...}, "user_id"),
        ({"content": ...}, "content"),
        ({"content": 12}, "content"),
        ({"created_at": "yesterday"}, "created_at"),
        ({"created_at": "2026-04-15T10:00:00"}, "created_at"),
        ({"surprise": True}, "surprise"),
    ],
)
async def test_an_invalid_body_is_400_naming_the_field(
    caller: Caller, overrides: dict[str, object], named: str
) -> None:
    response = await caller.record(**overrides)
    assert response.status_code == 400, response.text
    assert named in response.json()["message"]


async def test_a_body_that_is_not_json_is_400(caller: Caller) -> None:
    response = await caller.client.post(
        "/communication/logs",
        content=b"{not json",
        headers={**caller.auth("svc", "ingest"), "Content-Type": "application/json"},
    )
    assert response.status_code == 400
    assert response.json()["code"] == 400


async def test_created_at_more_than_five_minutes_ahead_is_rejected(caller: Caller) -> None:
    response = await caller.record(created_at=_iso(timedelta(minutes=6)))
    assert response.status_code == 400
    assert "created_at" in response.json()["message"]
    ok = await caller.record(created_at=_iso(timedelta(minutes=4)))
    assert ok.status_code == 201


async def test_a_backfilled_send_keeps_its_created_at(caller: Caller) -> None:
    created = await caller.create(created_at="2026-04-15T10:00:00+08:00")
    assert created["created_at"] == "2026-04-15T02:00:00Z"


async def test_ingesting_as_delivered_sets_sent_at_to_created_at(caller: Caller) -> None:
    created = await caller.create(status="delivered", created_at="2026-04-15T10:00:00Z")
    assert created["sent_at"] == "2026-04-15T10:00:00Z"


async def test_a_retry_with_the_same_idempotency_key_returns_the_original(caller: Caller) -> None:
    first = await caller.record(idempotency_key="send-42")
    second = await caller.record(idempotency_key="send-42")
    assert first.status_code == 201
    assert second.status_code == 200
    assert second.json()["data"]["id"] == first.json()["data"]["id"]
    listing = (await caller.list_logs()).json()
    assert listing["total"] == 1


@pytest.mark.parametrize(
    "difference",
    [
        {"status": "delivered"},
        {"created_at": "2026-01-20T00:00:01Z"},
        {"created_at": ...},
        {"template_id": ...},
        {"provider": "twilio"},
        {"user_id": "usr_bob"},
        {"channel": "email", "recipient": "alice@example.com"},
        {"recipient": "+8613812348001"},
        {"content": "您的验证码是654321"},
    ],
)
async def test_a_retry_that_differs_from_the_first_request_in_any_field_is_409(
    caller: Caller, difference: dict[str, object]
) -> None:
    first = await caller.record(idempotency_key="k-exact", created_at="2026-01-20T00:00:00Z")
    assert first.status_code == 201
    retry = await caller.record(
        idempotency_key="k-exact", **{"created_at": "2026-01-20T00:00:00Z", **difference}
    )
    assert retry.status_code == 409, retry.text
    same = await caller.record(idempotency_key="k-exact", created_at="2026-01-20T01:00:00+01:00")
    assert same.status_code == 200  # the same instant, written with another offset
    assert (await caller.list_logs()).json()["total"] == 1


async def test_a_retry_after_an_outcome_still_matches_the_first_request(caller: Caller) -> None:
    first = (await caller.record(idempotency_key="k-later")).json()["data"]
    await caller.set_status(first["id"], status="delivered")
    retry = await caller.record(idempotency_key="k-later")
    assert retry.status_code == 200
    assert retry.json()["data"]["status"] == "delivered"
    assert (await caller.record(idempotency_key="k-later", status="delivered")).status_code == 409


async def test_reusing_an_idempotency_key_for_a_different_send_is_409(caller: Caller) -> None:
    await caller.record(idempotency_key="send-43")
    response = await caller.record(idempotency_key="send-43", content="another message")
    assert response.status_code == 409
    assert (await caller.list_logs()).json()["total"] == 1


async def test_idempotency_keys_are_scoped_to_the_tenant(caller: Caller) -> None:
    await caller.record(idempotency_key="shared-key")
    other = await caller.client.post(
        "/communication/logs",
        json={"user_id": "usr_alice", "channel": "sms", "recipient": SMS_RECIPIENT, "content": "x"},
        headers={
            **caller.auth("svc", "ingest", tenant_id=caller.tenant_id + "_b"),
            "Idempotency-Key": "shared-key",
        },
    )
    assert other.status_code == 201


async def test_an_unusable_idempotency_key_is_400(caller: Caller) -> None:
    response = await caller.record(idempotency_key="x" * 300)
    assert response.status_code == 400
    assert "Idempotency-Key" in response.json()["message"]


@pytest.mark.parametrize(
    ("path", "final"),
    [
        (["sent"], "sent"),
        (["delivered"], "delivered"),
        (["failed"], "failed"),
        (["sent", "delivered"], "delivered"),
        (["sent", "failed"], "failed"),
    ],
)
async def test_allowed_status_transitions(caller: Caller, path: list[str], final: str) -> None:
    created = await caller.create()
    for status in path:
        response = await caller.set_status(created["id"], status=status)
        assert response.status_code == 200, response.text
    assert response.json()["data"]["status"] == final
    (item,) = (await caller.list_logs()).json()["items"]
    assert item["status"] == final


@pytest.mark.parametrize(
    ("path", "refused"),
    [
        (["delivered"], "sent"),
        (["delivered"], "failed"),
        (["delivered"], "pending"),
        (["failed"], "delivered"),
        (["failed"], "sent"),
        (["sent"], "pending"),
    ],
)
async def test_forbidden_status_transitions_are_409_and_change_nothing(
    caller: Caller, path: list[str], refused: str
) -> None:
    created = await caller.create()
    for status in path:
        await caller.set_status(created["id"], status=status)
    response = await caller.set_status(created["id"], status=refused)
    assert response.status_code == 409
    assert response.json()["code"] == 409
    (item,) = (await caller.list_logs()).json()["items"]
    assert item["status"] == path[-1]


async def test_repeating_the_current_status_is_an_idempotent_200(caller: Caller) -> None:
    created = await caller.create()
    first = (await caller.set_status(created["id"], status="failed", error="timeout")).json()
    again = await caller.set_status(created["id"], status="failed", error="timeout")
    assert again.status_code == 200
    assert again.json()["data"] == first["data"]
    bare = await caller.set_status(created["id"], status="failed")
    assert bare.status_code == 200
    assert bare.json()["data"] == first["data"]


async def test_repeating_the_status_with_a_different_error_or_response_is_409(
    caller: Caller,
) -> None:
    created = await caller.create()
    await caller.set_status(created["id"], status="failed", error="timeout", response="r1")
    for details in ({"error": "rejected"}, {"response": "r2"}):
        response = await caller.set_status(created["id"], status="failed", **details)
        assert response.status_code == 409, response.text
        (name,) = details
        assert f"'{name}'" in response.json()["message"]
    (item,) = (await caller.list_logs()).json()["items"]
    assert (item["error"], item["response"]) == ("timeout", "r1")


async def test_a_repeated_status_stores_details_the_record_lacked(caller: Caller) -> None:
    created = await caller.create()
    await caller.set_status(created["id"], status="failed")
    response = await caller.set_status(created["id"], status="failed", error="timeout")
    assert response.status_code == 200
    assert response.json()["data"]["error"] == "timeout"
    (item,) = (await caller.list_logs()).json()["items"]
    assert item["error"] == "timeout"


async def test_a_repeated_status_with_a_future_time_is_400(caller: Caller) -> None:
    created = await caller.create()
    await caller.set_status(created["id"], status="sent")
    response = await caller.set_status(created["id"], status="sent", at=_iso(timedelta(hours=1)))
    assert response.status_code == 400
    assert "'at'" in response.json()["message"]


async def test_sent_at_is_set_once_and_updated_at_on_every_change(caller: Caller) -> None:
    created = await caller.create(created_at="2026-04-15T10:00:00Z")
    sent = (
        await caller.set_status(created["id"], status="sent", at="2026-04-15T10:01:00Z")
    ).json()["data"]
    assert sent["sent_at"] == "2026-04-15T10:01:00Z"
    delivered = (
        await caller.set_status(created["id"], status="delivered", at="2026-04-15T10:02:00Z")
    ).json()["data"]
    assert delivered["sent_at"] == "2026-04-15T10:01:00Z"
    assert delivered["updated_at"] >= sent["updated_at"] > created["updated_at"]


async def test_failure_details_are_stored_and_masked(caller: Caller) -> None:
    created = await caller.create()
    response = await caller.set_status(
        created["id"],
        status="failed",
        error="发送超时 for +8613812348000",
        response='{"request_id": "A1", "code": "isv.BUSINESS_LIMIT_CONTROL 5551234"}',
    )
    data = response.json()["data"]
    assert data["error"] == "发送超时 for +8613******000"
    assert "5551234" not in data["response"]


async def test_an_outcome_for_an_unknown_id_is_404(caller: Caller) -> None:
    response = await caller.set_status("log_doesnotexist", status="sent")
    assert response.status_code == 404
    assert response.json()["code"] == 404


async def test_an_outcome_for_another_tenants_record_is_404(caller: Caller) -> None:
    created = await caller.create()
    response = await caller.client.post(
        f"/communication/logs/{created['id']}/status",
        json={"status": "sent"},
        headers=caller.auth("svc", "ingest", tenant_id=caller.tenant_id + "_b"),
    )
    assert response.status_code == 404
    (item,) = (await caller.list_logs()).json()["items"]
    assert item["status"] == "pending"


async def test_outcomes_require_the_ingest_role(caller: Caller) -> None:
    created = await caller.create()
    response = await caller.client.post(
        f"/communication/logs/{created['id']}/status",
        json={"status": "sent"},
        headers=caller.auth("usr_alice", "user"),
    )
    assert response.status_code == 403


async def test_an_outcome_time_in_the_future_is_400(caller: Caller) -> None:
    created = await caller.create()
    response = await caller.set_status(created["id"], status="sent", at=_iso(timedelta(hours=1)))
    assert response.status_code == 400
    assert "'at'" in response.json()["message"]


async def test_an_outcome_before_the_send_was_created_is_400(caller: Caller) -> None:
    created = await caller.create(created_at="2026-04-15T10:00:00Z")
    response = await caller.set_status(created["id"], status="sent", at="2026-04-15T09:00:00Z")
    assert response.status_code == 400


async def test_concurrent_retries_with_one_idempotency_key_store_one_record(
    caller: Caller,
) -> None:
    responses = await asyncio.gather(*(caller.record(idempotency_key="burst-1") for _ in range(6)))
    codes = sorted(response.status_code for response in responses)
    assert codes == [200, 200, 200, 200, 200, 201]
    assert len({response.json()["data"]["id"] for response in responses}) == 1
    assert (await caller.list_logs()).json()["total"] == 1


async def test_concurrent_outcomes_for_one_record_apply_one_final_status(caller: Caller) -> None:
    created = await caller.create()
    responses = await asyncio.gather(
        caller.set_status(created["id"], status="delivered"),
        caller.set_status(created["id"], status="failed"),
    )
    codes = sorted(response.status_code for response in responses)
    assert codes == [200, 409]
    (item,) = (await caller.list_logs()).json()["items"]
    winner = next(r for r in responses if r.status_code == 200).json()["data"]["status"]
    assert item["status"] == winner


async def test_a_retry_is_recognised_even_when_the_stored_fields_were_erased(
    caller: Caller, database: SQLAlchemyAsyncConfig, master_keys: MasterKeyring
) -> None:
    from compliance.encryption.keystore import KeyPurpose, KeyStore, UnwrappedKeyCache
    from compliance.transactions import begin_write

    first = await caller.record(idempotency_key="k-erased", created_at="2026-01-20T00:00:00Z")
    async with database.get_session() as session:
        await begin_write(session)
        keys = KeyStore(session, master_keys, UnwrappedKeyCache())
        # What retention does: the month's recipient and content keys go; the tenant's
        # blind-index key (and the idempotency-key digests derived from it) stays.
        for purpose in (KeyPurpose.RECIPIENT, KeyPurpose.CONTENT):
            await keys.destroy(
                caller.tenant_id, TEST_ACTOR, purpose=purpose, epoch="2026-01", reason="test"
            )
        await session.commit()
    retry = await caller.record(idempotency_key="k-erased", created_at="2026-01-20T00:00:00Z")
    assert retry.status_code == 200
    assert retry.json()["data"]["id"] == first.json()["data"]["id"]


@pytest.mark.parametrize(
    ("overrides", "named"),
    [
        ({"created_at": "0001-01-01T00:00:00+01:00"}, "created_at"),
        ({"created_at": "9999-12-31T23:59:59-01:00"}, "created_at"),
    ],
)
async def test_times_outside_the_representable_range_are_400(
    caller: Caller, overrides: dict[str, str], named: str
) -> None:
    response = await caller.record(**overrides)
    assert response.status_code == 400, response.text
    assert named in response.json()["message"]


async def test_a_record_stored_before_fingerprints_is_compared_field_by_field(
    caller: Caller, database: SQLAlchemyAsyncConfig
) -> None:
    from sqlalchemy import update

    from compliance.records.models import CommunicationLog

    first = (await caller.record(idempotency_key="k-old", status="sent")).json()["data"]
    async with database.get_session() as session:
        await session.execute(
            update(CommunicationLog)
            .where(CommunicationLog.id == first["id"])
            .values(request_fingerprint=None)
        )
        await session.commit()
    retry = await caller.record(idempotency_key="k-old", status="sent")
    assert retry.status_code == 200
    assert (await caller.record(idempotency_key="k-old", provider="twilio")).status_code == 409
