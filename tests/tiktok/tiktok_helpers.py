"""Helpers shared by the TikTok client tests."""

from __future__ import annotations

import asyncio

import httpx
from tests.support.reference import REFERENCE

from commerce_mcp.resilience.budget import RetryBudget
from commerce_mcp.resilience.clock import Clock
from commerce_mcp.resilience.limiter import RateLimiter, RatePlan
from commerce_mcp.sandbox.runner import SandboxServers
from commerce_mcp.store.memory import MemoryStore
from commerce_mcp.store.tokens import TokenStore
from commerce_mcp.tiktok.auth import AuthClient, TokenManager
from commerce_mcp.tiktok.client import TikTokShopClient

TIKTOK_REFERENCE = REFERENCE / "tiktok-shop"
#: Where :func:`mocked_client` sends its requests (routes mocked with respx).
MOCKED_BASE = "https://api.tiktok.test"


def mocked_client(clock: Clock) -> TikTokShopClient:
    """A client on :data:`MOCKED_BASE` with a valid token and limits that never hold a call back."""
    http = httpx.AsyncClient(base_url=MOCKED_BASE)
    tokens = TokenManager(
        AuthClient(http, "https://auth.test", "key", "secret"),
        TokenStore(MemoryStore()),
        "key",
        clock,
        env_access_token="AT",
        env_refresh_token="RT",
    )
    return TikTokShopClient(
        http=http,
        app_key="key",
        app_secret="secret",
        tokens=tokens,
        clock=clock,
        limiter=RateLimiter(clock, {}, RatePlan(1000, 1000), start_tokens=1000, send_jitter=0),
        budget=RetryBudget(),
    )


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
