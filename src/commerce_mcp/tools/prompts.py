"""MCP prompts for the workflows sellers run every day.

Each prompt is declared with its arguments rather than registered with ``@server.prompt``, which would
generate a pydantic model and a validating wrapper per prompt at every start-up (the largest part of
building the server). MCP sends prompt arguments as strings; the one kind used here, a count, is parsed
by :func:`_count`.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any

from mcp.server import MCPServer
from mcp.server.mcpserver.prompts.base import Prompt, PromptArgument


def register_prompts(server: MCPServer[Any]) -> None:
    """Register the prompts (they read no state, so every session gets the same ones)."""
    for prompt in PROMPTS:
        server.add_prompt(prompt)


def _count(value: str | int, name: str) -> int:
    """A prompt's whole-number argument (MCP sends it as a string)."""
    try:
        number = int(value)
    except ValueError:
        raise ValueError(f"{name} must be a whole number, got {str(value)[:20]!r}") from None
    if not 0 <= number <= 10_000:
        raise ValueError(f"{name} must be between 0 and 10,000")
    return number


def _prompt(
    fn: Callable[..., str], title: str, arguments: tuple[PromptArgument, ...] = ()
) -> Prompt:
    return Prompt(
        name=fn.__name__,
        title=title,
        description=inspect.getdoc(fn),
        arguments=list(arguments),
        fn=fn,
    )


def daily_operations_brief() -> str:
    """A morning summary: orders to ship, stock risks, returns, yesterday's sales."""
    return (
        "Give me today's operations brief for my TikTok Shop and Amazon FBA business.\n"
        "1. get_connection_status (stop and tell me what to fix if a channel is not configured).\n"
        "2. list_tiktok_orders with status AWAITING_SHIPMENT: how many, the oldest, any on hold.\n"
        "3. get_inventory with only_flagged=true: SKUs at oversell risk, stranded FBA stock.\n"
        "4. list_tiktok_returns for the last 2 days: count and the main reasons.\n"
        "5. get_tiktok_shop_performance for the last 7 days: GMV, orders, trend.\n"
        "Finish with the three things I should do first today. Be brief; numbers over prose."
    )


def fulfill_awaiting_orders(max_orders: str | int = 10) -> str:
    """Fulfil TikTok Shop orders awaiting shipment through Amazon MCF, one confirmed step at a time."""
    max_orders = _count(max_orders, "max_orders")
    return (
        f"Ship up to {max_orders} TikTok Shop orders that are AWAITING_SHIPMENT from my Amazon FBA"
        " stock.\nFor each order (oldest first, from list_tiktok_orders): call"
        " fulfill_tiktok_order_with_mcf without a confirmation_token to preview it. Show me a"
        " table: TikTok order, SKUs, fulfillable?, fees, arrival. Ask me which to ship; only then"
        " call it again with that order's confirmation_token. Never invent a token. Skip orders"
        " that are unfulfillable and tell me why. Afterwards, remind me to run"
        " sync_mcf_tracking_to_tiktok once Amazon has shipped."
    )


def restock_check(buffer: str | int = 0) -> str:
    """Find SKUs where TikTok stock and FBA stock disagree, and plan the sync."""
    buffer = _count(buffer, "buffer")
    return (
        "Check whether my TikTok Shop stock matches what Amazon FBA can ship.\n"
        "1. get_inventory with only_flagged=true: list oversell risks, stranded and unmapped SKUs.\n"
        f"2. sync_inventory_to_tiktok with buffer={buffer} and no confirmation_token: show me the"
        " plan (SKU, TikTok now, FBA fulfillable, TikTok after).\n"
        "3. Tell me which SKUs need an FBA restock (low fulfillable, high TikTok demand).\n"
        "Do not apply the sync until I confirm."
    )


PROMPTS = (
    _prompt(daily_operations_brief, "Daily operations brief"),
    _prompt(
        fulfill_awaiting_orders,
        "Ship TikTok orders from FBA",
        (PromptArgument(name="max_orders", description="Most orders to ship (default 10)."),),
    ),
    _prompt(
        restock_check,
        "Restock check",
        (PromptArgument(name="buffer", description="Units held back on TikTok (default 0)."),),
    ),
)
