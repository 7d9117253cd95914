"""The client against the fake under injected faults, over real loopback HTTP."""

from __future__ import annotations

from collections.abc import AsyncIterator
from urllib.parse import parse_qs

import httpx
import pytest
from tiktok_helpers import SandboxClock

from commerce_mcp import errors
from commerce_mcp.config import Settings
from commerce_mcp.sandbox.runner import SandboxServers
from commerce_mcp.store.memory import MemoryStore
from commerce_mcp.tiktok.client import TikTokShopClient
from commerce_mcp.tiktok.models import Shop

pytestmark = pytest.mark.anyio

ORDERS = "/order/202309/orders/search"


class Recorder(httpx.AsyncBaseTransport):
    """Real loopback transport that remembers each request's signed query."""

    def __init__(self) -> None:
        self.inner = httpx.AsyncHTTPTransport()
        self.queries: list[dict[str, str]] = []

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        query = parse_qs(request.url.query.decode(), keep_blank_values=True)
        self.queries.append({k: v[0] for k, v in query.items()})
        return await self.inner.handle_async_request(request)

    async def aclose(self) -> None:
        await self.inner.aclose()


@pytest.fixture
def recorder() -> Recorder:
    return Recorder()


@pytest.fixture
async def client(
    sandbox_settings: Settings,
    sandbox_clock: SandboxClock,
    recorder: Recorder,
    sandbox: SandboxServers,
) -> AsyncIterator[TikTokShopClient]:
    sandbox.tiktok_faults.clear()
    tiktok = TikTokShopClient.from_settings(
        sandbox_settings, store=MemoryStore(), clock=sandbox_clock, transport=recorder
    )
    yield tiktok
    sandbox.tiktok_faults.clear()
    await tiktok.aclose()


@pytest.fixture
async def shop(client: TikTokShopClient) -> Shop:
    return await client.resolve_shop("Sandbox Glow Co")


async def test_429_then_success_resigns_with_a_new_timestamp(
    client: TikTokShopClient,
    shop: Shop,
    sandbox: SandboxServers,
    sandbox_clock: SandboxClock,
    recorder: Recorder,
) -> None:
    sandbox.tiktok_faults.inject(
        ORDERS,
        "status",
        1,
        status=429,
        headers={"retry-after": "2"},
        body={
            "code": 36009002,
            "message": "Too many requests.",
            "data": None,
            "request_id": "R429",
        },
    )
    before = len(recorder.queries)
    page = await client.search_orders(shop, page_size=5)
    assert len(page.items) == 5
    first, second = recorder.queries[before:]
    assert sandbox_clock.sleeps
    assert sandbox_clock.sleeps[-1] >= 2.0
    assert int(second["timestamp"]) >= int(first["timestamp"]) + 2
    assert first["sign"] != second["sign"]


@pytest.mark.parametrize("header", ["inf", "1e12", "-5", "Infinity"])
async def test_429_with_an_unusable_retry_after_backs_off_as_usual(
    client: TikTokShopClient,
    shop: Shop,
    sandbox: SandboxServers,
    sandbox_clock: SandboxClock,
    header: str,
) -> None:
    """The header goes through the one bounded parser: `inf` is not "retry after inf s"."""
    sandbox.tiktok_faults.inject(
        ORDERS,
        "status",
        1,
        status=429,
        headers={"retry-after": header},
        body={"code": 36009002, "message": "Too many requests.", "data": None, "request_id": "R"},
    )
    page = await client.search_orders(shop, page_size=2)
    assert len(page.items) == 2
    assert sandbox_clock.sleeps
    assert max(sandbox_clock.sleeps) <= 1.0


@pytest.mark.parametrize(
    ("kind", "options"),
    [
        (
            "status",
            {
                "status": 200,
                "body": {
                    "code": 36009003,
                    "message": "Internal error.",
                    "data": None,
                    "request_id": "R3",
                },
            },
        ),
        ("status", {"status": 503, "body": "<html>Service Unavailable</html>"}),
        ("truncated", {}),
        ("malformed", {}),
        ("drop", {}),
    ],
)
async def test_transient_fault_then_success(
    client: TikTokShopClient,
    shop: Shop,
    sandbox: SandboxServers,
    kind: str,
    options: dict[str, object],
) -> None:
    sandbox.tiktok_faults.inject(ORDERS, kind, 1, **options)  # type: ignore[arg-type]
    page = await client.search_orders(shop, status="AWAITING_SHIPMENT", page_size=3)
    assert len(page.items) == 3
    assert sandbox.tiktok_faults.fired[-1][2] == kind


async def test_persistent_5xx_gives_up_with_attempt_summary(
    client: TikTokShopClient, shop: Shop, sandbox: SandboxServers
) -> None:
    sandbox.tiktok_faults.inject(ORDERS, "status", 10, status=500, body="<html>boom</html>")
    with pytest.raises(errors.AmbiguousError, match="gave up after 3 attempts"):
        await client.search_orders(shop, page_size=3)


async def test_ship_dropped_after_commit_is_not_resent(
    client: TikTokShopClient, shop: Shop, sandbox: SandboxServers
) -> None:
    order = (await client.search_orders(shop, status="AWAITING_SHIPMENT", page_size=1)).items[0]
    provider = (await client.get_shipping_providers(shop, order.delivery_option_id or ""))[0]
    sandbox.tiktok_faults.inject("/fulfillment/*/packages", "commit_then_drop", 1)
    shipped_before = sandbox.tiktok.ship_requests
    with pytest.raises(errors.AmbiguousError):
        await client.mark_package_shipped(shop, order.id, "TRK123456", provider.id)
    assert sandbox.tiktok.ship_requests == shipped_before + 1
    (after,) = await client.get_orders(shop, [order.id])
    assert after.tracking_number == "TRK123456"
