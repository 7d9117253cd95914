"""The TikTok Shop tools through a real MCP client, on both protocol eras, against the sandbox."""

from __future__ import annotations

import json
from typing import Any

import pytest
from mcp.client import ClientRequestContext
from mcp.types import ElicitRequestParams, ElicitResult
from tests.support.mcp import connect, error_text, ok, services_for, text_of

from commerce_mcp.config import load_settings
from commerce_mcp.services import Services
from commerce_mcp.tiktok import endpoints as ep

pytestmark = pytest.mark.anyio

MAIN = "Sandbox Glow Co"
OUTLET = "Sandbox Outlet"


def _shop(sandbox: Any, name: str) -> Any:
    return next(s for s in sandbox.tiktok.shops if s.name == name)


def _awaiting(sandbox: Any, name: str, index: int) -> str:
    """A distinct order awaiting shipment (tests pick different indexes, from the end)."""
    orders = sorted(
        (o for o in _shop(sandbox, name).orders.values() if o["status"] == "AWAITING_SHIPMENT"),
        key=lambda o: o["id"],
    )
    return str(orders[-1 - index]["id"])


def _single_warehouse_skus(sandbox: Any, name: str) -> list[tuple[str, str, str]]:
    """(seller_sku, sku_id, warehouse_id) for SKUs stocked in exactly one warehouse."""
    shop = _shop(sandbox, name)
    found = []
    for product in shop.products.values():
        for sku in product["skus"]:
            levels = shop.stock[sku["id"]]
            if len(levels) == 1:
                found.append((sku["seller_sku"], sku["id"], next(iter(levels))))
    return sorted(found)


async def test_read_tools_answer_with_compact_text_and_typed_content(
    sandbox: Any, era: str
) -> None:
    async with connect(sandbox, era) as client:
        shops = ok(await client.call_tool("list_tiktok_shops", {}))
        assert {s["name"] for s in shops["shops"]} == {MAIN, OUTLET}

        products = ok(await client.call_tool("list_tiktok_products", {"limit": 5}))
        assert len(products["products"]) == 5 and products["next_cursor"]
        first = products["products"][0]
        assert first["skus"][0]["seller_sku"].startswith("TS-")

        product = ok(
            await client.call_tool("get_tiktok_product", {"product_id": first["id"], "shop": MAIN})
        )
        assert product["product"]["skus"][0]["warehouses"]

        orders = ok(
            await client.call_tool(
                "list_tiktok_orders", {"status": "DELIVERED", "limit": 3, "shop": MAIN}
            )
        )
        assert [o["status"] for o in orders["orders"]] == ["DELIVERED"] * 3
        order = ok(await client.call_tool("get_order", {"order_id": orders["orders"][0]["id"]}))
        detail = order["order"]
        assert detail["lines"] and detail["packages"] and detail["address"]["postal_code"]
        assert detail["amounts"]["total"] is not None

        returns = ok(await client.call_tool("list_tiktok_returns", {"kind": "returns", "limit": 4}))
        assert {i["kind"] for i in returns["items"]} == {"return"}
        cancels = ok(
            await client.call_tool("list_tiktok_returns", {"kind": "cancellations", "limit": 4})
        )
        assert {i["kind"] for i in cancels["items"]} == {"cancellation"}

        perf = ok(await client.call_tool("get_tiktok_shop_performance", {"granularity": "1D"}))
        assert len(perf["intervals"]) == 7 and perf["intervals"][0]["gmv"]

        top = ok(
            await client.call_tool(
                "get_tiktok_product_performance", {"rank_by": "orders", "limit": 5}
            )
        )
        counts = [i["orders"] for i in top["items"]]
        assert counts == sorted(counts, reverse=True) and len(counts) == 5
        one = ok(
            await client.call_tool(
                "get_tiktok_product_performance", {"product_id": top["items"][0]["id"]}
            )
        )
        assert one["intervals"]

        videos = ok(await client.call_tool("get_tiktok_content_performance", {"limit": 3}))
        video = ok(
            await client.call_tool(
                "get_tiktok_content_performance",
                {"view": "item", "item_id": videos["items"][0]["id"]},
            )
        )
        assert video["intervals"] and video["items"]
        lives = ok(
            await client.call_tool("get_tiktok_content_performance", {"kind": "live", "limit": 50})
        )
        live = ok(
            await client.call_tool(
                "get_tiktok_content_performance",
                {"kind": "live", "view": "item", "item_id": lives["items"][-1]["id"]},
            )
        )
        assert [i["id"] for i in live["items"]] == [lives["items"][-1]["id"]]
        overview = ok(
            await client.call_tool("get_tiktok_content_performance", {"view": "overview"})
        )
        assert overview["intervals"]


async def test_untrusted_titles_are_cleaned(sandbox: Any) -> None:
    async with connect(sandbox) as client:
        lives = ok(
            await client.call_tool("get_tiktok_content_performance", {"kind": "live", "limit": 100})
        )
    titles = [i["title"] for i in lives["items"]]
    assert all("\u202e" not in t and "\u200b" not in t for t in titles)


async def test_paging_products_reaches_the_end_without_repeats(sandbox: Any, era: str) -> None:
    expected = len(_shop(sandbox, OUTLET).products)
    seen: list[str] = []
    cursor = None
    async with connect(sandbox, era) as client:
        for _ in range(50):
            args: dict[str, Any] = {"shop": OUTLET, "limit": 7}
            if cursor:
                args["cursor"] = cursor
            page = ok(await client.call_tool("list_tiktok_products", args))
            seen += [p["id"] for p in page["products"]]
            cursor = page.get("next_cursor")
            if not cursor:
                break
    assert len(seen) == len(set(seen)) == expected


async def test_paging_returns_and_cancellations_together(sandbox: Any) -> None:
    shop = _shop(sandbox, OUTLET)
    seen: list[str] = []
    cursor = None
    async with connect(sandbox) as client:
        for _ in range(100):
            args: dict[str, Any] = {"shop": OUTLET, "kind": "both", "limit": 30}
            if cursor:
                args["cursor"] = cursor
            page = ok(await client.call_tool("list_tiktok_returns", args))
            seen += [i["id"] for i in page["items"]]
            cursor = page.get("next_cursor")
            if not cursor:
                break
    assert len(seen) == len(set(seen)) == len(shop.returns) + len(shop.cancellations)


@pytest.mark.parametrize(
    ("tool", "arguments", "needle"),
    [
        ("list_tiktok_orders", {"limit": 500}, "less than or equal to 100"),
        ("list_tiktok_orders", {"created_from": "last tuesday"}, "pattern"),
        ("list_tiktok_orders", {"status": "SHIPPED_ISH"}, "AWAITING_SHIPMENT"),
        ("list_tiktok_orders", {"cursor": "not-a-cursor"}, "cursor"),
        ("get_order", {"order_id": "12; DROP"}, "pattern"),
    ],
)
async def test_bad_input_is_a_clear_error_and_nothing_reaches_the_platform(
    sandbox: Any, era: str, tool: str, arguments: dict[str, Any], needle: str
) -> None:
    async with connect(sandbox, era) as client:
        await client.call_tool("list_tiktok_shops", {})  # token and shop list warmed up
        tripwire = sandbox.tiktok_faults.inject("/order/*", "status", 1, status=599)
        try:
            message = error_text(await client.call_tool(tool, arguments))
        finally:
            sandbox.tiktok_faults.clear()
    assert needle in message
    assert tripwire.remaining == 1, "the bad call reached the fake platform"


async def test_platform_error_reports_code_and_request_id(sandbox: Any, era: str) -> None:
    body = {"code": 36009004, "message": "Invalid shop_cipher", "request_id": "2026SBXREQ42"}
    async with connect(sandbox, era) as client:
        sandbox.tiktok_faults.inject(
            "/order/202309/orders/search", "status", 1, status=200, body=body
        )
        try:
            message = error_text(await client.call_tool("list_tiktok_orders", {"limit": 2}))
        finally:
            sandbox.tiktok_faults.clear()
    assert "36009004" in message and "2026SBXREQ42" in message
    assert "Traceback" not in message


async def test_server_errors_end_as_a_tool_error_not_a_crash(sandbox: Any) -> None:
    async with connect(sandbox) as client:
        sandbox.tiktok_faults.inject(
            "/order/202309/orders/search", "status", 50, status=500, body="<html>oops</html>"
        )
        try:
            message = error_text(await client.call_tool("list_tiktok_orders", {"limit": 2}))
        finally:
            sandbox.tiktok_faults.clear()
        assert "500" in message or "unavailable" in message.lower() or "retr" in message.lower()
        # and the server still works afterwards
        ok(await client.call_tool("list_tiktok_shops", {}))


async def test_concise_text_is_at_most_a_third_of_the_upstream_json(sandbox: Any) -> None:
    services = services_for(sandbox)
    async with connect(sandbox, services=services) as client:
        result = await client.call_tool("list_tiktok_orders", {"limit": 20, "shop": MAIN})
        products = await client.call_tool("list_tiktok_products", {"limit": 20, "shop": MAIN})
        tiktok = await services.tiktok()
        shop = await tiktok.resolve_shop(MAIN)
        raw_orders = await tiktok._call(
            ep.SEARCH_ORDERS,
            shop=shop,
            query={"page_size": "20", "sort_field": "create_time", "sort_order": "DESC"},
            body={},
        )
        raw_products = await tiktok._call(
            ep.SEARCH_PRODUCTS, shop=shop, query={"page_size": "20"}, body={}
        )
    for text, raw in ((text_of(result), raw_orders), (text_of(products), raw_products)):
        upstream = len(json.dumps(raw, separators=(",", ":")).encode())
        assert len(text.encode()) * 3 <= upstream, (len(text.encode()), upstream)


# ------------------------------------------------------------------------------------ writes


async def test_inventory_update_previews_then_applies_with_the_token(
    sandbox: Any, era: str
) -> None:
    index = 0 if era == "modern" else 1
    seller_sku, sku_id, warehouse = _single_warehouse_skus(sandbox, OUTLET)[index]
    stock = _shop(sandbox, OUTLET).stock[sku_id]
    before = stock[warehouse]
    target = before + 7
    args = {"shop": OUTLET, "items": [{"seller_sku": seller_sku, "quantity": target}]}
    async with connect(sandbox, era) as client:
        preview = ok(await client.call_tool("update_tiktok_inventory", args))
        assert preview["status"] == "preview" and preview["confirmation_token"]
        change = preview["changes"][0]
        assert (change["current"], change["new"], change["warehouse_id"]) == (
            before,
            target,
            warehouse,
        )
        assert f"{before} -> {target}" in text_of(
            await client.call_tool("update_tiktok_inventory", args)
        )
        assert stock[warehouse] == before, "a preview changed stock"

        changed = {**args, "items": [{"seller_sku": seller_sku, "quantity": target + 1}]}
        refused = error_text(
            await client.call_tool(
                "update_tiktok_inventory",
                {**changed, "confirmation_token": preview["confirmation_token"]},
            )
        )
        assert "does not match" in refused and stock[warehouse] == before

        done = ok(
            await client.call_tool(
                "update_tiktok_inventory",
                {**args, "confirmation_token": preview["confirmation_token"]},
            )
        )
        assert done["status"] == "updated" and stock[warehouse] == target
        again = error_text(
            await client.call_tool(
                "update_tiktok_inventory",
                {**args, "confirmation_token": preview["confirmation_token"]},
            )
        )
        assert "already used" in again


async def test_inventory_update_rejects_unknown_sku_and_warehouse(sandbox: Any) -> None:
    seller_sku, _, _ = _single_warehouse_skus(sandbox, OUTLET)[2]
    async with connect(sandbox) as client:
        unknown = error_text(
            await client.call_tool(
                "update_tiktok_inventory",
                {"shop": OUTLET, "items": [{"seller_sku": "NOPE-123", "quantity": 1}]},
            )
        )
        wrong_place = error_text(
            await client.call_tool(
                "update_tiktok_inventory",
                {
                    "shop": OUTLET,
                    "items": [{"seller_sku": seller_sku, "quantity": 1, "warehouse": "Mars"}],
                },
            )
        )
        negative = error_text(
            await client.call_tool(
                "update_tiktok_inventory",
                {"shop": OUTLET, "items": [{"seller_sku": seller_sku, "quantity": -1}]},
            )
        )
    assert "NOPE-123" in unknown
    assert "Mars" in wrong_place and "Main Warehouse" in wrong_place
    assert "greater than or equal to 1" in negative


async def test_per_sku_errors_inside_a_success_envelope_surface_as_errors(sandbox: Any) -> None:
    seller_sku, sku_id, warehouse = _single_warehouse_skus(sandbox, OUTLET)[3]
    stock = _shop(sandbox, OUTLET).stock[sku_id]
    before = stock[warehouse]
    body = {
        "code": 0,
        "message": "Success",
        "request_id": "2026SBXPARTIAL",
        "data": {
            "errors": [
                {
                    "code": 12052230,
                    "message": "Quantity must be an integer from 0 to 99999.",
                    "detail": {"sku_id": sku_id, "extra_errors": []},
                }
            ]
        },
    }
    args = {"shop": OUTLET, "items": [{"seller_sku": seller_sku, "quantity": before + 3}]}
    async with connect(sandbox) as client:
        token = ok(await client.call_tool("update_tiktok_inventory", args))["confirmation_token"]
        sandbox.tiktok_faults.inject("*/inventory/update", "status", 1, status=200, body=body)
        try:
            message = error_text(
                await client.call_tool(
                    "update_tiktok_inventory", {**args, "confirmation_token": token}
                )
            )
        finally:
            sandbox.tiktok_faults.clear()
    assert "12052230" in message and sku_id in message
    assert stock[warehouse] == before


async def test_ship_order_previews_then_ships_with_the_token(sandbox: Any, era: str) -> None:
    order_id = _awaiting(sandbox, OUTLET, 0 if era == "modern" else 1)
    order = _shop(sandbox, OUTLET).orders[order_id]
    args = {
        "shop": OUTLET,
        "order_id": order_id,
        "tracking_number": f"1Z999AA1{order_id[-8:]}",
        "shipping_provider": "usps",
    }
    async with connect(sandbox, era) as client:
        preview = ok(await client.call_tool("ship_tiktok_order", args))
        assert preview["status"] == "preview" and preview["shipping_provider"] == "USPS"
        assert order["status"] == "AWAITING_SHIPMENT"
        other = {**args, "tracking_number": "1Z999AA100000000"}
        refused = error_text(
            await client.call_tool(
                "ship_tiktok_order", {**other, "confirmation_token": preview["confirmation_token"]}
            )
        )
        assert "does not match" in refused and order["status"] == "AWAITING_SHIPMENT"
        shipped = ok(
            await client.call_tool(
                "ship_tiktok_order", {**args, "confirmation_token": preview["confirmation_token"]}
            )
        )
        assert shipped["status"] == "shipped" and shipped["package_id"]
        assert order["status"] == "AWAITING_COLLECTION"
        view = ok(await client.call_tool("get_order", {"order_id": order_id, "shop": OUTLET}))
        assert view["order"]["packages"][0]["tracking_number"] == args["tracking_number"]
        twice = error_text(await client.call_tool("ship_tiktok_order", args))
        assert "AWAITING_COLLECTION" in twice


async def test_ship_order_with_unknown_carrier_lists_the_valid_ones(sandbox: Any) -> None:
    order_id = _awaiting(sandbox, OUTLET, 2)
    before = sandbox.tiktok.ship_requests
    async with connect(sandbox) as client:
        message = error_text(
            await client.call_tool(
                "ship_tiktok_order",
                {
                    "shop": OUTLET,
                    "order_id": order_id,
                    "tracking_number": "ABC12345",
                    "shipping_provider": "Pony Express",
                },
            )
        )
    assert "Pony Express" in message and "valid:" in message and "(id 7" in message
    assert sandbox.tiktok.ship_requests == before


@pytest.mark.parametrize("answer", ["accept", "decline"])
async def test_elicitation_asks_the_person_instead_of_a_token(sandbox: Any, answer: str) -> None:
    seller_sku, sku_id, warehouse = _single_warehouse_skus(sandbox, OUTLET)[
        4 if answer == "accept" else 5
    ]
    stock = _shop(sandbox, OUTLET).stock[sku_id]
    before = stock[warehouse]
    asked: list[str] = []

    async def respond(_: ClientRequestContext, params: ElicitRequestParams) -> ElicitResult:
        asked.append(params.message)
        if answer == "accept":
            return ElicitResult(action="accept", content={"approve": True})
        return ElicitResult(action="decline")

    args = {"shop": OUTLET, "items": [{"seller_sku": seller_sku, "quantity": before + 11}]}
    async with connect(sandbox, "legacy", elicitation_callback=respond) as client:
        result = await client.call_tool("update_tiktok_inventory", args)
    assert asked and seller_sku in asked[0]
    if answer == "accept":
        assert ok(result)["status"] == "updated" and stock[warehouse] == before + 11
    else:
        assert result.is_error and stock[warehouse] == before


async def test_write_tools_are_not_listed_when_writes_are_disabled(sandbox: Any) -> None:
    settings, problems = load_settings(**sandbox.settings_overrides())
    services = Services(settings=settings, problems=problems, sandbox=None)
    assert not settings.writes_enabled
    async with connect(sandbox, services=services) as client:
        names = {t.name for t in (await client.list_tools()).tools}
    assert {"list_tiktok_orders", "get_inventory", "get_order"} <= names
    assert not names & {"update_tiktok_inventory", "ship_tiktok_order", "create_mcf_order"}


async def test_a_product_search_says_what_was_searched_and_never_guesses(sandbox: Any) -> None:
    async with connect(sandbox) as client:
        nothing = text_of(
            await client.call_tool("list_tiktok_products", {"seller_skus": ["NOPE-1"]})
        )
        active = text_of(
            await client.call_tool("list_tiktok_products", {"status": "ACTIVATE", "limit": 1})
        )
    head = nothing.splitlines()[1]  # after the sandbox banner
    assert head == "0 product(s) of 0 matching in Sandbox Glow Co (any status; seller SKU NOPE-1)"
    assert "(status ACTIVATE)" in active and "more: call again with cursor=" in active
    assert "?" not in nothing and "?" not in active.splitlines()[1]
