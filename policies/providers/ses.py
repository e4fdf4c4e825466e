"""Amazon SES notifications and events, raw or wrapped in an SNS notification.

Kept: ``notificationType``/``eventType``, ``mail.messageId``, ``mail.timestamp``; of a
bounce ``bounceType``, ``bounceSubType``, ``timestamp``, ``feedbackId`` and per bounced
recipient ``action``, ``status`` and ``diagnosticCode`` (not the address); of a
complaint ``complaintFeedbackType``, ``complaintSubType``, ``timestamp``, ``feedbackId``;
of a delivery ``timestamp``, ``processingTimeMillis``, ``smtpResponse``; of a delay
``delayType``, ``timestamp`` and per recipient ``status``/``diagnosticCode``; of a reject
``reason``; of a rendering failure ``errorMessage``; of opens and clicks the
``timestamp``; of the SNS envelope its ``MessageId``. Dropped: ``mail.source``,
``destination``, ``headers`` and ``commonHeaders`` (addresses and the subject line, which
may carry a code), ``sourceIp``, ``sourceArn``, ``callerIdentity``,
``sendingAccountId``, ``tags``, every ``emailAddress``, ``remoteMtaIp``,
``reportingMTA``, ``complainedRecipients``, ``userAgent``, ``ipAddress``, ``link`` and
``linkTags`` (the clicked link), ``templateName``, and the SNS signature, topic and
unsubscribe link.
"""

from __future__ import annotations

from typing import Any

import msgspec

from policies.providers.outcome import ProviderOutcome, instant

NAME = "ses"
ALIASES = frozenset({"ses", "amazon-ses", "aws-ses", "amazonses", "aws"})

# Which object of the notification holds the event's details, by notification type.
_DETAILS = {
    "bounce": "bounce",
    "complaint": "complaint",
    "delivery": "delivery",
    "send": "send",
    "reject": "reject",
    "open": "open",
    "click": "click",
    "deliverydelay": "deliveryDelay",
    "rendering failure": "failure",
    "renderingfailure": "failure",
    "subscription": "subscription",
}


def parse(document: Any) -> ProviderOutcome | None:
    """The allow-listed fields of an SES notification, or None if it is not one."""
    if not isinstance(document, dict):
        return None
    if isinstance(document.get("Message"), str) and "Type" in document:
        return _from_sns(document)
    kind = document.get("notificationType") or document.get("eventType")
    if not isinstance(kind, str) or not isinstance(document.get("mail"), dict):
        return None
    mail: dict[str, Any] = document["mail"]
    found = document.get(_DETAILS.get(kind.lower(), ""), {})
    details: dict[str, Any] = found if isinstance(found, dict) else {}
    outcome = ProviderOutcome(
        provider=NAME,
        kind=kind,
        message_id=mail.get("messageId"),
        sent_at=instant(mail.get("timestamp")),
        at=instant(details.get("timestamp")),
    )
    lowered = kind.lower()
    if lowered == "bounce":
        return msgspec.structs.replace(
            outcome,
            category=details.get("bounceType"),
            subcategory=details.get("bounceSubType"),
            event_id=details.get("feedbackId"),
            items=_recipients(details.get("bouncedRecipients")),
        )
    if lowered == "complaint":
        return msgspec.structs.replace(
            outcome,
            category=details.get("complaintFeedbackType"),
            subcategory=details.get("complaintSubType"),
            event_id=details.get("feedbackId"),
        )
    if lowered == "delivery":
        return msgspec.structs.replace(
            outcome,
            diagnostic=details.get("smtpResponse"),
            processing_ms=details.get("processingTimeMillis"),
        )
    if lowered == "deliverydelay":
        return msgspec.structs.replace(
            outcome,
            category=details.get("delayType"),
            items=_recipients(details.get("delayedRecipients")),
        )
    if lowered == "reject":
        return msgspec.structs.replace(outcome, error_message=details.get("reason"))
    if lowered in ("rendering failure", "renderingfailure"):
        return msgspec.structs.replace(outcome, error_message=details.get("errorMessage"))
    return outcome


def _recipients(rows: Any) -> list[ProviderOutcome] | None:
    if not isinstance(rows, list):
        return None
    return [
        ProviderOutcome(
            status=row.get("action"),
            error_code=row.get("status"),
            diagnostic=row.get("diagnosticCode"),
        )
        for row in rows
        if isinstance(row, dict)
    ] or None


def _from_sns(envelope: dict[str, Any]) -> ProviderOutcome | None:
    """An SNS notification whose ``Message`` is an SES notification (a JSON string)."""
    try:
        inner = msgspec.json.decode(envelope["Message"])
    except (msgspec.DecodeError, RecursionError):
        return None
    if isinstance(inner, dict) and isinstance(inner.get("Message"), str):
        return None  # SNS inside SNS is not something SES sends
    outcome = parse(inner)
    if outcome is None:
        return None
    return msgspec.structs.replace(outcome, request_id=envelope.get("MessageId"))
