"""Helpers shared by the Amazon end-to-end tests."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from commerce_mcp.amazon.models import CreateFulfillmentOrderRequest
from commerce_mcp.sandbox.runner import SandboxServers

ADDRESS = {"name": "Ada Buyer", "address_line1": "1 Main St", "city": "Seattle",
           "state_or_region": "WA", "postal_code": "98101", "country_code": "US"}  # fmt: skip


def plentiful(sandbox: SandboxServers, quantity: int = 2) -> str:
    world = sandbox.amazon
    return next(s for s in sorted(world._stock) if world.fulfillable(s) >= quantity + 5)


def short(sandbox: SandboxServers) -> str:
    world = sandbox.amazon
    return next(s for s in sorted(world._stock) if world.fulfillable(s) <= 1)


def order_request(
    order_id: str, sku: str, quantity: int = 2, **extra: Any
) -> CreateFulfillmentOrderRequest:
    return CreateFulfillmentOrderRequest.model_validate({
        "seller_fulfillment_order_id": order_id,
        "displayable_order_id": order_id,
        "displayable_order_date": datetime(2026, 11, 1, tzinfo=UTC),
        "displayable_order_comment": "Thank you for shopping with us",
        "shipping_speed_category": "Standard",
        "destination_address": ADDRESS,
        "items": [{"seller_sku": sku, "seller_fulfillment_order_item_id": "1", "quantity": quantity}],
        **extra,
    })  # fmt: skip
