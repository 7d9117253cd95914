"""Helpers shared by the TikTok client tests."""

from __future__ import annotations

import asyncio

from tests.support.reference import REFERENCE

from commerce_mcp.sandbox.runner import SandboxServers

TIKTOK_REFERENCE = REFERENCE / "tiktok-shop"


class SandboxClock:
    """The client's clock tied to the sandbox's simulated time: sleeping advances it instantly.

    Backoff then costs no real time, and the timestamps the client signs stay inside the fake
    server's window however long the client "waited".
    """

    def __init__(self, servers: SandboxServers) -> None:
        self._servers = servers
        self.sleeps: list[float] = []

    def monotonic(self) -> float:
        return self._servers.clock.now()

    def wall(self) -> float:
        return self._servers.clock.now()

    async def sleep(self, seconds: float) -> None:
        if seconds > 0:
            self.sleeps.append(seconds)
            self._servers.advance(seconds)
        await asyncio.sleep(0)
