"""Per-call overhead: a tool call through the in-process MCP server against the client call it wraps.

Both sides list the same 20 TikTok orders of the same shop from the sandbox (served by its own process,
so it does not compete for this one's GIL), with the same client instance, interleaved in rotating
order so drift hits all alike. Calls are paced below the shop's 50 requests/s plan so no sample waits
for the rate limiter. The SDK's ``Client`` re-validates every structured result against the tool's
output schema with ``jsonschema``; a host such as Claude Desktop does its own checking, so the tool call
is also timed with that client-side step switched off, to isolate what the server adds.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import Any

from benchmarks._sandbox import require, running_sandbox
from benchmarks._stats import figure, percentile, result

GOAL_P50_MS = 2.0
LIMIT = 20
#: Seconds between the starts of two rounds (3 requests): 30 requests/s, under the 50/s plan.
ROUND_INTERVAL = 0.1

Step = Callable[[], Awaitable[None]]


async def _measure(rounds: int) -> dict[str, list[float]]:
    from mcp import Client

    from commerce_mcp.server import build_server

    samples: dict[str, list[float]] = {"direct": [], "tool": [], "tool_unvalidated": []}
    with running_sandbox() as handle:
        services = handle.services()
        async with Client(build_server(services)) as session:
            client = await services.tiktok()
            shop = await client.resolve_shop(None)
            sdk_session = session.session

            async def via_tool() -> None:
                answer = await session.call_tool("list_tiktok_orders", {"limit": LIMIT})
                if answer.is_error:
                    text = getattr(answer.content[0], "text", "")
                    raise RuntimeError(f"list_tiktok_orders failed: {text[:300]}")

            async def skip_validation(name: str, answer: Any) -> None:
                return None

            async def via_tool_unvalidated() -> None:
                sdk_session.validate_tool_result = skip_validation  # type: ignore[method-assign,assignment]
                try:
                    await via_tool()
                finally:
                    del sdk_session.validate_tool_result

            async def direct() -> None:
                page = await client.search_orders(
                    shop, sort_field="create_time", sort_order="DESC", page_size=LIMIT
                )
                if len(page.items) != LIMIT:
                    raise RuntimeError(f"expected {LIMIT} orders, got {len(page.items)}")

            steps: list[tuple[str, Step]] = [
                ("direct", direct),
                ("tool", via_tool),
                ("tool_unvalidated", via_tool_unvalidated),
            ]
            for _ in range(5):  # warm-up: connections, caches, first-call imports
                for _, step in steps:
                    await step()
                await asyncio.sleep(ROUND_INTERVAL)
            for index in range(rounds):
                round_started = time.perf_counter()
                shift = index % len(steps)
                for name, step in steps[shift:] + steps[:shift]:
                    started = time.perf_counter()
                    await step()
                    samples[name].append((time.perf_counter() - started) * 1000)
                spare = ROUND_INTERVAL - (time.perf_counter() - round_started)
                if spare > 0:
                    await asyncio.sleep(spare)
    return samples


def run(smoke: bool) -> dict[str, Any]:
    """Added milliseconds at p50 and p99 for one tool call over the direct client call."""
    require("commerce_mcp.tiktok.client", "commerce_mcp.tools.tiktok")
    rounds = 15 if smoke else 300
    samples = asyncio.run(_measure(rounds))
    direct, tool, bare_tool = samples["direct"], samples["tool"], samples["tool_unvalidated"]

    def added(values: list[float], fraction: float) -> float:
        return percentile(values, fraction) - percentile(direct, fraction)

    goal = f"< {GOAL_P50_MS:g} ms"
    figures = [
        figure(f"direct `search_orders` ({LIMIT} orders)", direct, "ms"),
        figure(f"`list_tiktok_orders` via `mcp.Client` (limit={LIMIT})", tool, "ms"),
        figure("same, SDK client-side output validation off", bare_tool, "ms"),
        figure(
            "added at p50, via `mcp.Client`",
            [added(tool, 0.5)],
            "ms",
            goal=goal,
            passed=added(tool, 0.5) < GOAL_P50_MS,
            spread="min–max",
        ),
        figure("added at p99, via `mcp.Client`", [added(tool, 0.99)], "ms", spread="min–max"),
        figure(
            "added at p50, server side only",
            [added(bare_tool, 0.5)],
            "ms",
            goal=goal,
            passed=added(bare_tool, 0.5) < GOAL_P50_MS,
            spread="min–max",
        ),
        figure("added at p99, server side only", [added(bare_tool, 0.99)], "ms", spread="min–max"),
    ]
    notes = [
        f"{rounds} rounds, each timing the three variants once in rotating order; in-process "
        "`mcp.Client(build_server(services))`, live mode against the sandbox over loopback. "
        "Server-side extra work per call: MCP dispatch, argument validation, cursor handling, "
        "turning orders into summaries, rendering text, structured-content serialization.",
    ]
    return result("overhead", "Per-call overhead (in-process)", figures, notes)
