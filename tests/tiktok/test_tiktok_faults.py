"""The client against the fake under injected faults, over real loopback HTTP."""

from __future__ import annotations

from collections.abc import AsyncIterator
from urllib.parse import parse_qs

import httpx
import pytest
from pydantic import ValidationError
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


@pytest.mark.parametrize(("status", "code"), [(200, 36009003), (503, 0)])
async def test_a_failure_is_classified_even_when_its_data_fits_the_page(
    client: TikTokShopClient, shop: Shop, sandbox: SandboxServers, status: int, code: int
) -> None:
    """Pages are decoded straight into models only for code 0 below HTTP 400: else the code and
    status decide first, so this transient failure is retried rather than read as an empty page."""
    sandbox.tiktok_faults.inject(
        ORDERS,
        "status",
        1,
        status=status,
        body={"code": code, "message": "Internal error.", "data": {"orders": []}},
    )
    page = await client.search_orders(shop, status="AWAITING_SHIPMENT", page_size=3)
    assert len(page.items) == 3
    assert sandbox.tiktok_faults.fired[-1][2] == "status"


@pytest.mark.parametrize(
    ("body", "ids", "token"),
    [
        ({"code": 0, "data": {"orders": None, "next_page_token": ""}}, [], None),
        ({"code": 0, "data": None}, [], None),
        ({"code": "0", "data": {"orders": [{"id": 7}], "next_page_token": "n"}}, ["7"], "n"),
        ({"code": None, "data": {"orders": [{"id": "8"}], "total_count": "1"}}, ["8"], None),
    ],
)
async def test_an_odd_success_the_page_shape_refuses_is_read_as_a_dict(
    client: TikTokShopClient,
    shop: Shop,
    sandbox: SandboxServers,
    body: dict[str, object],
    ids: list[str],
    token: str | None,
) -> None:
    sandbox.tiktok_faults.inject(ORDERS, "status", 1, status=200, body=body)
    page = await client.search_orders(shop, page_size=3)
    assert [order.id for order in page.items] == ids
    assert page.next_page_token == token


async def test_an_order_without_an_id_fails_validation_like_any_bad_item(
    client: TikTokShopClient, shop: Shop, sandbox: SandboxServers
) -> None:
    sandbox.tiktok_faults.inject(
        "/order/202507/orders", "status", 1, status=200,
        body={"code": 0, "data": {"orders": [{"status": "UNPAID"}]}},
    )  # fmt: skip
    with pytest.raises(ValidationError, match="id"):
        await client.get_orders(shop, ["1"])
