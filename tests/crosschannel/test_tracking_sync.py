"""Tracking sync: which TikTok lines each Amazon package carries, and "already shipped" by code."""

from __future__ import annotations

from collections import Counter
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from commerce_mcp import errors
from commerce_mcp.amazon.models import FulfillmentOrderDetail
from commerce_mcp.crosschannel.carriers import CarrierMap
from commerce_mcp.crosschannel.links import LinkStore, MarkedPackage, OrderLink
from commerce_mcp.crosschannel.tracking_sync import assign_line_items, sync_tracking
from commerce_mcp.store.memory import MemoryStore
from commerce_mcp.tiktok import classify
from commerce_mcp.tiktok.models import Order, ShippedPackage, ShippingProvider, Shop

pytestmark = pytest.mark.anyio

SHOP = Shop(id="S1", name="Shop", cipher="c")


def order_with(skus: list[str]) -> Order:
    return Order.model_validate(
        {"id": "O1", "line_items": [{"id": f"L{n}", "seller_sku": s} for n, s in enumerate(skus)]}
    )


def link_for(order: Order, marked: list[str] = ()) -> OrderLink:  # type: ignore[assignment]
    link = OrderLink(
        tiktok_order_id=order.id,
        shop_id=SHOP.id,
        mcf_order_id="MCF-1",
        status="created",
        shipping_speed="Standard",
        line_items={i.id: f"AMZ-{i.seller_sku}" for i in order.line_items},
    )
    if marked:
        link.marked["0"] = MarkedPackage(
            tracking_number="T0", line_item_ids=list(marked), marked_at="2026-01-01T00:00:00+00:00"
        )
    return link


def detail_with(
    shipments: list[list[tuple[str | None, int, int | None]]],
    packages: list[dict[str, Any]] | None = None,
) -> FulfillmentOrderDetail:
    """shipments: per shipment, (amazon sku or None, quantity, package number) per item.

    An item without a SKU names its order line instead, as Amazon may report it.
    """
    items = [{"sellerSku": f"AMZ-{s}", "sellerFulfillmentOrderItemId": f"i-{s}"} for s in "ABC"]
    return FulfillmentOrderDetail.model_validate(
        {
            "fulfillmentOrder": {"sellerFulfillmentOrderId": "MCF-1"},
            "fulfillmentOrderItems": items,
            "fulfillmentShipments": [
                {
                    "fulfillmentShipmentItem": [
                        {
                            "sellerSku": f"AMZ-{sku}" if sku and n % 2 == 0 else None,
                            "sellerFulfillmentOrderItemId": f"i-{sku}" if sku else None,
                            "quantity": quantity,
                            "packageNumber": package,
                        }
                        for n, (sku, quantity, package) in enumerate(shipment)
                    ],
                    "fulfillmentShipmentPackage": packages or [],
                }
                for shipment in shipments
            ],
        }
    )


line_skus = st.lists(st.sampled_from("ABC"), min_size=1, max_size=6)
shipment_items = st.lists(
    st.tuples(st.sampled_from("ABC"), st.integers(0, 3), st.one_of(st.none(), st.integers(1, 3))),
    max_size=4,
)


@given(skus=line_skus, shipments=st.lists(shipment_items, max_size=3), data=st.data())
def test_each_free_line_goes_to_at_most_one_package_up_to_the_shipped_quantity(
    skus: list[str], shipments: list[list[tuple[str, int, int | None]]], data: st.DataObject
) -> None:
    order = order_with(skus)
    ids = [i.id for i in order.line_items]
    marked = data.draw(st.lists(st.sampled_from(ids), unique=True))
    link = link_for(order, marked)
    detail = detail_with(shipments)  # type: ignore[arg-type]
    assigned = assign_line_items(link, detail, order)
    every = [line for lines in assigned.values() for line in lines]
    assert len(every) == len(set(every)), "a line was assigned twice"
    assert not set(every) & set(marked), "a line already marked was assigned again"
    assert set(every) <= set(ids)
    packages = {p for shipment in shipments for _, _, p in shipment if p is not None}
    assert set(assigned) <= packages
    sku_of = {i.id: i.seller_sku for i in order.line_items}
    got = Counter(sku_of[line] for line in every)
    for sku in "ABC":
        free = sum(1 for i in ids if sku_of[i] == sku and i not in marked)
        shipped = sum(q for shipment in shipments for s, q, p in shipment if s == sku and p)
        assert got[sku] == min(free, shipped)


def test_a_split_shipment_assigns_lines_to_the_package_that_carries_them() -> None:
    order = order_with(["A", "A", "B"])
    detail = detail_with([[("A", 1, 1), ("B", 1, 1)], [("A", 1, 2)]])
    assert assign_line_items(link_for(order), detail, order) == {1: ["L0", "L2"], 2: ["L1"]}


# ------------------------------------------------------------------------------ already shipped


class StubTikTok:
    def __init__(self, order: Order, failure: Exception | None) -> None:
        self.order, self.failure, self.marks = order, failure, 0

    async def get_orders(self, shop: Shop, ids: list[str]) -> list[Order]:
        return [self.order]

    async def get_shipping_providers(self, shop: Shop, option: str) -> list[ShippingProvider]:
        return [ShippingProvider(id="P-UPS", name="UPS")]

    async def get_delivery_options(self, shop: Shop, warehouse: str) -> list[Any]:
        return []

    async def mark_package_shipped(self, shop: Shop, **kwargs: Any) -> ShippedPackage:
        self.marks += 1
        if self.failure:
            raise self.failure
        return ShippedPackage(order_id=self.order.id, package_id="PKG-1")


class StubAmazon:
    async def get_fulfillment_order(self, mcf_order_id: str) -> FulfillmentOrderDetail:
        package = {"packageNumber": 1, "carrierCode": "UPS", "trackingNumber": "1Z999"}
        return detail_with([[("A", 1, 1)]], packages=[package])


def _envelope_error(code: int, message: str) -> errors.CommerceError:
    return classify.from_envelope(
        code, message, request_id="R", http_status=200, operation="mark_package_shipped"
    )


async def _sync(failure: Exception | None) -> tuple[Any, OrderLink]:
    order = order_with(["A"]).model_copy(update={"delivery_option_id": "D1"})
    links = LinkStore(MemoryStore())
    await links.save(link_for(order))
    report = await sync_tracking(
        tiktok=StubTikTok(order, failure),  # type: ignore[arg-type]
        amazon=StubAmazon(),  # type: ignore[arg-type]
        links=links,
        carriers=CarrierMap(),
        shops={SHOP.id: SHOP},
    )
    saved = await links.get(order.id)
    assert saved is not None
    return report, saved


@pytest.mark.parametrize("code", sorted(classify.ALREADY_SHIPPED_CODES))
async def test_a_package_tiktok_reports_already_shipped_is_recorded_not_retried(code: int) -> None:
    report, link = await _sync(_envelope_error(code, "These orders are already shipped."))
    assert [o.action for o in report.marked] == ["already_marked"]
    assert not report.failed
    assert "1" in link.marked and link.status == "shipped"


@pytest.mark.parametrize(
    ("code", "message"),
    [
        # Documented Mark Package As Shipped failures whose words the old substring test matched.
        (21008042, "seller already print shipping label"),
        (
            21011007,
            "Package item has after-sale request, please process the after-sale request first.",
        ),
        (21004015, "Tracking number mismatch provider."),
    ],
)
async def test_other_refusals_are_failures_whatever_their_words(code: int, message: str) -> None:
    report, link = await _sync(_envelope_error(code, message))
    assert not report.marked
    assert [o.action for o in report.failed] == ["failed"]
    assert link.marked == {} and link.status == "created"


async def test_a_marked_package_is_recorded_with_its_tiktok_package() -> None:
    report, link = await _sync(None)
    assert [o.action for o in report.marked] == ["marked"]
    assert link.marked["1"].tiktok_package_id == "PKG-1"
    assert link.marked["1"].line_item_ids == ["L0"]
