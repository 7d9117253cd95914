"""The fake TikTok shop's order index answers status/window searches exactly as a full scan would."""

from __future__ import annotations

from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from commerce_mcp.sandbox.catalog import build_catalog
from commerce_mcp.sandbox.simclock import SimClock
from commerce_mcp.sandbox.tiktok_world import (
    DAY,
    ORDER_STATUS_MIX,
    SHIPPING_PROVIDER_IDS,
    OrderPage,
    TikTokWorld,
)

NOW = 1_790_000_000.0
STATUSES = [status for status, _ in ORDER_STATUS_MIX]


class MovableTime:
    def __init__(self) -> None:
        self.now = NOW

    def __call__(self) -> float:
        return self.now


def scan(world: TikTokWorld, status: str | None, low: int | None, high: int | None) -> list[str]:
    """What the server's full scan finds, ascending by (create_time, id)."""
    shop = world.shops[0]
    found = [world.order_view(shop, order) for order in shop.orders.values()]
    return [
        order["id"]
        for order in sorted(found, key=lambda o: (o["create_time"], o["id"]))
        if (status is None or order["status"] == status)
        and (low is None or order["create_time"] >= low)
        and (high is None or order["create_time"] < high)
    ]


def indexed(
    world: TikTokWorld, status: str | None, low: int | None, high: int | None, desc: bool = False
) -> list[str]:
    shop = world.shops[0]
    with world.lock:
        keys = world.settled_order_index(shop).select(status, low, high)
        page: list[dict[str, Any]] = list(OrderPage(world, shop, keys, desc)[:])
    return [order["id"] for order in page]


WORLD = TikTokWorld(SimClock(lambda: NOW), build_catalog())
WINDOW = st.one_of(st.none(), st.integers(int(NOW) - 50 * DAY, int(NOW) + DAY))


@settings(max_examples=60, deadline=None)
@given(status=st.one_of(st.none(), st.sampled_from(STATUSES)), low=WINDOW, high=WINDOW)
def test_index_search_equals_a_full_scan(
    status: str | None, low: int | None, high: int | None
) -> None:
    expected = scan(WORLD, status, low, high)
    assert indexed(WORLD, status, low, high) == expected
    assert indexed(WORLD, status, low, high, desc=True) == expected[::-1]


def test_shipped_orders_change_status_in_the_index_as_time_passes_unviewed() -> None:
    """A search by status sees an order move AWAITING_COLLECTION -> IN_TRANSIT -> DELIVERED with
    simulated time even though nothing viewed it in between."""
    time = MovableTime()
    world = TikTokWorld(SimClock(time), build_catalog())
    shop = world.shops[0]
    waiting = indexed(world, "AWAITING_SHIPMENT", None, None)
    order_id = next(
        i
        for i in waiting
        if all(not item.get("package_id") for item in shop.orders[i]["line_items"])
    )
    world.mark_shipped(shop, order_id, "1Z999AA10123456784", SHIPPING_PROVIDER_IDS["UPS"], None)
    assert order_id in indexed(world, "AWAITING_COLLECTION", None, None)
    time.now += DAY
    assert order_id in indexed(world, "IN_TRANSIT", None, None)
    assert order_id not in indexed(world, "AWAITING_COLLECTION", None, None)
    time.now += 4 * DAY
    assert order_id in indexed(world, "DELIVERED", None, None)
    assert indexed(world, "IN_TRANSIT", None, None) == scan(world, "IN_TRANSIT", None, None)


def test_world_size_is_configurable_and_the_default_is_unchanged() -> None:
    default = TikTokWorld(SimClock(lambda: NOW), build_catalog())
    assert [len(shop.orders) for shop in default.shops] == [1040, 120]
    small = TikTokWorld(SimClock(lambda: NOW), build_catalog(), order_counts=(30, 5))
    assert [len(shop.orders) for shop in small.shops] == [30, 5]
