"""Templates over HTTP: versions, roles, validation, templated sends and what they store."""

from __future__ import annotations

from typing import Any

from advanced_alchemy.extensions.litestar import SQLAlchemyAsyncConfig
from sqlalchemy import select

from compliance.encryption.keystore import KeyStore, UnwrappedKeyCache
from compliance.encryption.lifecycle import reencrypt
from compliance.encryption.master import MasterKeyring
from compliance.records.models import CommunicationLog
from compliance.transactions import begin_write
from tests.factories import LOGIN_TEMPLATE, TEST_ACTOR, Caller, put_template, templated_send

SHOWN_LOGIN = "【招商银行】王**您好，您的验证码为******，5分钟内有效，请勿泄露。"


async def _row(database: SQLAlchemyAsyncConfig, log_id: str) -> CommunicationLog:
    async with database.get_session() as session:
        row = await session.get(CommunicationLog, log_id)
    assert row is not None
    return row


# --- Registering and reading templates -----------------------------------------------------


async def test_a_new_template_is_version_1_and_the_same_put_again_changes_nothing(
    caller: Caller,
) -> None:
    first = await put_template(caller)
    assert first.status_code == 201, first.text
    data = first.json()["data"]
    assert data["version"] == 1
    assert data["parameters"] == LOGIN_TEMPLATE["parameters"]
    assert data["created_by"] == "svc_sender"
    again = await put_template(caller)
    assert again.status_code == 200
    assert again.json()["data"] == data


async def test_changing_body_parameters_channel_or_retention_makes_the_next_version(
    caller: Caller,
) -> None:
    assert (await put_template(caller)).json()["data"]["version"] == 1
    changes: list[dict[str, Any]] = [
        {"body": LOGIN_TEMPLATE["body"] + " 如非本人操作请忽略。"},
        {"parameters": {**LOGIN_TEMPLATE["parameters"], "minutes": "personal"}},
        {"content_retention_days": 1},
        {"channel": "push"},
    ]
    body: dict[str, Any] = {}
    for version, change in enumerate(changes, start=2):
        body.update(change)
        response = await put_template(caller, **body)
        assert response.status_code == 201, response.text
        assert response.json()["data"]["version"] == version
    officer = caller.auth("usr_officer", "compliance_officer")
    current = await caller.client.get("/templates/tpl_login", headers=officer)
    assert current.json()["data"]["version"] == 5
    assert current.json()["data"]["channel"] == "push"
    first = await caller.client.get("/templates/tpl_login?version=1", headers=officer)
    assert first.json()["data"]["body"] == LOGIN_TEMPLATE["body"]
    missing = await caller.client.get("/templates/tpl_login?version=6", headers=officer)
    assert missing.status_code == 404


async def test_templates_are_listed_by_id_a_page_at_a_time_within_the_tenant(
    caller: Caller,
) -> None:
    for name in ("tpl_c", "tpl_a", "tpl_b"):
        assert (await put_template(caller, name)).status_code == 201
    other = Caller(client=caller.client, tokens=caller.tokens, tenant_id=caller.tenant_id + "x")
    assert (await put_template(other, "tpl_other")).status_code == 201
    ingest = caller.auth("svc_sender", "ingest")
    first = (await caller.client.get("/templates?page_size=2", headers=ingest)).json()
    second = (await caller.client.get("/templates?page_size=2&page=2", headers=ingest)).json()
    assert [item["template_id"] for item in first["items"]] == ["tpl_a", "tpl_b"]
    assert [item["template_id"] for item in second["items"]] == ["tpl_c"]
    assert first["total"] == 3
    assert first["pagination"]["has_next"] is True
    foreign = await caller.client.get("/templates/tpl_other", headers=ingest)
    assert foreign.status_code == 404


async def test_only_sending_services_register_and_officers_may_read_templates(
    caller: Caller,
) -> None:
    officer = caller.auth("usr_officer", "compliance_officer")
    refused = await caller.client.put("/templates/tpl_login", json=LOGIN_TEMPLATE, headers=officer)
    assert refused.status_code == 403
    assert (await put_template(caller)).status_code == 201
    user = caller.auth("usr_alice", "user")
    assert (await caller.client.get("/templates", headers=user)).status_code == 403
    assert (await caller.client.get("/templates/tpl_login", headers=user)).status_code == 403
    assert (await caller.client.get("/templates", headers=officer)).status_code == 200


async def test_an_undeclared_placeholder_and_an_unused_parameter_are_400_naming_them(
    caller: Caller,
) -> None:
    response = await put_template(
        caller,
        body="验证码${code}，请于${expiry}前使用",
        parameters={"code": "secret", "branch": "public"},
    )
    assert response.status_code == 400
    message = response.json()["message"]
    assert "expiry" in message
    assert "branch" in message


async def test_an_unknown_class_is_400_naming_the_parameter(caller: Caller) -> None:
    response = await put_template(
        caller, parameters={**LOGIN_TEMPLATE["parameters"], "code": "confidential"}
    )
    assert response.status_code == 400
    assert "code" in response.json()["message"]


async def test_content_retention_must_fit_within_the_tenants_content_window(
    caller: Caller,
) -> None:
    # The default policy keeps content 30 days.
    assert (await put_template(caller, content_retention_days=30)).status_code == 201
    too_long = await put_template(caller, content_retention_days=31)
    assert too_long.status_code == 400
    assert "30 days" in too_long.json()["message"]
    assert (await put_template(caller, content_retention_days=0)).status_code == 400


# --- Templated sends -------------------------------------------------------------------------


async def test_a_templated_send_is_rendered_with_secrets_hidden_and_personal_values_masked(
    caller: Caller, database: SQLAlchemyAsyncConfig
) -> None:
    await put_template(caller)
    response = await caller.record(**templated_send())
    assert response.status_code == 201, response.text
    data = response.json()["data"]
    assert data["content"] == SHOWN_LOGIN
    assert data["template_id"] == "tpl_login"
    assert "482913" not in response.text
    listed = (await caller.list_logs()).json()["items"]
    assert [item["content"] for item in listed] == [SHOWN_LOGIN]
    row = await _row(database, data["id"])
    assert row.content is None
    assert row.template_version == 1
    assert row.template_params is not None
    assert row.content_key_id is not None
    assert row.content_erase_after is None


async def test_a_record_reads_the_same_after_its_template_changed(caller: Caller) -> None:
    await put_template(caller)
    old = await caller.create(**templated_send())
    await put_template(caller, body="Your code is ${code}, ${name}. Valid ${minutes} min.")
    new = await caller.create(**templated_send())
    items = {item["id"]: item["content"] for item in (await caller.list_logs()).json()["items"]}
    assert items[old["id"]] == SHOWN_LOGIN
    assert items[new["id"]] == "Your code is ******, 王**. Valid 5 min."


async def test_an_outcome_and_a_key_rotation_keep_the_rendered_content(
    caller: Caller, database: SQLAlchemyAsyncConfig, master_keys: MasterKeyring
) -> None:
    await put_template(caller)
    created = await caller.create(**templated_send())
    outcome = await caller.set_status(created["id"], status="failed", error="发送超时")
    assert outcome.json()["data"]["content"] == SHOWN_LOGIN
    before = await _row(database, created["id"])
    async with database.get_session() as session:
        await begin_write(session)
        await KeyStore(session, master_keys, UnwrappedKeyCache()).rotate_tenant(
            caller.tenant_id, TEST_ACTOR
        )
        await session.commit()
    report = await reencrypt(
        database.get_session,
        master_keys,
        UnwrappedKeyCache(),
        actor=TEST_ACTOR,
        tenant_id=caller.tenant_id,
    )
    assert report.rows_rewritten == 1
    after = await _row(database, created["id"])
    assert after.content_key_id != before.content_key_id
    assert after.template_params != before.template_params
    (item,) = (await caller.list_logs()).json()["items"]
    assert item["content"] == SHOWN_LOGIN


async def test_a_template_with_its_own_retention_dates_the_erasure_of_its_sends(
    caller: Caller, database: SQLAlchemyAsyncConfig
) -> None:
    await put_template(caller, content_retention_days=1)
    created = await caller.create(**templated_send(), created_at="2026-11-01T08:00:00Z")
    row = await _row(database, created["id"])
    assert row.content_erase_after is not None
    assert row.content_erase_after.isoformat() == "2026-11-02T08:00:00+00:00"


async def test_content_and_template_params_together_are_400(caller: Caller) -> None:
    await put_template(caller)
    response = await caller.record(**templated_send(content="您的验证码是482913"))
    assert response.status_code == 400
    assert "exclude each other" in response.json()["message"]


async def test_a_send_with_neither_content_nor_template_params_is_400(caller: Caller) -> None:
    response = await caller.record(content=...)
    assert response.status_code == 400
    assert "'content' or 'template_params'" in response.json()["message"]


async def test_template_params_without_template_id_or_of_an_unknown_template_are_400(
    caller: Caller,
) -> None:
    without = await caller.record(**templated_send(template_id=...))
    assert without.status_code == 400
    unknown = await caller.record(**templated_send(template_id="tpl_never_registered"))
    assert unknown.status_code == 400
    assert "no template" in unknown.json()["message"]


async def test_a_template_of_another_channel_is_400(caller: Caller) -> None:
    await put_template(caller, channel="email")
    response = await caller.record(**templated_send())
    assert response.status_code == 400
    assert "channel email" in response.json()["message"]


async def test_missing_and_extra_parameters_are_400_naming_them_and_no_value(
    caller: Caller,
) -> None:
    await put_template(caller)
    response = await caller.record(
        **templated_send(params={"name": "王芳", "code": "482913", "branch": "浦东支行"})
    )
    assert response.status_code == 400
    message = response.json()["message"]
    assert "minutes" in message
    assert "branch" in message
    for value in ("王芳", "482913", "浦东支行"):
        assert value not in response.text


async def test_free_text_sends_with_a_template_id_label_keep_working(caller: Caller) -> None:
    created = await caller.create(template_id="tpl_not_registered")
    assert created["content"] == "您的验证码是******"


# --- Retries ---------------------------------------------------------------------------------


async def test_a_retried_templated_send_returns_the_stored_record(caller: Caller) -> None:
    await put_template(caller)
    first = await caller.record(idempotency_key="otp-7731", **templated_send())
    again = await caller.record(idempotency_key="otp-7731", **templated_send())
    assert again.status_code == 200
    assert again.json()["data"] == first.json()["data"]


async def test_a_retry_with_another_public_or_personal_value_is_409(caller: Caller) -> None:
    await put_template(caller)
    await caller.record(idempotency_key="otp-7732", **templated_send())
    for params in (
        {"name": "王芳", "code": "482913", "minutes": "10"},
        {"name": "李娜", "code": "482913", "minutes": "5"},
    ):
        response = await caller.record(idempotency_key="otp-7732", **templated_send(params=params))
        assert response.status_code == 409


async def test_a_retry_with_another_secret_value_cannot_be_told_apart(caller: Caller) -> None:
    # Secret values are not stored, so there is nothing to compare them with.
    await put_template(caller)
    first = await caller.record(idempotency_key="otp-7733", **templated_send())
    other_code = {"name": "王芳", "code": "119944", "minutes": "5"}
    again = await caller.record(idempotency_key="otp-7733", **templated_send(params=other_code))
    assert again.status_code == 200
    assert again.json()["data"]["id"] == first.json()["data"]["id"]


async def test_a_retry_after_the_template_changed_is_compared_with_the_version_it_used(
    caller: Caller,
) -> None:
    await put_template(caller)
    first = await caller.record(idempotency_key="otp-7734", **templated_send())
    await put_template(caller, body="Code ${code} for ${name}, ${minutes} min.")
    again = await caller.record(idempotency_key="otp-7734", **templated_send())
    assert again.status_code == 200
    assert again.json()["data"]["content"] == first.json()["data"]["content"]


async def test_a_free_text_retry_of_a_templated_send_is_409(caller: Caller) -> None:
    await put_template(caller)
    await caller.record(idempotency_key="otp-7735", **templated_send())
    response = await caller.record(idempotency_key="otp-7735", template_id="tpl_login")
    assert response.status_code == 409


async def test_a_secret_value_is_stored_nowhere_in_the_record(
    caller: Caller, database: SQLAlchemyAsyncConfig
) -> None:
    await put_template(caller)
    secret = "QX7-SECRET-88231"
    created = await caller.create(
        **templated_send(params={"name": "王芳", "code": secret, "minutes": "5"})
    )
    async with database.get_session() as session:
        rows = (
            await session.execute(
                select(CommunicationLog).where(CommunicationLog.id == created["id"])
            )
        ).scalars()
        for row in rows:
            for column in CommunicationLog.__table__.columns:
                value = getattr(row, column.key)
                assert secret.encode() not in str(value).encode(), column.key


# --- Template ids follow the rule a send's template_id follows (found by an attack) -------


async def test_a_template_id_that_breaks_the_send_rule_is_400_on_put_and_get(
    caller: Caller,
) -> None:
    officer = caller.auth("usr_officer", "compliance_officer")
    for bad in ("otp-13812348000-zhangwei", "otp-1381234", "张伟", "a b", "-x", "_x", "x" * 65):
        response = await put_template(caller, bad)
        assert response.status_code == 400, (bad, response.status_code)
        assert response.json()["code"] == 400
        assert "13812348000" not in response.text
        read = await caller.client.get(f"/templates/{bad}", headers=officer)
        assert read.status_code == 400, bad
    listed = await caller.client.get("/templates", headers=officer)
    assert listed.json()["total"] == 0
    for good in ("tpl_login", "SMS_164561229", "d-" + "0" * 32):
        assert (await put_template(caller, good)).status_code == 201, good


async def test_a_template_rendered_longer_than_the_content_limit_is_400(caller: Caller) -> None:
    # 4,096 placeholders of a 1,024-character value would render 4 MiB on every read.
    body = "${a}" * 4096
    assert (
        await put_template(caller, "tpl_wide", body=body, parameters={"a": "public"})
    ).status_code == 201
    response = await caller.record(**templated_send("tpl_wide", {"a": "x" * 1024}))
    assert response.status_code == 400
    assert "rendered message is longer" in response.json()["message"]
    fits = await caller.record(**templated_send("tpl_wide", {"a": "x"}))
    assert fits.status_code == 201, fits.text
    assert fits.json()["data"]["content"] == "x" * 4096
