"""Template ids and provider names on the way out: stored legacy free text is hidden."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from policies.channels import Channel, DeliveryStatus
from policies.disclosure import disclose
from policies.identifiers import provider_problem, template_id_problem
from policies.masking import FULLY_MASKED
from policies.records import SendRecord

AT = datetime(2026, 11, 20, 8, 14, tzinfo=UTC)


def _record(*, provider: str | None, template_id: str | None) -> SendRecord:
    return SendRecord(
        id="log_1",
        tenant_id="tnt_demo",
        user_id="usr_demo",
        channel=Channel.SMS,
        provider=provider,
        template_id=template_id,
        recipient="13812348000",
        content="您的验证码是123456",
        status=DeliveryStatus.SENT,
        error=None,
        response=None,
        created_at=AT,
        sent_at=AT,
        updated_at=AT,
    )


@pytest.mark.parametrize(
    ("provider", "template_id"),
    [("aliyun", "tpl_login_code"), ("twilio", "HXb5b62575e6e4ff6129ad7c8efe1f983e"), (None, None)],
)
def test_valid_provider_names_and_template_ids_are_shown_as_stored(
    provider: str | None, template_id: str | None
) -> None:
    shown = disclose(_record(provider=provider, template_id=template_id))
    assert (shown.provider, shown.template_id) == (provider, template_id)


def test_legacy_free_text_provider_and_template_id_are_fully_masked() -> None:
    # What a probe stored before the syntax was enforced.
    shown = disclose(_record(provider="aliyun:张伟", template_id="otp-13812348000-zhangwei"))
    assert shown.provider == FULLY_MASKED
    assert shown.template_id == FULLY_MASKED
    assert shown.recipient == "138****8000"


@given(st.text(max_size=80), st.text(max_size=80))
def test_what_is_shown_always_has_the_syntax_or_is_fully_masked(
    provider: str, template_id: str
) -> None:
    shown = disclose(_record(provider=provider, template_id=template_id))
    assert shown.provider == FULLY_MASKED or provider_problem(provider) is None
    assert shown.template_id == FULLY_MASKED or template_id_problem(template_id) is None
    again = disclose(shown)
    assert (again.provider, again.template_id) == (shown.provider, shown.template_id)
