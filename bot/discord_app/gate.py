"""Admission control for the bot: a bounded request queue and a per-user cooldown.

Both are plain asyncio objects with no Discord in them, so they are tested on their own.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")


class QueueFull(Exception):
    """The request queue is full; the caller should answer "busy, try again shortly"."""


class RequestGate:
    """At most `capacity` requests admitted (waiting or running), `workers` of them running.

    A request beyond capacity is refused at once instead of waiting without end, and at most
    `workers` engine calls occupy worker threads, so quick calls (autocomplete) still find one.
    """

    def __init__(self, capacity: int, workers: int) -> None:
        if capacity < 1 or workers < 1:
            raise ValueError("capacity and workers must be at least 1")
        self.capacity = capacity
        self.workers = workers
        self._admitted = 0
        self._running = asyncio.Semaphore(workers)
        self.refused = 0
        self.served = 0

    @property
    def depth(self) -> int:
        """Requests admitted and not yet finished."""
        return self._admitted

    @property
    def full(self) -> bool:
        return self._admitted >= self.capacity

    def admit(self) -> Admission:
        """Reserve a place in the queue, or raise QueueFull without waiting."""
        if self.full:
            self.refused += 1
            raise QueueFull
        self._admitted += 1
        return Admission(self)

    def _release(self) -> None:
        self._admitted -= 1
        self.served += 1


class Admission:
    """A reserved place in a RequestGate; run blocking work through it, then close it."""

    def __init__(self, gate: RequestGate) -> None:
        self._gate = gate
        self._open = True

    async def run(self, func: Callable[..., T], /, *args: object, **kwargs: object) -> T:
        """Run a blocking call in a worker thread once a worker is free."""
        async with self._gate._running:
            return await asyncio.to_thread(func, *args, **kwargs)

    def close(self) -> None:
        if self._open:
            self._open = False
            self._gate._release()

    async def __aenter__(self) -> Admission:
        return self

    async def __aexit__(self, *exc: object) -> None:
        self.close()


class UserCooldown:
    """One request per user every `seconds`, shared by the commands that use it."""

    def __init__(self, seconds: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.seconds = seconds
        self._clock = clock
        self._last: dict[int, float] = {}

    def retry_after(self, user_id: int) -> float:
        """Seconds until `user_id` may ask again; 0 when they may ask now (and it is recorded)."""
        now = self._clock()
        last = self._last.get(user_id)
        if last is not None and now - last < self.seconds:
            return self.seconds - (now - last)
        self._last[user_id] = now
        if len(self._last) > 10_000:
            self._forget_older_than(now - self.seconds)
        return 0.0

    def _forget_older_than(self, cutoff: float) -> None:
        self._last = {k: v for k, v in self._last.items() if v >= cutoff}
