"""Test support: a virtual clock whose ``sleep`` advances time instead of waiting.

Sleepers go on a heap. A driver task waits until every other task on the loop is blocked, then jumps
time to the earliest wake-up and releases the sleepers due then, so concurrent waiters interleave
exactly
as they would in real time, only instantly. Code under test needs no changes: it already takes a
Clock.
"""

from __future__ import annotations

import asyncio
import heapq
import itertools
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

DEFAULT_WALL_START = 1_767_225_600.0  # 2026-01-01T00:00:00Z: a fixed, readable epoch for tests

# Upper bound on yields while waiting for the loop to go quiet: a task that never blocks is a bug
# in the
# test, and this keeps such a bug from hanging the run.
_MAX_SETTLE_YIELDS = 100_000


class VirtualClock:
    """A :class:`~commerce_mcp.resilience.clock.Clock` on virtual time (one event loop at a time)."""

    def __init__(self, start: float = 0.0, *, wall_start: float = DEFAULT_WALL_START) -> None:
        self._now = start
        self._wall_offset = wall_start - start
        self._sleepers: list[tuple[float, int, asyncio.Future[None]]] = []
        self._order = itertools.count()
        self._driver: asyncio.Task[None] | None = None
        self._io = 0
        self._io_idle: asyncio.Future[None] | None = None
        self.sleeps: list[float] = []
        """Every positive sleep requested, in order (handy for asserting on backoff)."""

    def monotonic(self) -> float:
        return self._now

    def wall(self) -> float:
        return self._now + self._wall_offset

    def advance(self, seconds: float) -> None:
        """Move time forward by hand and release every sleeper due by then."""
        if seconds < 0:
            raise ValueError("time only moves forward")
        self._now += seconds
        self._release_due()

    @asynccontextmanager
    async def real_io(self) -> AsyncIterator[None]:
        """Hold virtual time still while real I/O (say, a round trip to a real Redis) is in flight.

        The driver jumps time when every task is blocked, and a task awaiting a socket looks
        blocked; without this, a reply would arrive "later" than the request was decided.
        """
        self._io += 1
        try:
            yield
        finally:
            self._io -= 1
            if self._io == 0 and self._io_idle is not None and not self._io_idle.done():
                self._io_idle.set_result(None)

    async def sleep(self, seconds: float) -> None:
        if seconds <= 0:
            await asyncio.sleep(0)
            return
        self.sleeps.append(seconds)
        loop = asyncio.get_running_loop()
        wake: asyncio.Future[None] = loop.create_future()
        heapq.heappush(self._sleepers, (self._now + seconds, next(self._order), wake))
        if self._driver is None or self._driver.done():
            self._driver = loop.create_task(self._drive())
        await wake

    def _release_due(self) -> None:
        while self._sleepers and self._sleepers[0][0] <= self._now:
            _, _, wake = heapq.heappop(self._sleepers)
            if not wake.done():
                wake.set_result(None)

    def _drop_cancelled(self) -> None:
        while self._sleepers and self._sleepers[0][2].done():
            heapq.heappop(self._sleepers)

    async def _drive(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            await _settle(loop)
            while self._io:
                self._io_idle = loop.create_future()
                await self._io_idle
                await _settle(loop)
            self._drop_cancelled()
            if not self._sleepers:
                return
            self._now = max(self._now, self._sleepers[0][0])
            self._release_due()


async def _settle(loop: asyncio.AbstractEventLoop) -> None:
    """Yield until no other callback is ready to run, i.e. every other task is blocked."""
    ready: Any = getattr(loop, "_ready", None)
    for _ in range(_MAX_SETTLE_YIELDS):
        await asyncio.sleep(0)
        if ready is None:
            # An event loop without the CPython internals: fall back to a generous fixed number of
            # yields.
            for _ in range(100):
                await asyncio.sleep(0)
            return
        if not ready:
            return
