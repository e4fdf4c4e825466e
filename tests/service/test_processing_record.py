"""The record of processing (GDPR Art. 30) on SQLite and PostgreSQL: built from the live
configuration, following it when it changes, with no personal data, for one tenant's
compliance officers only; and the same record from the CLI."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import msgspec
import pytest
from litestar.testing import AsyncTestClient

from compliance.encryption.master import new_master_key_entry
from policies.retention import parse_policy
from service.app import create_app
from service.auth import TokenCodec
from service.settings import Settings
from tests.conftest import TEST_MASTER_KEY_ENTRY
from tests.factories import Caller, run_commlog

POLICY = """
[tenants.{tenant}]
content_days = 14
recipient_days = 90

[tenants.{tenant}.channels.email]
content_days = 7
"""


async def _record(caller: Caller, tenant_id: str | None = None) -> dict[str, Any]:
    response = await caller.client.get(
        "/compliance/processing-record",
        headers=caller.auth("usr_officer", "compliance_officer", tenant_id=tenant_id),
    )
    assert response.status_code == 200, response.text
    assert set(response.json()) == {"code", "message", "timestamp", "data"}
    data: dict[str, Any] = response.json()["data"]
    return data


def _windows(record: dict[str, Any]) -> dict[str, tuple[str, dict[str, int]]]:
    return {
        channel["channel"]: (
            channel["set_by"],
            {window["stage"]: window["days"] for window in channel["windows"]},
        )
        for channel in record["retention"]["channels"]
    }


async def test_an_officer_reads_the_record_built_from_the_default_configuration(
    caller: Caller,
) -> None:
    record = await _record(caller)
    assert record["tenant_id"] == caller.tenant_id
    assert _windows(record) == {
        channel: ("default", {"content": 30, "recipient": 180, "record": 400})
        for channel in ("sms", "email", "push")
    }
    recipient = next(
        w for w in record["retention"]["channels"][0]["windows"] if w["stage"] == "recipient"
    )
    assert "GDPR Art. 6(1)(f)" in recipient["legal_basis"]
    assert [p["id"] for p in record["purposes"]] == [
        "delivery_evidence",
        "delivery_disputes",
        "fraud_investigation",
        "opt_out_evidence",
        "compliance_access",
    ]
    assert record["retention"]["legal_holds"]["max_days"] == 730
    assert record["retention"]["legal_holds"]["released_hold_days"] == 365
    keys = record["security"]["master_keys"]
    assert keys == {"count": 1, "ids": ["test-1"], "primary_id": "test-1"}
    assert "transport" in [m["id"] for m in record["security"]["measures"]]
    assert record["processors"] == {
        "description": record["processors"]["description"],
        "providers_seen": [],
        "truncated": False,
    }


async def test_a_new_provider_appears_after_a_send_with_it(caller: Caller) -> None:
    await caller.create(provider="aliyun")
    assert (await _record(caller))["processors"]["providers_seen"] == ["aliyun"]
    await caller.create(provider="twilio", channel="sms")
    await caller.create(provider=...)
    assert (await _record(caller))["processors"]["providers_seen"] == ["aliyun", "twilio"]
    other = await _record(caller, tenant_id=caller.tenant_id + "_b")
    assert other["processors"]["providers_seen"] == []
    assert other["tenant_id"] == caller.tenant_id + "_b"


async def test_a_tenant_override_changes_its_windows_in_the_record(
    settings: Settings, tokens: TokenCodec, tenant_id: str
) -> None:
    policy = parse_policy(POLICY.format(tenant=tenant_id), source="test")
    configured = msgspec.structs.replace(settings, retention_policy=policy, hold_max_days=90)
    async with AsyncTestClient(app=create_app(configured)) as client:
        caller = Caller(client=client, tokens=tokens, tenant_id=tenant_id)
        record = await _record(caller)
        others = await _record(caller, tenant_id=tenant_id + "_b")
    assert _windows(record) == {
        "sms": ("tenant", {"content": 14, "recipient": 90, "record": 400}),
        "email": ("channel", {"content": 7, "recipient": 90, "record": 400}),
        "push": ("tenant", {"content": 14, "recipient": 90, "record": 400}),
    }
    assert record["retention"]["policy_digest"] == policy.digest()
    assert record["retention"]["legal_holds"]["max_days"] == 90
    assert _windows(others)["sms"] == ("default", {"content": 30, "recipient": 180, "record": 400})


async def test_the_record_holds_no_personal_data_and_no_key_material(caller: Caller) -> None:
    await caller.create(
        user_id="usr_zhang_wei", recipient="+8613812348000", content="您的验证码是482913"
    )
    await caller.create(channel="email", recipient="wang.fang@example.com", content="hello")
    response = await caller.client.get(
        "/compliance/processing-record", headers=caller.auth("usr_officer", "compliance_officer")
    )
    text = response.text
    for personal in ("13812348000", "482913", "wang.fang", "usr_zhang_wei", "usr_officer"):
        assert personal not in text
    secret = TEST_MASTER_KEY_ENTRY.split(":", 1)[1]
    assert secret not in text
    assert secret[:12] not in text


@pytest.mark.parametrize("roles", [("user",), ("ingest",), ("user", "ingest")])
async def test_only_compliance_officers_read_the_record(
    caller: Caller, roles: tuple[str, ...]
) -> None:
    response = await caller.client.get(
        "/compliance/processing-record", headers=caller.auth("usr_alice", *roles)
    )
    assert response.status_code == 403
    assert (await caller.client.get("/compliance/processing-record")).status_code == 401


@pytest.fixture
def cli_database_url(private_database_url: str) -> str:
    return private_database_url


def test_the_cli_prints_the_same_record_as_json_or_text(
    cli_database_url: str, tmp_path: Path
) -> None:
    policy = tmp_path / "retention.toml"
    policy.write_text(POLICY.format(tenant="tnt_cli"), encoding="utf-8")
    keys = new_master_key_entry("m1")
    env = {"COMMLOG_MASTER_KEYS": keys, "COMMLOG_RETENTION_POLICY_FILE": str(policy)}
    as_json = run_commlog(
        "processing-record",
        "--tenant",
        "tnt_cli",
        "--format",
        "json",
        var_dir=tmp_path,
        database_url=cli_database_url,
        **env,
    )
    assert as_json.returncode == 0, as_json.stderr
    record = json.loads(as_json.stdout)
    assert _windows(record)["email"] == ("channel", {"content": 7, "recipient": 90, "record": 400})
    assert record["security"]["master_keys"]["ids"] == ["m1"]
    assert keys.split(":", 1)[1] not in as_json.stdout

    as_text = run_commlog(
        "processing-record",
        "--tenant",
        "tnt_cli",
        var_dir=tmp_path,
        database_url=cli_database_url,
        **env,
    )
    assert as_text.returncode == 0, as_text.stderr
    assert as_text.stdout.startswith(
        "Record of processing activities (GDPR Art. 30(1)) — tenant tnt_cli\n"
    )
    assert "  - email (set by channel): content 7 days, recipient 90 days, record 400 days" in (
        as_text.stdout
    )
    bad = run_commlog(
        "processing-record",
        "--tenant",
        "tnt\tx",
        var_dir=tmp_path,
        database_url=cli_database_url,
        **env,
    )
    assert bad.returncode == 2
    assert len(bad.stderr.splitlines()) == 1
