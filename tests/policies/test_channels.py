"""The delivery status machine: statuses only move forward, final statuses stay final."""

from __future__ import annotations

import itertools

import pytest

from policies.channels import (
    ALLOWED_TRANSITIONS,
    FINAL_STATUSES,
    Channel,
    DeliveryStatus,
    TransitionOutcome,
    transition,
)

PENDING = DeliveryStatus.PENDING
SENT = DeliveryStatus.SENT
FAILED = DeliveryStatus.FAILED
DELIVERED = DeliveryStatus.DELIVERED
APPLY = TransitionOutcome.APPLY
UNCHANGED = TransitionOutcome.UNCHANGED
REJECTED = TransitionOutcome.REJECTED

EXPECTED_OUTCOMES: dict[tuple[DeliveryStatus, DeliveryStatus], TransitionOutcome] = {
    (PENDING, PENDING): UNCHANGED,
    (PENDING, SENT): APPLY,
    (PENDING, FAILED): APPLY,
    (PENDING, DELIVERED): APPLY,
    (SENT, PENDING): REJECTED,
    (SENT, SENT): UNCHANGED,
    (SENT, FAILED): APPLY,
    (SENT, DELIVERED): APPLY,
    (FAILED, PENDING): REJECTED,
    (FAILED, SENT): REJECTED,
    (FAILED, FAILED): UNCHANGED,
    (FAILED, DELIVERED): REJECTED,
    (DELIVERED, PENDING): REJECTED,
    (DELIVERED, SENT): REJECTED,
    (DELIVERED, FAILED): REJECTED,
    (DELIVERED, DELIVERED): UNCHANGED,
}


def test_the_expected_table_covers_all_sixteen_status_pairs() -> None:
    assert set(EXPECTED_OUTCOMES) == set(itertools.product(DeliveryStatus, repeat=2))
    assert len(EXPECTED_OUTCOMES) == 16


@pytest.mark.parametrize(
    ("current", "requested", "expected"),
    [(current, requested, outcome) for (current, requested), outcome in EXPECTED_OUTCOMES.items()],
)
def test_transition_outcome_for_every_status_pair(
    current: DeliveryStatus, requested: DeliveryStatus, expected: TransitionOutcome
) -> None:
    assert transition(current, requested) is expected


def test_transition_agrees_with_the_published_allowed_transitions() -> None:
    for current, requested in itertools.product(DeliveryStatus, repeat=2):
        allowed = requested in ALLOWED_TRANSITIONS[current]
        assert (transition(current, requested) is APPLY) == allowed


def test_delivered_and_failed_are_the_final_statuses() -> None:
    assert frozenset({DELIVERED, FAILED}) == FINAL_STATUSES
    for status in FINAL_STATUSES:
        assert ALLOWED_TRANSITIONS[status] == frozenset()


def test_no_status_can_return_to_pending() -> None:
    for status in DeliveryStatus:
        assert PENDING not in ALLOWED_TRANSITIONS[status]


def test_allowed_transitions_cannot_be_changed_at_runtime() -> None:
    with pytest.raises(TypeError):
        ALLOWED_TRANSITIONS[FAILED] = frozenset({PENDING})  # type: ignore[index]


def test_channel_and_status_values_are_the_wire_strings() -> None:
    assert [channel.value for channel in Channel] == ["sms", "email", "push"]
    assert [status.value for status in DeliveryStatus] == ["pending", "sent", "failed", "delivered"]
    assert Channel("sms") is Channel.SMS
    assert DeliveryStatus("delivered") is DELIVERED
