"""Retry-After and the pagination loop guard, seen through the MCP client: the fakes misbehave
(sandbox fault injection), the tool answers with a clear, bounded error instead of spinning."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from tests.support.mcp import connect, error_text, ok, services_for

from commerce_mcp.resilience.backoff import RETRY_AFTER_CAP

pytestmark = pytest.mark.anyio

TIKTOK_PRODUCTS = "/product/*/products/search"
TIKTOK_ORDERS = "/order/*/orders/search"
AMAZON_INVENTORY = "/fba/inventory/v1/summaries"
AMAZON_ORDERS = "/fba/outbound/2020-07-01/fulfillmentOrders"
#: Old code spun until the deadline on a stuck listing; keep that failure short.
SHORT_DEADLINE = {"commerce_mcp_deadline_seconds": 8}


@pytest.fixture(autouse=True)
def clean_faults(sandbox: Any) -> Iterator[None]:
    """Faults armed here never leak into other tests sharing the session's fakes."""
    sandbox.tiktok_faults.clear()
    sandbox.amazon_faults.clear()
    yield
    sandbox.tiktok_faults.clear()
    sandbox.amazon_faults.clear()


def _tiktok_page(key: str, token: str) -> dict[str, Any]:
    return {
        "code": 0,
        "message": "Success",
        "request_id": "STUCK",
        "data": {key: [], "next_page_token": token, "total_count": 1},
    }


async def test_a_tiktok_listing_that_repeats_its_token_stops_with_a_clear_error(
    sandbox: Any,
) -> None:
    """get_inventory reads every TikTok product; the fake answers page token STUCK forever."""
    sandbox.tiktok_faults.inject(
        TIKTOK_PRODUCTS, "status", 1000, status=200, body=_tiktok_page("products", "STUCK")
    )
    fired = len(sandbox.tiktok_faults.fired)
    services = services_for(sandbox, **SHORT_DEADLINE)
    async with connect(sandbox, services=services) as client:
        text = error_text(await client.call_tool("get_inventory", {"channel": "tiktok"}))
    assert "same page token" in text
    assert "search_products" in text
    assert len(sandbox.tiktok_faults.fired) - fired == 2  # two pages, then the guard


async def test_an_fba_listing_that_repeats_its_token_stops_with_a_clear_error(
    sandbox: Any,
) -> None:
    """get_inventory reads all FBA inventory (iter_all_inventory); nextToken STUCK forever."""
    sandbox.amazon_faults.inject(
        AMAZON_INVENTORY,
        "status",
        1000,
        status=200,
        body={"payload": {"inventorySummaries": []}, "pagination": {"nextToken": "STUCK"}},
    )
    services = services_for(sandbox, **SHORT_DEADLINE)
    async with connect(sandbox, services=services) as client:
        text = error_text(await client.call_tool("get_inventory", {"channel": "amazon"}))
    assert "same page token" in text
    assert "getInventorySummaries" in text


async def test_a_tool_cursor_that_would_repeat_forever_is_refused(sandbox: Any) -> None:
    """list_mcf_orders hands out cursors; a page token answered with itself is not passed on."""
    sandbox.amazon_faults.inject(
        AMAZON_ORDERS,
        "status",
        10,
        method="GET",
        status=200,
        body={"payload": {"fulfillmentOrders": [], "nextToken": "STUCK"}},
    )
    async with connect(sandbox) as client:
        first = ok(await client.call_tool("list_mcf_orders", {}))
        assert first["next_cursor"]
        text = error_text(
            await client.call_tool("list_mcf_orders", {"cursor": first["next_cursor"]})
        )
    assert "page token it was just given" in text


@pytest.mark.parametrize(
    ("tool", "arguments", "faults", "path", "body"),
    [
        (
            "list_tiktok_orders",
            {},
            "tiktok_faults",
            TIKTOK_ORDERS,
            {"code": 36009002, "message": "Too many requests.", "data": None, "request_id": "R"},
        ),
        (
            "list_mcf_orders",
            {},
            "amazon_faults",
            AMAZON_ORDERS,
            {"errors": [{"code": "QuotaExceeded", "message": "You exceeded your quota"}]},
        ),
    ],
)
async def test_a_huge_retry_after_reaches_the_agent_bounded_and_at_once(
    sandbox: Any, tool: str, arguments: dict[str, Any], faults: str, path: str, body: Any
) -> None:
    """Retry-After 99999 is past the deadline: the agent hears "retry after 3600s" (the parser's
    cap) after one request; no sleep, no 99999, no infinity."""
    injector = getattr(sandbox, faults)
    injector.inject(path, "status", 10, status=429, body=body, headers={"retry-after": "99999"})
    fired = len(injector.fired)
    async with connect(sandbox) as client:
        text = error_text(await client.call_tool(tool, arguments))
    assert f"retry after {RETRY_AFTER_CAP:.1f}s" in text
    assert "99999" not in text
    assert len(injector.fired) - fired == 1
