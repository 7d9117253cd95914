"""The inventory-sync plan reads every TikTok product through the page guard."""

from __future__ import annotations

from typing import Any

import pytest

from commerce_mcp.crosschannel.inventory_sync import MAX_PRODUCT_PAGES, product_pages
from commerce_mcp.errors import PaginationStopped
from commerce_mcp.tiktok.models import Page, Product, Shop

pytestmark = pytest.mark.anyio

SHOP = Shop(id="1", name="S", cipher="ROW_c")


async def read_all(fake: Any) -> list[Product]:
    return [product async for page in product_pages(fake, SHOP, None) for product in page.items]


class Pages:
    """A stand-in TikTok client whose product search answers with the given next-token rule."""

    def __init__(self, next_token: Any) -> None:
        self.next_token = next_token
        self.calls = 0

    async def search_products(self, shop: Shop, **_: Any) -> Page[Product]:
        self.calls += 1
        return Page[Product](items=[], next_page_token=self.next_token(self.calls))


async def test_a_repeated_token_stops_the_plan_with_a_clear_error() -> None:
    fake = Pages(lambda n: "STUCK")
    with pytest.raises(PaginationStopped, match="same page token"):
        await read_all(fake)
    assert fake.calls == 2


async def test_a_runaway_listing_stops_at_the_cap_instead_of_planning_from_part_of_it() -> None:
    fake = Pages(lambda n: f"t{n}")
    with pytest.raises(PaginationStopped, match="safety limit"):
        await read_all(fake)
    assert fake.calls == MAX_PRODUCT_PAGES


async def test_a_listing_that_ends_is_read_to_the_end() -> None:
    fake = Pages(lambda n: f"t{n}" if n < 3 else None)
    assert await read_all(fake) == []
    assert fake.calls == 3
