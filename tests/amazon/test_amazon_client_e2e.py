"""Every client operation end to end against the fake LWA + SP-API over loopback."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime

import pytest
from amazon_support import ADDRESS, order_request, plentiful, short
from tests.support.sandbox import private_sandbox

from commerce_mcp import errors
from commerce_mcp.amazon.client import AmazonMcfClient
from commerce_mcp.amazon.models import FulfillmentPreviewRequest
from commerce_mcp.config import Settings
from commerce_mcp.resilience.testing import VirtualClock
from commerce_mcp.sandbox.runner import SandboxServers, start_sandbox
from commerce_mcp.store.memory import MemoryStore


@pytest.fixture(scope="module")
def sandbox() -> Iterator[SandboxServers]:
    servers = start_sandbox()
    # The client waits in virtual time, the fake's buckets refill in real time: the usage plans are
    # pinned down in tests/sandbox/test_amazon_server.py instead.
    servers.amazon.enforce_rate_limits = False
    yield servers
    servers.stop()


@pytest.fixture
async def client(sandbox: SandboxServers) -> AsyncIterator[AmazonMcfClient]:
    sandbox.amazon_faults.clear()
    settings = Settings(**sandbox.settings_overrides())
    amazon = AmazonMcfClient.from_settings(settings, store=MemoryStore(), clock=VirtualClock())
    yield amazon
    await amazon.aclose()


@pytest.mark.anyio
async def test_preview_reports_fees_and_dates_per_speed(
    client: AmazonMcfClient, sandbox: SandboxServers
) -> None:
    sku = plentiful(sandbox)
    result = await client.get_fulfillment_preview(FulfillmentPreviewRequest.model_validate({
        "address": ADDRESS,
        "items": [{"seller_sku": sku, "seller_fulfillment_order_item_id": "1", "quantity": 1}],
        "shipping_speed_categories": ["Standard", "Priority"],
    }))  # fmt: skip
    speeds = [p.shipping_speed_category for p in result.fulfillment_previews]
    assert speeds == ["Standard", "Priority"]
    assert all(p.is_fulfillable and p.total_fees > 0 for p in result.fulfillment_previews)
    assert result.fulfillment_previews[0].fulfillment_preview_shipments[0].latest_arrival_date


@pytest.mark.anyio
async def test_preview_of_short_stock_is_unfulfillable(
    client: AmazonMcfClient, sandbox: SandboxServers
) -> None:
    result = await client.get_fulfillment_preview(FulfillmentPreviewRequest.model_validate({
        "address": ADDRESS,
        "items": [{"seller_sku": short(sandbox), "seller_fulfillment_order_item_id": "1",
                   "quantity": 5}],
    }))  # fmt: skip
    assert not any(p.is_fulfillable for p in result.fulfillment_previews)
    assert result.fulfillment_previews[0].unfulfillable_preview_items


@pytest.mark.anyio
async def test_order_lifecycle_create_get_list_track(
    client: AmazonMcfClient, sandbox: SandboxServers
) -> None:
    sku = plentiful(sandbox)
    before = sandbox.amazon.fulfillable(sku)
    outcome = await client.create_fulfillment_order(order_request("e2e-lifecycle-1", sku))
    assert outcome.seller_fulfillment_order_id == "e2e-lifecycle-1"
    assert not outcome.reconciled
    assert sandbox.amazon.fulfillable(sku) == before - 2

    detail = await client.get_fulfillment_order("e2e-lifecycle-1")
    assert detail.fulfillment_order.fulfillment_order_status == "Received"
    assert detail.packages == []

    page = await client.list_fulfillment_orders(query_start_date=datetime(2020, 1, 1, tzinfo=UTC))
    assert "e2e-lifecycle-1" in [o.seller_fulfillment_order_id for o in page.fulfillment_orders]

    sandbox.amazon.shift_order("e2e-lifecycle-1", 2 * 86400)
    detail = await client.get_fulfillment_order("e2e-lifecycle-1")
    assert detail.fulfillment_order.fulfillment_order_status == "Complete"
    package = detail.packages[0]
    assert package.carrier_code in {"UPS", "USPS", "AMZN_US", "FEDEX"}
    assert package.tracking_number
    tracking = await client.get_package_tracking(package.package_number)
    assert tracking.tracking_number == package.tracking_number
    assert tracking.tracking_events


@pytest.mark.anyio
async def test_fill_or_kill_with_short_stock_is_unfulfillable(
    client: AmazonMcfClient, sandbox: SandboxServers
) -> None:
    sku = short(sandbox)
    before = sandbox.amazon.fulfillable(sku)
    await client.create_fulfillment_order(
        order_request("e2e-short-1", sku, quantity=5, fulfillment_policy="FillOrKill")
    )
    detail = await client.get_fulfillment_order("e2e-short-1")
    assert detail.fulfillment_order.fulfillment_order_status == "Unfulfillable"
    assert sandbox.amazon.fulfillable(sku) == before


@pytest.mark.anyio
async def test_cancel_restores_stock_and_late_cancel_is_refused(
    client: AmazonMcfClient, sandbox: SandboxServers
) -> None:
    sku = plentiful(sandbox)
    before = sandbox.amazon.fulfillable(sku)
    await client.create_fulfillment_order(order_request("e2e-cancel-1", sku))
    await client.cancel_fulfillment_order("e2e-cancel-1")
    assert sandbox.amazon.fulfillable(sku) == before
    detail = await client.get_fulfillment_order("e2e-cancel-1")
    assert detail.fulfillment_order.fulfillment_order_status == "Cancelled"

    await client.create_fulfillment_order(order_request("e2e-cancel-2", sku))
    sandbox.amazon.shift_order("e2e-cancel-2", 3600)
    with pytest.raises(errors.InvalidRequest, match="Processing") as raised:
        await client.cancel_fulfillment_order("e2e-cancel-2")
    assert raised.value.request_id


@pytest.mark.anyio
async def test_unknown_order_is_not_found(client: AmazonMcfClient) -> None:
    with pytest.raises(errors.NotFound) as raised:
        await client.get_fulfillment_order("no-such-order")
    assert raised.value.platform == "amazon"
    assert raised.value.request_id


@pytest.mark.anyio
async def test_unknown_sku_passes_amazons_message_through_without_retry(
    client: AmazonMcfClient, sandbox: SandboxServers
) -> None:
    calls = sandbox.amazon.create_calls
    with pytest.raises(errors.InvalidRequest, match="SellerSKU") as raised:
        await client.create_fulfillment_order(order_request("e2e-badsku-1", "NO-SUCH-SKU"))
    assert raised.value.request_id
    assert raised.value.http_status == 400
    assert sandbox.amazon.create_calls == calls + 1


@pytest.mark.anyio
async def test_inventory_pages_and_batches(
    client: AmazonMcfClient, sandbox: SandboxServers
) -> None:
    everything = [s async for s in client.iter_all_inventory()]
    assert len(everything) == len(sandbox.amazon._stock)
    assert all(s.inventory_details is not None for s in everything)
    first = await client.get_inventory_summaries()
    assert first.next_token
    skus = sorted(sandbox.amazon._stock)[:120]
    mark = len(sandbox.amazon_traffic)
    batched = await client.get_inventory_summaries(seller_skus=skus)
    assert [s.seller_sku for s in batched.inventory_summaries] == skus
    sent = [r.query["sellerSkus"][0].split(",") for r in sandbox.amazon_traffic.since(mark)]
    assert [len(batch) for batch in sent] == [50, 50, 20]  # Amazon's limit per call


@pytest.mark.anyio
async def test_skus_with_a_start_time_are_refused_before_sending(
    client: AmazonMcfClient, sandbox: SandboxServers
) -> None:
    """Amazon ignores sellerSkus when startDateTime is given: that question is never sent."""
    mark = len(sandbox.amazon_traffic)
    with pytest.raises(errors.InvalidRequest, match="ignore sellerSkus"):
        await client.get_inventory_summaries(
            seller_skus=["A"], start_date_time=datetime(2026, 1, 1, tzinfo=UTC)
        )
    assert sandbox.amazon_traffic.since(mark) == []


@pytest.mark.anyio
async def test_expired_inventory_token_is_reported(
    client: AmazonMcfClient, sandbox: SandboxServers
) -> None:
    first = await client.get_inventory_summaries()
    sandbox.advance(31)
    with pytest.raises(errors.InvalidRequest, match="expired"):
        await client.get_inventory_summaries(next_token=first.next_token)


@pytest.mark.anyio
async def test_listing_pages_through_a_fake_that_refuses_extra_parameters() -> None:
    with private_sandbox() as fakes:
        fakes.amazon.enforce_rate_limits = False
        sku = plentiful(fakes)
        count = fakes.amazon.LIST_PAGE_SIZE + 3
        for n in range(count):
            body = order_request(f"page-{n:02d}", sku, quantity=1).to_wire()
            fakes.amazon.create_order({**body, "marketplaceId": fakes.amazon.marketplace_id})
        settings = Settings(**fakes.settings_overrides())
        amazon = AmazonMcfClient.from_settings(settings, store=MemoryStore(), clock=VirtualClock())
        try:
            start = datetime(2020, 1, 1, tzinfo=UTC)
            first = await amazon.list_fulfillment_orders(query_start_date=start)
            second = await amazon.list_fulfillment_orders(
                query_start_date=first.query_start_date, next_token=first.next_token
            )
        finally:
            await amazon.aclose()
    ids = [o.seller_fulfillment_order_id for o in first.fulfillment_orders]
    ids += [o.seller_fulfillment_order_id for o in second.fulfillment_orders]
    assert sorted(ids) == [f"page-{n:02d}" for n in range(count)]
    assert second.next_token is None
