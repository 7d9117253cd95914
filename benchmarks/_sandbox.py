"""The fake platforms for benchmarks: started in this process, reached by real clients over loopback.

Also counts every HTTP response the project's clients receive, by host and status, and keeps the bodies
when asked: the fakes expose no 429 counter, and the token benchmark needs the raw upstream JSON.
"""

from __future__ import annotations

import contextlib
import importlib.util
from collections import Counter
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from typing import Any

import httpx

from benchmarks._stats import Skip


def require(*modules: str) -> None:
    """Raise :class:`Skip` naming the first module that does not exist yet."""
    for module in modules:
        try:
            found = importlib.util.find_spec(module) is not None
        except ModuleNotFoundError:
            found = False
        if not found:
            raise Skip(f"{module} has not landed yet")


@contextlib.contextmanager
def running_sandbox() -> Iterator[Any]:
    """Both fakes on loopback ports for the duration of the block."""
    from commerce_mcp.sandbox.runner import start_sandbox

    handle = start_sandbox()
    try:
        yield handle
    finally:
        handle.stop()


def sandbox_env(handle: Any) -> dict[str, str]:
    """Env vars that point a live-mode server at the running fakes (settings names, upper-cased)."""
    return {key.upper(): str(value) for key, value in handle.settings_overrides().items()}


@dataclass
class HttpTally:
    """Responses seen by any ``httpx.AsyncClient`` while installed: status counts and (opt.) bodies."""

    keep_bodies: bool = False
    statuses: Counter[int] = field(default_factory=Counter)
    bodies: list[tuple[str, bytes]] = field(default_factory=list)

    @property
    def too_many_requests(self) -> int:
        return self.statuses[429]

    @property
    def requests(self) -> int:
        return sum(self.statuses.values())

    def record(self, request: httpx.Request, response: httpx.Response) -> None:
        self.statuses[response.status_code] += 1
        if self.keep_bodies:
            self.bodies.append((request.url.path, response.content))

    def reset(self) -> None:
        self.statuses.clear()
        self.bodies.clear()


@contextlib.asynccontextmanager
async def tally_http(keep_bodies: bool = False) -> AsyncIterator[HttpTally]:
    """Count every response any ``httpx.AsyncClient`` in this process receives inside the block.

    Wrapping ``AsyncClient.send`` (rather than one client's event hooks) sees the clients the project
    builds internally, without reaching into them.
    """
    tally = HttpTally(keep_bodies=keep_bodies)
    original = httpx.AsyncClient.send

    async def counted(self: httpx.AsyncClient, request: httpx.Request, **kwargs: Any) -> Any:
        response = await original(self, request, **kwargs)
        if keep_bodies and not kwargs.get("stream"):
            await response.aread()
        tally.record(request, response)
        return response

    httpx.AsyncClient.send = counted  # type: ignore[method-assign]
    try:
        yield tally
    finally:
        httpx.AsyncClient.send = original  # type: ignore[method-assign]
