"""What of a send record may leave the service: the masking step every response passes.

GDPR Art. 25(2) (data protection by default) and PIPL Art. 51 (de-identification) ask
that personal data is not shown beyond what the purpose needs. The caller of the seed
endpoint needs to recognise a send, not to re-read the message or re-use a code, so
recipients, content, provider errors and provider responses are always masked.

A send rendered from a template has no stored content: its content is the template
rendered from the stored parameters, secrets as ``******`` and personal values masked by
kind (:func:`policies.templates.render_disclosed`), here, at the same exit.

:func:`reveal` is the one unmasked view: for a compliance officer's export with
``reveal=true``, when the tenant's policy allows it and a reason is given (the service
checks both and records the reason). It differs from :func:`disclose` in two fields
only, recipient and content; secret template parameters were never stored, so they stay
``******`` there too.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable

from msgspec.structs import replace

from policies.identifiers import provider_problem, template_id_problem
from policies.masking import FULLY_MASKED, mask_content, mask_recipient
from policies.providers import reduced_or_none
from policies.records import SendRecord, ShownParts, StoredView, shown_values
from policies.templates import StoredParameters, render_disclosed, render_revealed

UNREADABLE = "[unreadable: integrity check failed]"
"""Shown instead of a field whose stored form failed its integrity check."""
TEMPLATE_UNAVAILABLE = "[unreadable: template version not found]"
"""Shown as the content of a templated send whose template version cannot be found."""


RULES_VERSION = 2
"""The version of the rules :func:`disclose` applies: masking of recipients and free text,
rendering of templates, reduction of provider answers. Views stored under another
version are not used: their records are masked again when read. Change it with the
rules (``tests/policies/test_disclosure_rules.py`` fails until it changes)."""


def disclose(record: SendRecord) -> SendRecord:
    """Return ``record`` with every personal field masked, ready to leave the service.

    A record written under the current rules carries its stored view (``record.view``,
    computed by :func:`stored_form` when it was written): that view is shown, and the
    stored provider answers, already reduced under the same rules, are not reduced again.
    Any other record is masked here. A field that failed its integrity check is shown as
    :data:`UNREADABLE`, never as whatever its damaged bytes might decode to.
    """
    return _as_record(record, _disclosed(record))


def disclosed_values(record: SendRecord) -> list[str | None]:
    """``shown_values(disclose(record))``, without building the record in between: an
    export's rows."""
    return shown_values(record, _disclosed(record))


def reveal(record: SendRecord) -> SendRecord:
    """Return ``record`` with recipient and content in clear, everything else as
    :func:`disclose` shows it.

    The content of a templated send is rendered with its public and personal values as
    stored and its secrets as ``******`` (never stored, GDPR Art. 5(1)(c)). Provider errors
    and responses are reduced to the provider's allow-list exactly as :func:`disclose`
    does; a field that failed its integrity check is :data:`UNREADABLE`. Only for an
    officer's reveal export the tenant's policy allows, with a recorded reason (GDPR
    Art. 5(2) accountability; Art. 32(4), access only on instruction).
    """
    return _as_record(record, _revealed(record))


def revealed_values(record: SendRecord) -> list[str | None]:
    """``shown_values(reveal(record))``, without building the record in between."""
    return shown_values(record, _revealed(record))


def _disclosed(record: SendRecord) -> ShownParts:
    view = record.view
    if view is not None and record.view_version == RULES_VERSION:
        return _leaving(record, recipient=view.recipient, content=view.content)
    return _leaving(
        record,
        recipient=mask_recipient(record.channel, record.recipient),
        content=_content(record),
    )


def _revealed(record: SendRecord) -> ShownParts:
    return _leaving(record, recipient=record.recipient, content=_content(record, revealed=True))


def stored_form(record: SendRecord) -> SendRecord:
    """``record`` as it is written: provider error and response reduced to the allow-list
    (:func:`policies.providers.reduce_provider_text`), and the masked view of recipient
    and content (what :func:`disclose` shows) attached under :data:`RULES_VERSION`.

    The storage layer seals the view next to the fields it was computed from, with the
    same keys, and erases it with them. A record with a field that failed its integrity
    check, or a templated send whose template version is not attached, gets no view:
    it is masked when it is read, as records written before views were kept are.
    """
    current = record.view_version == RULES_VERSION
    if not current:
        record = replace(
            record,
            error=reduced_or_none(record.error, record.provider),
            response=reduced_or_none(record.response, record.provider),
        )
    if record.unreadable or (
        record.template_version is not None
        and record.template is None
        and record.template_params is not None
    ):
        return replace(record, view=None, view_version=None)
    if current and record.view is not None:
        return record
    shown = disclose(replace(record, view=None, view_version=RULES_VERSION))
    return replace(
        record,
        view=StoredView(recipient=shown.recipient, content=shown.content),
        view_version=RULES_VERSION,
    )


def _leaving(record: SendRecord, *, recipient: str | None, content: str | None) -> ShownParts:
    """What of ``record`` leaves, with ``recipient`` and ``content`` as chosen by the caller.

    Provider answers stored under the current rules were reduced when they were written;
    others are reduced here."""
    unreadable = record.unreadable
    error, response = record.error, record.response
    if record.view_version != RULES_VERSION:
        error = reduced_or_none(error, record.provider)
        response = reduced_or_none(response, record.provider)
    if unreadable:
        recipient = UNREADABLE if "recipient" in unreadable else recipient
        content = UNREADABLE if "content" in unreadable else content
        error = UNREADABLE if "error" in unreadable else error
        response = UNREADABLE if "response" in unreadable else response
    return ShownParts(
        _shown_identifier(record.provider, provider_problem),
        _shown_identifier(record.template_id, template_id_problem),
        recipient,
        content,
        error,
        response,
    )


def _as_record(record: SendRecord, shown: ShownParts) -> SendRecord:
    """``record`` with ``shown`` in place of its fields (built field by field, not with
    :func:`dataclasses.replace`: this runs once per row of every page)."""
    return SendRecord(
        id=record.id,
        tenant_id=record.tenant_id,
        user_id=record.user_id,
        channel=record.channel,
        provider=shown.provider,
        template_id=shown.template_id,
        recipient=shown.recipient,
        content=shown.content,
        status=record.status,
        error=shown.error,
        response=shown.response,
        created_at=record.created_at,
        sent_at=record.sent_at,
        updated_at=record.updated_at,
        unreadable=record.unreadable,
        template_version=record.template_version,
        # The stored parameters leave only rendered into ``content``.
        template_params=None,
        content_erase_after=record.content_erase_after,
        template=record.template,
    )


def _content(record: SendRecord, *, revealed: bool = False) -> str | None:
    """The content as it may be shown: free text masked (in clear for a reveal), or the
    template rendered."""
    if record.template_version is None:
        return record.content if revealed else mask_content(record.content)
    if "template_params" in record.unreadable:
        return UNREADABLE
    if record.template_params is None:
        return None  # erased (retention, or its key destroyed)
    if record.template is None:
        return TEMPLATE_UNAVAILABLE
    try:
        stored = StoredParameters.from_json(record.template_params)
    except ValueError:
        return UNREADABLE
    render = render_revealed if revealed else render_disclosed
    return render(record.template.body, record.template.parameters, stored)


def _shown_identifier(value: str | None, problem: Callable[[str], str | None]) -> str | None:
    """A provider name or template id as stored, or :data:`FULLY_MASKED` for a legacy value
    stored before their syntax was enforced (it may hold a phone number or a name)."""
    if value is None:
        return None
    return _shown_identifier_text(value, problem)


@functools.lru_cache(maxsize=4096)
def _shown_identifier_text(value: str, problem: Callable[[str], str | None]) -> str:
    """:func:`_shown_identifier` of a value, remembered: a tenant has a handful of providers
    and templates, and every row of a page or an export shows both."""
    return value if problem(value) is None else FULLY_MASKED


def text_chars(records: Iterable[SendRecord]) -> int:
    """How much free text the exit reads for ``records``: masking costs about a
    microsecond per character, so callers use this to decide whether to mask off the
    event loop. A record written under the current rules is not masked again (its stored
    view is shown, its provider answers were reduced when written): only a templated
    send rendered on the way out counts its template's body. Any other record counts its
    content, error, response, stored parameters and template body."""
    return sum(_text_chars(record) for record in records)


def _text_chars(record: SendRecord) -> int:
    body = len(record.template.body) if record.template is not None else 0
    if record.view_version == RULES_VERSION:
        return 0 if record.view is not None else body
    return (
        len(record.content or "")
        + len(record.error or "")
        + len(record.response or "")
        + len(record.template_params or "")
        + body
    )
