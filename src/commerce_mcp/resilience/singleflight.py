"""Single-flight calls and a token provider built on them: many concurrent callers, one refresh.

The shared work runs in its own task and callers await it through ``asyncio.shield``, so a caller
that
is cancelled (the MCP client gave up) does not cancel the refresh everyone else is waiting for.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Generic, TypeVar

from commerce_mcp.resilience.clock import Clock

log = logging.getLogger(__name__)

T = TypeVar("T")


class SingleFlight(Generic[T]):
    """At most one in-flight call per key; concurrent callers share its result or its error."""

    def __init__(self) -> None:
        self._inflight: dict[str, asyncio.Task[T]] = {}

    def in_flight(self, key: str) -> bool:
        """True while a call for ``key`` is running."""
        return key in self._inflight

    async def run(self, key: str, factory: Callable[[], Awaitable[T]]) -> T:
        """Join the call running for ``key``, or start ``factory()`` as that call."""
        task = self._inflight.get(key)
        if task is None:
            task = asyncio.ensure_future(self._execute(key, factory))
            task.add_done_callback(_consume_exception)
            self._inflight[key] = task
        return await asyncio.shield(task)

    async def _execute(self, key: str, factory: Callable[[], Awaitable[T]]) -> T:
        try:
            return await factory()
        finally:
            # Forget the call as it finishes, so the next caller (after a failure too) starts
            # afresh.
            if self._inflight.get(key) is asyncio.current_task():
                del self._inflight[key]


def _consume_exception(task: asyncio.Future[T]) -> None:
    # Every waiter may have been cancelled; mark the error as seen so asyncio does not log it.
    if not task.cancelled():
        task.exception()


@dataclass(frozen=True)
class AccessToken:
    """A bearer token and its expiry (wall-clock seconds); the value never appears in a repr."""

    value: str = field(repr=False)
    expires_at: float


class TokenProvider:
    """Caches an access token and refreshes it ahead of expiry, one refresh at a time.

    ``fetch`` obtains a new token (and persists any rotated refresh token itself). On a platform
    answer
    saying the token expired, call :meth:`invalidate` with the rejected value, then :meth:`get`.
    """

    def __init__(
        self,
        fetch: Callable[[], Awaitable[AccessToken]],
        clock: Clock,
        *,
        refresh_ahead: float = 300.0,
        initial: AccessToken | None = None,
    ) -> None:
        self._fetch = fetch
        self._clock = clock
        self._refresh_ahead = refresh_ahead
        self._token = initial
        self._flight: SingleFlight[str] = SingleFlight()
        self.refreshes = 0

    def _fresh(self, token: AccessToken | None) -> bool:
        return token is not None and self._clock.wall() < token.expires_at - self._refresh_ahead

    async def get(self) -> str:
        """A token good for at least ``refresh_ahead`` more seconds, refreshing if needed."""
        token = self._token
        if token is not None and self._fresh(token):
            return token.value
        return await self.refresh()

    def invalidate(self, value: str) -> None:
        """Drop the cached token if it is still ``value`` (a stale 401 must not drop a new one)."""
        if self._token is not None and self._token.value == value:
            self._token = None

    async def refresh(self) -> str:
        """Fetch a new token now, joining a refresh already in flight."""
        return await self._flight.run("token", self._refresh_once)

    async def _refresh_once(self) -> str:
        self.refreshes += 1
        log.debug("token provider: refreshing access token")
        token = await self._fetch()
        self._token = token
        return token.value


#: Runs ``refresh`` in exactly one process among those sharing the state store, after ``read``
#: found nothing usable; everyone else gets what ``read`` returns once it has (see
#: :class:`commerce_mcp.resilience.redis_lock.ReplicaSingleFlight`). The TikTok and LWA token
#: custodians take one; None means this process is alone.
CrossProcessFlight = Callable[
    [str, Callable[[], Awaitable[AccessToken | None]], Callable[[], Awaitable[AccessToken]]],
    Awaitable[AccessToken],
]
