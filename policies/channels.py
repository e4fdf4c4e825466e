"""Delivery channels and the life cycle of a message's delivery status.

The log is a record of what was sent, so a status may only move forward: a message
that failed or was delivered never becomes pending again, and a late or repeated
provider callback cannot rewrite history (GDPR Art. 5(1)(d), accuracy; Art. 5(2),
accountability: the log is the controller's evidence).
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from types import MappingProxyType


class Channel(enum.StrEnum):
    """How a message reaches its recipient; decides how the recipient is validated and masked."""

    SMS = "sms"
    EMAIL = "email"
    PUSH = "push"


class DeliveryStatus(enum.StrEnum):
    """Where a message is in its delivery: ``delivered`` and ``failed`` are final."""

    PENDING = "pending"
    SENT = "sent"
    FAILED = "failed"
    DELIVERED = "delivered"


class TransitionOutcome(enum.StrEnum):
    """What to do with a requested status change."""

    APPLY = "apply"
    """The change moves the message forward: store the new status."""
    UNCHANGED = "unchanged"
    """The message already has this status (a repeated callback): nothing to do, not an error."""
    REJECTED = "rejected"
    """The change would move the message backwards or out of a final status."""


ALLOWED_TRANSITIONS: Mapping[DeliveryStatus, frozenset[DeliveryStatus]] = MappingProxyType(
    {
        DeliveryStatus.PENDING: frozenset(
            {DeliveryStatus.SENT, DeliveryStatus.DELIVERED, DeliveryStatus.FAILED}
        ),
        DeliveryStatus.SENT: frozenset({DeliveryStatus.DELIVERED, DeliveryStatus.FAILED}),
        DeliveryStatus.DELIVERED: frozenset(),
        DeliveryStatus.FAILED: frozenset(),
    }
)
"""For each status, the statuses a message may move to next."""

FINAL_STATUSES: frozenset[DeliveryStatus] = frozenset(
    status for status, successors in ALLOWED_TRANSITIONS.items() if not successors
)
"""Statuses nothing may leave."""


def transition(current: DeliveryStatus, requested: DeliveryStatus) -> TransitionOutcome:
    """Decide whether a message whose status is ``current`` may take ``requested``.

    Requesting the status a message already has is ``UNCHANGED`` (providers repeat
    callbacks; applying one twice must be harmless). A move listed in
    :data:`ALLOWED_TRANSITIONS` is ``APPLY``; anything else is ``REJECTED``, so the
    recorded history stays accurate (GDPR Art. 5(1)(d)).
    """
    if requested == current:
        return TransitionOutcome.UNCHANGED
    if requested in ALLOWED_TRANSITIONS.get(current, frozenset()):
        return TransitionOutcome.APPLY
    return TransitionOutcome.REJECTED
