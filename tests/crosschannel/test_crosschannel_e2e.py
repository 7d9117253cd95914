"""Ship TikTok orders from FBA end to end across both fake platforms, including faults mid-way."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from typing import Any

import pytest
from mcp import Client

from commerce_mcp.crosschannel.links import NAMESPACE as LINKS
from commerce_mcp.crosschannel.links import LinkStore, OrderLink
from commerce_mcp.errors import StateStoreUnavailable
from commerce_mcp.server import build_server
from commerce_mcp.store.memory import MemoryStore
from tests.support.mcp import ERAS, connect
from tests.support.sandbox import private_sandbox, sandbox_services

DAYS = 86_400.0
_taken: set[str] = set()


def _awaiting_orders(sandbox: Any, *, fulfillable: bool) -> Iterator[str]:
    shop = sandbox.tiktok.shops[0]
    for order_id, order in shop.orders.items():
        if order_id in _taken or order.get("status") != "AWAITING_SHIPMENT":
            continue
        if order.get("is_on_hold_order") or order.get("is_buyer_request_cancel"):
            continue
        need = Counter(item["seller_sku"] for item in order["line_items"])
        ok = all(sandbox.amazon.fulfillable(sku) >= qty + 5 for sku, qty in need.items())
        if ok == fulfillable:
            yield order_id


def take_order(sandbox: Any, *, fulfillable: bool = True) -> str:
    order_id = next(_awaiting_orders(sandbox, fulfillable=fulfillable))
    _taken.add(order_id)
    return order_id


def mcf_orders_for(sandbox: Any, tiktok_order_id: str) -> list[str]:
    return [oid for oid in sandbox.amazon.order_ids() if oid.endswith(tiktok_order_id)]


async def call(client: Client, tool: str, **arguments: Any) -> tuple[bool, dict[str, Any], str]:
    result = await client.call_tool(tool, arguments)
    text = "\n".join(getattr(block, "text", "") for block in result.content)
    return bool(result.is_error), dict(result.structured_content or {}), text


@pytest.fixture
async def client(sandbox: Any) -> Any:
    async with Client(build_server(sandbox_services(sandbox))) as connected:
        yield connected


@pytest.mark.anyio
async def test_preview_then_confirm_creates_exactly_one_mcf_order(
    client: Client, sandbox: Any
) -> None:
    order_id = take_order(sandbox)
    error, preview, text = await call(client, "fulfill_tiktok_order_with_mcf", order_id=order_id)
    assert not error, text
    assert preview["status"] == "preview"
    assert preview["preview"]["fulfillable"] is True
    assert mcf_orders_for(sandbox, order_id) == []  # a preview creates nothing

    error, created, text = await call(
        client,
        "fulfill_tiktok_order_with_mcf",
        order_id=order_id,
        confirmation_token=preview["confirmation_token"],
    )
    assert not error, text
    assert created["status"] == "created"
    assert created["mcf_order_id"] == f"tts-{order_id}"

    error, again, _ = await call(client, "fulfill_tiktok_order_with_mcf", order_id=order_id)
    assert again["status"] == "already_created"
    assert mcf_orders_for(sandbox, order_id) == [f"tts-{order_id}"]


@pytest.mark.anyio
async def test_a_token_for_another_order_is_refused(client: Client, sandbox: Any) -> None:
    first, second = take_order(sandbox), take_order(sandbox)
    _, preview, _ = await call(client, "fulfill_tiktok_order_with_mcf", order_id=first)
    error, _, text = await call(
        client,
        "fulfill_tiktok_order_with_mcf",
        order_id=second,
        confirmation_token=preview["confirmation_token"],
    )
    assert error
    assert "does not match these arguments" in text
    assert mcf_orders_for(sandbox, second) == []


@pytest.mark.anyio
async def test_create_that_commits_then_drops_the_connection_yields_one_order(
    client: Client, sandbox: Any
) -> None:
    order_id = take_order(sandbox)
    _, preview, _ = await call(client, "fulfill_tiktok_order_with_mcf", order_id=order_id)
    sandbox.amazon_faults.inject(
        "/fba/outbound/2020-07-01/fulfillmentOrders", "commit_then_drop", 1, method="POST"
    )
    error, created, text = await call(
        client,
        "fulfill_tiktok_order_with_mcf",
        order_id=order_id,
        confirmation_token=preview["confirmation_token"],
    )
    assert not error, text
    assert created["status"] in ("created", "already_created")
    assert mcf_orders_for(sandbox, order_id) == [f"tts-{order_id}"]


@pytest.mark.anyio
async def test_fba_short_order_is_refused_with_the_short_sku_named(
    client: Client, sandbox: Any
) -> None:
    order_id = take_order(sandbox, fulfillable=False)
    error, result, text = await call(client, "fulfill_tiktok_order_with_mcf", order_id=order_id)
    assert not error, text
    assert result["status"] in ("not_fulfillable", "blocked")
    assert result.get("confirmation_token") is None
    order = sandbox.tiktok.shops[0].orders[order_id]
    assert any(item["seller_sku"] in text for item in order["line_items"])
    assert mcf_orders_for(sandbox, order_id) == []


@pytest.mark.anyio
async def test_tracking_sync_retries_a_failed_mark_and_never_marks_twice(
    client: Client, sandbox: Any
) -> None:
    order_id = take_order(sandbox)
    _, preview, _ = await call(client, "fulfill_tiktok_order_with_mcf", order_id=order_id)
    await call(
        client,
        "fulfill_tiktok_order_with_mcf",
        order_id=order_id,
        confirmation_token=preview["confirmation_token"],
    )
    _, waiting, _ = await call(client, "sync_mcf_tracking_to_tiktok", order_ids=[order_id])
    assert waiting["marked"] == []

    sandbox.advance(3 * DAYS)
    sandbox.tiktok_faults.inject(
        f"/fulfillment/202309/orders/{order_id}/packages",
        "status",
        1,
        status=200,
        body={
            "code": 21011001,
            "message": "Order status does not allow shipping",
            "data": None,
            "request_id": "REQ-FAULT-1",
        },
    )
    error, failed, text = await call(client, "sync_mcf_tracking_to_tiktok", order_ids=[order_id])
    assert not error, text
    assert failed["marked"] == []
    assert failed["failed"] and "21011001" in failed["failed"][0]["detail"]

    _, synced, text = await call(client, "sync_mcf_tracking_to_tiktok", order_ids=[order_id])
    assert synced["marked"], text
    assert sandbox.tiktok.shops[0].orders[order_id]["status"] != "AWAITING_SHIPMENT"

    _, again, _ = await call(client, "sync_mcf_tracking_to_tiktok", order_ids=[order_id])
    assert again["marked"] == [] and again["failed"] == []


@pytest.mark.anyio
@pytest.mark.parametrize("era", ERAS)
async def test_tracking_sync_reports_progress_order_by_order(sandbox: Any, era: str) -> None:
    updates: list[tuple[float, float | None, str | None]] = []

    async def progress(done: float, total: float | None, message: str | None) -> None:
        updates.append((done, total, message))

    async with connect(sandbox, era, services=sandbox_services(sandbox)) as client:
        orders = [take_order(sandbox), take_order(sandbox)]
        for order_id in orders:
            _, preview, _ = await call(client, "fulfill_tiktok_order_with_mcf", order_id=order_id)
            token = preview["confirmation_token"]
            await call(
                client, "fulfill_tiktok_order_with_mcf", order_id=order_id, confirmation_token=token
            )
        sandbox.advance(3 * DAYS)
        result = await client.call_tool(
            "sync_mcf_tracking_to_tiktok", {"order_ids": orders}, progress_callback=progress
        )
    assert not result.is_error
    assert [done for done, _, _ in updates] == [1, 2]
    assert all(total == 2 for _, total, _ in updates)
    assert updates[-1][2] == "checked 2 of 2 order(s)"


@pytest.mark.anyio
async def test_inventory_sync_plans_then_applies_with_the_token() -> None:
    # Fresh fakes: another test syncing the same product first must not change what we plan.
    with private_sandbox() as sandbox:
        async with Client(build_server(sandbox_services(sandbox))) as client:
            await _plan_then_apply(client, sandbox)


async def _plan_then_apply(client: Client, sandbox: Any) -> None:
    product = next(
        p
        for p in sandbox.tiktok.shops[0].products.values()
        if p["status"] == "ACTIVATE"
        and all(sandbox.amazon.fulfillable(s["seller_sku"]) > 10 for s in p["skus"])
    )
    skus = [s["seller_sku"] for s in product["skus"]]
    error, plan, text = await call(client, "sync_inventory_to_tiktok", skus=skus, buffer=3)
    assert not error, text
    assert plan["status"] == "plan"
    row = plan["changes"][0]
    assert row["tiktok_after"] == row["fba_fulfillable"] - 3

    error, applied, text = await call(
        client,
        "sync_inventory_to_tiktok",
        skus=skus,
        buffer=3,
        confirmation_token=plan["confirmation_token"],
    )
    assert not error, text
    assert applied["status"] == "applied"
    assert sorted(applied["updated"]) == sorted(r["seller_sku"] for r in plan["changes"])
    _, replanned, _ = await call(client, "sync_inventory_to_tiktok", skus=skus, buffer=3)
    assert replanned["status"] == "nothing_to_do"


class _LinkSaveBlip(MemoryStore):
    """A store that fails the next write of a link (Redis gone for a moment after the create)."""

    armed = False

    async def put(self, namespace: str, key: str, value: dict[str, Any]) -> None:
        if self.armed and namespace == LINKS:
            self.armed = False
            raise StateStoreUnavailable("state store unavailable: Redis did not answer")
        await super().put(namespace, key, value)


@pytest.mark.anyio
async def test_an_order_created_during_a_store_blip_is_reconciled_and_synced(
    sandbox: Any,
) -> None:
    """The link save after the create fails: the answer is still "created", and the next tracking
    sync finds the order at Amazon, marks the link created and ships it on TikTok."""
    store = _LinkSaveBlip()
    services = sandbox_services(sandbox)
    services.use_store(store)
    async with Client(build_server(services)) as client:
        order_id = take_order(sandbox)
        _, preview, _ = await call(client, "fulfill_tiktok_order_with_mcf", order_id=order_id)
        store.armed = True
        error, created, text = await call(
            client,
            "fulfill_tiktok_order_with_mcf",
            order_id=order_id,
            confirmation_token=preview["confirmation_token"],
        )
        assert not error and created["status"] == "created", text
        link = await LinkStore(store).get(order_id)
        assert link is not None and link.status == "pending"

        _, first, text = await call(client, "sync_mcf_tracking_to_tiktok", order_ids=[order_id])
        assert [w["tiktok_order_id"] for w in first["waiting"]] == [order_id], text
        assert first["pending"] == [] and first["unknown_orders"] == []
        link = await LinkStore(store).get(order_id)
        assert link is not None and link.status == "created"

        sandbox.advance(3 * DAYS)
        _, synced, text = await call(client, "sync_mcf_tracking_to_tiktok", order_ids=[order_id])
        assert [m["tiktok_order_id"] for m in synced["marked"]] == [order_id], text
    assert mcf_orders_for(sandbox, order_id) == [f"tts-{order_id}"]


@pytest.mark.anyio
async def test_a_pending_link_amazon_does_not_have_is_reported_with_the_next_step(
    sandbox: Any,
) -> None:
    """A process died between writing the link and sending the order: the sync says so and what
    to run, instead of skipping the order in silence; re-running the fulfil settles it."""
    services = sandbox_services(sandbox)
    order_id = take_order(sandbox)
    async with Client(build_server(services)) as client:
        links = LinkStore(await services.store())
        await links.claim(
            OrderLink(
                tiktok_order_id=order_id,
                shop_id=sandbox.tiktok.shops[0].id,
                mcf_order_id=f"tts-{order_id}",
                shipping_speed="Standard",
            )
        )
        error, report, text = await call(
            client, "sync_mcf_tracking_to_tiktok", order_ids=[order_id]
        )
        assert not error, text
        assert [p["tiktok_order_id"] for p in report["pending"]] == [order_id]
        next_step = f"re-run fulfill_tiktok_order_with_mcf for {order_id}"
        assert next_step in report["pending"][0]["detail"] and next_step in text
        assert mcf_orders_for(sandbox, order_id) == []

        _, preview, _ = await call(client, "fulfill_tiktok_order_with_mcf", order_id=order_id)
        error, created, text = await call(
            client,
            "fulfill_tiktok_order_with_mcf",
            order_id=order_id,
            confirmation_token=preview["confirmation_token"],
        )
        assert not error and created["status"] == "created", text
        _, after, _ = await call(client, "sync_mcf_tracking_to_tiktok", order_ids=[order_id])
        assert after["pending"] == [] and after["waiting"]
