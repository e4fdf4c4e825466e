"""The seed contract of ``GET /communication/logs``, field by field and code by code."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from tests.factories import EMAIL_RECIPIENT, PUSH_RECIPIENT, Caller

SEED_ITEM_FIELDS = {
    "id",
    "tenant_id",
    "user_id",
    "channel",
    "provider",
    "template_id",
    "recipient",
    "content",
    "status",
    "error",
    "response",
    "created_at",
    "sent_at",
    "updated_at",
}
SEED_LIST_FIELDS = {"code", "message", "timestamp", "items", "total", "pagination"}
SEED_PAGE_FIELDS = {"page", "page_size", "total", "total_pages", "has_next", "has_prev"}
RFC3339_UTC = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{1,6})?Z$")


def _at(minutes_ago: int) -> str:
    return (datetime.now(UTC) - timedelta(minutes=minutes_ago)).isoformat()


async def _create_many(caller: Caller, count: int, **overrides: Any) -> list[dict[str, Any]]:
    return [
        await caller.create(created_at=_at(count - index), **overrides) for index in range(count)
    ]


async def test_list_envelope_has_exactly_the_seed_fields(caller: Caller) -> None:
    await caller.create()
    response = await caller.list_logs()
    assert response.status_code == 200
    body = response.json()
    assert set(body) == SEED_LIST_FIELDS
    assert body["code"] == 200
    assert isinstance(body["message"], str)
    assert body["message"]
    assert RFC3339_UTC.match(body["timestamp"])
    assert set(body["pagination"]) == SEED_PAGE_FIELDS


async def test_every_item_carries_all_fourteen_fields_with_seed_types(caller: Caller) -> None:
    created = await caller.create()
    await caller.set_status(created["id"], status="failed", error="发送超时", response='{"x":1}')
    body = (await caller.list_logs()).json()
    (item,) = body["items"]
    assert set(item) == SEED_ITEM_FIELDS
    assert re.match(r"^log_[0-9a-f]{24}$", item["id"])
    assert item["tenant_id"] == caller.tenant_id
    assert item["user_id"] == "usr_alice"
    assert item["channel"] == "sms"
    assert item["provider"] == "aliyun"
    assert item["template_id"] == "tpl_abc123"
    assert item["recipient"] == "+8613******000"
    assert item["content"] == "您的验证码是******"
    assert item["status"] == "failed"
    assert item["error"] == "发送超时"
    assert item["response"] == '{"x":1}'
    for name in ("created_at", "updated_at"):
        assert RFC3339_UTC.match(item[name]), item[name]
    assert item["sent_at"] is None


async def test_absent_values_are_null_never_omitted(caller: Caller) -> None:
    await caller.create(template_id=None, provider=None)
    (item,) = (await caller.list_logs()).json()["items"]
    assert set(item) == SEED_ITEM_FIELDS
    for name in ("template_id", "provider", "error", "response", "sent_at"):
        assert item[name] is None


async def test_sent_at_is_an_rfc3339_timestamp_once_sent(caller: Caller) -> None:
    created = await caller.create()
    await caller.set_status(created["id"], status="delivered")
    (item,) = (await caller.list_logs()).json()["items"]
    assert RFC3339_UTC.match(item["sent_at"])


async def test_defaults_are_page_one_of_twenty(caller: Caller) -> None:
    await _create_many(caller, 23)
    body = (await caller.list_logs()).json()
    assert len(body["items"]) == 20
    assert body["total"] == 23
    assert body["pagination"] == {
        "page": 1,
        "page_size": 20,
        "total": 23,
        "total_pages": 2,
        "has_next": True,
        "has_prev": False,
    }


async def test_last_page_holds_the_remainder_and_has_no_next(caller: Caller) -> None:
    await _create_many(caller, 7)
    body = (await caller.list_logs(page=3, page_size=3)).json()
    assert len(body["items"]) == 1
    assert body["pagination"] == {
        "page": 3,
        "page_size": 3,
        "total": 7,
        "total_pages": 3,
        "has_next": False,
        "has_prev": True,
    }


async def test_page_past_the_end_is_empty_with_correct_totals(caller: Caller) -> None:
    await _create_many(caller, 4)
    response = await caller.list_logs(page=9, page_size=2)
    assert response.status_code == 200
    body = response.json()
    assert body["items"] == []
    assert body["total"] == 4
    assert body["pagination"]["total_pages"] == 2
    assert body["pagination"]["has_next"] is False
    assert body["pagination"]["has_prev"] is True


async def test_empty_log_has_zero_pages(caller: Caller) -> None:
    body = (await caller.list_logs()).json()
    assert body["items"] == []
    assert body["total"] == 0
    assert body["pagination"]["total_pages"] == 0
    assert body["pagination"]["has_next"] is False


async def test_page_size_of_one_hundred_is_allowed(caller: Caller) -> None:
    await _create_many(caller, 2)
    response = await caller.list_logs(page_size=100)
    assert response.status_code == 200
    assert response.json()["pagination"]["page_size"] == 100


async def test_newest_first_then_id_descending(caller: Caller) -> None:
    same_moment = _at(30)
    tied = [await caller.create(created_at=same_moment) for _ in range(3)]
    newer = await caller.create(created_at=_at(1))
    older = await caller.create(created_at=_at(60))
    ids = [item["id"] for item in (await caller.list_logs()).json()["items"]]
    tied_ids = sorted((item["id"] for item in tied), reverse=True)
    assert ids == [newer["id"], *tied_ids, older["id"]]


@pytest.mark.parametrize("page_size", [1, 2, 3, 5, 8])
async def test_pages_partition_the_result_in_order(caller: Caller, page_size: int) -> None:
    await _create_many(caller, 8)
    everything = [i["id"] for i in (await caller.list_logs(page_size=100)).json()["items"]]
    seen: list[str] = []
    page = 1
    while True:
        body = (await caller.list_logs(page=page, page_size=page_size)).json()
        seen += [item["id"] for item in body["items"]]
        if not body["pagination"]["has_next"]:
            break
        page += 1
    assert seen == everything
    assert len(set(seen)) == 8
    assert page == -(-8 // page_size)


async def test_filter_by_channel_returns_only_that_channel(caller: Caller) -> None:
    await caller.create(channel="sms")
    await caller.create(channel="email", recipient=EMAIL_RECIPIENT)
    await caller.create(channel="push", recipient=PUSH_RECIPIENT)
    for channel in ("sms", "email", "push"):
        body = (await caller.list_logs(channel=channel)).json()
        assert [item["channel"] for item in body["items"]] == [channel]
        assert body["total"] == 1


async def test_filter_by_status_returns_only_that_status(caller: Caller) -> None:
    pending = await caller.create()
    sent = await caller.create()
    failed = await caller.create()
    delivered = await caller.create()
    await caller.set_status(sent["id"], status="sent")
    await caller.set_status(failed["id"], status="failed")
    await caller.set_status(delivered["id"], status="delivered")
    expected = {"pending": pending, "sent": sent, "failed": failed, "delivered": delivered}
    for status, record in expected.items():
        body = (await caller.list_logs(status=status)).json()
        assert [item["id"] for item in body["items"]] == [record["id"]]
        assert body["total"] == 1


async def test_channel_and_status_filters_combine(caller: Caller) -> None:
    email = await caller.create(channel="email", recipient=EMAIL_RECIPIENT)
    await caller.create(channel="sms")
    await caller.set_status(email["id"], status="delivered")
    body = (await caller.list_logs(channel="email", status="delivered")).json()
    assert [item["id"] for item in body["items"]] == [email["id"]]
    assert (await caller.list_logs(channel="sms", status="delivered")).json()["total"] == 0


async def test_users_see_only_their_own_records(caller: Caller) -> None:
    mine = await caller.create(user_id="usr_alice")
    await caller.create(user_id="usr_bob")
    body = (await caller.list_logs("usr_alice")).json()
    assert [item["id"] for item in body["items"]] == [mine["id"]]
    assert body["total"] == 1
    assert all(item["user_id"] == "usr_alice" for item in body["items"])


async def test_other_tenants_records_are_invisible_even_for_the_same_user_id(
    caller: Caller,
) -> None:
    await caller.create(user_id="usr_alice")
    other_tenant = caller.tenant_id + "_other"
    response = await caller.client.get(
        "/communication/logs", headers=caller.auth("usr_alice", tenant_id=other_tenant)
    )
    assert response.status_code == 200
    assert response.json()["items"] == []
    assert response.json()["total"] == 0


async def test_asking_for_another_users_records_is_forbidden_and_returns_no_data(
    caller: Caller,
) -> None:
    await caller.create(user_id="usr_bob")
    response = await caller.list_logs("usr_alice", user_id="usr_bob")
    assert response.status_code == 403
    body = response.json()
    assert set(body) == {"code", "message", "timestamp"}
    assert body["code"] == 403
    assert "usr_bob" not in response.text


async def test_user_id_equal_to_the_callers_own_is_allowed(caller: Caller) -> None:
    mine = await caller.create(user_id="usr_alice")
    body = (await caller.list_logs("usr_alice", user_id="usr_alice")).json()
    assert [item["id"] for item in body["items"]] == [mine["id"]]


async def test_a_sending_service_with_only_the_ingest_role_cannot_read(caller: Caller) -> None:
    await caller.create()
    response = await caller.client.get(
        "/communication/logs", headers=caller.auth("usr_alice", "ingest")
    )
    assert response.status_code == 403
    assert response.json()["code"] == 403


@pytest.mark.parametrize(
    ("params", "named"),
    [
        ({"channel": "fax"}, "channel"),
        ({"channel": "SMS"}, "channel"),
        ({"status": "lost"}, "status"),
        ({"page": "0"}, "page"),
        ({"page": "-1"}, "page"),
        ({"page": "abc"}, "page"),
        ({"page": "1.5"}, "page"),
        ({"page": "922337203685477580"}, "page"),
        ({"page_size": "0"}, "page_size"),
        ({"page_size": "101"}, "page_size"),
        ({"page_size": "ten"}, "page_size"),
        ({"user_id": ""}, "user_id"),
    ],
)
async def test_bad_parameter_is_400_naming_the_parameter(
    caller: Caller, params: dict[str, str], named: str
) -> None:
    response = await caller.list_logs(**params)
    assert response.status_code == 400
    body = response.json()
    assert set(body) == {"code", "message", "timestamp"}
    assert body["code"] == 400
    assert f"'{named}'" in body["message"]


async def test_unknown_parameters_are_ignored(caller: Caller) -> None:
    await caller.create()
    response = await caller.list_logs(sort="recipient", foo="bar")
    assert response.status_code == 200
    assert response.json()["total"] == 1


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"Authorization": "Bearer"},
        {"Authorization": "Bearer not-a-jwt"},
        {"Authorization": "Basic dXNlcjpwYXNz"},
    ],
)
async def test_missing_or_malformed_token_is_401(caller: Caller, headers: dict[str, str]) -> None:
    response = await caller.client.get("/communication/logs", headers=headers)
    assert response.status_code == 401
    body = response.json()
    assert set(body) == {"code", "message", "timestamp"}
    assert body["code"] == 401


async def test_401_comes_before_parameter_validation(caller: Caller) -> None:
    response = await caller.client.get("/communication/logs", params={"page": "abc"})
    assert response.status_code == 401


async def test_responses_with_log_data_are_not_cached(caller: Caller) -> None:
    await caller.create()
    response = await caller.list_logs()
    assert "no-store" in response.headers["cache-control"]


async def test_recipients_and_content_are_masked_for_every_channel(caller: Caller) -> None:
    await caller.create(
        channel="email", recipient=EMAIL_RECIPIENT, content="Reset: https://x.example/r?t=s3cret"
    )
    await caller.create(channel="push", recipient=PUSH_RECIPIENT, content="Code 987654")
    items = {i["channel"]: i for i in (await caller.list_logs()).json()["items"]}
    assert items["email"]["recipient"] == "a***@e***.com"
    assert items["email"]["content"] == "Reset: https://x.example/r"
    assert items["push"]["recipient"] == "abcd…3456"
    assert items["push"]["content"] == "Code ******"


async def test_items_and_total_agree(caller: Caller) -> None:
    await _create_many(caller, 5)
    body = (await caller.list_logs(page_size=100)).json()
    assert len(body["items"]) == body["total"] == body["pagination"]["total"] == 5
