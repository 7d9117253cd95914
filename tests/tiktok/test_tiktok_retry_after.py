"""TikTok's ``Retry-After`` goes through the one bounded parser: ``inf`` and ``1e12`` no longer
become "retry after inf s" (respx for TikTok, virtual clock: no real sleeps)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest
import respx
from tests.tiktok.tiktok_helpers import MOCKED_BASE, mocked_client

from commerce_mcp import errors
from commerce_mcp.resilience.backoff import RETRY_AFTER_CAP
from commerce_mcp.resilience.testing import VirtualClock
from commerce_mcp.tiktok.client import TikTokShopClient
from commerce_mcp.tiktok.models import Shop

pytestmark = pytest.mark.anyio

BASE = MOCKED_BASE
SHOP = Shop(id="1", name="S", cipher="ROW_c")
SEARCH = f"{BASE}/order/202309/orders/search"
THROTTLED = {"code": 36009002, "message": "Too many requests.", "data": None, "request_id": "R"}
EMPTY = {"code": 0, "message": "Success", "data": {"orders": []}, "request_id": "R2"}
#: Twelve seconds after the virtual clock's wall start (2026-01-01T00:00:00Z).
IN_TWELVE_SECONDS = "Thu, 01 Jan 2026 00:00:12 GMT"


@pytest.fixture
async def tiktok() -> AsyncIterator[tuple[TikTokShopClient, VirtualClock]]:
    clock = VirtualClock()
    client = mocked_client(clock)
    yield client, clock
    await client.aclose()


def _mock(retry_after: str) -> respx.Route:
    return respx.post(SEARCH).mock(
        side_effect=[
            httpx.Response(429, json=THROTTLED, headers={"retry-after": retry_after}),
            httpx.Response(200, json=EMPTY),
        ]
    )


@pytest.mark.parametrize(("header", "wait"), [("7", 7.0), (IN_TWELVE_SECONDS, 12.0)])
@respx.mock
async def test_a_usable_retry_after_is_waited_in_full(
    tiktok: tuple[TikTokShopClient, VirtualClock], header: str, wait: float
) -> None:
    client, clock = tiktok
    route = _mock(header)
    await client.search_orders(SHOP)
    assert route.call_count == 2
    assert clock.sleeps and max(clock.sleeps) >= wait


@pytest.mark.parametrize("header", ["inf", "1e12", "-1", "-1e12", "nan", "soon", "1.5", ""])
@respx.mock
async def test_an_unusable_retry_after_is_ignored_for_the_usual_backoff(
    tiktok: tuple[TikTokShopClient, VirtualClock], header: str
) -> None:
    client, clock = tiktok
    route = _mock(header)
    await client.search_orders(SHOP)
    assert route.call_count == 2
    assert clock.sleeps and max(clock.sleeps) <= 1.0


@respx.mock
async def test_a_retry_after_past_the_deadline_fails_fast_with_the_bounded_hint(
    tiktok: tuple[TikTokShopClient, VirtualClock],
) -> None:
    client, clock = tiktok
    route = _mock("99999")
    with pytest.raises(errors.RateLimited) as caught:
        await client.search_orders(SHOP)
    assert caught.value.retry_after == RETRY_AFTER_CAP
    assert route.call_count == 1
    assert clock.sleeps == []
