"""Which shipping providers (carriers) TikTok Shop accepts for an order: the one lookup every caller uses.

A TikTok order ships under a delivery option, and each option lists its carriers. When the seller picks
the carrier (ship_tiktok_order) the order's own option is what counts. When Amazon picked it (MCF
tracking sync) it is often not among that option's carriers, and TikTok accepts any carrier the shop
ships with from the order's warehouse, so ``whole_warehouse`` adds every option of that warehouse.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from commerce_mcp.errors import InvalidRequest
from commerce_mcp.tiktok.models import Order, ShippingProvider, Shop

if TYPE_CHECKING:
    from commerce_mcp.tiktok.client import TikTokShopClient


async def shipping_providers(
    client: TikTokShopClient, shop: Shop, order: Order, *, whole_warehouse: bool
) -> list[ShippingProvider]:
    """The carriers valid for ``order``: its delivery option's first, each provider once.

    An order without a delivery option takes every option of its warehouse (the shop's default
    warehouse when the order names none).
    """
    found: dict[str, ShippingProvider] = {}
    if order.delivery_option_id:
        for provider in await client.get_shipping_providers(shop, order.delivery_option_id):
            found.setdefault(provider.id, provider)
        if not whole_warehouse:
            return list(found.values())
        warehouse = order.warehouse_id
    else:
        warehouse = order.warehouse_id or await _default_warehouse(client, shop)
    if warehouse:
        for option in await client.get_delivery_options(shop, warehouse):
            if option.id == order.delivery_option_id:
                continue
            for provider in await client.get_shipping_providers(shop, option.id):
                found.setdefault(provider.id, provider)
    return list(found.values())


async def _default_warehouse(client: TikTokShopClient, shop: Shop) -> str | None:
    warehouses = await client.get_warehouses(shop)
    default = next((w for w in warehouses if w.is_default), warehouses[0] if warehouses else None)
    return default.id if default else None


def pick_provider(providers: list[ShippingProvider], wanted: str) -> ShippingProvider:
    """The provider the seller named (by id, or by name ignoring case), or an error listing them."""
    key = wanted.strip().casefold()
    for provider in providers:
        if provider.id == wanted.strip() or provider.name.casefold() == key:
            return provider
    names = ", ".join(f"{p.name} (id {p.id})" for p in providers) or "none"
    raise InvalidRequest(
        f"shipping provider {wanted!r} is not available for this order; valid: {names}",
        platform="tiktok",
        hint="pass shipping_provider= with one of those names or ids",
    )
