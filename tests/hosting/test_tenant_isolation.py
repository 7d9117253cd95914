"""Tenant isolation, tool by tool: tenant A's credentials never return or change tenant B's data.

One real uvicorn server on loopback hosts two tenants, each a seller with its own fake TikTok Shop and
Amazon. Before the matrix, tenant B (through its own API key, over HTTP) makes things only B has: MCF
orders, a TikTok order fulfilled and tracked through MCF (a link), a TikTok order shipped with its own
tracking number, changed TikTok stock, a SKU map entry, a shop, and an unconfirmed preview of every
write tool. Then every registered tool is called as A with arguments naming B's objects, while:

* B's fakes are armed with a tripwire: any request reaching them fails the test (A's calls must only
  ever reach A's platforms, whatever credentials or caches the two tenants share);
* B's server-side state (links, ledger, tokens, confirmation claims) must be byte-for-byte unchanged;
* nothing of B's (ids, names, tracking numbers, tokens, B's platform addresses, B's tenant name) may
  appear in A's answers, errors or the server's logs, unless A itself passed it in.

A tool without an isolation case fails the matrix: a new tool cannot be forgotten.
"""

from __future__ import annotations

import inspect
import json
import logging
import os
import sqlite3
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import anyio
import httpx2
import pytest
from cryptography.fernet import Fernet
from mcp import Client
from mcp.client.streamable_http import streamable_http_client
from mcp.types import CallToolResult
from pydantic import SecretStr

from commerce_mcp.config import load_settings
from commerce_mcp.hosting.api_keys import ApiKeys
from commerce_mcp.hosting.serve import Hosted, build_hosted
from commerce_mcp.hosting.settings import HostingSettings
from commerce_mcp.hosting.tenants import TenantConfig, TenantDirectory
from commerce_mcp.sandbox.catalog import WAREHOUSES, build_catalog
from commerce_mcp.sandbox.tiktok_world import OrderIndex, Shop
from commerce_mcp.services import Services
from commerce_mcp.store.sqlite import SqliteStore
from commerce_mcp.tools.registry import all_tools
from tests.support.http import free_port, serve_in_thread
from tests.support.mcp import error_text, ok, text_of
from tests.support.sandbox import (
    plentiful_skus,
    private_sandbox,
    recipient,
    shippable_tiktok_orders,
)

pytestmark = pytest.mark.anyio

DAYS = 86_400.0
#: A shop only tenant B's seller has.
B_SHOP = Shop(
    id="7495119990000000003", name="Bee Only Boutique", cipher="ROW_bee+C/3q==", code="USBEE03"
)
#: The Amazon SKU tenant B's SKU map sends one TikTok SKU to.
B_MAPPED = "BEE-MAPPED-AMZ-0001"
B_TRACKING = "BEEONLY7777"
MAIN = WAREHOUSES[0][0]


@dataclass
class World:
    """What the matrix needs to know about the two tenants."""

    hosted: Hosted
    fakes_a: Any
    fakes_b: Any
    keys: dict[str, str]
    store_path: Path
    #: TikTok orders FBA can ship, as seeded (the same in both worlds); picked by index.
    orders: list[str]
    #: B's objects, named by role.
    b: dict[str, Any] = field(default_factory=dict)
    #: Per gated write tool: B's preview arguments and the confirmation token B was given.
    b_previews: dict[str, tuple[dict[str, Any], str]] = field(default_factory=dict)
    #: Strings only tenant B's data contains.
    markers: set[str] = field(default_factory=set)

    @asynccontextmanager
    async def client(self, tenant: str) -> AsyncIterator[Client]:
        headers = {"Authorization": f"Bearer {self.keys[tenant]}"}
        http = httpx2.AsyncClient(headers=headers, timeout=60)
        transport = streamable_http_client(self.hosted.public_url, http_client=http)
        async with Client(transport) as client:
            yield client


# Preview arguments of every write tool that asks for a confirmation, in a given seller's world. ``n``
# picks distinct orders and SKUs, so B's previews, A's previews and the objects made in set-up never
# touch the same ones.


SKUS = plentiful_skus(None)


def _sku(n: int) -> str:
    return SKUS[n]


PREVIEWS: dict[str, Callable[[World, int, str], dict[str, Any]]] = {
    "create_mcf_order": lambda w, n, who: {
        "items": [{"seller_sku": _sku(n), "quantity": 1}],
        "recipient": recipient(f"{who} Buyer"),
        "seller_fulfillment_order_id": f"{who.lower()}-only-{n:04d}",
    },
    "cancel_mcf_order": lambda w, n, who: {
        "seller_fulfillment_order_id": f"{who.lower()}-only-0000"
    },
    "fulfill_tiktok_order_with_mcf": lambda w, n, who: {"order_id": w.orders[n]},
    "ship_tiktok_order": lambda w, n, who: {
        "order_id": w.orders[n + 10],
        "tracking_number": f"{who.upper()}ONLY{n:04d}",
        "shipping_provider": "USPS",
    },
    "update_tiktok_inventory": lambda w, n, who: {
        "items": [{"seller_sku": _sku(n + 10), "quantity": 4000 + n, "warehouse": MAIN}]
    },
    "sync_inventory_to_tiktok": lambda w, n, who: {"skus": [_sku(n + 20)], "buffer": 7},
}


def _gated_tools() -> list[str]:
    """Write tools that preview first and need a confirmation token."""
    return [spec.name for spec in all_tools() if "gate" in inspect.signature(spec.fn).parameters]


async def _confirmed(client: Client, tool: str, args: dict[str, Any]) -> dict[str, Any]:
    preview = ok(await client.call_tool(tool, args))
    return ok(
        await client.call_tool(tool, {**args, "confirmation_token": preview["confirmation_token"]})
    )


async def _set_up_b(world: World, b: Client) -> None:
    """B makes the objects only B has, through its own credentials."""
    fakes, orders = world.fakes_b, world.orders
    with fakes.tiktok.lock:
        fakes.tiktok.shops.append(B_SHOP)
        fakes.tiktok.order_indexes[B_SHOP.id] = OrderIndex()
    assert B_SHOP.name in text_of(await b.call_tool("list_tiktok_shops", {}))
    # The MCF order every cancel preview names (``b-only-0000``), with B's buyer and comment.
    first = {**PREVIEWS["create_mcf_order"](world, 0, "B"), "comment": "bee only comment"}
    await _confirmed(b, "create_mcf_order", first)
    linked = orders[30]
    await _confirmed(b, "fulfill_tiktok_order_with_mcf", {"order_id": linked})
    fakes.amazon.shift_order(f"tts-{linked}", 3 * DAYS)  # Amazon has shipped it since
    synced = ok(await b.call_tool("sync_mcf_tracking_to_tiktok", {"order_ids": [linked]}))
    assert synced["marked"], synced
    shipped = orders[31]
    await _confirmed(
        b,
        "ship_tiktok_order",
        {"order_id": shipped, "tracking_number": B_TRACKING, "shipping_provider": "USPS"},
    )
    stocked = _sku(30)
    await _confirmed(
        b,
        "update_tiktok_inventory",
        {"items": [{"seller_sku": stocked, "quantity": 4321, "warehouse": MAIN}]},
    )
    packages = [row["package_number"] for row in synced["marked"]]
    world.b.update(
        mcf_order=first["seller_fulfillment_order_id"],
        linked=linked,
        shipped=shipped,
        stocked=stocked,
        packages=packages,
    )
    for tool in _gated_tools():
        args = PREVIEWS[tool](world, 1, "B")
        preview = ok(await b.call_tool(tool, args))
        world.b_previews[tool] = (args, preview["confirmation_token"])
    world.markers |= {
        "b-only-",
        "B Buyer",
        "bee only comment",
        B_SHOP.id,
        B_SHOP.name,
        B_MAPPED,
        B_TRACKING,
        "tenant-b",
        fakes.tiktok_url.removeprefix("http://"),
        fakes.amazon_url.removeprefix("http://"),
        *(row["tracking_number"] for row in synced["marked"]),
        *(token for _, token in world.b_previews.values()),
    }


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    """The hosted server, both tenants, B's objects and A's own MCF order."""
    state = tmp_path_factory.mktemp("isolation")
    port = free_port()
    hosting = HostingSettings(
        commerce_mcp_http_port=port,
        commerce_mcp_encryption_key=SecretStr(Fernet.generate_key().decode()),
    )
    keys: dict[str, str] = {}
    with (
        pytest.MonkeyPatch.context() as env,
        private_sandbox() as fakes_a,
        private_sandbox() as fakes_b,
    ):
        # Module-scoped, so set up before the suite's per-test clean environment: make our own.
        env.chdir(state)
        for name in [
            n for n in os.environ if n.upper().startswith(("COMMERCE_MCP_", "TIKTOK_", "AMAZON_"))
        ]:
            env.delenv(name)

        async def make() -> Hosted:
            # A shared operator secret, as replicas have: each tenant signs with a key derived from it.
            settings, _ = load_settings(
                commerce_mcp_state_dir=state, commerce_mcp_confirmation_secret="s" * 40
            )
            control = Services(settings=settings)
            store = await control.store()
            directory = TenantDirectory(store, hosting.commerce_mcp_encryption_key)
            for name, fakes in (("tenant-a", fakes_a), ("tenant-b", fakes_b)):
                values = {k: str(v) for k, v in fakes.settings_overrides().items()}
                if name == "tenant-b":
                    values["commerce_mcp_sku_map"] = f"{_sku(40)}={B_MAPPED}"
                await directory.save(TenantConfig(name, values, allow_writes=True))
                keys[name] = await ApiKeys(store).issue(name)
            return await build_hosted(hosting, control)

        with serve_in_thread(make, port) as hosted:
            store = anyio.run(hosted.control.store)
            assert isinstance(store, SqliteStore)
            orders = shippable_tiktok_orders(fakes_a)
            made = World(hosted, fakes_a, fakes_b, keys, store.path, orders)

            async def set_up() -> None:
                async with made.client("tenant-b") as b:
                    await _set_up_b(made, b)
                async with made.client("tenant-a") as a:
                    await _confirmed(
                        a, "create_mcf_order", PREVIEWS["create_mcf_order"](made, 0, "A")
                    )

            anyio.run(set_up)
            yield made


# The guard around each of A's calls ---------------------------------------------------------------


@dataclass
class Caller:
    """Tenant A's client; remembers every call so the guard can read the answers afterwards."""

    client: Client
    calls: list[tuple[dict[str, Any], CallToolResult]] = field(default_factory=list)

    async def __call__(self, tool: str, args: dict[str, Any]) -> CallToolResult:
        result = await self.client.call_tool(tool, args)
        self.calls.append((args, result))
        return result


def _b_state(world: World) -> list[tuple[str, str, str]]:
    """Every document B's tenant owns in the shared store, whatever its namespace."""
    with sqlite3.connect(f"file:{world.store_path}?mode=ro", uri=True) as db:
        rows = db.execute(
            "SELECT namespace, key, value FROM documents WHERE namespace LIKE 'tenant/tenant-b/%'"
            " ORDER BY namespace, key"
        ).fetchall()
    return [tuple(row) for row in rows]


@asynccontextmanager
async def guarded(world: World, caplog: pytest.LogCaptureFixture) -> AsyncIterator[Caller]:
    """A's client, with B's platforms tripwired; B's state and B's markers checked afterwards."""
    caplog.set_level(logging.DEBUG)
    before = _b_state(world)
    b_faults = (world.fakes_b.tiktok_faults, world.fakes_b.amazon_faults)
    fired = [len(faults.fired) for faults in b_faults]
    for faults in b_faults:
        faults.inject("*", "status", 1_000_000, status=418, body={"tripwire": "B's platform"})
    try:
        async with world.client("tenant-a") as client:
            caller = Caller(client)
            yield caller
    finally:
        for faults in b_faults:
            faults.clear()
    reached = [hit for faults, n in zip(b_faults, fired, strict=True) for hit in faults.fired[n:]]
    assert not reached, f"tenant A's call reached tenant B's platform: {reached}"
    assert _b_state(world) == before, "tenant A's call changed tenant B's stored state"
    assert caller.calls, "the case made no call"
    supplied = [json.dumps(args) for args, _ in caller.calls]
    own = {marker for marker in world.markers if any(marker in text for text in supplied)}
    logs = "\n".join(record.getMessage() for record in caplog.records)
    for marker in world.markers - own:  # A's own arguments echoed back are not B's data
        assert marker not in logs, f"the logs of A's calls name B's {marker!r}"
    for _, result in caller.calls:
        answer = text_of(result) + json.dumps(result.structured_content)
        for marker in world.markers - own:
            assert marker not in answer, f"A's answer names B's {marker!r}: {answer[:500]}"


# One case per tool: call it as A naming B's objects; A's own data still comes back --------------


Case = Callable[[Caller, World], Awaitable[None]]


async def _status(a: Caller, w: World) -> None:
    ok(await a("get_connection_status", {}))


async def _shops(a: Caller, w: World) -> None:
    shops = ok(await a("list_tiktok_shops", {}))
    assert w.fakes_a.tiktok.shops[0].id in json.dumps(shops)


async def _products(a: Caller, w: World) -> None:
    error_text(await a("list_tiktok_products", {"shop": B_SHOP.id}))
    assert ok(await a("list_tiktok_products", {"seller_skus": [w.b["stocked"]]}))["products"]


async def _product(a: Caller, w: World) -> None:
    product_id = build_catalog().by_seller_sku[w.b["stocked"]].product_id
    error_text(await a("get_tiktok_product", {"product_id": product_id, "shop": B_SHOP.id}))
    product = ok(await a("get_tiktok_product", {"product_id": product_id}))
    assert w.b["stocked"] in json.dumps(product) and "4321" not in json.dumps(product)


async def _orders(a: Caller, w: World) -> None:
    error_text(await a("list_tiktok_orders", {"shop": B_SHOP.id}))
    orders = ok(await a("list_tiktok_orders", {"status": "AWAITING_SHIPMENT", "limit": 100}))
    assert orders["orders"]


async def _order_detail(a: Caller, w: World) -> None:
    for order_id in (w.b["linked"], w.b["shipped"]):
        order = ok(await a("get_order", {"order_id": order_id}))["order"]
        assert order["status"] == "AWAITING_SHIPMENT", order  # in A's shop nothing happened
        assert order.get("mcf") is None, "A sees B's MCF link"
    error_text(await a("get_order", {"order_id": w.b["linked"], "shop": B_SHOP.id}))


async def _returns(a: Caller, w: World) -> None:
    error_text(await a("list_tiktok_returns", {"shop": B_SHOP.id}))
    ok(await a("list_tiktok_returns", {"order_id": w.b["linked"]}))


async def _shop_performance(a: Caller, w: World) -> None:
    error_text(await a("get_tiktok_shop_performance", {"shop": B_SHOP.id}))
    ok(await a("get_tiktok_shop_performance", {}))


async def _product_performance(a: Caller, w: World) -> None:
    error_text(await a("get_tiktok_product_performance", {"shop": B_SHOP.id}))
    ok(await a("get_tiktok_product_performance", {"limit": 5}))


async def _content_performance(a: Caller, w: World) -> None:
    error_text(await a("get_tiktok_content_performance", {"shop": B_SHOP.id}))
    ok(await a("get_tiktok_content_performance", {"limit": 5}))


async def _refuses_b_token(a: Caller, w: World, tool: str) -> None:
    """A replays B's preview, arguments and token: refused (B's state is checked by the guard)."""
    args, token = w.b_previews[tool]
    refused = error_text(await a(tool, {**args, "confirmation_token": token}))
    assert "confirmation_token" in refused


async def _create_mcf(a: Caller, w: World) -> None:
    await _refuses_b_token(a, w, "create_mcf_order")
    args = {
        **PREVIEWS["create_mcf_order"](w, 5, "A"),
        "seller_fulfillment_order_id": w.b["mcf_order"],
    }
    assert ok(await a("create_mcf_order", args))["status"] == "preview"  # the id is free for A


async def _cancel_mcf(a: Caller, w: World) -> None:
    await _refuses_b_token(a, w, "cancel_mcf_order")
    error_text(await a("cancel_mcf_order", {"seller_fulfillment_order_id": w.b["mcf_order"]}))


async def _fulfill(a: Caller, w: World) -> None:
    await _refuses_b_token(a, w, "fulfill_tiktok_order_with_mcf")
    # B linked this order; for A it is an order to preview, not one "already fulfilled".
    preview = ok(await a("fulfill_tiktok_order_with_mcf", {"order_id": w.b["linked"]}))
    assert preview["status"] == "preview", preview


async def _ship(a: Caller, w: World) -> None:
    await _refuses_b_token(a, w, "ship_tiktok_order")
    args = {"order_id": w.b["shipped"], "tracking_number": B_TRACKING, "shipping_provider": "USPS"}
    assert ok(await a("ship_tiktok_order", args))["status"] == "preview"  # shipped by B only


async def _update_stock(a: Caller, w: World) -> None:
    await _refuses_b_token(a, w, "update_tiktok_inventory")
    items = [{"seller_sku": w.b["stocked"], "quantity": 5, "warehouse": MAIN}]
    plan = ok(await a("update_tiktok_inventory", {"items": items}))
    assert "4321" not in json.dumps(plan["changes"]), "A's plan starts from B's stock"


async def _sync_stock(a: Caller, w: World) -> None:
    await _refuses_b_token(a, w, "sync_inventory_to_tiktok")
    plan = ok(await a("sync_inventory_to_tiktok", {"skus": [_sku(40)]}))
    assert plan["changes"], "A's SKU maps to A's own FBA stock"


async def _preview_mcf(a: Caller, w: World) -> None:
    args = PREVIEWS["create_mcf_order"](w, 2, "A")
    del args["seller_fulfillment_order_id"]
    assert ok(await a("preview_mcf_order", args))["previews"][0]["fulfillable"]
    # The Amazon SKU only B's SKU map names is not in A's FBA account.
    items = [{"seller_sku": B_MAPPED, "quantity": 1}]
    previews = ok(await a("preview_mcf_order", {**args, "items": items}))["previews"]
    assert not any(preview["fulfillable"] for preview in previews)


async def _mcf_order(a: Caller, w: World) -> None:
    error_text(await a("get_mcf_order", {"seller_fulfillment_order_id": w.b["mcf_order"]}))
    error_text(await a("get_mcf_order", {"seller_fulfillment_order_id": f"tts-{w.b['linked']}"}))
    ok(await a("get_mcf_order", {"seller_fulfillment_order_id": "a-only-0000"}))


async def _mcf_orders(a: Caller, w: World) -> None:
    listed = json.dumps(ok(await a("list_mcf_orders", {"limit": 100})))
    assert "a-only-0000" in listed
    assert f"tts-{w.b['linked']}" not in listed


async def _tracking(a: Caller, w: World) -> None:
    for package in w.b["packages"]:
        error_text(await a("get_mcf_tracking", {"package_number": package}))


async def _inventory(a: Caller, w: World) -> None:
    skus = [w.b["stocked"], _sku(40)]
    rows = ok(await a("get_inventory", {"seller_skus": skus}))["skus"]
    assert {row["seller_sku"] for row in rows} >= set(skus)
    assert all(row.get("tiktok", {}).get("available") != 4321 for row in rows)
    error_text(await a("get_inventory", {"shop": B_SHOP.id}))


async def _tracking_sync(a: Caller, w: World) -> None:
    synced = ok(await a("sync_mcf_tracking_to_tiktok", {"order_ids": [w.b["linked"]]}))
    assert synced["unknown_orders"] == [w.b["linked"]] and not synced["marked"]
    error_text(await a("sync_mcf_tracking_to_tiktok", {"shop": B_SHOP.id}))


CASES: dict[str, Case] = {
    "get_connection_status": _status,
    "list_tiktok_shops": _shops,
    "list_tiktok_products": _products,
    "get_tiktok_product": _product,
    "list_tiktok_orders": _orders,
    "get_order": _order_detail,
    "list_tiktok_returns": _returns,
    "get_tiktok_shop_performance": _shop_performance,
    "get_tiktok_product_performance": _product_performance,
    "get_tiktok_content_performance": _content_performance,
    "preview_mcf_order": _preview_mcf,
    "get_mcf_order": _mcf_order,
    "list_mcf_orders": _mcf_orders,
    "get_mcf_tracking": _tracking,
    "get_inventory": _inventory,
    "sync_mcf_tracking_to_tiktok": _tracking_sync,
    "create_mcf_order": _create_mcf,
    "cancel_mcf_order": _cancel_mcf,
    "fulfill_tiktok_order_with_mcf": _fulfill,
    "ship_tiktok_order": _ship,
    "update_tiktok_inventory": _update_stock,
    "sync_inventory_to_tiktok": _sync_stock,
}


@pytest.mark.parametrize("tool", [spec.name for spec in all_tools()])
async def test_tenant_a_never_reaches_or_returns_tenant_bs_data(
    tool: str, world: World, caplog: pytest.LogCaptureFixture
) -> None:
    case = CASES.get(tool)
    assert case is not None, f"{tool} has no tenant isolation case: add one to CASES"
    async with guarded(world, caplog) as a:
        await case(a, world)


def test_every_case_is_a_registered_tool_and_every_gated_tool_has_a_preview() -> None:
    assert set(CASES) <= {spec.name for spec in all_tools()}
    assert set(_gated_tools()) == set(PREVIEWS)


@pytest.mark.parametrize("tool", sorted(PREVIEWS))
async def test_as_confirmation_token_is_refused_for_b_and_still_works_for_a(
    tool: str, world: World
) -> None:
    args = PREVIEWS[tool](world, 3, "A")
    async with world.client("tenant-a") as a, world.client("tenant-b") as b:
        token = ok(await a.call_tool(tool, args))["confirmation_token"]
        stolen = error_text(await b.call_tool(tool, {**args, "confirmation_token": token}))
        confirmed = await a.call_tool(tool, {**args, "confirmation_token": token})
    assert "confirmation_token" in stolen and token not in stolen
    ok(confirmed)  # B's attempt neither used up nor spoiled A's token
