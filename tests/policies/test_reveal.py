"""The one unmasked view: recipient and content in clear, nothing else changes."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st
from msgspec.structs import replace

from policies.disclosure import TEMPLATE_UNAVAILABLE, UNREADABLE, disclose, reveal
from tests.policies.test_disclosure_templates import RECORD as TEMPLATED
from tests.policies.test_exports import record


def test_a_reveal_shows_the_recipient_and_the_free_text_content_in_clear() -> None:
    shown = reveal(record())
    assert shown.recipient == "+8613812348000"
    assert shown.content == "您的验证码是123456"


def test_a_revealed_template_shows_personal_values_but_secrets_stay_hidden() -> None:
    shown = reveal(TEMPLATED)
    assert shown.content == "王芳您好，验证码******，5分钟内有效。"
    assert shown.template_params is None


def test_a_reveal_reduces_errors_and_responses_as_disclose_does() -> None:
    sent = record(
        error="isv.MOBILE_NUMBER_ILLEGAL 手机号码 13812348000 格式错误",
        response='{"Code":"OK","BizId":"9006197469364984^0","Message":"13812348000"}',
    )
    assert reveal(sent).error == disclose(sent).error
    assert reveal(sent).response == disclose(sent).response


def test_a_reveal_marks_unreadable_fields_as_disclose_does() -> None:
    damaged = replace(record(), unreadable=frozenset({"recipient", "content", "error"}))
    shown = reveal(damaged)
    assert (shown.recipient, shown.content, shown.error) == (UNREADABLE, UNREADABLE, UNREADABLE)
    assert reveal(replace(TEMPLATED, template=None)).content == TEMPLATE_UNAVAILABLE
    assert reveal(replace(TEMPLATED, template_params=None)).content is None


@given(st.text(), st.text())
def test_a_reveal_differs_from_disclose_only_in_recipient_and_content(
    recipient: str, content: str
) -> None:
    sent = record(recipient=recipient, content=content)
    assert replace(reveal(sent), recipient=None, content=None) == replace(
        disclose(sent), recipient=None, content=None
    )
