"""list_mcf_orders: a cursor continues the listing it came from, whatever "now" has become."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
from mcp import Client
from tests.support.sandbox import DAYS, plentiful_skus, private_sandbox, recipient, sandbox_services

from commerce_mcp.server import build_server

pytestmark = pytest.mark.anyio


@pytest.fixture
def fakes() -> Iterator[Any]:
    with private_sandbox() as servers:
        yield servers


def _seed(fakes: Any, name: str) -> None:
    address = recipient(name)
    fakes.amazon.create_order({
        "sellerFulfillmentOrderId": name, "displayableOrderId": name,
        "displayableOrderDate": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "displayableOrderComment": "thanks", "shippingSpeedCategory": "Standard",
        "marketplaceId": fakes.amazon.marketplace_id,
        "destinationAddress": {"name": address["name"], "addressLine1": address["address_line1"],
                               "city": address["city"], "stateOrRegion": address["state_or_region"],
                               "postalCode": address["postal_code"], "countryCode": "US"},
        "items": [{"sellerSku": plentiful_skus(fakes)[0], "sellerFulfillmentOrderItemId": "1",
                   "quantity": 1}],
    })  # fmt: skip


async def test_later_pages_keep_the_first_calls_start_date(fakes: Any) -> None:
    old = [f"old-{n}" for n in range(6)]
    new = [f"new-{n}" for n in range(6)]
    for name in old + new:
        _seed(fakes, name)
    for name in old:
        fakes.amazon.shift_order(name, 20 * DAYS)  # last updated weeks ago
    seen: list[str] = []
    async with Client(build_server(sandbox_services(fakes))) as client:
        arguments: dict[str, Any] = {"updated_since_days": 30, "limit": 5}
        for _ in range(4):
            result = await client.call_tool("list_mcf_orders", arguments)
            assert result.is_error is False
            content = result.structured_content or {}
            seen += [o["seller_fulfillment_order_id"] for o in content["orders"]]
            if not content.get("next_cursor"):
                break
            # A narrower window on later calls must not change the listing the cursor continues.
            arguments = {"cursor": content["next_cursor"], "updated_since_days": 1, "limit": 5}
    assert sorted(seen) == sorted(old + new)
