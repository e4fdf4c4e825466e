"""Push providers: Firebase Cloud Messaging (HTTP v1 and legacy) and Apple APNs.

FCM HTTP v1 kept: a success's ``name`` (the message id); an error's ``code`` (the HTTP
status), ``status``, ``message`` (free text: it can echo the token, which the token scrub
replaces) and the ``errorCode`` of its ``FcmError`` detail. Dropped: every other detail
(``BadRequest`` field violations quote the request, token included).
FCM legacy kept: ``multicast_id``, ``success``, ``failure``, ``canonical_ids`` and per
result ``message_id`` or ``error``. Dropped: ``registration_id`` (a device token).
APNs kept: ``reason``, ``timestamp`` (when the token stopped being valid), and
``apns-id`` and the HTTP ``status`` when the caller recorded them. Dropped: anything else.
"""

from __future__ import annotations

from typing import Any

from policies.providers.outcome import ProviderOutcome, first, instant

FCM = "fcm"
FCM_ALIASES = frozenset({"fcm", "firebase", "gcm", "google-fcm", "firebase-cloud-messaging"})
APNS = "apns"
APNS_ALIASES = frozenset({"apns", "apple", "apple-push", "apns2"})

_FCM_ERROR_DETAIL = "type.googleapis.com/google.firebase.fcm.v1.FcmError"
_APNS_FIELDS = frozenset({"reason", "timestamp", "apns-id", "apns_id", "status", "apns-unique-id"})


def parse_fcm(document: Any) -> ProviderOutcome | None:
    """The allow-listed fields of an FCM response, or None if it is not one."""
    if not isinstance(document, dict):
        return None
    error = document.get("error")
    if isinstance(error, dict) and ("status" in error or "code" in error):
        return ProviderOutcome(
            provider=FCM,
            kind="error",
            status=error.get("status"),
            error_code=_fcm_error_code(error.get("details")) or error.get("status"),
            error_message=error.get("message"),
            http_status=error.get("code"),
        )
    name = document.get("name")
    if isinstance(name, str) and name.startswith("projects/") and len(document) == 1:
        return ProviderOutcome(provider=FCM, kind="send", message_id=name)
    if "multicast_id" in document and isinstance(document.get("results"), list):
        return ProviderOutcome(
            provider=FCM,
            kind="multicast",
            message_id=document.get("multicast_id"),
            succeeded=document.get("success"),
            failed=document.get("failure"),
            canonical_ids=document.get("canonical_ids"),
            items=[
                ProviderOutcome(message_id=result.get("message_id"), error_code=result.get("error"))
                for result in document["results"]
                if isinstance(result, dict)
            ]
            or None,
        )
    return None


def _fcm_error_code(details: Any) -> str | None:
    if not isinstance(details, list):
        return None
    for detail in details:
        if isinstance(detail, dict) and detail.get("@type") == _FCM_ERROR_DETAIL:
            error_code = detail.get("errorCode")
            return error_code if isinstance(error_code, str) else None
    return None


def parse_apns(document: Any, *, named: bool = False) -> ProviderOutcome | None:
    """The allow-listed fields of an APNs error body, or None if it is not one.

    Found by shape only when it holds nothing but APNs fields; when the record names
    APNs, other fields are ignored (dropped).
    """
    if not isinstance(document, dict) or not isinstance(document.get("reason"), str):
        return None
    if not named and not document.keys() <= _APNS_FIELDS:
        return None
    return ProviderOutcome(
        provider=APNS,
        kind="error",
        error_code=document["reason"],
        message_id=first(document, "apns-id", "apns_id"),
        http_status=document.get("status"),
        at=instant(document.get("timestamp"), unix_unit=1000),
    )
