"""Stored views: what a record written under the current rules shows equals what masking
it when it is read shows, and the rules cannot change without their version.

Records are masked once, when they are written (``policies.disclosure.stored_form``),
and pages and exports show that stored view. A view is only as good as the rules it was
computed under: change the rules without changing ``RULES_VERSION`` and every stored view
would go on showing the old masking. The fingerprint below is the SHA-256 of what the
rules show for the whole masking corpus (seven languages, provider payloads, recipients,
templates); any change to masking, reduction or rendering changes it, and this test then
fails until the version is changed and the new fingerprint recorded next to it.
"""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime

import msgspec
from hypothesis import given, settings
from hypothesis import strategies as st
from msgspec.structs import replace

from policies.channels import Channel, DeliveryStatus
from policies.disclosure import RULES_VERSION, disclose, reveal, stored_form, text_chars
from policies.masking import mask_content
from policies.records import SendRecord, StoredView
from policies.templates import TemplateVersion, stored_parameters
from tests.corpus.harness import Entry, load_corpus

RULES_FINGERPRINTS = {
    1: "e077b7a3eb73078f7b9a7f4090a7c7bf474464d6168bb4353c4fad806485293e",
    # 2: a US SSN whose digits are also a Spanish 800/900 number's is masked.
    2: "6431578a09a619f73d049e87bc410f567df1cc244a3083405f695a6759a9f5dd",
}
"""The fingerprint of each rules version. Record a new version's when you change it."""
BEYOND_THE_CORPUS = ("Your SSN 800-00-0000 is on file.", "SSN 900-12-3456 已登记")
"""Texts whose masking a rules change fixed and the corpus does not hold: part of the
fingerprint (from version 2), so the fix cannot be undone without a new version."""

_AT = datetime(2026, 11, 2, 8, 30, tzinfo=UTC)
CORPUS = load_corpus()


def _record(entry: Entry, *, templated: bool = False) -> SendRecord:
    """``entry`` as it arrives to be written: free text, a recipient, a raw provider
    payload (reduced by ``stored_form``), or a templated send with its template."""
    content = recipient = error = response = None
    template = params = None
    if entry.kind == "body" and templated:
        assert entry.template is not None
        template = TemplateVersion(
            tenant_id="tnt_rules",
            template_id=entry.template.id,
            version=1,
            channel=Channel(entry.channel),
            body=entry.template.body,
            parameters=entry.template.parameters,
            content_retention_days=None,
            created_at=_AT,
            created_by="test",
        )
        stored = stored_parameters(entry.template.parameters, entry.template.values)
        params = stored.to_json()
    elif entry.kind == "body":
        content = entry.text
    elif entry.kind == "recipient":
        recipient = entry.text
    elif entry.field == "error":
        error = entry.text
    else:
        response = entry.text
    return SendRecord(
        id=f"log_{entry.id}",
        tenant_id="tnt_rules",
        user_id="usr_rules",
        channel=Channel(entry.channel),
        provider=entry.provider,
        template_id=None if template is None else template.template_id,
        recipient=recipient,
        content=content,
        status=DeliveryStatus(entry.status or "sent"),
        error=error,
        response=response,
        created_at=_AT,
        sent_at=_AT,
        updated_at=_AT,
        template_version=None if template is None else 1,
        template_params=params,
        template=template,
    )


def _records() -> list[SendRecord]:
    records = [_record(entry) for entry in CORPUS]
    records += [_record(e, templated=True) for e in CORPUS if e.template is not None]
    return records


def _shown(record: SendRecord) -> tuple[str | None, ...]:
    return (
        record.provider,
        record.template_id,
        record.recipient,
        record.content,
        record.error,
        record.response,
    )


def _unviewed(record: SendRecord) -> SendRecord:
    """``record`` as a row written before views were kept reads: no view, no version."""
    return replace(record, view=None, view_version=None)


def test_the_stored_view_shows_what_masking_on_read_shows_for_the_whole_corpus() -> None:
    records = _records()
    assert len(records) > 700
    for record in records:
        stored = stored_form(record)
        assert stored.view_version == RULES_VERSION, record.id
        assert stored.view is not None
        assert _shown(disclose(stored)) == _shown(disclose(_unviewed(stored))), record.id
        assert _shown(disclose(stored)) == _shown(disclose(record)), record.id
        # A reveal of a stored record shows the same as a reveal of what arrived.
        assert _shown(reveal(stored)) == _shown(reveal(record)), record.id


def test_the_rules_fingerprint_belongs_to_the_rules_version() -> None:
    digest = hashlib.sha256()
    for record in _records():
        digest.update(msgspec.json.encode([record.id, _shown(disclose(record))]))
    for text in BEYOND_THE_CORPUS:
        digest.update(msgspec.json.encode([text, mask_content(text)]))
    fingerprint = digest.hexdigest()
    assert RULES_FINGERPRINTS.get(RULES_VERSION) == fingerprint, (
        "what policies.disclosure shows for the corpus changed: stored views computed "
        "under the old rules would go on showing the old masking. Increase "
        f"RULES_VERSION and record {fingerprint} for it in RULES_FINGERPRINTS"
    )


def test_stored_form_is_idempotent_and_keeps_a_current_view() -> None:
    for record in _records()[:200]:
        once = stored_form(record)
        assert stored_form(once) == once


def test_a_view_of_other_rules_is_never_shown() -> None:
    record = stored_form(_record(next(e for e in CORPUS if e.kind == "body")))
    forged = replace(
        record,
        view=StoredView(recipient="shown as stored", content="shown as stored"),
        view_version=RULES_VERSION + 1,
    )
    assert disclose(forged).content == disclose(_unviewed(record)).content
    assert disclose(forged).content != "shown as stored"


def test_no_view_for_a_damaged_field_or_a_template_that_is_not_attached() -> None:
    body = next(e for e in CORPUS if e.template is not None)
    damaged = replace(_record(body), unreadable=frozenset({"content"}))
    assert stored_form(damaged).view is None
    assert stored_form(damaged).view_version is None
    detached = replace(_record(body, templated=True), template=None)
    assert stored_form(detached).view is None


@settings(max_examples=300, deadline=None)
@given(
    channel=st.sampled_from(list(Channel)),
    recipient=st.one_of(st.none(), st.text(max_size=60)),
    content=st.one_of(st.none(), st.text(max_size=300)),
    error=st.one_of(st.none(), st.text(max_size=120)),
    provider=st.sampled_from([None, "twilio", "aliyun", "sendgrid", "ses", "fcm", "apns"]),
)
def test_any_record_shows_the_same_through_its_stored_view(
    channel: Channel,
    recipient: str | None,
    content: str | None,
    error: str | None,
    provider: str | None,
) -> None:
    record = SendRecord(
        id="log_any",
        tenant_id="tnt_rules",
        user_id="usr_rules",
        channel=channel,
        provider=provider,
        template_id=None,
        recipient=recipient,
        content=content,
        status=DeliveryStatus.FAILED,
        error=error,
        response=None,
        created_at=_AT,
        sent_at=None,
        updated_at=_AT,
    )
    stored = stored_form(record)
    assert _shown(disclose(stored)) == _shown(disclose(_unviewed(stored)))
    assert _shown(disclose(stored)) == _shown(disclose(record))


def test_only_text_masked_on_the_way_out_counts_towards_the_masking_lane() -> None:
    free_text = _record(next(e for e in CORPUS if e.kind == "body"))
    stored = stored_form(free_text)
    assert text_chars([stored]) == 0  # its view is shown: nothing is masked
    assert text_chars([_unviewed(stored)]) == len(stored.content or "")
    entry = next(e for e in CORPUS if e.template is not None)
    templated = stored_form(_record(entry, templated=True))
    assert templated.template is not None
    # A reveal reads the fields and renders the template on the way out.
    revealed_read = replace(templated, view=None)
    assert text_chars([revealed_read]) == len(templated.template.body)
