"""The fake TikTok Shop rejects what the platform rejects and sends what the platform sends.

Every expectation here comes from the crawled reference (tests/support/tiktok_docs.py reads it): the
documented response fields and their JSON types, page_size ranges, the API packages that grant each
endpoint, and the Update Inventory quantity range. The client is not consulted.
"""

from __future__ import annotations

import functools
import json
from typing import Any

import pytest
from starlette.testclient import TestClient
from tests.support.tiktok_docs import (
    documented_endpoints,
    field_paths,
    matches_type,
    require_reference,
)

from commerce_mcp.sandbox import credentials
from commerce_mcp.sandbox.catalog import build_catalog
from commerce_mcp.sandbox.simclock import SimClock
from commerce_mcp.sandbox.tiktok_server import ENDPOINTS, build_tiktok_app
from commerce_mcp.sandbox.tiktok_signature import expected_sign
from commerce_mcp.sandbox.tiktok_world import SHIPPED_STATUSES, TikTokWorld

NOW = 1_790_000_000.0  # 2026-09-21
WEEK = {"start_date_ge": "2026-09-01", "end_date_lt": "2026-09-08"}
SUMMER = {"start_date_ge": "2026-06-01", "end_date_lt": "2026-09-20"}


class Fake:
    """A fake TikTok Shop in process, called with correctly signed requests."""

    def __init__(self) -> None:
        self.world = TikTokWorld(SimClock(lambda: NOW), build_catalog())
        self.world.config.qps = self.world.config.burst = 1e9
        self.http = TestClient(build_tiktok_app(self.world), raise_server_exceptions=False)
        self.shop = self.world.shops[0]

    def call(
        self,
        method: str,
        path: str,
        params: dict[str, str] | None = None,
        body: dict[str, Any] | None = None,
    ) -> dict[str, Any]:
        query = {
            "app_key": credentials.TIKTOK_APP_KEY,
            "timestamp": str(int(NOW)),
            **({} if path.startswith(("/authorization/", "/seller/")) else self.cipher),
            **(params or {}),
        }
        raw = json.dumps(body).encode() if body else b""
        query["sign"] = expected_sign(
            credentials.TIKTOK_APP_SECRET, path, query, raw, "application/json"
        )
        response = self.http.request(
            method,
            path,
            params=query,
            content=raw,
            headers={
                "x-tts-access-token": credentials.TIKTOK_ACCESS_TOKEN,
                "content-type": "application/json",
            },
        )
        assert response.status_code != 500, f"{path} crashed"
        envelope: dict[str, Any] = response.json()
        return envelope

    @property
    def cipher(self) -> dict[str, str]:
        return {"shop_cipher": self.shop.cipher}

    def ok(self, method: str, path: str, **kwargs: Any) -> dict[str, Any]:
        envelope = self.call(method, path, **kwargs)
        assert envelope["code"] == 0, envelope
        data: dict[str, Any] = envelope["data"]
        return data

    def all_pages(self, method: str, path: str, key: str, size: int) -> list[dict[str, Any]]:
        items: list[dict[str, Any]] = []
        params = {"page_size": str(size)}
        while True:
            data = self.ok(method, path, params=params)
            items += data[key]
            if not data["next_page_token"]:
                return items
            params = {"page_size": str(size), "page_token": data["next_page_token"]}


@functools.cache
def shared_fake() -> Fake:
    """One fake for the read-only checks (nothing here changes its state)."""
    return Fake()


def sample_requests(fake: Fake) -> dict[tuple[str, str], dict[str, Any]]:
    """A successful request for every endpoint the fake serves, by (method, template)."""
    shop = fake.shop
    product = next(p for p, v in shop.products.items() if v["status"] == "ACTIVATE")
    return {
        ("GET", "/authorization/202309/shops"): {},
        ("GET", "/seller/202309/shops"): {},
        ("POST", "/product/202502/products/search"): {"params": {"page_size": "100"}},
        ("GET", "/product/202309/products/{product_id}"): {},
        ("POST", "/product/202309/inventory/search"): {"body": {"product_ids": [product]}},
        ("POST", "/order/202309/orders/search"): {"params": {"page_size": "100"}},
        ("GET", "/order/202507/orders"): {"params": {"ids": ",".join(list(shop.orders)[:50])}},
        ("POST", "/return_refund/202309/returns/search"): {"params": {"page_size": "50"}},
        ("POST", "/return_refund/202309/cancellations/search"): {"params": {"page_size": "50"}},
        ("GET", "/logistics/202309/warehouses"): {},
        ("GET", "/logistics/202309/warehouses/{warehouse_id}/delivery_options"): {},
        ("GET", "/logistics/202309/delivery_options/{delivery_option_id}/shipping_providers"): {},
        ("GET", "/fulfillment/202309/orders/{order_id}/tracking"): {},
        ("GET", "/analytics/202405/shop/performance"): {
            "params": {**WEEK, "with_comparison": "true", "granularity": "1D"}
        },
        ("GET", "/analytics/202405/shop_products/performance"): {"params": WEEK},
        ("GET", "/analytics/202405/shop_products/{product_id}/performance"): {"params": WEEK},
        ("GET", "/analytics/202406/shop_skus/performance"): {"params": WEEK},
        ("GET", "/analytics/202409/shop_videos/performance"): {"params": WEEK},
        ("GET", "/analytics/202409/shop_videos/overview_performance"): {"params": WEEK},
        ("GET", "/analytics/202409/shop_videos/{video_id}/performance"): {"params": WEEK},
        ("GET", "/analytics/202409/shop_videos/{video_id}/products/performance"): {"params": WEEK},
        ("GET", "/analytics/202508/shop_lives/performance"): {
            "params": {**SUMMER, "page_size": "100"}
        },
        ("GET", "/analytics/202508/shop_lives/overview_performance"): {"params": WEEK},
    }


def _path(fake: Fake, template: str) -> str:
    shop, world = fake.shop, fake.world
    warehouse = world.warehouses[0]["id"]
    return template.format(
        product_id=next(p for p, v in shop.products.items() if v["status"] == "ACTIVATE"),
        order_id=next(o for o, v in shop.orders.items() if v["packages"]),
        warehouse_id=warehouse,
        delivery_option_id=world.delivery_options[warehouse][0]["id"],
        video_id=shop.videos[0]["id"],
    )


#: Older versions the fake still serves; the crawl documents only their successors (same handler).
OLDER_VERSIONS = {
    "/product/202309/products/search": "/product/202502/products/search",
    "/order/202309/orders": "/order/202507/orders",
}
DOCUMENTED = [e for e in ENDPOINTS if e.template not in OLDER_VERSIONS]
WRITES = (
    "/product/202309/products/{product_id}/inventory/update",
    "/fulfillment/202309/orders/{order_id}/packages",
)
#: Endpoints whose sample request above answers with data (the writes are checked separately).
READS = [(e.method, e.template) for e in DOCUMENTED if e.template not in WRITES]


def test_older_versions_behave_as_their_documented_successors() -> None:
    by_template = {e.template: e for e in ENDPOINTS}
    for older, newer in OLDER_VERSIONS.items():
        assert by_template[older].handler is by_template[newer].handler
        assert by_template[older].scopes == by_template[newer].scopes


@pytest.mark.parametrize(("method", "template"), READS)
def test_the_fake_sends_only_documented_fields_with_documented_types(
    method: str, template: str
) -> None:
    require_reference()
    documented = documented_endpoints()[(method, template)].response
    fake = shared_fake()
    data = fake.ok(method, _path(fake, template), **sample_requests(fake)[(method, template)])
    sent = field_paths(data)
    assert sorted(set(sent) - set(documented)) == []
    wrong = {
        path: sorted({type(v).__name__ for v in values})
        for path, values in sent.items()
        if not all(matches_type(v, documented[path]) for v in values if not isinstance(v, dict))
    }
    assert wrong == {}


@pytest.mark.parametrize("endpoint", DOCUMENTED, ids=lambda e: f"{e.method} {e.template}")
def test_each_endpoint_needs_a_scope_its_documented_packages_grant(endpoint: Any) -> None:
    require_reference()
    documented = documented_endpoints()[(endpoint.method, endpoint.template)]
    assert set(endpoint.scopes) <= documented.scopes


def test_get_tracking_is_granted_by_logistics_basic_not_fulfillment_basic() -> None:
    fake = Fake()
    path = _path(fake, "/fulfillment/202309/orders/{order_id}/tracking")
    fake.world.granted_scopes.discard("seller.logistics")
    assert fake.call("GET", path)["code"] == 105005
    fake.world.granted_scopes.add("seller.logistics")
    fake.world.granted_scopes.discard("seller.fulfillment.basic")
    assert fake.call("GET", path)["code"] == 0


PAGED = [
    ("POST", "/product/202502/products/search"),
    ("POST", "/order/202309/orders/search"),
    ("POST", "/return_refund/202309/returns/search"),
    ("POST", "/return_refund/202309/cancellations/search"),
    ("GET", "/analytics/202405/shop_products/performance"),
    ("GET", "/analytics/202406/shop_skus/performance"),
    ("GET", "/analytics/202409/shop_videos/performance"),
    ("GET", "/analytics/202409/shop_videos/{video_id}/products/performance"),
    ("GET", "/analytics/202508/shop_lives/performance"),
]


@pytest.mark.parametrize(("method", "template"), PAGED)
def test_page_size_is_accepted_exactly_in_the_documented_range(method: str, template: str) -> None:
    require_reference()
    bounds = documented_endpoints()[(method, template)].page_size
    assert bounds is not None, f"no documented page_size range for {template}"
    low, high = bounds
    fake = shared_fake()
    request = sample_requests(fake)[(method, template)]
    path = _path(fake, template)
    for size, accepted in ((low - 1, False), (low, True), (high, True), (high + 1, False)):
        params = {**request.get("params", {}), "page_size": str(size)}
        code = fake.call(method, path, params=params, body=request.get("body"))["code"]
        assert (code == 0) is accepted, f"page_size={size} answered code {code}"


def test_returns_refuse_a_page_size_below_ten_with_the_return_refund_code() -> None:
    envelope = shared_fake().call(
        "POST", "/return_refund/202309/returns/search", params={"page_size": "3"}
    )
    assert envelope["code"] == 25001001
    assert "[10, 50]" in envelope["message"]


#: Fields the official samples carry that the fake must send (non-empty) somewhere in its seed data.
SAMPLE_FIELDS = {
    "orders": [
        "seller_note",
        "buyer_message",
        "cancel_reason",
        "recipient_address.post_town",
        "recipient_address.address_line3",
        "recipient_address.address_line4",
    ],
    "return_orders": ["arbitration_status", "return_tracking_number", "return_provider_name"],
    "cancellations": ["cancel_line_items[].refund_amount"],
}


@pytest.mark.parametrize(
    ("path", "key", "size"),
    [
        ("/order/202309/orders/search", "orders", 100),
        ("/return_refund/202309/returns/search", "return_orders", 50),
        ("/return_refund/202309/cancellations/search", "cancellations", 50),
    ],
)
def test_optional_fields_of_the_official_samples_appear_in_the_seed(
    path: str, key: str, size: int
) -> None:
    records = shared_fake().all_pages("POST", path, key, size)
    sent = field_paths({key: records})
    missing = [f for f in SAMPLE_FIELDS[key] if not any(sent.get(f"{key}[].{f}", []))]
    assert missing == []


def test_warehouses_live_sessions_and_shipped_packages_carry_their_sample_fields() -> None:
    fake = Fake()
    warehouses = fake.ok("GET", "/logistics/202309/warehouses")["warehouses"]
    assert all(w["address"]["state"] for w in warehouses)
    lives = fake.ok(
        "GET", "/analytics/202508/shop_lives/performance", params={**SUMMER, "page_size": "100"}
    )["live_stream_sessions"]
    assert lives and all(s["sales_performance"]["24h_live_gmv"]["amount"] for s in lives)
    order = next(o for o in fake.shop.orders.values() if o["status"] == "AWAITING_SHIPMENT")
    shipped = fake.ok(
        "POST",
        f"/fulfillment/202309/orders/{order['id']}/packages",
        body={"tracking_number": "9400111899223344556677", "shipping_provider_id": _usps()},
    )
    assert shipped["warning"] == {"message": "match more than one provider"}


def _usps() -> str:
    from commerce_mcp.sandbox.tiktok_world import SHIPPING_PROVIDER_IDS

    return SHIPPING_PROVIDER_IDS["USPS"]


def test_every_shipped_order_has_tracking_events_and_no_time_is_in_the_future() -> None:
    fake = shared_fake()
    now = int(NOW)
    for shop in fake.world.shops:
        for order in shop.orders.values():
            assert order["update_time"] <= now, order["id"]
            if order["status"] not in SHIPPED_STATUSES:
                continue
            events = fake.world.tracking_events(shop, order["id"])
            assert events, f"{order['status']} order {order['id']} has no tracking events"
            assert order["create_time"] < order["rts_time"] <= now
            if order["status"] in ("DELIVERED", "COMPLETED"):
                assert events[0]["description"].startswith("Your package was delivered")
        for record in shop.returns + shop.cancellations:
            assert record["create_time"] <= record["update_time"] <= now


def test_seeded_statuses_hold_when_the_orders_are_read() -> None:
    # order_view moves shipped orders on with time; a seeded status must already fit its age.
    fake = Fake()
    seeded = {o["id"]: o["status"] for o in fake.shop.orders.values()}
    read = fake.all_pages("POST", "/order/202309/orders/search", "orders", 100)
    assert {o["id"]: o["status"] for o in read} == seeded


# ------------------------------------------------------------------------------ update inventory


def _stocked(fake: Fake, warehouses: int) -> tuple[str, str, dict[str, int]]:
    """(product, sku, levels) of an active SKU stocked in exactly ``warehouses`` warehouses."""
    shop = fake.shop
    for product_id, product in shop.products.items():
        if product["status"] != "ACTIVATE":
            continue
        for sku in product["skus"]:
            if len(shop.stock[sku["id"]]) == warehouses:
                return product_id, sku["id"], dict(shop.stock[sku["id"]])
    raise AssertionError(f"no SKU in {warehouses} warehouses")


def _update(fake: Fake, product_id: str, skus: list[dict[str, Any]]) -> dict[str, Any]:
    return fake.call(
        "POST", f"/product/202309/products/{product_id}/inventory/update", body={"skus": skus}
    )


@pytest.mark.parametrize("quantity", [0, -1, 100_000, True, 2.5, "7"])
def test_update_inventory_refuses_a_quantity_outside_one_to_99999(quantity: Any) -> None:
    fake = Fake()
    product_id, sku_id, levels = _stocked(fake, 1)
    warehouse = next(iter(levels))
    envelope = _update(
        fake,
        product_id,
        [{"id": sku_id, "inventory": [{"warehouse_id": warehouse, "quantity": quantity}]}],
    )
    assert envelope["code"] == 12052055
    assert fake.shop.stock[sku_id] == levels


@pytest.mark.parametrize("quantity", [1, 99_999])
def test_update_inventory_accepts_the_documented_bounds(quantity: int) -> None:
    fake = Fake()
    product_id, sku_id, levels = _stocked(fake, 1)
    warehouse = next(iter(levels))
    envelope = _update(
        fake,
        product_id,
        [{"id": sku_id, "inventory": [{"warehouse_id": warehouse, "quantity": quantity}]}],
    )
    assert envelope["code"] == 0 and not envelope["data"]
    assert fake.shop.stock[sku_id] == {warehouse: quantity}


def test_a_rejected_update_changes_no_sku_of_the_request() -> None:
    fake = Fake()
    product_id, sku_id, levels = _stocked(fake, 2)
    others = [s["id"] for s in fake.shop.products[product_id]["skus"] if s["id"] != sku_id]
    before = {s: dict(fake.shop.stock[s]) for s in [*others, sku_id]}
    good = [
        {"id": s, "inventory": [{"warehouse_id": w, "quantity": 5} for w in fake.shop.stock[s]]}
        for s in others
    ]
    partial = {"id": sku_id, "inventory": [{"warehouse_id": next(iter(levels)), "quantity": 5}]}
    envelope = _update(fake, product_id, [*good, partial])
    assert envelope["code"] == 12019028
    assert {s: fake.shop.stock[s] for s in before} == before
