"""Twilio Programmable Messaging: Message resources, status callbacks, error bodies.

Kept: ``sid``/``MessageSid`` (the message id), ``status``/``MessageStatus``/``SmsStatus``,
``error_code``/``ErrorCode``, ``error_message``/``ErrorMessage``, ``num_segments``,
``date_created``, ``date_sent``, ``date_updated``; of an error body ``code``, ``message``
and the HTTP ``status``. Dropped: ``to``/``To`` and ``from``/``From`` (phone numbers),
``body``/``Body`` (the message, with any code or link in it), ``account_sid``,
``messaging_service_sid`` (account configuration, not the outcome), ``price`` and
``price_unit`` (billing is not this log's purpose), ``uri``, ``subresource_uris``,
``more_info`` (a documentation link derived from the code), the channel and API fields
of callbacks, and anything else.
"""

from __future__ import annotations

from typing import Any

from policies.providers.outcome import ProviderOutcome, first, instant

NAME = "twilio"
ALIASES = frozenset({"twilio", "twilio-sms", "twilio-messaging"})


def parse(document: Any) -> ProviderOutcome | None:
    """The allow-listed fields of a Twilio document, or None if it is not one."""
    if not isinstance(document, dict):
        return None
    sid = document.get("sid")
    if isinstance(sid, str) and sid[:2] in ("SM", "MM") and "status" in document:
        return ProviderOutcome(
            provider=NAME,
            kind="message",
            status=document.get("status"),
            error_code=document.get("error_code"),
            error_message=document.get("error_message"),
            message_id=sid,
            segments=document.get("num_segments"),
            created_at=instant(document.get("date_created")),
            sent_at=instant(document.get("date_sent")),
            at=instant(document.get("date_updated")),
        )
    if "MessageSid" in document or "SmsSid" in document:
        return ProviderOutcome(
            provider=NAME,
            kind="status",
            status=first(document, "MessageStatus", "SmsStatus"),
            error_code=document.get("ErrorCode"),
            error_message=document.get("ErrorMessage"),
            message_id=first(document, "MessageSid", "SmsSid"),
            segments=document.get("NumSegments"),
        )
    if (
        "code" in document
        and "message" in document
        and ("more_info" in document or isinstance(document.get("status"), int))
    ):
        return ProviderOutcome(
            provider=NAME,
            kind="error",
            error_code=document.get("code"),
            error_message=document.get("message"),
            http_status=document.get("status"),
        )
    return None


def parse_form(fields: dict[str, str]) -> ProviderOutcome | None:
    """A status callback as Twilio posts it (``application/x-www-form-urlencoded``)."""
    if "MessageSid" not in fields and "SmsSid" not in fields:
        return None
    return parse(fields)
