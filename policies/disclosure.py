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

from collections.abc import Callable, Iterable
from dataclasses import replace

from policies.identifiers import provider_problem, template_id_problem
from policies.masking import FULLY_MASKED, mask_content, mask_recipient
from policies.providers import reduced_or_none
from policies.records import SendRecord
from policies.templates import StoredParameters, render_disclosed, render_revealed

UNREADABLE = "[unreadable: integrity check failed]"
"""Shown instead of a field whose stored form failed its integrity check."""
TEMPLATE_UNAVAILABLE = "[unreadable: template version not found]"
"""Shown as the content of a templated send whose template version cannot be found."""


def disclose(record: SendRecord) -> SendRecord:
    """Return ``record`` with every personal field masked, ready to leave the service.

    A field that failed its integrity check is shown as :data:`UNREADABLE`, never as
    whatever its damaged bytes might decode to.
    """
    return _leaving(
        record,
        recipient=mask_recipient(record.channel, record.recipient),
        content=_content(record),
    )


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
    return _leaving(record, recipient=record.recipient, content=_content(record, revealed=True))


def _leaving(record: SendRecord, *, recipient: str | None, content: str | None) -> SendRecord:
    """``record`` as it leaves, with ``recipient`` and ``content`` as chosen by the caller."""

    def shown(name: str, value: str | None) -> str | None:
        return UNREADABLE if name in record.unreadable else value

    return replace(
        record,
        provider=_shown_identifier(record.provider, provider_problem),
        template_id=_shown_identifier(record.template_id, template_id_problem),
        recipient=shown("recipient", recipient),
        content=shown("content", content),
        error=shown("error", reduced_or_none(record.error, record.provider)),
        response=shown("response", reduced_or_none(record.response, record.provider)),
        # The stored parameters leave only rendered into ``content``.
        template_params=None,
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
    if value is None or problem(value) is None:
        return value
    return FULLY_MASKED


def text_chars(records: Iterable[SendRecord]) -> int:
    """How much free text the exit reads for ``records``: masking costs about a
    microsecond per character, so callers use this to decide whether to mask off the
    event loop. A templated send counts its stored parameters and its template's body."""
    return sum(
        len(record.content or "")
        + len(record.error or "")
        + len(record.response or "")
        + len(record.template_params or "")
        + (len(record.template.body) if record.template is not None else 0)
        for record in records
    )
