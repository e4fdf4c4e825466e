"""The one exit renders templated sends: content from the template and stored parameters."""

from __future__ import annotations

from datetime import UTC, datetime

from msgspec.structs import replace

from policies.channels import Channel, DeliveryStatus
from policies.disclosure import TEMPLATE_UNAVAILABLE, UNREADABLE, disclose
from policies.records import SendRecord
from policies.templates import TemplateVersion, stored_parameters

NOW = datetime(2026, 11, 27, 8, 0, tzinfo=UTC)
TEMPLATE = TemplateVersion(
    tenant_id="tnt_bank",
    template_id="tpl_login",
    version=3,
    channel=Channel.SMS,
    body="${name}您好，验证码${code}，${minutes}分钟内有效。",
    parameters={"name": "personal:name", "code": "secret", "minutes": "public"},
    content_retention_days=1,
    created_at=NOW,
    created_by="svc_sender",
)
STORED = stored_parameters(TEMPLATE.parameters, {"name": "王芳", "code": "482913", "minutes": "5"})
RECORD = SendRecord(
    id="log_0123456789abcdef01234567",
    tenant_id="tnt_bank",
    user_id="usr_wangfang",
    channel=Channel.SMS,
    provider="aliyun",
    template_id="tpl_login",
    recipient="+8613812348000",
    content=None,
    status=DeliveryStatus.DELIVERED,
    error=None,
    response=None,
    created_at=NOW,
    sent_at=NOW,
    updated_at=NOW,
    template_version=3,
    template_params=STORED.to_json(),
    template=TEMPLATE,
)


def test_a_templated_send_is_shown_rendered_and_its_parameters_do_not_leave() -> None:
    shown = disclose(RECORD)
    assert shown.content == "王**您好，验证码******，5分钟内有效。"
    assert shown.template_params is None


def test_erased_parameters_show_no_content() -> None:
    assert disclose(replace(RECORD, template_params=None)).content is None


def test_parameters_that_failed_their_integrity_check_are_shown_as_unreadable() -> None:
    damaged = replace(RECORD, template_params=None, unreadable=frozenset({"template_params"}))
    assert disclose(damaged).content == UNREADABLE
    assert disclose(replace(RECORD, template_params="not json")).content == UNREADABLE


def test_a_templated_send_whose_version_is_missing_says_so() -> None:
    assert disclose(replace(RECORD, template=None)).content == TEMPLATE_UNAVAILABLE


def test_free_text_content_is_still_masked_as_free_text() -> None:
    free = replace(RECORD, template_version=None, template_params=None, template=None)
    assert disclose(replace(free, content="您的验证码是482913")).content == "您的验证码是******"
