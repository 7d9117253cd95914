"""Amazon's ``Retry-After`` goes through the one bounded parser and the retry loop honours it
(respx for Amazon, virtual clock: no real sleeps)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest
import respx

from commerce_mcp import errors
from commerce_mcp.amazon.client import AmazonMcfClient
from commerce_mcp.resilience.backoff import RETRY_AFTER_CAP
from commerce_mcp.resilience.limiter import SPAPI_PLANS, RateLimiter, RatePlan
from commerce_mcp.resilience.testing import VirtualClock
from commerce_mcp.store.memory import MemoryStore

pytestmark = pytest.mark.anyio

BASE = "https://sp.example.test"
LWA = "https://lwa.example.test/auth/o2/token"
INVENTORY = f"{BASE}/fba/inventory/v1/summaries"
PAGE = {"payload": {"inventorySummaries": [{"sellerSku": "SKU-1"}]}}
THROTTLED = {"errors": [{"code": "QuotaExceeded", "message": "You exceeded your quota"}]}
#: Twelve seconds after the virtual clock's wall start (2026-01-01T00:00:00Z).
IN_TWELVE_SECONDS = "Thu, 01 Jan 2026 00:00:12 GMT"


@pytest.fixture
async def amazon() -> AsyncIterator[tuple[AmazonMcfClient, VirtualClock]]:
    clock = VirtualClock()
    client = AmazonMcfClient(
        client_id="amzn1.application-oa2-client.test",
        client_secret="secret-value-123",
        refresh_token="Atzr|refresh-value",
        seller_id="A1TEST",
        marketplace_id="ATVPDKIKX0DER",
        region="na",
        endpoint=BASE,
        lwa_token_url=LWA,
        store=MemoryStore(),
        clock=clock,
        limiter=RateLimiter(
            clock, SPAPI_PLANS, RatePlan(rate=1.0, burst=5), start_tokens=5, send_jitter=0
        ),
    )
    yield client, clock
    await client.aclose()


def _mock(retry_after: str) -> respx.Route:
    respx.post(LWA).mock(
        return_value=httpx.Response(200, json={"access_token": "Atza|t", "expires_in": 3600})
    )
    return respx.get(INVENTORY).mock(
        side_effect=[
            httpx.Response(429, json=THROTTLED, headers={"retry-after": retry_after}),
            httpx.Response(200, json=PAGE),
        ]
    )


@pytest.mark.parametrize(("header", "wait"), [("7", 7.0), (IN_TWELVE_SECONDS, 12.0)])
@respx.mock
async def test_a_usable_retry_after_is_waited_in_full(
    amazon: tuple[AmazonMcfClient, VirtualClock], header: str, wait: float
) -> None:
    client, clock = amazon
    route = _mock(header)
    page = await client.get_inventory_summaries()
    assert [s.seller_sku for s in page.inventory_summaries] == ["SKU-1"]
    assert route.call_count == 2
    assert clock.sleeps and max(clock.sleeps) >= wait


@pytest.mark.parametrize("header", ["inf", "1e12", "-1", "-1e12", "nan", "soon", "1.5", ""])
@respx.mock
async def test_an_unusable_retry_after_is_ignored_for_the_usual_backoff(
    amazon: tuple[AmazonMcfClient, VirtualClock], header: str
) -> None:
    client, clock = amazon
    route = _mock(header)
    await client.get_inventory_summaries()
    assert route.call_count == 2
    # The throttling backoff's first retry is jittered within one second (base 1 s).
    assert clock.sleeps and max(clock.sleeps) <= 1.0


@respx.mock
async def test_a_retry_after_past_the_deadline_fails_fast_with_the_bounded_hint(
    amazon: tuple[AmazonMcfClient, VirtualClock],
) -> None:
    client, clock = amazon
    route = _mock("99999")
    with pytest.raises(errors.RateLimited) as caught:
        await client.get_inventory_summaries()
    assert caught.value.retry_after == RETRY_AFTER_CAP
    assert route.call_count == 1
    assert clock.sleeps == []
    assert f"retry after {RETRY_AFTER_CAP:.1f}s" in caught.value.describe()


@respx.mock
async def test_the_token_endpoint_retry_after_is_parsed_too(
    amazon: tuple[AmazonMcfClient, VirtualClock],
) -> None:
    client, clock = amazon
    respx.post(LWA).mock(
        side_effect=[
            httpx.Response(429, json={"error": "throttled"}, headers={"retry-after": "4"}),
            httpx.Response(200, json={"access_token": "Atza|t", "expires_in": 3600}),
        ]
    )
    respx.get(INVENTORY).mock(return_value=httpx.Response(200, json=PAGE))
    await client.get_inventory_summaries()
    assert clock.sleeps and max(clock.sleeps) >= 4.0
