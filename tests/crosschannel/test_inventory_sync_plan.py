"""Planning the inventory sync: streamed pages, FBA alongside TikTok, each SKU once, progress."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import anyio
import pytest

from commerce_mcp.amazon.models import InventoryDetails, InventorySummary
from commerce_mcp.crosschannel.inventory_sync import FBA_SKUS, SEARCH_SKUS, build_plan
from commerce_mcp.crosschannel.skumap import SkuMap
from commerce_mcp.errors import RateLimited
from commerce_mcp.tiktok.models import Page, Product, ProductSku, Shop, WarehouseQuantity

pytestmark = pytest.mark.anyio

SHOP = Shop(id="1", name="S", cipher="ROW_c")


def product(number: int, *skus: str) -> Product:
    return Product(
        id=f"P{number}",
        skus=[
            ProductSku(
                id=f"id-{sku}",
                seller_sku=sku,
                inventory=[WarehouseQuantity(warehouse_id="W1", quantity=2)],
            )
            for sku in skus
        ],
    )


class TikTok:
    """Products by seller SKU; ``gate`` (when set) holds every search until it opens."""

    def __init__(self, products: list[Product], page_size: int = 100) -> None:
        self.products = products
        self.page_size = page_size
        self.searches: list[list[str] | None] = []
        self.gate: asyncio.Event | None = None
        self.fail: Exception | None = None

    async def search_products(
        self, shop: Shop, *, seller_skus: list[str] | None, page_token: str | None, **_: Any
    ) -> Page[Product]:
        self.searches.append(seller_skus)
        await asyncio.sleep(0)  # a response takes a while: others run meanwhile
        if self.gate is not None:
            await self.gate.wait()
        if self.fail is not None:
            raise self.fail
        found = [
            p
            for p in self.products
            if seller_skus is None or any(s.seller_sku in seller_skus for s in p.skus)
        ]
        start = int(page_token or 0)
        end = start + self.page_size
        more = str(end) if end < len(found) else None
        return Page[Product](items=found[start:end], next_page_token=more)


class Amazon:
    """FBA stock of 40 for every SKU except those listed as absent; records each batch asked."""

    def __init__(self, absent: set[str] = frozenset(), tiktok: TikTok | None = None) -> None:
        self.absent = absent
        self.batches: list[list[str]] = []
        self.tiktok = tiktok
        self.searches_before: list[int] = []

    async def iter_all_inventory(self, skus: list[str]) -> AsyncIterator[InventorySummary]:
        self.batches.append(list(skus))
        if self.tiktok is not None:
            self.searches_before.append(len(self.tiktok.searches))
            if self.tiktok.gate is not None:
                self.tiktok.gate.set()  # TikTok answers only once FBA has been asked
        for sku in skus:
            if sku not in self.absent:
                details = InventoryDetails(fulfillable_quantity=40)
                yield InventorySummary(seller_sku=sku, inventory_details=details)


async def plan(tiktok: TikTok, amazon: Amazon, skus: list[str] | None, **kwargs: Any) -> Any:
    return await build_plan(
        tiktok=tiktok,  # type: ignore[arg-type]
        amazon=amazon,  # type: ignore[arg-type]
        shop=SHOP,
        skumap=kwargs.pop("skumap", SkuMap()),
        skus=skus,
        buffer=0,
        **kwargs,
    )


async def test_a_product_found_by_two_sku_batches_is_planned_once() -> None:
    skus = [f"SKU-{n:02}" for n in range(SEARCH_SKUS + 1)]
    # The first and the last SKU share a product, so the first and the second search both return it.
    products = [product(0, skus[0], skus[-1])] + [
        product(n, sku) for n, sku in enumerate(skus[1:-1], 1)
    ]
    tiktok = TikTok(products)
    result = await plan(tiktok, Amazon(), skus)
    assert len(tiktok.searches) == 2
    assert sorted(row.seller_sku for row in result.rows) == skus


async def test_with_explicit_skus_fba_is_asked_before_tiktok_answers() -> None:
    skus = [f"SKU-{n:02}" for n in range(25)]
    tiktok = TikTok([product(n, sku) for n, sku in enumerate(skus)])
    tiktok.gate = asyncio.Event()
    amazon = Amazon(tiktok=tiktok)
    with anyio.fail_after(5):  # planning one platform after the other would wait here forever
        result = await plan(tiktok, amazon, skus)
    assert len(result.rows) == len(skus)
    assert sorted(sku for batch in amazon.batches for sku in batch) == skus


async def test_every_sku_plan_asks_fba_in_batches_as_pages_arrive() -> None:
    skus = [f"SKU-{n:03}" for n in range(3 * FBA_SKUS + 7)]
    tiktok = TikTok([product(n, sku) for n, sku in enumerate(skus)], page_size=FBA_SKUS)
    amazon = Amazon(absent={skus[5]}, tiktok=tiktok)
    result = await plan(tiktok, amazon, None, skumap=SkuMap({skus[6]: None}))
    assert all(len(batch) <= FBA_SKUS for batch in amazon.batches)
    assert sorted(sku for batch in amazon.batches for sku in batch) == sorted(set(skus) - {skus[6]})
    # The first batch went out while pages were still to come.
    assert amazon.searches_before[0] < len(tiktok.searches)
    assert result.unmapped == [skus[6]] and result.not_in_fba == [skus[5]]
    assert len(result.rows) == len(skus) - 2


async def test_a_failed_search_fails_the_plan_with_that_error() -> None:
    tiktok = TikTok([product(n, f"SKU-{n}") for n in range(30)])
    tiktok.fail = RateLimited("slow down", retry_after=3.0)
    with pytest.raises(RateLimited, match="slow down"):
        await plan(tiktok, Amazon(), [f"SKU-{n}" for n in range(30)])


async def test_planning_reports_each_request_and_ends_at_its_total() -> None:
    reports: list[tuple[float, float, str]] = []

    async def progress(done: float, total: float, message: str) -> None:
        reports.append((done, total, message))

    skus = [f"SKU-{n:03}" for n in range(2 * FBA_SKUS + 1)]
    tiktok = TikTok([product(n, sku) for n, sku in enumerate(skus)], page_size=40)
    amazon = Amazon()
    await plan(tiktok, amazon, None, progress=progress)
    done = [d for d, _, _ in reports]
    assert done == sorted(set(done)) and all(d <= t for d, t, _ in reports)
    assert reports[-1][0] == reports[-1][1] == len(tiktok.searches) + len(amazon.batches)
    assert "3 product search(s)" in reports[-1][2] and "3 FBA lookup(s)" in reports[-1][2]
