"""Where large masking jobs run: one worker thread per application, off the event loop.

Masking is pure Python and costs about a microsecond per character; a full page of the
largest allowed records is a second of work, which on the event loop would stall every
other request (health probes included) for that long. In a thread, the interpreter hands
the loop its turn every few milliseconds. Small jobs stay on the loop: a thread hop costs
more than masking them. The list endpoint's pages and the chunks of an export share the
one lane, so neither can starve the other's event loop.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

import anyio
import anyio.to_thread

T = TypeVar("T")

OFF_LOOP_TEXT_CHARS = 32_768
"""Jobs with more free text than this (``policies.disclosure.text_chars``) run in the lane."""

MASKING_THREADS = 1
"""Large jobs masked at once. Threads share one interpreter lock with the event loop:
with eight pages masked in eight threads the loop got one turn in nine and a liveness
probe waited over a second; with one, large jobs queue and the loop keeps its turns."""


class MaskingLane:
    """The application's lane for large masking jobs (one per app, in its ``State``)."""

    def __init__(self, threads: int = MASKING_THREADS) -> None:
        self._threads = threads
        self._limiter: anyio.CapacityLimiter | None = None

    def _limiter_in_running_loop(self) -> anyio.CapacityLimiter:
        # Made in the running event loop the first time it is needed: a limiter belongs
        # to the loop it was made in.
        if self._limiter is None:
            self._limiter = anyio.CapacityLimiter(self._threads)
        return self._limiter

    async def run(self, text_chars: int, job: Callable[[], T]) -> T:
        """``job()``: on the loop when it reads at most :data:`OFF_LOOP_TEXT_CHARS` of free
        text, else in the lane's worker thread (queued behind other large jobs)."""
        if text_chars <= OFF_LOOP_TEXT_CHARS:
            return job()
        return await anyio.to_thread.run_sync(job, limiter=self._limiter_in_running_loop())
