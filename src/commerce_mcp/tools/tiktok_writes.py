"""TikTok Shop writes: set stock, mark an order shipped. Each previews first and needs a confirmation."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any, Literal

from mcp.server.mcpserver import Context, Elicit, Resolve
from pydantic import Field, field_validator

from commerce_mcp.errors import InvalidRequest
from commerce_mcp.services import Services
from commerce_mcp.tiktok.models import Order, ShippedPackage
from commerce_mcp.tiktok.shipping import pick_provider, shipping_providers
from commerce_mcp.tiktok.stock import StockChange, apply_stock_changes, plan_stock_changes
from commerce_mcp.tools._common import Reply, ToolInput, ToolResult
from commerce_mcp.tools.args import ConfirmationToken, ShopArg
from commerce_mcp.tools.confirmation import NOT_ASKED, Approval, WriteGate, ask
from commerce_mcp.tools.inputs import require_plain
from commerce_mcp.tools.registry import ToolSpec, write_tool
from commerce_mcp.tools.text import clean_text
from commerce_mcp.tools.tiktok import (
    NumericId,
    client_and_shop,
    one_order,
)


class StockSet(ToolInput):
    """One new stock level."""

    seller_sku: Annotated[str, Field(min_length=1, max_length=60, description="Seller SKU")]
    quantity: Annotated[
        int,
        Field(
            ge=1,
            le=99_999,
            description="New available quantity (TikTok cannot set 0: deactivate the SKU in"
            " Seller Center)",
        ),
    ]
    warehouse: Annotated[
        str | None,
        Field(
            max_length=100,
            description="Warehouse id or name; needed when stocked in several",
        ),
    ] = None

    @field_validator("seller_sku", "warehouse")
    @classmethod
    def _plain(cls, value: str | None) -> str | None:
        return require_plain(value)


TrackingNumber = Annotated[
    str,
    Field(
        max_length=40,
        pattern=r"^[A-Za-z0-9-]{4,40}$",
        description="Carrier tracking number",
    ),
]
Provider = Annotated[
    str,
    Field(
        min_length=1,
        max_length=60,
        description="Carrier (e.g. USPS) or TikTok provider id",
    ),
]


class InventoryWriteResult(ToolResult):
    shop: str
    status: Literal["preview", "updated", "declined"]
    message: str
    changes: list[StockChange]
    confirmation_token: str | None = None
    token_expires_in_seconds: int | None = None


class ShipResult(ToolResult):
    shop: str
    status: Literal["preview", "shipped", "declined"]
    message: str
    order_id: str
    shipping_provider: str
    shipping_provider_id: str
    tracking_number: str
    package_id: str | None = None
    confirmation_token: str | None = None
    token_expires_in_seconds: int | None = None


def _render_changes(changes: list[StockChange]) -> str:
    return "\n".join(
        f"  {c.seller_sku} @ {c.warehouse_name or c.warehouse_id}: {c.current} -> {c.new}"
        for c in changes
    )


# update_tiktok_inventory ---------------------------------------------------------------------------


async def ask_stock(
    ctx: Context[Any, Any],
    items: Annotated[list[StockSet], Field(min_length=1, max_length=50)],
    shop: ShopArg = None,
) -> Approval | Elicit[Approval]:
    wanted = "; ".join(
        f"{i.seller_sku} to {i.quantity}" + (f" at {i.warehouse}" if i.warehouse else "")
        for i in items
    )
    return ask(ctx, f"Set TikTok Shop stock in {shop or 'the shop'}: {wanted}?")


async def update_tiktok_inventory(
    services: Services,
    gate: WriteGate,
    items: Annotated[
        list[StockSet],
        Field(min_length=1, max_length=50, description="New absolute stock per seller SKU"),
    ],
    shop: ShopArg = None,
    confirmation_token: ConfirmationToken = None,
    approval: Annotated[Approval, Resolve(ask_stock)] = NOT_ASKED,
) -> Reply[InventoryWriteResult]:
    """Set the available stock of TikTok Shop SKUs in a warehouse (absolute, not a delta).

    More than you hold risks overselling: check get_inventory. Call without
    confirmation_token for a preview and a 5-minute token, then again with identical
    arguments and the token.
    """
    client, the_shop = await client_and_shop(services, shop)
    changes = await plan_stock_changes(client, the_shop, items, lambda n: clean_text(n, 60))

    async def preview(issue: Callable[[], str]) -> Reply[InventoryWriteResult]:
        token = issue()
        result = InventoryWriteResult(
            shop=the_shop.name,
            status="preview",
            message="Nothing changed yet. Call update_tiktok_inventory again with the same"
            " arguments and this confirmation_token to apply.",
            changes=changes,
            confirmation_token=token,
            token_expires_in_seconds=gate.ttl,
        )
        text = (
            f"PREVIEW ONLY, stock in {the_shop.name} not changed:\n{_render_changes(changes)}"
            f"\nTo apply, call update_tiktok_inventory with the same arguments and"
            f" confirmation_token={token}"
        )
        return Reply(result, text)

    async def execute() -> Reply[InventoryWriteResult]:
        await apply_stock_changes(client, the_shop, changes)
        result = InventoryWriteResult(
            shop=the_shop.name,
            status="updated",
            message=f"Stock updated for {len(changes)} SKU/warehouse pair(s).",
            changes=changes,
        )
        return Reply(result, f"UPDATED in {the_shop.name}:\n{_render_changes(changes)}")

    declined = InventoryWriteResult(
        shop=the_shop.name,
        status="declined",
        message="The person did not approve; no stock was changed.",
        changes=changes,
    )
    return await gate.run(
        bound={"shop": the_shop.id, "items": [i.model_dump() for i in items]},
        approval=approval,
        token=confirmation_token,
        preview=preview,
        declined=lambda: Reply(declined, "Not approved; no stock changed."),
        execute=execute,
    )


# ship_tiktok_order ---------------------------------------------------------------------------------


async def ask_ship(
    ctx: Context[Any, Any],
    order_id: NumericId,
    tracking_number: TrackingNumber,
    shipping_provider: Provider,
    shop: ShopArg = None,
) -> Approval | Elicit[Approval]:
    return ask(
        ctx, f"Mark TikTok order {order_id} shipped with {shipping_provider} {tracking_number}?"
    )


async def ship_tiktok_order(
    services: Services,
    gate: WriteGate,
    order_id: NumericId,
    tracking_number: TrackingNumber,
    shipping_provider: Provider,
    shop: ShopArg = None,
    confirmation_token: ConfirmationToken = None,
    approval: Annotated[Approval, Resolve(ask_ship)] = NOT_ASKED,
) -> Reply[ShipResult]:
    """Mark a TikTok order you shipped yourself as shipped, with carrier and tracking number.

    Buyer notified, no undo; from FBA use fulfill_tiktok_order_with_mcf. Call without
    confirmation_token for a preview (a wrong carrier lists valid ones) and a token, then
    again with identical arguments and the token.
    """
    client, the_shop = await client_and_shop(services, shop)
    order = await one_order(client, the_shop, order_id)
    _check_shippable(order)
    providers = await shipping_providers(client, the_shop, order, whole_warehouse=False)
    provider = pick_provider(providers, shipping_provider)
    fields = {
        "shop": the_shop.name,
        "order_id": order_id,
        "shipping_provider": provider.name,
        "shipping_provider_id": provider.id,
        "tracking_number": tracking_number,
    }

    async def preview(issue: Callable[[], str]) -> Reply[ShipResult]:
        token = issue()
        result = ShipResult(
            status="preview",
            message="Not shipped yet. Call ship_tiktok_order again with the same arguments"
            " and this confirmation_token.",
            confirmation_token=token,
            token_expires_in_seconds=gate.ttl,
            **fields,
        )
        text = (
            f"PREVIEW ONLY: would mark order {order_id} ({len(order.line_items)} unit(s))"
            f" shipped via {provider.name} {tracking_number}.\nTo do it, call"
            f" ship_tiktok_order with the same arguments and confirmation_token={token}"
        )
        return Reply(result, text)

    async def execute() -> Reply[ShipResult]:
        shipped = await client.mark_package_shipped(
            the_shop, order_id, tracking_number, provider.id
        )
        return _shipped_reply(shipped, fields)

    declined = ShipResult(
        status="declined", message="The person did not approve; nothing sent.", **fields
    )
    return await gate.run(
        bound={**fields, "shop": the_shop.id},
        approval=approval,
        token=confirmation_token,
        preview=preview,
        declined=lambda: Reply(declined, "Not approved; order not marked shipped."),
        execute=execute,
    )


def _check_shippable(order: Order) -> None:
    if order.status not in ("AWAITING_SHIPMENT", "PARTIALLY_SHIPPING"):
        raise InvalidRequest(
            f"order {order.id} is {order.status}; only AWAITING_SHIPMENT or PARTIALLY_SHIPPING"
            " orders can be marked shipped",
            platform="tiktok",
            hint="check it with get_order",
        )


def _shipped_reply(shipped: ShippedPackage, fields: dict[str, Any]) -> Reply[ShipResult]:
    warning = clean_text(shipped.warning.message, 200) if shipped.warning else None
    order_id, provider = fields["order_id"], fields["shipping_provider"]
    result = ShipResult(
        status="shipped",
        message=f"Order {order_id} marked shipped" + (f" (warning: {warning})" if warning else ""),
        package_id=shipped.package_id,
        **fields,
    )
    text = (
        f"SHIPPED order {order_id}: package {shipped.package_id} via {provider}"
        f" {fields['tracking_number']}" + (f"; warning: {warning!r}" if warning else "")
    )
    return Reply(result, text)


TOOLS: tuple[ToolSpec, ...] = (
    write_tool(
        update_tiktok_inventory, title="Set TikTok stock", toolset="tiktok", idempotent=True
    ),
    write_tool(
        ship_tiktok_order, title="Mark a TikTok order shipped", toolset="tiktok", idempotent=False
    ),
)
