"""Keep TikTok Shop stock in line with what FBA can really ship.

Plan: for each TikTok SKU that maps to an Amazon SKU, TikTok after = max(0, FBA fulfillable - buffer).
TikTok's inventory update takes 1-99,999 in every warehouse of the SKU, never 0, so the total goes on
the SKU's first warehouse and each other warehouse keeps the minimum of 1, taken out of that total
(whatever warehouse an order names, FBA ships it). A total smaller than the warehouse count, sold out
included, cannot be written at all: such a row is reported, not sent.
Apply: one inventory update per product (the endpoint is per product), reporting progress and, on a
partial failure, exactly which SKUs were updated and which were not.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from commerce_mcp.crosschannel.skumap import SkuMap
from commerce_mcp.errors import CommerceError, InvalidRequest
from commerce_mcp.resilience.paging import PageGuard
from commerce_mcp.tiktok.models import (
    MAX_STOCK_QUANTITY,
    MIN_STOCK_QUANTITY,
    InventoryLevel,
    SkuInventoryUpdate,
)

if TYPE_CHECKING:
    from commerce_mcp.amazon.client import AmazonMcfClient
    from commerce_mcp.tiktok.client import TikTokShopClient
    from commerce_mcp.tiktok.models import Product, Shop

Progress = Callable[[float, float, str], Awaitable[None]]
MAX_PRODUCT_PAGES = 200  # 20,000 products: far beyond a TikTok shop, a loop guard not a limit


@dataclass
class PlanRow:
    seller_sku: str
    amazon_sku: str
    product_id: str
    sku_id: str
    warehouses: dict[str, int]
    tiktok_now: int
    fba_fulfillable: int
    tiktok_after: int

    @property
    def unwritable(self) -> str | None:
        """Why TikTok's inventory update cannot express this row, or None when it can."""
        if not self.warehouses:
            return f"{self.seller_sku} has no TikTok warehouse to put stock in"
        count = len(self.warehouses)
        if self.tiktok_after >= MIN_STOCK_QUANTITY * count:
            return None
        where = "a warehouse" if count == 1 else f"each of its {count} warehouses"
        return (
            f"TikTok's inventory update needs at least {MIN_STOCK_QUANTITY} in {where}, so it "
            f"cannot set {self.seller_sku} to {self.tiktok_after}; deactivate the SKU in TikTok "
            "Shop Seller Center until FBA has stock"
        )

    def levels(self) -> dict[str, int]:
        """The quantity to write per warehouse: the total on the first, the minimum elsewhere."""
        others = list(self.warehouses)[1:]
        first = min(self.tiktok_after - MIN_STOCK_QUANTITY * len(others), MAX_STOCK_QUANTITY)
        return dict.fromkeys(list(self.warehouses)[:1], first) | dict.fromkeys(
            others, MIN_STOCK_QUANTITY
        )

    @property
    def changes(self) -> bool:
        if self.unwritable:
            return self.tiktok_now != self.tiktok_after
        return self.warehouses != self.levels()


@dataclass
class InventoryPlan:
    rows: list[PlanRow] = field(default_factory=list)
    unmapped: list[str] = field(default_factory=list)
    not_in_fba: list[str] = field(default_factory=list)

    @property
    def changes(self) -> list[PlanRow]:
        return [row for row in self.rows if row.changes]


@dataclass
class ApplyReport:
    updated: list[str] = field(default_factory=list)
    failed: dict[str, str] = field(default_factory=dict)


async def tiktok_products(
    tiktok: TikTokShopClient, shop: Shop, seller_skus: list[str] | None
) -> list[Product]:
    """Every product (or those with the given seller SKUs), following all pages.

    Stops with PaginationStopped rather than planning from a silently partial list.
    """
    products: list[Product] = []
    token: str | None = None
    guard = PageGuard(max_pages=MAX_PRODUCT_PAGES)
    while True:
        page = await tiktok.search_products(
            shop, seller_skus=seller_skus, page_size=100, page_token=token
        )
        products.extend(page.items)
        token = guard.follow(page.next_page_token, platform="tiktok", operation="search_products")
        if token is None:
            return products


def check_scope(skus: list[str] | None) -> None:
    """Refuse an empty SKU list: None means every SKU, so [] would otherwise silently mean "all".

    An empty list usually comes from a filter that matched nothing ("sync the flagged SKUs" when none
    are flagged); planning the whole shop then would do the opposite of what was asked.
    """
    if skus is not None and not skus:
        raise InvalidRequest(
            "skus is an empty list, so there is nothing to sync",
            hint="pass no skus argument to plan every mapped SKU, or list the SKUs to sync",
        )


async def build_plan(
    *,
    tiktok: TikTokShopClient,
    amazon: AmazonMcfClient,
    shop: Shop,
    skumap: SkuMap,
    skus: list[str] | None,
    buffer: int,
) -> InventoryPlan:
    """Compare every (skus None) or the given TikTok SKUs with FBA's fulfillable quantity."""
    check_scope(skus)
    products = []
    if skus:
        for start in range(0, len(skus), 10):  # the search takes at most 10 seller SKUs
            products += await tiktok_products(tiktok, shop, skus[start : start + 10])
    else:
        products = await tiktok_products(tiktok, shop, None)
    plan = InventoryPlan()
    wanted = set(skus) if skus else None
    entries = []
    for product in products:
        for sku in product.skus:
            if not sku.seller_sku or (wanted is not None and sku.seller_sku not in wanted):
                continue
            amazon_sku = skumap.to_amazon(sku.seller_sku)
            if amazon_sku is None:
                plan.unmapped.append(sku.seller_sku)
                continue
            entries.append((product, sku, amazon_sku))
    amazon_skus = sorted({amazon_sku for _, _, amazon_sku in entries})
    fulfillable: dict[str, int] = {}
    if amazon_skus:
        page = await amazon.get_inventory_summaries(seller_skus=amazon_skus)
        fulfillable = {
            s.seller_sku: s.fulfillable_quantity for s in page.inventory_summaries if s.seller_sku
        }
    for product, sku, amazon_sku in entries:
        if amazon_sku not in fulfillable:
            plan.not_in_fba.append(sku.seller_sku or amazon_sku)
            continue
        warehouses = {w.warehouse_id: w.quantity or 0 for w in sku.inventory}
        fba = fulfillable[amazon_sku]
        plan.rows.append(
            PlanRow(
                seller_sku=sku.seller_sku or amazon_sku,
                amazon_sku=amazon_sku,
                product_id=product.id,
                sku_id=sku.id,
                warehouses=warehouses,
                tiktok_now=sum(warehouses.values()),
                fba_fulfillable=fba,
                tiktok_after=max(0, min(fba - buffer, 99_999)),
            )
        )
    plan.rows.sort(key=lambda r: r.seller_sku)
    return plan


async def apply_plan(
    *,
    tiktok: TikTokShopClient,
    shop: Shop,
    plan: InventoryPlan,
    progress: Progress | None = None,
) -> ApplyReport:
    """Write the planned quantities, one product at a time; never stops at the first failure."""
    report = ApplyReport()
    by_product: dict[str, list[PlanRow]] = {}
    for row in plan.changes:
        by_product.setdefault(row.product_id, []).append(row)
    total = len(by_product)
    for done, (product_id, rows) in enumerate(by_product.items(), start=1):
        for row in rows:
            if reason := row.unwritable:
                report.failed[row.seller_sku] = reason
        writable = [row for row in rows if not row.unwritable]
        updates = [
            SkuInventoryUpdate(
                sku_id=row.sku_id,
                inventory=[
                    InventoryLevel(warehouse_id=wid, quantity=quantity)
                    for wid, quantity in row.levels().items()
                ],
            )
            for row in writable
        ]
        try:
            if updates:
                await tiktok.update_inventory(shop, product_id, updates)
            report.updated.extend(row.seller_sku for row in writable)
        except CommerceError as exc:
            for row in writable:
                report.failed[row.seller_sku] = exc.describe()
        if progress is not None:
            await progress(done, total, f"updated {len(report.updated)} SKU(s)")
    return report
