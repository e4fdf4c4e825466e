"""The digest of the record ids a retention stage erased or deleted, in bounded memory.

The audit event of a tenant's retention outcome carries, per stage, the number of ids and
``ids_sha256``: the SHA-256 of the ids sorted by their UTF-8 bytes, each followed by one
``\\n`` (``hashlib.sha256("".join(i + "\\n" for i in sorted(ids)).encode())``). Anyone
holding a list of ids (an officer's copy of an export, a backup) can recompute it; the
digest does not reveal the ids (GDPR Art. 5(2): proof of erasure without keeping what
was erased).

A run can erase millions of ids, so they are not all kept in memory: each batch's ids go
into a sorted run on disk once :data:`SPILL_AFTER` are buffered, and the digest is a
k-way merge of the runs (an external sort). Memory stays at ``SPILL_AFTER`` ids plus one
line per spilled run.
"""

from __future__ import annotations

import hashlib
import heapq
import tempfile
from collections.abc import Iterable, Iterator
from typing import IO

SPILL_AFTER = 100_000
"""Ids held in memory before they are sorted and written to a temporary file."""


def ids_digest(ids: Iterable[str]) -> str:
    """The reference definition: SHA-256 over the sorted ids, each followed by a new line."""
    digest = hashlib.sha256()
    for item in sorted(ids, key=lambda i: i.encode()):
        digest.update(item.encode() + b"\n")
    return digest.hexdigest()


class ErasedIds:
    """Collects the ids one stage erased for one tenant; :meth:`summary` gives the count
    and ``ids_sha256`` (equal to :func:`ids_digest` of everything added)."""

    def __init__(self, spill_after: int = SPILL_AFTER) -> None:
        self._spill_after = spill_after
        self._buffer: list[bytes] = []
        self._runs: list[IO[bytes]] = []
        self.count = 0

    def add(self, ids: Iterable[str]) -> None:
        for item in ids:
            if "\n" in item:  # ids are identifiers (policies.identifiers): never happens
                raise ValueError("a record id cannot hold a new line")
            self._buffer.append(item.encode())
            self.count += 1
        if len(self._buffer) >= self._spill_after:
            self._spill()

    def _spill(self) -> None:
        run = tempfile.TemporaryFile(prefix="commlog-erased-")  # noqa: SIM115 - closed in close()
        self._buffer.sort()
        run.writelines(item + b"\n" for item in self._buffer)
        run.seek(0)
        self._runs.append(run)
        self._buffer = []

    def _sorted_lines(self) -> Iterator[bytes]:
        self._buffer.sort()
        for run in self._runs:
            run.seek(0)
        buffered = (item + b"\n" for item in self._buffer)
        return heapq.merge(buffered, *self._runs)

    def digest(self) -> str:
        digest = hashlib.sha256()
        for line in self._sorted_lines():
            digest.update(line)
        return digest.hexdigest()

    def summary(self) -> dict[str, object]:
        """``{"ids": count, "ids_sha256": hex}`` for the audit event."""
        return {"ids": self.count, "ids_sha256": self.digest()}

    def close(self) -> None:
        for run in self._runs:
            run.close()
        self._runs = []
        self._buffer = []


__all__ = ["SPILL_AFTER", "ErasedIds", "ids_digest"]
