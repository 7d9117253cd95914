"""Token efficiency: bytes of text the model reads from list tools against the raw upstream JSON.

For each list tool and each ``response_format``, three consecutive pages of 20 items (following the
tool's own cursor) are fetched through the in-process MCP server in live mode against the sandbox. The
raw side is every upstream response body the tool call caused (captured at the HTTP client, credentials
exchanges excluded): what a model would have to read if it were handed the platform's JSON.
"""

from __future__ import annotations

import asyncio
import statistics
from typing import Any

from benchmarks._sandbox import require, running_sandbox, tally_http
from benchmarks._stats import figure, result

GOAL_CONCISE = 1 / 3
LIMIT = 20
#: (tool, extra arguments) for every list tool measured.
LIST_TOOLS: tuple[tuple[str, dict[str, Any]], ...] = (
    ("list_tiktok_orders", {}),
    ("list_tiktok_products", {}),
    ("list_tiktok_returns", {}),
    ("list_mcf_orders", {}),
)
#: MCF orders created first (the sandbox starts with none): a page of 20 and some, within the burst.
MCF_ORDERS = 25
#: Upstream paths that exchange credentials, not data.
_AUTH_MARKERS = ("/token", "/authorization/", "/auth/")


def _text_bytes(answer: Any) -> int:
    return sum(len(getattr(block, "text", "").encode()) for block in answer.content)


async def _pages(
    session: Any, tool: str, arguments: dict[str, Any], fmt: str, pages: int
) -> list[tuple[int, int]]:
    """(text bytes, raw upstream bytes) for up to ``pages`` consecutive pages."""
    measured: list[tuple[int, int]] = []
    cursor: str | None = None
    for _ in range(pages):
        call = {**arguments, "limit": LIMIT, "response_format": fmt}
        if cursor:
            call["cursor"] = cursor
        async with tally_http(keep_bodies=True) as tally:
            answer = await session.call_tool(tool, call)
        if answer.is_error:
            text = getattr(answer.content[0], "text", "")
            raise RuntimeError(f"{tool} failed: {text[:300]}")
        raw = sum(
            len(body)
            for path, body in tally.bodies
            if not any(marker in path for marker in _AUTH_MARKERS)
        )
        if raw:
            measured.append((_text_bytes(answer), raw))
        cursor = (answer.structured_content or {}).get("next_cursor")
        if not cursor:
            break
    return measured


async def seed_mcf_orders(services: Any, count: int) -> None:
    """Create ``count`` MCF orders (within the create plan's burst of 30) so there is a list to read."""
    from datetime import UTC, datetime

    from commerce_mcp.amazon.models import Address, CreateFulfillmentOrderRequest, OrderItem
    from commerce_mcp.sandbox.catalog import build_catalog

    stocked = [
        sku.seller_sku
        for sku in build_catalog().all_skus()
        if sku.fba is not None and sku.fba.fulfillable >= 20
    ]
    client = await services.amazon()
    address = Address(
        name="Benchmark Buyer",
        address_line1="1 Loopback Way",
        city="Seattle",
        state_or_region="WA",
        postal_code="98101",
        country_code="US",
    )
    for index in range(count):
        await client.create_fulfillment_order(
            CreateFulfillmentOrderRequest(
                seller_fulfillment_order_id=f"bench-{index:04d}",
                displayable_order_id=f"BENCH-{index:04d}",
                displayable_order_date=datetime.now(UTC),
                displayable_order_comment="Benchmark order",
                shipping_speed_category="Standard",
                destination_address=address,
                items=[
                    OrderItem(
                        seller_sku=stocked[index % len(stocked)],
                        seller_fulfillment_order_item_id=f"bench-{index:04d}-1",
                        quantity=1 + index % 3,
                    )
                ],
            )
        )


async def _measure(pages: int, mcf_orders: int) -> dict[str, dict[str, list[tuple[int, int]]]]:
    from mcp import Client

    from commerce_mcp.server import build_server

    found: dict[str, dict[str, list[tuple[int, int]]]] = {}
    with running_sandbox() as handle:
        services = handle.services()
        async with Client(build_server(services)) as session:
            listed = {tool.name for tool in (await session.list_tools()).tools}
            if "list_mcf_orders" in listed:
                await seed_mcf_orders(services, mcf_orders)
            for tool, arguments in LIST_TOOLS:
                if tool not in listed:
                    continue
                await session.call_tool(tool, {**arguments, "limit": 1})  # tokens, shop list
                found[tool] = {
                    fmt: await _pages(session, tool, arguments, fmt, pages)
                    for fmt in ("concise", "detailed")
                }
    return found


def run(smoke: bool) -> dict[str, Any]:
    """Per list tool: concise and detailed text as a fraction of the raw upstream JSON."""
    require("commerce_mcp.tools.tiktok")
    measured = asyncio.run(_measure(1, 5) if smoke else _measure(3, MCF_ORDERS))
    figures: list[dict[str, Any]] = []
    notes: list[str] = []
    for tool, formats in measured.items():
        for fmt, pages in formats.items():
            if not pages:
                notes.append(f"`{tool}` ({fmt}): no upstream data captured; not measured.")
                continue
            ratios = [text / raw for text, raw in pages]
            concise = fmt == "concise"
            figures.append(
                figure(
                    f"`{tool}` {fmt}: text / raw JSON",
                    ratios,
                    "x",
                    goal=f"≤ {GOAL_CONCISE:.2f}" if concise else None,
                    passed=max(ratios) <= GOAL_CONCISE if concise else None,
                    spread="min–max",
                )
            )
            text_median = statistics.median(text for text, _ in pages)
            raw_median = statistics.median(raw for _, raw in pages)
            notes.append(
                f"`{tool}` {fmt}: {text_median:,.0f} bytes of text vs {raw_median:,.0f} bytes raw "
                f"(median over {len(pages)} page(s) of up to {LIMIT})."
            )
    notes.append(
        "Text is the `content` the model reads; `structuredContent` (the full typed result) goes to "
        "the client application. Raw bodies are compact JSON, as the platforms send them; where an "
        "upstream page holds more items than the tool shows, the raw side is that whole page."
    )
    return result("tokens", "Token efficiency of list tools", figures, notes)
