"""Deadlines: one time limit per tool call, bounding limiter waits, retries and each attempt.

A :class:`Deadline` is a point on the :class:`Clock`'s monotonic axis, so tests move it in virtual
time. :func:`deadline_scope` additionally arms a real-time ``asyncio.timeout``: httpx's read timeout
applies to each read, so a body dripped one byte at a time would otherwise never time out.
"""

from __future__ import annotations

import asyncio
import math
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from contextvars import ContextVar
from dataclasses import dataclass

from commerce_mcp.errors import DeadlineExceeded
from commerce_mcp.resilience.clock import Clock

DEFAULT_DEADLINE_SECONDS = 45.0
"""Under the 60 s request timeout of most MCP hosts, so our error reaches the agent first."""

DEFAULT_ATTEMPT_TIMEOUT = 20.0


@dataclass(frozen=True)
class Deadline:
    """An absolute instant (``at``, on ``clock.monotonic()``) by which the work must be done."""

    clock: Clock
    at: float

    @classmethod
    def after(cls, clock: Clock, seconds: float) -> Deadline:
        """The deadline ``seconds`` from now (negative or NaN counts as already expired)."""
        if math.isnan(seconds):
            seconds = 0.0
        return cls(clock=clock, at=clock.monotonic() + max(0.0, seconds))

    def remaining(self) -> float:
        """Seconds left, never negative."""
        return max(0.0, self.at - self.clock.monotonic())

    def expired(self) -> bool:
        """True once no time is left."""
        return self.remaining() <= 0.0

    def attempt_timeout(self, cap: float = DEFAULT_ATTEMPT_TIMEOUT) -> float:
        """The timeout for one attempt: the per-attempt cap, clamped to the time left."""
        return min(cap, self.remaining())

    def __repr__(self) -> str:
        return f"Deadline(remaining={self.remaining():.3f}s)"


_current: ContextVar[Deadline | None] = ContextVar("commerce_mcp_deadline", default=None)


def current_deadline(clock: Clock, default_seconds: float = DEFAULT_DEADLINE_SECONDS) -> Deadline:
    """The enclosing :func:`deadline_scope`'s deadline, or a fresh one of ``default_seconds``."""
    deadline = _current.get()
    if deadline is not None:
        return deadline
    return Deadline.after(clock, default_seconds)


@asynccontextmanager
async def deadline_scope(
    clock: Clock, seconds: float, *, operation: str | None = None, detached: bool = False
) -> AsyncIterator[Deadline]:
    """Run the body under a deadline of ``seconds`` (or the enclosing one, if that is tighter).

    ``detached``: ignore the enclosing deadline, for background work that outlives the call that
    started it (a task copies the deadline with the rest of its creator's context).

    The deadline is visible to :func:`current_deadline` for the duration and is enforced in real
    time: when it passes, the body is cancelled and :class:`~commerce_mcp.errors.DeadlineExceeded`
    is raised.
    """
    outer = None if detached else _current.get()
    mine = Deadline.after(clock, seconds)
    if outer is not None and outer.at <= mine.at:
        # The enclosing scope already enforces a tighter limit; arming a second timer adds nothing.
        yield outer
        return
    token = _current.set(mine)
    timer = asyncio.timeout(mine.remaining())
    try:
        async with timer:
            yield mine
    except TimeoutError as exc:
        if not timer.expired():
            raise
        raise DeadlineExceeded(
            f"no answer within the {seconds:g}s deadline",
            operation=operation,
            hint="the platform is slow right now; try again shortly, or ask for less data per call",
        ) from exc
    finally:
        _current.reset(token)


@contextmanager
def deadline_extended(seconds: float) -> Iterator[None]:
    """Move the enclosing deadline ``seconds`` later for the body's limiter waits, retries and
    attempts, without a timer: the caller bounds the body itself (an interrupted inventory sync
    gives writes sent just before the call's deadline a grace, and cuts them off after it).
    Nothing changes outside a deadline scope."""
    outer = _current.get()
    if outer is None:
        yield
        return
    token = _current.set(Deadline(clock=outer.clock, at=outer.at + seconds))
    try:
        yield
    finally:
        _current.reset(token)
