"""The fake TikTok shop's product indexes answer searches exactly as a full scan would."""

from __future__ import annotations

from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from commerce_mcp.sandbox.catalog import build_catalog
from commerce_mcp.sandbox.simclock import SimClock
from commerce_mcp.sandbox.tiktok_server import Call, _search_products
from commerce_mcp.sandbox.tiktok_world import TikTokWorld

NOW = 1_790_000_000.0
WORLD = TikTokWorld(SimClock(lambda: NOW), build_catalog())
SHOP = WORLD.shops[0]
SKUS = [sku for product in SHOP.products.values() for sku in product["skus"]]
SELLER_SKUS = sorted({sku["seller_sku"] for sku in SKUS})
SKU_IDS = sorted(sku["id"] for sku in SKUS)


def search(body: dict[str, Any]) -> list[str]:
    call = Call(world=WORLD, shop=SHOP, params={"page_size": "100"}, path_args={}, body=body)
    return [product["id"] for product in _search_products(call)["products"]]


def scan(body: dict[str, Any]) -> list[str]:
    """Every product the filters match, latest update first: the search's contract, the slow way."""
    status = body.get("status", "ALL")
    sellers, ids = body.get("seller_skus"), body.get("sku_ids")
    found = [
        product
        for product in SHOP.products.values()
        if (status == "ALL" or product["status"] == status)
        and (sellers is None or any(s["seller_sku"] in sellers for s in product["skus"]))
        and (ids is None or any(s["id"] in ids for s in product["skus"]))
        and product["update_time"] >= body.get("update_time_ge", 0)
    ]
    found.sort(key=lambda p: (-p["update_time"], p["id"]))
    return [product["id"] for product in found[:100]]


@settings(max_examples=80, deadline=None)
@given(
    sellers=st.one_of(st.none(), st.lists(st.sampled_from(SELLER_SKUS), max_size=10)),
    ids=st.one_of(st.none(), st.lists(st.sampled_from(SKU_IDS), max_size=10)),
    status=st.sampled_from(["ALL", "ACTIVATE", "SELLER_DEACTIVATED"]),
    since=st.one_of(
        st.none(), st.sampled_from(sorted({p["update_time"] for p in SHOP.products.values()}))
    ),
)
def test_a_filtered_search_finds_what_a_full_scan_finds(
    sellers: list[str] | None, ids: list[str] | None, status: str, since: int | None
) -> None:
    body: dict[str, Any] = {"status": status}
    if sellers is not None:
        body["seller_skus"] = sellers
    if ids is not None:
        body["sku_ids"] = ids
    if since is not None:
        body["update_time_ge"] = since
    assert search(body) == scan(body)


def test_an_updated_product_moves_to_the_front_of_the_next_search() -> None:
    world = TikTokWorld(SimClock(lambda: NOW), build_catalog())
    shop = world.shops[0]
    first = search_in(world, {})
    last = shop.products[first[-1]]
    sku = last["skus"][0]
    levels = [{"warehouse_id": w, "quantity": 7} for w in shop.stock[sku["id"]]]
    assert world.update_inventory(shop, last["id"], [{"id": sku["id"], "inventory": levels}]) == []
    assert search_in(world, {})[0] == last["id"]


def search_in(world: TikTokWorld, body: dict[str, Any]) -> list[str]:
    call = Call(
        world=world, shop=world.shops[0], params={"page_size": "100"}, path_args={}, body=body
    )
    return [product["id"] for product in _search_products(call)["products"]]
