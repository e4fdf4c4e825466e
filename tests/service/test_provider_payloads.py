"""Provider payloads posted with an outcome are stored reduced and served masked.

Every test runs on SQLite and PostgreSQL. What the database holds is read back through
the repository (it decrypts), so "stored" below means the sealed column's plaintext.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlencode

import msgspec
from advanced_alchemy.extensions.litestar import SQLAlchemyAsyncConfig

from compliance.encryption.keystore import KeyStore, UnwrappedKeyCache
from compliance.encryption.master import MasterKeyring
from compliance.records.repository import SendLogRepository
from policies.channels import DeliveryStatus
from policies.providers import ProviderOutcome
from policies.records import SendRecord
from tests.factories import EMAIL_RECIPIENT, PUSH_RECIPIENT, Caller
from tests.policies.test_providers import APNS_TOKEN, FCM_TOKEN, PAYLOADS, SES_SUBJECT, Payload

SMS_US = "+15558675310"


def _payload(name: str) -> Payload:
    (found,) = [payload for payload in PAYLOADS if payload.name == name]
    return found


async def _stored(
    database: SQLAlchemyAsyncConfig, master_keys: MasterKeyring, tenant_id: str, log_id: str
) -> SendRecord:
    async with database.get_session() as session:
        repository = SendLogRepository(
            session=session, keys=KeyStore(session, master_keys, UnwrappedKeyCache())
        )
        record = await repository.get_in_tenant(tenant_id, log_id)
    assert record is not None
    return record


def _outcome(text: str | None) -> ProviderOutcome:
    assert text is not None
    return msgspec.json.decode(text, type=ProviderOutcome)


async def test_a_twilio_30007_message_is_stored_without_its_body_or_numbers(
    caller: Caller, database: SQLAlchemyAsyncConfig, master_keys: MasterKeyring
) -> None:
    payload = _payload("twilio message resource, 30007 filtered, body with a login link")
    created = await caller.create(recipient=SMS_US, provider="twilio", content="Sign in")
    response = await caller.set_status(created["id"], status="failed", error=payload.text)
    assert response.status_code == 200, response.text

    stored = await _stored(database, master_keys, caller.tenant_id, created["id"])
    assert stored.error is not None
    for dropped in (*payload.dropped, "login.examplebank.com", "+14155550123", "body"):
        assert dropped not in stored.error
    kept = _outcome(stored.error)
    assert (kept.provider, kept.status, kept.error_code) == ("twilio", "undelivered", "30007")
    assert kept.error_message == "Message filtered"
    assert kept.message_id == "SMa5b4c3d2e1f0a9b8c7d6e5f4a3b2c1d0"

    served = response.json()["data"]["error"]
    assert served == stored.error
    (item,) = (await caller.list_logs()).json()["items"]
    assert item["error"] == stored.error


async def test_a_twilio_status_callback_form_is_stored_reduced_and_served_masked(
    caller: Caller, database: SQLAlchemyAsyncConfig, master_keys: MasterKeyring
) -> None:
    payload = _payload("twilio error body 30007 with the message's login link")
    created = await caller.create(recipient=SMS_US, provider="twilio")
    response = await caller.set_status(created["id"], status="failed", error=payload.text)
    assert response.status_code == 200, response.text

    stored = await _stored(database, master_keys, caller.tenant_id, created["id"])
    assert stored.error is not None
    for dropped in payload.dropped:
        assert dropped not in stored.error
    assert "+14155550123" not in stored.error
    assert _outcome(stored.error).error_code == "30007"
    assert "4155550123" not in response.text
    assert "session=" not in response.text


async def test_an_ses_bounce_in_sns_is_stored_without_address_subject_or_ip(
    caller: Caller, database: SQLAlchemyAsyncConfig, master_keys: MasterKeyring
) -> None:
    payload = _payload("ses bounce wrapped in SNS")
    created = await caller.create(
        channel="email", recipient=EMAIL_RECIPIENT, provider="amazon-ses", content="Your code"
    )
    response = await caller.set_status(created["id"], status="failed", response=payload.text)
    assert response.status_code == 200, response.text

    stored = await _stored(database, master_keys, caller.tenant_id, created["id"])
    assert stored.response is not None
    for dropped in (*payload.dropped, SES_SUBJECT, "185.97.174.199", "anna.mueller@posteo.de"):
        assert dropped not in stored.response
    kept = _outcome(stored.response)
    assert (kept.provider, kept.kind, kept.category) == ("ses", "Bounce", "Permanent")
    assert kept.items is not None
    assert kept.items[0].error_code == "5.1.1"
    assert "anna.mueller" not in response.text
    assert "804217" not in response.text


async def test_an_fcm_error_echoing_the_token_is_stored_without_it(
    caller: Caller, database: SQLAlchemyAsyncConfig, master_keys: MasterKeyring
) -> None:
    payload = _payload("fcm v1 invalid token echoed in message and field violations")
    created = await caller.create(channel="push", recipient=PUSH_RECIPIENT, provider="firebase")
    response = await caller.set_status(created["id"], status="failed", error=payload.text)
    assert response.status_code == 200, response.text

    stored = await _stored(database, master_keys, caller.tenant_id, created["id"])
    assert stored.error is not None
    assert "APA91b" not in stored.error
    assert FCM_TOKEN[:20] not in stored.error
    assert _outcome(stored.error).error_code == "INVALID_ARGUMENT"
    assert "APA91b" not in response.text


async def test_an_unknown_providers_text_is_stored_masked_and_capped(
    caller: Caller, database: SQLAlchemyAsyncConfig, master_keys: MasterKeyring
) -> None:
    created = await caller.create(provider="sinch")
    text = f"device {APNS_TOKEN} for +8613812348000 rejected; " + "retry later. " * 600
    response = await caller.set_status(created["id"], status="failed", error=text)
    assert response.status_code == 200, response.text

    stored = await _stored(database, master_keys, caller.tenant_id, created["id"])
    assert stored.error is not None
    assert APNS_TOKEN not in stored.error
    assert "13812348000" not in stored.error
    assert stored.error.endswith("more characters dropped]")
    assert len(stored.error) < len(text)


async def test_a_retried_callback_that_reduces_to_the_same_outcome_is_200(
    caller: Caller,
) -> None:
    created = await caller.create(recipient=SMS_US, provider="twilio")
    first = {
        "MessageSid": "SM7c6b5a4f3e2d1c0b9a8f7e6d5c4b3a29",
        "MessageStatus": "delivered",
        "To": SMS_US,
        "AccountSid": "AC3f1e9b7c2d4a6e8f0b1c3d5e7f9a2b4c",
    }
    answer = await caller.set_status(created["id"], status="delivered", response=urlencode(first))
    assert answer.status_code == 200, answer.text
    # The retry carries fields in another order and one more dropped field.
    retry = urlencode(dict(reversed(list(first.items()))) | {"ApiVersion": "2010-04-01"})
    again = await caller.set_status(created["id"], status="delivered", response=retry)
    assert again.status_code == 200, again.text
    assert again.json()["data"] == answer.json()["data"]
    other = urlencode(first | {"MessageSid": "SM00000000000000000000000000000001"})
    conflict = await caller.set_status(created["id"], status="delivered", response=other)
    assert conflict.status_code == 409


async def test_a_row_stored_before_reduction_is_served_reduced_and_matches_a_retry(
    caller: Caller, database: SQLAlchemyAsyncConfig, master_keys: MasterKeyring
) -> None:
    payload = _payload("apns response recorded with its apns-id, status and the device token")
    created = await caller.create(channel="push", recipient=PUSH_RECIPIENT, provider="apns")
    async with database.get_session() as session:
        repository = SendLogRepository(
            session=session, keys=KeyStore(session, master_keys, UnwrappedKeyCache())
        )
        await repository.begin_write()
        await repository.save_outcome(
            caller.tenant_id,
            created["id"],
            status=DeliveryStatus.FAILED,
            error=payload.text,  # as an older version stored it: whole
            response=None,
            sent_at=None,
            updated_at=datetime.now(UTC),
        )
        await session.commit()

    (item,) = (await caller.list_logs()).json()["items"]
    assert APNS_TOKEN not in item["error"]
    assert _outcome(item["error"]).error_code == "Unregistered"
    retried = await caller.set_status(created["id"], status="failed", error=payload.text)
    assert retried.status_code == 200, retried.text


async def test_the_text_limit_applies_to_what_the_provider_sent(caller: Caller) -> None:
    created = await caller.create(channel="email", recipient=EMAIL_RECIPIENT, provider="sendgrid")
    events: list[dict[str, Any]] = [
        {
            "email": EMAIL_RECIPIENT,
            "timestamp": 1795773600,
            "event": "processed",
            "sg_event_id": f"evt{n:05d}",
            "useragent": "Mozilla/5.0 " * 10,
        }
        for n in range(80)
    ]
    response = await caller.set_status(created["id"], status="sent", response=json.dumps(events))
    assert response.status_code == 400
    assert "'response'" in response.json()["message"]
