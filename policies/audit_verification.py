"""Verifying an audit chain: recompute it and report the first broken link.

A verifier is fed one chain's events (``policies.audit_chain``) in sequence order and keeps
only the previous event and one event of look-ahead (constant memory however long the
chain). It reports the FIRST broken link: the lowest sequence at which the stored chain
stops being what an untouched one would be. Signatures are checked by the caller (they
need the master key); the verifier is told the outcome. Like the encoding, it is free of
any database: an auditor can verify an export of the table with these two modules alone
(GDPR Art. 5(2), Art. 30; PIPL Art. 54).
"""

from __future__ import annotations

import enum
from collections.abc import Iterable
from dataclasses import dataclass

from policies.audit_chain import GENESIS_HASH, ChainedEvent


class SignatureCheck(enum.StrEnum):
    """What checking a head's or checkpoint's signature with the configured keys found."""

    VALID = "valid"
    INVALID = "invalid"
    """The signature does not cover this statement: the row was changed or forged."""
    MISSING = "missing"
    """No signature at all (a head is always signed when an event is appended)."""
    UNSIGNED = "unsigned"
    """A head without a signature (a migration, which holds no master key, may leave one):
    nothing proves the chain was not rewritten until the head is signed, which is done
    only once the chain verifies otherwise."""
    UNKNOWN_KEY = "unknown_key"
    """Signed by a master key that is not configured: it cannot be checked here."""


@dataclass(frozen=True, slots=True, kw_only=True)
class SignedMark:
    """A chain head or a checkpoint: a (sequence, hash) pair and its signature's check."""

    sequence: int
    hash: str
    signature: SignatureCheck
    key_id: str | None = None
    """The master key id the signature names (said when it is not configured)."""


class BreakKind(enum.StrEnum):
    """What kind of link is broken."""

    WRONG_TENANT = "wrong_tenant"
    SEQUENCE = "sequence"
    """A sequence is missing, repeated or out of order (an event removed, inserted or moved)."""
    START = "start"
    """The chain does not start at 1, or right after its checkpoint."""
    PREVIOUS_HASH = "previous_hash"
    HASH = "hash"
    """The stored hash is not the hash of the event's content."""
    CHECKPOINT = "checkpoint"
    HEAD = "head"
    UNSIGNED = "unsigned"
    """A head without a signature (:attr:`SignatureCheck.UNSIGNED`)."""
    UNKNOWN_KEY = "unknown_key"
    """A head or checkpoint signed by a master key that is not configured: not shown
    broken, but not shown intact either (configure the key and verify again)."""


@dataclass(frozen=True, slots=True, kw_only=True)
class ChainBreak:
    """The first broken link of a chain: where, of what kind, and what differs."""

    tenant_id: str
    sequence: int
    kind: BreakKind
    detail: str


@dataclass(frozen=True, slots=True, kw_only=True)
class ChainReport:
    """The outcome of verifying one chain."""

    tenant_id: str
    events: int
    """Events read (stopped early at a break, the count so far)."""
    head_sequence: int | None
    head_hash: str | None
    checkpoint_sequence: int | None
    broken: ChainBreak | None

    @property
    def intact(self) -> bool:
        return self.broken is None


def _short(value: str) -> str:
    return value[:16] + "…" if len(value) > 16 else value


def _signature_problem(mark: SignedMark, what: str) -> tuple[BreakKind, str] | None:
    kind = BreakKind.HEAD if what == "head" else BreakKind.CHECKPOINT
    if mark.signature is SignatureCheck.VALID:
        return None
    if mark.signature is SignatureCheck.MISSING:
        return BreakKind.UNSIGNED if what == "head" else kind, f"the {what} is not signed"
    if mark.signature is SignatureCheck.UNKNOWN_KEY:
        return BreakKind.UNKNOWN_KEY, (
            f"the {what} is signed by master key '{mark.key_id}', which is not configured: "
            "its signature cannot be checked"
        )
    return kind, f"the {what}'s signature does not match its sequence and hash (changed or forged)"


class ChainVerifier:
    """Verify one tenant's chain from its events, fed in ascending sequence order.

    ``checkpoint`` is the latest signed checkpoint audit retention left (events up to its
    sequence may be gone). Call :meth:`feed` for each event, stop once :attr:`broken` is
    set if you like, then :meth:`finish` with the chain's signed head.
    """

    def __init__(self, tenant_id: str, *, checkpoint: SignedMark | None = None) -> None:
        self.tenant_id = tenant_id
        self.checkpoint = checkpoint
        self.events = 0
        self.broken: ChainBreak | None = None
        self._pending: ChainedEvent | None = None
        """The event read but not yet judged: judging a hash needs its successor."""
        self._last: ChainedEvent | None = None
        """The last event judged sound."""
        if checkpoint is not None:
            problem = _signature_problem(checkpoint, "checkpoint")
            if problem is not None:
                self._break(checkpoint.sequence, *problem)

    def _break(self, sequence: int, kind: BreakKind, detail: str) -> None:
        if self.broken is None:
            self.broken = ChainBreak(
                tenant_id=self.tenant_id, sequence=sequence, kind=kind, detail=detail
            )

    def feed(self, event: ChainedEvent) -> None:
        """The chain's next event (ascending sequence)."""
        if self.broken is not None:
            return
        self.events += 1
        if self._pending is not None:
            self._judge(self._pending, successor_link=event.previous_hash)
            if self.broken is not None:
                return
        if not self._in_place(event):
            return
        self._pending = event

    def _in_place(self, event: ChainedEvent) -> bool:
        """Tenant, sequence and link to the predecessor (or the chain's start)."""
        previous = self._pending
        if event.tenant_id != self.tenant_id:
            where = previous.sequence + 1 if previous is not None else event.sequence
            self._break(
                where,
                BreakKind.WRONG_TENANT,
                f"tenant_id differs: the event says '{event.tenant_id}'",
            )
            return False
        if previous is None:
            return self._starts_well(event)
        expected = previous.sequence + 1
        if event.sequence != expected:
            if event.sequence > expected:
                detail = (
                    f"sequence {expected} is missing (the event after {previous.sequence} "
                    f"is {event.sequence})"
                )
            elif event.sequence == previous.sequence and event.computed_hash() == event.hash:
                # An intact event claiming its predecessor's place: the predecessor was
                # inserted in front of it.
                self._break(
                    event.sequence,
                    BreakKind.SEQUENCE,
                    f"two events claim sequence {event.sequence} ({previous.id} and "
                    f"{event.id}): one was inserted",
                )
                return False
            else:
                detail = (
                    f"expected sequence {expected}, found {event.sequence} "
                    "(a changed, repeated or reordered event)"
                )
            self._break(expected, BreakKind.SEQUENCE, detail)
            return False
        if event.previous_hash != previous.hash:
            self._break(
                event.sequence,
                BreakKind.PREVIOUS_HASH,
                f"previous_hash {_short(event.previous_hash)} is not the hash of event "
                f"{previous.sequence} ({_short(previous.hash)})",
            )
            return False
        return True

    def _starts_well(self, event: ChainedEvent) -> bool:
        checkpoint = self.checkpoint
        if checkpoint is None or event.sequence == 1:
            if event.sequence != 1:
                self._break(
                    1, BreakKind.START, f"the chain starts at sequence {event.sequence}, not 1"
                )
                return False
            if event.previous_hash != GENESIS_HASH:
                self._break(
                    1,
                    BreakKind.PREVIOUS_HASH,
                    f"previous_hash of the first event is {_short(event.previous_hash)}, "
                    "not the genesis hash (64 zeros)",
                )
                return False
            return True
        after = checkpoint.sequence + 1
        if event.sequence > after:
            self._break(
                after,
                BreakKind.START,
                f"the chain starts at sequence {event.sequence}, not right after its "
                f"checkpoint at {checkpoint.sequence}",
            )
            return False
        if event.sequence == after and event.previous_hash != checkpoint.hash:
            self._break(
                after,
                BreakKind.PREVIOUS_HASH,
                f"previous_hash {_short(event.previous_hash)} is not the checkpoint's hash "
                f"({_short(checkpoint.hash)})",
            )
            return False
        # Events the checkpoint covers that retention has not removed yet: their own
        # predecessors may be gone; their links and hashes are checked from here on.
        return True

    def _judge(self, event: ChainedEvent, *, successor_link: str | None) -> None:
        """The event's own hash, knowing what its successor (or the head) links to."""
        computed = event.computed_hash()
        if computed != event.hash:
            if successor_link == computed:
                detail = (
                    f"the stored hash {_short(event.hash)} was changed: the content hashes "
                    f"to {_short(computed)}, which is what the next link names"
                )
            else:
                detail = (
                    f"hash does not match content: a hashed field was changed (stored "
                    f"{_short(event.hash)}, recomputed {_short(computed)})"
                )
            self._break(event.sequence, BreakKind.HASH, detail)
            return
        checkpoint = self.checkpoint
        if (
            checkpoint is not None
            and event.sequence == checkpoint.sequence
            and event.hash != checkpoint.hash
        ):
            self._break(
                event.sequence,
                BreakKind.CHECKPOINT,
                f"the checkpoint names hash {_short(checkpoint.hash)} for this event, "
                f"which hashes to {_short(event.hash)}",
            )
            return
        self._last = event

    def finish(self, head: SignedMark | None) -> ChainReport:
        """Judge the last event against the signed head and report."""
        if self.broken is None and self._pending is not None:
            self._judge(self._pending, successor_link=head.hash if head is not None else None)
        if self.broken is None:
            self._check_head(head)
        return ChainReport(
            tenant_id=self.tenant_id,
            events=self.events,
            head_sequence=head.sequence if head is not None else None,
            head_hash=head.hash if head is not None else None,
            checkpoint_sequence=self.checkpoint.sequence if self.checkpoint else None,
            broken=self.broken,
        )

    def _check_head(self, head: SignedMark | None) -> None:
        last = self._last
        if last is not None:
            end_sequence, end_hash = last.sequence, last.hash
        elif self.checkpoint is not None:
            end_sequence, end_hash = self.checkpoint.sequence, self.checkpoint.hash
        else:
            end_sequence, end_hash = 0, GENESIS_HASH
        if head is None:
            if end_sequence:
                self._break(end_sequence, BreakKind.HEAD, "the chain has no signed head")
            return
        if head.sequence > end_sequence:
            self._break(
                end_sequence + 1,
                BreakKind.HEAD,
                f"sequence {end_sequence + 1} is missing: the chain ends at {end_sequence}, "
                f"its signed head names {head.sequence}",
            )
        elif head.sequence < end_sequence:
            self._break(
                head.sequence + 1,
                BreakKind.HEAD,
                f"event {head.sequence + 1} follows the signed head (at {head.sequence}): "
                "it was added without the chain's lock",
            )
        elif head.hash != end_hash:
            self._break(
                end_sequence,
                BreakKind.HEAD,
                f"the head names hash {_short(head.hash)}, the last event's is {_short(end_hash)}",
            )
        else:
            problem = _signature_problem(head, "head")
            if problem is not None:
                self._break(head.sequence, *problem)


def verify_chain(
    tenant_id: str,
    events: Iterable[ChainedEvent],
    head: SignedMark | None,
    *,
    checkpoint: SignedMark | None = None,
) -> ChainReport:
    """Verify one chain at once (see :class:`ChainVerifier`)."""
    verifier = ChainVerifier(tenant_id, checkpoint=checkpoint)
    for event in events:
        verifier.feed(event)
        if verifier.broken is not None:
            break
    return verifier.finish(head)


__all__ = [
    "BreakKind",
    "ChainBreak",
    "ChainReport",
    "ChainVerifier",
    "SignatureCheck",
    "SignedMark",
    "verify_chain",
]
