"""Setting TikTok Shop stock by seller SKU: plan (resolve SKUs and warehouses, read current levels),
then apply (one update per product, every other warehouse of a SKU kept as it is).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Protocol

from pydantic import BaseModel

from commerce_mcp.errors import CommerceError, InvalidRequest
from commerce_mcp.resilience.paging import PageGuard
from commerce_mcp.tiktok.models import InventoryLevel, Shop, SkuInventoryUpdate

if TYPE_CHECKING:
    from commerce_mcp.tiktok.client import TikTokShopClient


class StockTarget(Protocol):
    """One requested level: a seller SKU, its new quantity and (if stocked in several) a warehouse."""

    @property
    def seller_sku(self) -> str: ...

    @property
    def quantity(self) -> int: ...

    @property
    def warehouse(self) -> str | None: ...


# Also the shape of update_tiktok_inventory's result rows (its output schema).
class StockChange(BaseModel):
    seller_sku: str
    sku_id: str
    product_id: str
    warehouse_id: str
    warehouse_name: str | None = None
    current: int
    new: int


async def plan_stock_changes(
    client: TikTokShopClient,
    shop: Shop,
    items: Sequence[StockTarget],
    shown: Callable[[str | None], str | None] = lambda name: name,
) -> list[StockChange]:
    """Resolve seller SKUs and warehouses and read current stock; nothing is written.

    ``shown`` makes a warehouse name (seller text) fit to show: it is quoted in results and errors.
    """
    wanted = list(dict.fromkeys(item.seller_sku for item in items))
    if len(wanted) != len(items):
        raise InvalidRequest(
            "each seller_sku may appear only once", hint="merge the duplicate entries"
        )
    where = await _locate(client, shop, wanted)
    missing = [sku for sku in wanted if sku not in where]
    if missing:
        raise InvalidRequest(
            f"no product in shop {shop.name} has seller SKU {', '.join(missing)}",
            platform="tiktok",
            hint="check the SKUs with list_tiktok_products or get_inventory",
        )
    stock = await client.search_inventory(shop, sku_ids=[where[s][0] for s in wanted])
    levels = {
        sku.id: {w.warehouse_id: w.available_quantity for w in sku.warehouse_inventory}
        for entry in stock
        for sku in entry.skus
    }
    names = {w.id: shown(w.name) for w in await client.get_warehouses(shop)}
    changes: list[StockChange] = []
    for item in items:
        sku_id, product_id = where[item.seller_sku]
        current = levels.get(sku_id, {})
        warehouse_id = _pick_warehouse(item, current, names)
        for wid, quantity in current.items():
            if wid == warehouse_id:
                changes.append(
                    StockChange(
                        seller_sku=item.seller_sku,
                        sku_id=sku_id,
                        product_id=product_id,
                        warehouse_id=wid,
                        warehouse_name=names.get(wid),
                        current=quantity,
                        new=item.quantity,
                    )
                )
    from commerce_mcp.tiktok.client import check_stock_levels

    # Every warehouse of a SKU is sent with the change: refuse now, at preview, what the
    # confirmed call would be refused for (e.g. another warehouse of the SKU holding 0).
    check_stock_levels(
        [
            SkuInventoryUpdate(
                sku_id=change.sku_id,
                inventory=[
                    InventoryLevel(
                        warehouse_id=wid, quantity=change.new if wid == change.warehouse_id else qty
                    )
                    for wid, qty in levels.get(change.sku_id, {}).items()
                ],
            )
            for change in changes
        ]
    )
    return changes


async def _locate(
    client: TikTokShopClient, shop: Shop, wanted: list[str]
) -> dict[str, tuple[str, str]]:
    """Seller SKU -> (SKU id, product id), for the wanted SKUs the shop has."""
    where: dict[str, tuple[str, str]] = {}
    for start in range(0, len(wanted), 10):
        batch = wanted[start : start + 10]
        token: str | None = None
        guard = PageGuard()
        while True:
            page = await client.search_products(
                shop, seller_skus=batch, page_size=100, page_token=token
            )
            for product in page.items:
                for sku in product.skus:
                    if sku.seller_sku in batch:
                        where[sku.seller_sku] = (sku.id, product.id)
            token = guard.follow(
                page.next_page_token, platform="tiktok", operation="search_products"
            )
            if token is None:
                break
    return where


def _pick_warehouse(
    item: StockTarget, current: dict[str, int], names: dict[str, str | None]
) -> str:
    stocked = ", ".join(f"{names.get(w) or '?'} (id {w})" for w in current) or "none"
    if item.warehouse is None:
        if len(current) == 1:
            return next(iter(current))
        raise InvalidRequest(
            f"SKU {item.seller_sku} is stocked in several warehouses: {stocked}",
            hint="pass warehouse= with one of those ids or names",
        )
    key = item.warehouse.strip().casefold()
    for wid in current:
        if wid == item.warehouse.strip() or (names.get(wid) or "").casefold() == key:
            return wid
    raise InvalidRequest(
        f"SKU {item.seller_sku} is not stocked in warehouse {item.warehouse!r}; it is in {stocked}",
        hint="pass one of those warehouses (TikTok only accepts stock for a SKU's own warehouses)",
    )


async def apply_stock_changes(
    client: TikTokShopClient, shop: Shop, changes: list[StockChange]
) -> None:
    """Send the new levels per product, keeping every other warehouse of each SKU as it is."""
    current = await client.search_inventory(shop, sku_ids=list({c.sku_id for c in changes}))
    levels = {
        sku.id: {w.warehouse_id: w.available_quantity for w in sku.warehouse_inventory}
        for entry in current
        for sku in entry.skus
    }
    by_product: dict[str, dict[str, dict[str, int]]] = defaultdict(dict)
    for change in changes:
        sku_levels = by_product[change.product_id].setdefault(
            change.sku_id, dict(levels.get(change.sku_id, {}))
        )
        sku_levels[change.warehouse_id] = change.new
    done: list[str] = []
    for product_id, skus in by_product.items():
        updates = [
            SkuInventoryUpdate(
                sku_id=sku_id,
                inventory=[InventoryLevel(warehouse_id=w, quantity=q) for w, q in lv.items()],
            )
            for sku_id, lv in skus.items()
        ]
        try:
            await client.update_inventory(shop, product_id, updates)
        except CommerceError as exc:
            if done:
                exc.hint = f"product(s) {', '.join(done)} were already updated; " + (
                    exc.hint or "fix the rest and retry"
                )
            raise
        done.append(product_id)
