"""The "never a second order" promise, end to end through MCP clients (issue 12, items 1-6).

Every test here runs on its own fakes, so it can count the orders Amazon holds without caring what
other tests did.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import anyio
import pytest
from tests.support.mcp import connect, error_text, ok
from tests.support.sandbox import (
    DAYS,
    live_env,
    live_services,
    plentiful_skus,
    private_sandbox,
    recipient,
    sandbox_services,
    shippable_tiktok_orders,
)
from tests.support.stdio import StdioServer, wait_for

CREATE_PATH = "/fba/outbound/2020-07-01/fulfillmentOrders"

pytestmark = pytest.mark.anyio


@pytest.fixture
def fakes() -> Iterator[Any]:
    with private_sandbox() as servers:
        yield servers


def _order_args(fakes: Any, name: str, **extra: Any) -> dict[str, Any]:
    return {
        "items": [{"seller_sku": plentiful_skus(fakes)[0], "quantity": 1}],
        "recipient": recipient(name),
        **extra,
    }


async def test_an_identical_create_repeated_later_is_the_same_order(fakes: Any, era: str) -> None:
    args = _order_args(fakes, f"Repeat {era}", displayable_order_id=f"REPEAT-{era}")
    async with connect(fakes, era, services=sandbox_services(fakes)) as client:
        first = ok(await client.call_tool("create_mcf_order", args))
        second = ok(await client.call_tool("create_mcf_order", args))
        created = ok(
            await client.call_tool(
                "create_mcf_order", {**args, "confirmation_token": first["confirmation_token"]}
            )
        )
        # Minutes later (the order date the wire body carries has moved on), the second token.
        fakes.advance(120)
        repeat = ok(
            await client.call_tool(
                "create_mcf_order", {**args, "confirmation_token": second["confirmation_token"]}
            )
        )
        fakes.advance(3 * 3600)
        asked_again = ok(await client.call_tool("create_mcf_order", args))
    order_id = created["seller_fulfillment_order_id"]
    assert created["status"] == "created"
    assert (repeat["status"], repeat["seller_fulfillment_order_id"]) == (
        "already_created",
        order_id,
    )
    assert asked_again["status"] == "already_created" and asked_again["confirmation_token"] is None
    assert asked_again["order"]["seller_fulfillment_order_id"] == order_id
    assert fakes.amazon.order_ids() == [order_id]


def _crash_mid_create(fakes: Any, state: Path, log: Path, tool: str, args: dict[str, Any]) -> None:
    """Preview, confirm, and SIGKILL the server once Amazon has committed the create."""
    server = StdioServer(live_env(fakes, state), log)
    preview = server.call(tool, args)["structuredContent"]
    assert preview["status"] == "preview", preview
    fakes.amazon_faults.inject(CREATE_PATH, "slow", method="POST", delay=5.0)
    before = fakes.amazon.create_calls
    server.send(
        "tools/call",
        {"name": tool, "arguments": {**args, "confirmation_token": preview["confirmation_token"]}},
    )
    wait_for(lambda: fakes.amazon.create_calls > before)
    server.kill()
    fakes.amazon_faults.clear()


@pytest.mark.parametrize("tool", ["create_mcf_order", "fulfill_tiktok_order_with_mcf"])
def test_after_a_crash_mid_create_the_next_process_says_the_order_exists(
    fakes: Any, tmp_path: Path, tool: str
) -> None:
    if tool == "create_mcf_order":
        args = _order_args(fakes, "Crash Test")
    else:
        args = {"order_id": shippable_tiktok_orders(fakes)[0]}
    state, log = tmp_path / "state", tmp_path / "server.log"
    _crash_mid_create(fakes, state, log, tool, args)
    held = fakes.amazon.order_ids()
    assert len(held) == 1

    restarted = StdioServer(live_env(fakes, state), log)
    try:
        answer = restarted.call(tool, args)
    finally:
        restarted.close()
    assert not answer.get("isError"), answer
    result = answer["structuredContent"]
    assert result["status"] == "already_created", result
    assert result.get("confirmation_token") is None
    assert fakes.amazon.order_ids() == held


async def test_two_processes_creating_at_once_report_one_created_one_already(
    fakes: Any, tmp_path: Path
) -> None:
    args = _order_args(fakes, "Race", displayable_order_id="RACE-1")
    # Slow answers keep both creates in flight together, as a real race would.
    fakes.amazon_faults.inject(CREATE_PATH, "slow", count=2, method="POST", delay=0.05)
    outcomes: list[str] = []

    async def one_process() -> None:
        async with connect(fakes, services=live_services(fakes, tmp_path)) as client:
            token = ok(await client.call_tool("create_mcf_order", args))["confirmation_token"]
            confirmed = await client.call_tool(
                "create_mcf_order", {**args, "confirmation_token": token}
            )
            outcomes.append(ok(confirmed)["status"])

    async with anyio.create_task_group() as group:
        group.start_soon(one_process)
        group.start_soon(one_process)
    assert sorted(outcomes) == ["already_created", "created"]
    assert len(fakes.amazon.order_ids()) == 1


async def test_a_tiktok_order_shipped_through_the_link_gets_no_second_mcf_order(
    fakes: Any,
) -> None:
    tiktok_order = shippable_tiktok_orders(fakes)[0]
    async with connect(fakes, services=sandbox_services(fakes)) as client:
        token = ok(
            await client.call_tool("fulfill_tiktok_order_with_mcf", {"order_id": tiktok_order})
        )["confirmation_token"]
        linked = ok(
            await client.call_tool(
                "fulfill_tiktok_order_with_mcf",
                {"order_id": tiktok_order, "confirmation_token": token},
            )
        )
        mcf_id = linked["mcf_order_id"]
        by_display = error_text(
            await client.call_tool(
                "create_mcf_order", _order_args(fakes, "Twice", displayable_order_id=tiktok_order)
            )
        )
        by_id = error_text(
            await client.call_tool(
                "create_mcf_order", _order_args(fakes, "Twice", seller_fulfillment_order_id=mcf_id)
            )
        )
    for message in (by_display, by_id):
        assert f"already fulfilled by MCF order {mcf_id}" in message
        assert "get_mcf_order" in message
    assert fakes.amazon.order_ids() == [mcf_id]


async def test_a_tiktok_order_created_directly_is_not_fulfilled_again(fakes: Any) -> None:
    tiktok_order = shippable_tiktok_orders(fakes)[0]
    args = _order_args(fakes, "Direct", displayable_order_id=tiktok_order)
    async with connect(fakes, services=sandbox_services(fakes)) as client:
        token = ok(await client.call_tool("create_mcf_order", args))["confirmation_token"]
        direct = ok(
            await client.call_tool("create_mcf_order", {**args, "confirmation_token": token})
        )
        refused = error_text(
            await client.call_tool("fulfill_tiktok_order_with_mcf", {"order_id": tiktok_order})
        )
    assert f"already has MCF order {direct['seller_fulfillment_order_id']}" in refused
    assert fakes.amazon.order_ids() == [direct["seller_fulfillment_order_id"]]


async def test_cancel_preview_says_a_shipped_order_can_no_longer_be_cancelled(
    fakes: Any,
) -> None:
    args = _order_args(fakes, "Shipped")
    async with connect(fakes, services=sandbox_services(fakes)) as client:
        token = ok(await client.call_tool("create_mcf_order", args))["confirmation_token"]
        order_id = ok(
            await client.call_tool("create_mcf_order", {**args, "confirmation_token": token})
        )["seller_fulfillment_order_id"]
        fakes.advance(5 * DAYS)
        refused = await client.call_tool(
            "cancel_mcf_order", {"seller_fulfillment_order_id": order_id}
        )
    message = error_text(refused)
    assert "is Complete and can no longer be cancelled" in message
    assert "confirmation_token" not in message


async def test_a_token_from_another_server_instance_is_refused_as_such(fakes: Any) -> None:
    args = _order_args(fakes, "Elsewhere")
    async with connect(fakes, services=sandbox_services(fakes)) as first:
        token = ok(await first.call_tool("create_mcf_order", args))["confirmation_token"]
    async with connect(fakes, services=sandbox_services(fakes)) as restarted:
        message = error_text(
            await restarted.call_tool("create_mcf_order", {**args, "confirmation_token": token})
        )
    assert "issued by another server instance" in message
    assert "does not match" not in message
    assert fakes.amazon.order_ids() == []


async def test_with_a_shared_secret_any_replica_confirms_and_a_token_works_once(
    fakes: Any, tmp_path: Path
) -> None:
    secret = "s" * 40
    args = _order_args(fakes, "Replicas")
    replica_a = live_services(fakes, tmp_path, commerce_mcp_confirmation_secret=secret)
    replica_b = live_services(fakes, tmp_path, commerce_mcp_confirmation_secret=secret)
    async with connect(fakes, services=replica_a) as a, connect(fakes, services=replica_b) as b:
        token = ok(await a.call_tool("create_mcf_order", args))["confirmation_token"]
        confirmed = {**args, "confirmation_token": token}
        on_b = ok(await b.call_tool("create_mcf_order", confirmed))
        again_on_a = error_text(await a.call_tool("create_mcf_order", confirmed))
    assert on_b["status"] == "created"
    assert "already used" in again_on_a


async def test_confirming_a_fulfilment_preview_does_not_ask_amazon_for_it_again(
    fakes: Any,
) -> None:
    tiktok_order = shippable_tiktok_orders(fakes)[0]
    async with connect(fakes, services=sandbox_services(fakes)) as client:
        preview = ok(
            await client.call_tool("fulfill_tiktok_order_with_mcf", {"order_id": tiktok_order})
        )
        # A preview asked for now would fail: the confirmation must not need one.
        fakes.amazon_faults.inject(f"{CREATE_PATH}/preview", "status", count=5, status=400)
        created = ok(
            await client.call_tool(
                "fulfill_tiktok_order_with_mcf",
                {"order_id": tiktok_order, "confirmation_token": preview["confirmation_token"]},
            )
        )
    fakes.amazon_faults.clear()
    assert preview["preview"]["fulfillable"] is True
    assert created["status"] == "created"
    assert not [hit for hit in fakes.amazon_faults.fired if hit[1].endswith("/preview")]
