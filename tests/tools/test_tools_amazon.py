"""The Amazon MCF tools through a real MCP client, on both protocol eras, against the sandbox."""

from __future__ import annotations

from typing import Any

import pytest
from tests.support.mcp import connect, error_text, ok, services_for, text_of
from tests.support.sandbox import recipient

from commerce_mcp.resilience.clock import SystemClock
from commerce_mcp.sandbox.catalog import build_catalog


class ShiftedClock(SystemClock):
    """Real time whose wall clock a test can move on (confirmation tokens are stamped per second)."""

    def __init__(self) -> None:
        self.offset = 0.0

    def wall(self) -> float:
        return super().wall() + self.offset


pytestmark = pytest.mark.anyio


def _plentiful(index: int) -> str:
    skus = [s for s in build_catalog().all_skus() if s.fba and s.fba.fulfillable >= 200]
    return skus[-1 - index].seller_sku


async def test_preview_quotes_each_speed(sandbox: Any, era: str) -> None:
    args = {"items": [{"seller_sku": _plentiful(0), "quantity": 1}], "recipient": recipient("P")}
    async with connect(sandbox, era) as client:
        result = ok(await client.call_tool("preview_mcf_order", args))
    speeds = {p["shipping_speed"]: p for p in result["previews"]}
    assert {"Standard", "Expedited", "Priority"} <= set(speeds)
    assert speeds["Standard"]["fulfillable"] is True and speeds["Standard"]["total_fees"]


async def test_create_previews_confirms_and_never_duplicates(sandbox: Any, era: str) -> None:
    index = 1 if era == "modern" else 2
    args = {
        "items": [{"seller_sku": _plentiful(index), "quantity": 1}],
        "recipient": {
            **recipient(f"Buyer {era}"),
            "address_line2": "Unit 5",
            "address_line3": "Gate 2",
        },
        "displayable_order_id": f"TT-TEST-{era}",
    }
    before = set(sandbox.amazon.order_ids())
    clock = ShiftedClock()
    services = services_for(sandbox)
    services.clock = clock
    async with connect(sandbox, era, services=services) as client:
        preview = ok(await client.call_tool("create_mcf_order", args))
        assert preview["status"] == "preview" and set(sandbox.amazon.order_ids()) == before
        created = ok(
            await client.call_tool(
                "create_mcf_order", {**args, "confirmation_token": preview["confirmation_token"]}
            )
        )
        assert created["status"] == "created"
        clock.offset += 2  # a later preview, so a token distinct from the used one
        again = ok(await client.call_tool("create_mcf_order", args))
        repeat = ok(
            await client.call_tool(
                "create_mcf_order", {**args, "confirmation_token": again["confirmation_token"]}
            )
        )
        assert repeat["status"] == "already_created"
        new = set(sandbox.amazon.order_ids()) - before
        assert new == {created["seller_fulfillment_order_id"]}

        order_id = created["seller_fulfillment_order_id"]
        got = ok(await client.call_tool("get_mcf_order", {"seller_fulfillment_order_id": order_id}))
        assert got["order"]["lines"][0]["seller_sku"] == args["items"][0]["seller_sku"]
        at_amazon = await (await services.amazon()).get_fulfillment_order(order_id)
        address = at_amazon.fulfillment_order.destination_address
        assert address is not None and (address.address_line2, address.address_line3) == (
            "Unit 5",
            "Gate 2",
        )
        listed = ok(await client.call_tool("list_mcf_orders", {"limit": 100}))
        assert order_id in {o["seller_fulfillment_order_id"] for o in listed["orders"]}


async def test_cancel_and_tracking(sandbox: Any) -> None:
    base = {"recipient": recipient("Track Me")}
    async with connect(sandbox) as client:
        ship = {**base, "items": [{"seller_sku": _plentiful(3), "quantity": 1}]}
        token = ok(await client.call_tool("create_mcf_order", ship))["confirmation_token"]
        shipped_id = ok(
            await client.call_tool("create_mcf_order", {**ship, "confirmation_token": token})
        )["seller_fulfillment_order_id"]

        drop = {**base, "items": [{"seller_sku": _plentiful(4), "quantity": 1}]}
        token = ok(await client.call_tool("create_mcf_order", drop))["confirmation_token"]
        cancel_id = ok(
            await client.call_tool("create_mcf_order", {**drop, "confirmation_token": token})
        )["seller_fulfillment_order_id"]
        preview = ok(
            await client.call_tool("cancel_mcf_order", {"seller_fulfillment_order_id": cancel_id})
        )
        assert preview["status"] == "preview"
        cancelled = ok(
            await client.call_tool(
                "cancel_mcf_order",
                {
                    "seller_fulfillment_order_id": cancel_id,
                    "confirmation_token": preview["confirmation_token"],
                },
            )
        )
        assert cancelled["order"]["status"] == "Cancelled"

        sandbox.advance(3 * 86_400)
        order = ok(
            await client.call_tool("get_mcf_order", {"seller_fulfillment_order_id": shipped_id})
        )
        package = order["order"]["shipments"][0]["packages"][0]
        tracking = ok(
            await client.call_tool(
                "get_mcf_tracking", {"package_number": package["package_number"]}
            )
        )
        assert tracking["tracking_number"] == package["tracking_number"]
        assert tracking["events"] and str(package["package_number"]) in text_of(
            await client.call_tool(
                "get_mcf_tracking", {"package_number": package["package_number"]}
            )
        )


async def test_bad_order_id_is_refused_without_a_call(sandbox: Any) -> None:
    async with connect(sandbox) as client:
        message = error_text(
            await client.call_tool("get_mcf_order", {"seller_fulfillment_order_id": "bad id!"})
        )
    assert "pattern" in message


async def test_tracking_says_what_happened_where_and_when_newest_first() -> None:
    from tests.support.sandbox import DAYS, private_sandbox, sandbox_services

    with private_sandbox() as fakes:
        args = {
            "items": [{"seller_sku": _plentiful(5), "quantity": 1}],
            "recipient": recipient("T"),
        }
        async with connect(fakes, services=sandbox_services(fakes)) as client:
            token = ok(await client.call_tool("create_mcf_order", args))["confirmation_token"]
            order_id = ok(
                await client.call_tool("create_mcf_order", {**args, "confirmation_token": token})
            )["seller_fulfillment_order_id"]
            fakes.advance(4 * DAYS)
            order = ok(
                await client.call_tool("get_mcf_order", {"seller_fulfillment_order_id": order_id})
            )
            package = order["order"]["shipments"][0]["packages"][0]
            result = await client.call_tool(
                "get_mcf_tracking", {"package_number": package["package_number"]}
            )
    text = text_of(result).splitlines()[1:]  # after the sandbox banner
    events = [line for line in text if line.startswith("  ")]
    times = [line.split()[0] for line in events]
    assert package["tracking_number"] in text[0]
    assert events and times == sorted(times, reverse=True)
    assert not any("EVENT_" in line for line in events)
    assert all(event["description"] for event in ok(result)["events"])
