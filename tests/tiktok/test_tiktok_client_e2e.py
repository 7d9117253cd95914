"""Client <-> fake TikTok Shop over real loopback HTTP, for every operation."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from tiktok_helpers import SandboxClock

from commerce_mcp import errors
from commerce_mcp.config import Settings
from commerce_mcp.sandbox.runner import SandboxServers
from commerce_mcp.store.memory import MemoryStore
from commerce_mcp.tiktok.client import TikTokShopClient
from commerce_mcp.tiktok.models import InventoryLevel, Shop, SkuInventoryUpdate

pytestmark = pytest.mark.anyio


@pytest.fixture
async def client(
    sandbox_settings: Settings, sandbox_clock: SandboxClock
) -> AsyncIterator[TikTokShopClient]:
    tiktok = TikTokShopClient.from_settings(
        sandbox_settings, store=MemoryStore(), clock=sandbox_clock
    )
    yield tiktok
    await tiktok.aclose()


@pytest.fixture
async def shop(client: TikTokShopClient) -> Shop:
    return await client.resolve_shop("Sandbox Glow Co")


def _window(days: int = 30) -> tuple[str, str]:
    today = datetime.now(UTC).date()
    return (today - timedelta(days=days)).isoformat(), today.isoformat()


async def test_two_authorized_shops_with_ciphers(client: TikTokShopClient) -> None:
    shops = await client.list_shops()
    assert [s.name for s in shops] == ["Sandbox Glow Co", "Sandbox Outlet"]
    assert all(s.cipher for s in shops)


async def test_resolve_shop_by_id_name_and_default(client: TikTokShopClient) -> None:
    shops = await client.list_shops()
    assert (await client.resolve_shop(shops[1].id)).name == "Sandbox Outlet"
    assert (await client.resolve_shop("sandbox outlet")).id == shops[1].id
    # The sandbox configures TIKTOK_SHOP_ID as the main shop, as a seller would.
    assert (await client.resolve_shop(None)).id == shops[0].id
    with pytest.raises(errors.InvalidRequest, match="no authorized shop matches"):
        await client.resolve_shop("nope")


async def test_no_default_with_two_shops_lists_them(
    sandbox_settings: Settings, sandbox_clock: SandboxClock
) -> None:
    settings = sandbox_settings.model_copy(update={"tiktok_shop_id": None})
    tiktok = TikTokShopClient.from_settings(settings, store=MemoryStore(), clock=sandbox_clock)
    try:
        with pytest.raises(errors.InvalidRequest, match=r"Sandbox Glow Co.*Sandbox Outlet"):
            await tiktok.resolve_shop(None)
    finally:
        await tiktok.aclose()


async def test_search_orders_pages_to_the_end(
    client: TikTokShopClient, shop: Shop, sandbox: Any
) -> None:
    # Other tests in this module may ship an order: count what the fake holds now.
    awaiting = sum(
        order["status"] == "AWAITING_SHIPMENT" for order in sandbox.tiktok.shops[0].orders.values()
    )
    seen: list[str] = []
    token = None
    pages = 0
    while True:
        page = await client.search_orders(
            shop, status="AWAITING_SHIPMENT", page_size=100, page_token=token
        )
        pages += 1
        seen.extend(order.id for order in page.items)
        assert all(order.status == "AWAITING_SHIPMENT" for order in page.items)
        token = page.next_page_token
        if token is None:
            break
    assert pages == -(-awaiting // 100)
    assert len(seen) == len(set(seen)) == page.total_count == awaiting


async def test_multi_shop_orders_are_separate(client: TikTokShopClient) -> None:
    main, outlet = await client.list_shops()
    a = await client.search_orders(main, page_size=5)
    b = await client.search_orders(outlet, page_size=5)
    assert a.total_count is not None
    assert b.total_count is not None
    assert a.total_count > 1000 > b.total_count > 100
    assert not {o.id for o in a.items} & {o.id for o in b.items}


async def test_order_details_batch_past_fifty(client: TikTokShopClient, shop: Shop) -> None:
    page = await client.search_orders(shop, page_size=100)
    ids = [order.id for order in page.items][:75]
    orders = await client.get_orders(shop, [*ids, "999"])
    assert [o.id for o in orders] == ids
    first = orders[0]
    assert first.payment is not None
    assert first.payment.total_amount is not None
    assert first.recipient_address is not None
    assert first.recipient_address.region_code == "US"


async def test_products_search_detail_and_inventory(client: TikTokShopClient, shop: Shop) -> None:
    page = await client.search_products(shop, status="ACTIVATE", page_size=50)
    assert page.total_count is not None
    assert page.total_count > 150
    second = await client.search_products(
        shop, status="ACTIVATE", page_size=50, page_token=page.next_page_token
    )
    assert not {p.id for p in page.items} & {p.id for p in second.items}
    product = await client.get_product(shop, page.items[0].id)
    assert product.skus
    assert product.description
    by_sku = await client.search_products(shop, seller_skus=[product.skus[0].seller_sku or ""])
    assert [p.id for p in by_sku.items] == [product.id]
    inventory = await client.search_inventory(shop, product_ids=[product.id])
    assert inventory[0].product_id == product.id
    assert {s.id for s in inventory[0].skus} == {s.id for s in product.skus}


async def test_inventory_update_changes_stock_and_needs_every_warehouse(
    client: TikTokShopClient, shop: Shop, sandbox: SandboxServers
) -> None:
    world_shop = sandbox.tiktok.shops[0]
    sku_id = next(s for s, levels in world_shop.stock.items() if len(levels) > 1)
    product_id = world_shop.sku_product[sku_id]
    warehouses = list(world_shop.stock[sku_id])
    levels = [InventoryLevel(warehouse_id=w, quantity=7 + i) for i, w in enumerate(warehouses)]
    await client.update_inventory(
        shop, product_id, [SkuInventoryUpdate(sku_id=sku_id, inventory=levels)]
    )
    found = await client.search_inventory(shop, sku_ids=[sku_id])
    sku = found[0].skus[0]
    assert {w.warehouse_id: w.available_quantity for w in sku.warehouse_inventory} == {
        w: 7 + i for i, w in enumerate(warehouses)
    }
    with pytest.raises(errors.InvalidRequest) as caught:
        await client.update_inventory(
            shop, product_id, [SkuInventoryUpdate(sku_id=sku_id, inventory=levels[:1])]
        )
    assert caught.value.code == "12019028"
    assert caught.value.request_id


async def test_inventory_update_per_sku_errors_surface(
    client: TikTokShopClient, shop: Shop, sandbox: SandboxServers
) -> None:
    world_shop = sandbox.tiktok.shops[0]
    sku_id, levels = next(iter(world_shop.stock.items()))
    bogus = [InventoryLevel(warehouse_id="123", quantity=1)]
    with pytest.raises(errors.InvalidRequest, match="warehouse does not exist"):
        await client.update_inventory(
            shop,
            world_shop.sku_product[sku_id],
            [SkuInventoryUpdate(sku_id=sku_id, inventory=bogus)],
        )
    assert world_shop.stock[sku_id] == levels


async def test_a_zero_stock_level_is_refused_before_sending(
    client: TikTokShopClient, shop: Shop, sandbox: SandboxServers
) -> None:
    # Update Inventory documents quantity in [1, 99,999]; the model already bounds the top.
    world_shop = sandbox.tiktok.shops[0]
    sku_id = next(s for s, levels in world_shop.stock.items() if len(levels) > 1)
    before = dict(world_shop.stock[sku_id])
    levels = [InventoryLevel(warehouse_id=w, quantity=5) for w in before]
    levels[-1] = InventoryLevel(warehouse_id=levels[-1].warehouse_id, quantity=0)
    with pytest.raises(errors.InvalidRequest) as caught:
        await client.update_inventory(
            shop,
            world_shop.sku_product[sku_id],
            [SkuInventoryUpdate(sku_id=sku_id, inventory=levels)],
        )
    # No platform code or request id: the client refused it itself, nothing was sent.
    assert caught.value.code is None and caught.value.request_id is None
    assert "1-99,999" in caught.value.message
    assert caught.value.hint and "Seller Center" in caught.value.hint
    assert world_shop.stock[sku_id] == before


@pytest.mark.parametrize("page_size", [1, 9, 10])
async def test_returns_below_the_platform_minimum_get_a_page_of_ten(
    client: TikTokShopClient, shop: Shop, page_size: int
) -> None:
    page = await client.search_returns(shop, page_size=page_size)
    assert len(page.items) == 10
    assert page.next_page_token


async def test_ship_an_order_then_track_it(
    client: TikTokShopClient, shop: Shop, sandbox: SandboxServers
) -> None:
    order = (await client.search_orders(shop, status="AWAITING_SHIPMENT", page_size=1)).items[0]
    warehouses = await client.get_warehouses(shop)
    assert any(w.is_default for w in warehouses)
    options = await client.get_delivery_options(shop, order.warehouse_id or warehouses[0].id)
    providers = await client.get_shipping_providers(shop, options[0].id)
    names = {p.name for p in providers}
    assert {"USPS", "UPS", "FedEx", "DHL eCommerce", "Amazon Shipping", "OnTrac"} <= names
    ups = next(p for p in providers if p.name == "UPS")
    shipped = await client.mark_package_shipped(shop, order.id, "1Z999AA10123456784", ups.id)
    assert shipped.package_id
    assert shipped.order_id == order.id
    (after,) = await client.get_orders(shop, [order.id])
    assert after.status == "AWAITING_COLLECTION"
    assert after.tracking_number == "1Z999AA10123456784"
    with pytest.raises(errors.AlreadyShipped, match="already shipped"):
        await client.mark_package_shipped(shop, order.id, "1Z999AA10123456784", ups.id)
    sandbox.advance(86_400)
    events = await client.get_order_tracking(shop, order.id)
    assert len(events) >= 2
    (moved,) = await client.get_orders(shop, [order.id])
    assert moved.status == "IN_TRANSIT"


async def test_returns_and_cancellations_page(client: TikTokShopClient, shop: Shop) -> None:
    returns = await client.search_returns(shop, page_size=10)
    assert returns.items
    assert returns.items[0].return_id
    assert returns.total_count == 40
    rest = await client.search_returns(shop, page_size=50, page_token=returns.next_page_token)
    assert rest.next_page_token is None
    assert len(rest.items) == 30
    cancels = await client.search_cancellations(
        shop, cancel_status=["CANCELLATION_REQUEST_PENDING"], page_size=50
    )
    assert cancels.items
    assert all(c.cancel_status == "CANCELLATION_REQUEST_PENDING" for c in cancels.items)


async def test_analytics_operations(client: TikTokShopClient, shop: Shop) -> None:
    start, end = _window()
    report = await client.shop_performance(shop, start, end, granularity="1D", with_comparison=True)
    latest = date.fromisoformat(report.latest_available_date or "")
    expected_days = (
        min(date.fromisoformat(end), latest + timedelta(days=1)) - date.fromisoformat(start)
    ).days
    assert len(report.performance.intervals) == expected_days
    assert report.performance.comparison_intervals
    assert report.performance.intervals[0].gmv is not None
    products = await client.product_performance_list(shop, start, end, page_size=5)
    assert len(products.items) == 5
    assert products.next_page_token
    detail = await client.product_performance(shop, products.items[0].id, start, end)
    assert detail.performance.intervals[0].units_sold is not None
    skus = await client.sku_performance_list(shop, start, end, page_size=5)
    assert skus.items
    assert skus.items[0].product_id
    wide_start, _ = _window(200)
    videos = await client.video_performance_list(shop, wide_start, end, page_size=100)
    assert videos.total_count == 40
    assert videos.next_page_token is None
    overview = await client.video_performance_overview(shop, start, end)
    assert overview.performance.intervals
    video = videos.items[0]
    one = await client.video_performance_detail(shop, video.id, start, end)
    assert one.engagement_data is not None
    featured = await client.video_performance_products(shop, video.id, start, end)
    assert {p.id for p in featured.items} == {p.id for p in video.products}
    lives = await client.live_performance_list(shop, wide_start, end, page_size=100)
    assert lives.items
    assert lives.items[0].sales_performance is not None
    assert (await client.live_performance_overview(shop, start, end)).performance.intervals


async def test_untrusted_text_is_passed_through_verbatim(
    client: TikTokShopClient, shop: Shop
) -> None:
    found = []
    token = None
    while True:
        page = await client.search_orders(shop, page_size=100, page_token=token)
        found += [o.buyer_message for o in page.items if o.buyer_message]
        token = page.next_page_token
        if token is None:
            break
    assert any("IGNORE PREVIOUS INSTRUCTIONS" in m for m in found)
    assert any("\u202e" in m for m in found)
