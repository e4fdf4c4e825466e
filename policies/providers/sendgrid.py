"""SendGrid Event Webhook: a JSON array of delivery and engagement events.

Kept per event: ``event``, ``timestamp``, ``sg_event_id``, ``sg_message_id``, ``status``
(the SMTP enhanced status), ``reason`` (bounces and drops) and ``response`` (deliveries
and deferrals) as free text, ``type`` (``bounce`` or ``blocked``) and
``bounce_classification``. Dropped: ``email`` (the recipient), ``ip`` and ``useragent``
(the recipient's device, on opens and clicks), ``url`` and ``url_offset`` (the link that
was clicked: login and reset links carry their key), ``smtp-id`` (holds the sending
host), ``category``, ``asm_group_id``, marketing campaign fields, ``tls``, ``attempt``,
``pool`` and every custom argument (unique arguments are the sender's own data).
"""

from __future__ import annotations

from typing import Any

from policies.providers.outcome import ProviderOutcome, instant

NAME = "sendgrid"
ALIASES = frozenset({"sendgrid", "twilio-sendgrid"})


def parse(document: Any) -> ProviderOutcome | None:
    """The allow-listed fields of a SendGrid event batch, or None if it is not one."""
    events = [document] if isinstance(document, dict) else document
    if not isinstance(events, list) or not events:
        return None
    if not all(_is_event(event) for event in events):
        return None
    return ProviderOutcome(provider=NAME, kind="events", items=[_event(e) for e in events])


def _is_event(event: Any) -> bool:
    return (
        isinstance(event, dict)
        and isinstance(event.get("event"), str)
        and bool({"sg_event_id", "sg_message_id", "timestamp"} & event.keys())
    )


def _event(event: dict[str, Any]) -> ProviderOutcome:
    return ProviderOutcome(
        kind=event.get("event"),
        error_code=event.get("status"),
        error_message=event.get("reason"),
        diagnostic=event.get("response"),
        category=event.get("type"),
        subcategory=event.get("bounce_classification"),
        message_id=event.get("sg_message_id"),
        event_id=event.get("sg_event_id"),
        at=instant(event.get("timestamp")),
    )
