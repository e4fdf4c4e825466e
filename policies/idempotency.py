"""When a retried send is the same send: the fingerprint of its request.

A sending service that retries with the same ``Idempotency-Key`` must get the record its
first attempt stored, and a *different* send under a used key must be refused (409): one
key, one send. Most of a send is stored as sent and can be compared directly, but two
fields cannot: ``status`` changes as outcomes arrive, and an absent ``created_at`` became
the time of arrival. So the first request's fingerprint is stored next to the record.

The fingerprint covers only fields that are not personal data (user, channel, template,
provider, the requested status and time). Recipient and content stay out of it on
purpose: an unkeyed hash of a short message (a six-digit code) or a phone number can be
reversed by trying every value, and would outlive the erasure of the fields themselves
(GDPR Art. 17; erasure here is the destruction of the field's key). Those two fields are
compared against the decrypted record instead, and once erased they cannot differ.
"""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime

from policies.channels import Channel, DeliveryStatus

FINGERPRINT_VERSION = 1


def send_fingerprint(
    *,
    user_id: str,
    channel: Channel,
    template_id: str | None,
    provider: str | None,
    status: DeliveryStatus,
    created_at: datetime | None,
) -> str:
    """SHA-256 (hex) of the canonical form of a send's non-personal request fields.

    ``created_at`` is compared as an instant: ``10:00Z`` and ``11:00+01:00`` are equal.
    """
    moment = None if created_at is None else created_at.astimezone(UTC).isoformat()
    canonical = json.dumps(
        [
            FINGERPRINT_VERSION,
            user_id,
            channel.value,
            template_id,
            provider,
            status.value,
            moment,
        ],
        ensure_ascii=False,
        separators=(",", ":"),
    )
    return hashlib.sha256(canonical.encode()).hexdigest()
