"""The master-key gate: no data key is opened or created before the master keys are proven.

A master key that is wrong (a typo, another environment's key) would otherwise wrap every
new tenant's data keys under a key nobody has, and the correctly configured service could
no longer open them. So a service starts with the gate closed; it opens once the configured
master keys opened the data keys stored in the database (an empty key table proves
nothing wrong and counts as verified). Until then every :class:`KeyStore` that holds the
gate refuses with :class:`MasterKeysNotVerified`, which the service answers with 503.

The gate also keeps the ids of stored data keys that failed to open although their master
key is proven (a corrupt row): the service is then not ready ("key store integrity").
"""

from __future__ import annotations

import asyncio
import enum
from collections.abc import Iterable

NOT_VERIFIED_RETRY_AFTER_SECONDS = 5


class MasterKeysNotVerified(Exception):
    """A data key was asked for before the master keys were verified. Names no key."""

    def __init__(self, reason: str, *, retry_after: int = NOT_VERIFIED_RETRY_AFTER_SECONDS):
        super().__init__(f"master keys not verified yet ({reason})")
        self.reason = reason
        self.retry_after = retry_after


class GateState(enum.StrEnum):
    PENDING = "pending"
    """Not verified yet: the database was unreachable, not migrated, or not asked yet."""
    VERIFIED = "verified"
    REFUSED = "refused"
    """The configured master keys do not open the stored data keys: never opens by itself
    unless the database's keys change (restored) — the configuration needs fixing."""


class MasterKeyGate:
    """Whether this process may open and create data keys. One per process."""

    def __init__(self) -> None:
        self._state = GateState.PENDING
        self._reason = "not checked yet"
        self._unreadable: frozenset[int] = frozenset()
        self._recheck = asyncio.Event()

    @property
    def state(self) -> GateState:
        return self._state

    @property
    def reason(self) -> str:
        """Why the gate is closed, in words that name no key material (one line)."""
        return self._reason

    @property
    def unreadable_keys(self) -> frozenset[int]:
        """Ids of stored data keys that failed to open under a proven master key."""
        return self._unreadable

    def require(self) -> None:
        """Raise :class:`MasterKeysNotVerified` unless the master keys were verified."""
        if self._state is not GateState.VERIFIED:
            raise MasterKeysNotVerified(self._reason)

    def mark_pending(self, reason: str) -> None:
        self._state, self._reason = GateState.PENDING, reason

    def mark_refused(self, reason: str) -> None:
        self._state, self._reason = GateState.REFUSED, reason

    def mark_verified(self, unreadable: Iterable[int] = ()) -> None:
        self._state, self._reason = GateState.VERIFIED, "verified"
        self._unreadable = frozenset(unreadable)
        self._recheck.clear()

    def report_unreadable(self, key_id: int) -> None:
        """A data key failed to open while serving: remember it and ask for a re-check."""
        self._unreadable = self._unreadable | {key_id}
        self._recheck.set()

    def arm(self) -> None:
        """Prepare for waiting in the running event loop (an app may be started again)."""
        self._recheck = asyncio.Event()

    async def wait_for_recheck(self) -> None:
        """Return when something reported a key that failed to open."""
        await self._recheck.wait()
