"""Verifying a chain: an untouched chain verifies; any single modification, deletion,
insertion or reordering is reported at the first sequence it affects."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from policies.audit_chain import GENESIS_HASH, Actor, ActorKind, ChainedEvent, next_event
from policies.audit_verification import BreakKind, SignatureCheck, SignedMark, verify_chain

TENANT = "tnt_verify"
START = datetime(2026, 12, 7, 8, 0, tzinfo=UTC)
HASHED_FIELDS = (
    *("id", "tenant_id", "sequence", "occurred_at", "actor", "actor_kind", "actor_origin"),
    *("action", "target", "details", "previous_hash", "hash"),
)

texts = st.text(alphabet=st.sampled_from("abc数据删除导出張三 -_.:/"), min_size=0, max_size=12)
json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**53), 2**53) | texts,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(texts, inner, max_size=3),
    max_leaves=6,
)
actions = st.sampled_from(
    ["export.completed", "legal_hold.placed", "retention.tenant_outcome", "keys.rotated"]
)


@st.composite
def chains(draw: st.DrawFn, min_size: int = 1) -> list[ChainedEvent]:
    length = draw(st.integers(min_size, 8))
    events: list[ChainedEvent] = []
    head_hash = GENESIS_HASH
    for index in range(length):
        event = next_event(
            event_id=f"aud_{index:024x}",
            tenant_id=TENANT,
            head_sequence=index,
            head_hash=head_hash,
            occurred_at=START + timedelta(seconds=draw(st.integers(0, 10**6))),
            actor=Actor(
                id=draw(st.sampled_from(["usr_officer", "retention", "王芳"])),
                kind=draw(st.sampled_from(list(ActorKind))),
                origin=draw(st.dictionaries(st.sampled_from(["os_user", "host"]), texts)),
            ),
            action=draw(actions),
            target=draw(st.none() | texts),
            details=draw(st.dictionaries(texts, json_values, max_size=4)),
        )
        events.append(event)
        head_hash = event.hash
    return events


def head_of(events: list[ChainedEvent]) -> SignedMark:
    last = events[-1]
    return SignedMark(sequence=last.sequence, hash=last.hash, signature=SignatureCheck.VALID)


def _changed(event: ChainedEvent, name: str) -> ChainedEvent:
    value: Any = getattr(event, name)
    new: Any
    if name == "sequence":
        new = value + 7
    elif name == "occurred_at":
        new = value + timedelta(microseconds=1)
    elif name in ("actor_origin", "details"):
        new = {**value, "forged": "是"}
    elif name == "target":
        new = "log_forged" if value != "log_forged" else None
    elif name in ("previous_hash", "hash"):
        new = ("f" if value[0] != "f" else "e") + value[1:]
    else:
        new = value + "x"
    return dataclasses.replace(event, **{name: new})


@settings(max_examples=150)
@given(chains())
def test_an_untouched_chain_verifies(events: list[ChainedEvent]) -> None:
    report = verify_chain(TENANT, events, head_of(events))
    assert report.broken is None
    assert report.events == len(events)


@settings(max_examples=300)
@given(chains(), st.data())
def test_any_change_to_one_field_of_one_event_breaks_the_chain_at_that_event(
    events: list[ChainedEvent], data: st.DataObject
) -> None:
    position = data.draw(st.integers(0, len(events) - 1))
    name = data.draw(st.sampled_from(HASHED_FIELDS))
    head = head_of(events)
    tampered = list(events)
    tampered[position] = _changed(events[position], name)
    report = verify_chain(TENANT, tampered, head)
    assert report.broken is not None, name
    assert report.broken.sequence == events[position].sequence, (name, report.broken)


@settings(max_examples=150)
@given(chains(), st.data())
def test_a_removed_event_is_reported_at_its_sequence(
    events: list[ChainedEvent], data: st.DataObject
) -> None:
    position = data.draw(st.integers(0, len(events) - 1))
    head = head_of(events)
    remaining = events[:position] + events[position + 1 :]
    report = verify_chain(TENANT, remaining, head)
    assert report.broken is not None
    assert report.broken.sequence == position + 1


@settings(max_examples=200)
@given(chains(), st.data())
def test_a_forged_event_is_reported_where_it_was_inserted(
    events: list[ChainedEvent], data: st.DataObject
) -> None:
    """A forger without the master key can hash an event and link it to its predecessor;
    the break shows where it meets the genuine chain (or the signed head)."""
    position = data.draw(st.integers(0, len(events)))
    predecessor = events[position - 1] if position else None
    forged = next_event(
        event_id="aud_forged",
        tenant_id=TENANT,
        head_sequence=predecessor.sequence if predecessor else 0,
        head_hash=predecessor.hash if predecessor else GENESIS_HASH,
        occurred_at=START,
        actor=Actor(id="usr_forger", kind=ActorKind.OFFICER),
        action="legal_hold.released",
        target=None,
        details={"理由": "伪造"},
    )
    head = head_of(events)
    report = verify_chain(TENANT, [*events[:position], forged, *events[position:]], head)
    assert report.broken is not None
    assert report.broken.sequence == position + 1


@settings(max_examples=150)
@given(chains(min_size=2), st.data())
def test_two_swapped_events_are_reported_at_the_earlier_place(
    events: list[ChainedEvent], data: st.DataObject
) -> None:
    first = data.draw(st.integers(0, len(events) - 2))
    second = data.draw(st.integers(first + 1, len(events) - 1))
    head = head_of(events)
    swapped = list(events)
    swapped[first], swapped[second] = swapped[second], swapped[first]
    report = verify_chain(TENANT, swapped, head)
    assert report.broken is not None
    assert report.broken.sequence == first + 1


@settings(max_examples=100)
@given(chains(), st.data())
def test_events_renumbered_into_each_others_places_are_reported_at_the_earlier_place(
    events: list[ChainedEvent], data: st.DataObject
) -> None:
    """A swap in a table ordered by sequence: two events exchange their sequence numbers."""
    if len(events) < 2:
        return
    first = data.draw(st.integers(0, len(events) - 2))
    second = data.draw(st.integers(first + 1, len(events) - 1))
    swapped = list(events)
    swapped[first] = dataclasses.replace(events[second], sequence=first + 1)
    swapped[second] = dataclasses.replace(events[first], sequence=second + 1)
    report = verify_chain(TENANT, swapped, head_of(events))
    assert report.broken is not None
    assert report.broken.sequence == first + 1


@given(chains())
def test_a_head_that_is_not_validly_signed_breaks_the_chain_at_the_head(
    events: list[ChainedEvent],
) -> None:
    for check in (SignatureCheck.INVALID, SignatureCheck.MISSING, SignatureCheck.UNKNOWN_KEY):
        head = dataclasses.replace(head_of(events), signature=check, key_id="old-1")
        report = verify_chain(TENANT, events, head)
        assert report.broken is not None
        assert report.broken.sequence == len(events)
        expected = {
            SignatureCheck.INVALID: BreakKind.HEAD,
            SignatureCheck.MISSING: BreakKind.UNSIGNED,
            SignatureCheck.UNKNOWN_KEY: BreakKind.UNKNOWN_KEY,
        }
        assert report.broken.kind == expected[check]
    unknown = dataclasses.replace(
        head_of(events), signature=SignatureCheck.UNKNOWN_KEY, key_id="old-1"
    )
    broken = verify_chain(TENANT, events, unknown).broken
    assert broken is not None
    assert "'old-1', which is not configured" in broken.detail


@given(chains(min_size=3), st.data())
def test_a_chain_verifies_from_its_checkpoint_once_older_events_are_gone(
    events: list[ChainedEvent], data: st.DataObject
) -> None:
    cut = data.draw(st.integers(1, len(events) - 1))
    removed = events[cut - 1]
    checkpoint = SignedMark(
        sequence=removed.sequence, hash=removed.hash, signature=SignatureCheck.VALID
    )
    head = head_of(events)
    assert verify_chain(TENANT, events[cut:], head, checkpoint=checkpoint).broken is None
    # before retention removed them, the covered events verify too
    assert verify_chain(TENANT, events, head, checkpoint=checkpoint).broken is None
    # a later event gone with them is missed
    report = verify_chain(TENANT, events[cut + 1 :], head, checkpoint=checkpoint)
    assert report.broken is not None
    assert report.broken.sequence == cut + 1
    forged = dataclasses.replace(checkpoint, signature=SignatureCheck.INVALID)
    report = verify_chain(TENANT, events[cut:], head, checkpoint=forged)
    assert report.broken is not None
    assert (report.broken.sequence, report.broken.kind) == (cut, BreakKind.CHECKPOINT)


def test_a_changed_hash_is_told_apart_from_changed_content() -> None:
    events = _fixed_chain()
    stored = [events[0], dataclasses.replace(events[1], hash="0" * 64), events[2]]
    broken = verify_chain(TENANT, stored, head_of(events)).broken
    assert broken is not None
    assert (broken.sequence, broken.kind) == (2, BreakKind.HASH)
    assert "the stored hash" in broken.detail
    assert "was changed" in broken.detail
    content = [events[0], dataclasses.replace(events[1], actor="usr_else"), events[2]]
    broken = verify_chain(TENANT, content, head_of(events)).broken
    assert broken is not None
    assert broken.detail.startswith("hash does not match content")


def test_an_empty_chain_without_a_head_verifies() -> None:
    assert verify_chain(TENANT, [], None).broken is None


def _fixed_chain() -> list[ChainedEvent]:
    events: list[ChainedEvent] = []
    head_hash = GENESIS_HASH
    for index in range(3):
        event = next_event(
            event_id=f"aud_{index:024x}",
            tenant_id=TENANT,
            head_sequence=index,
            head_hash=head_hash,
            occurred_at=START,
            actor=Actor(id="usr_officer", kind=ActorKind.OFFICER),
            action="export.completed",
            target=None,
            details={"rows": index},
        )
        events.append(event)
        head_hash = event.hash
    return events
