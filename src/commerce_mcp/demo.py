"""``commerce-mcp demo``: the whole cross-channel workflow on the sandbox, through a real MCP client.

Every step is a tool call exactly as an assistant would make it; the demo prints the call and the first
lines of what the model would read. Simulated time is moved forward so Amazon ships while you watch.
"""

from __future__ import annotations

import json
import sys
import time
from typing import Any, TextIO

from commerce_mcp.services import Services

PREVIEW_LINES = 6
DAYS = 86_400.0


class DemoFailed(Exception):
    """A step did not behave as the workflow requires."""


class _Runner:
    def __init__(self, client: Any, out: TextIO) -> None:
        self.client = client
        self.out = out
        self.step = 0

    async def call(self, tool: str, quiet: bool = False, **arguments: Any) -> dict[str, Any]:
        self.step += 1
        shown = json.dumps(arguments, separators=(",", ":"))
        if len(shown) > 110:
            shown = shown[:107] + "..."
        print(f"\n[{self.step}] {tool} {shown}", file=self.out)
        result = await self.client.call_tool(tool, arguments)
        text = "\n".join(getattr(block, "text", "") for block in result.content)
        lines = [line for line in text.splitlines() if not line.startswith("[SANDBOX")]
        if not quiet:
            for line in lines[:PREVIEW_LINES]:
                print(f"    {line}", file=self.out)
            if len(lines) > PREVIEW_LINES:
                print(f"    ... ({len(lines) - PREVIEW_LINES} more lines)", file=self.out)
        if result.is_error:
            raise DemoFailed(f"{tool} failed: {text}")
        return dict(result.structured_content or {})

    def say(self, message: str) -> None:
        print(f"\n== {message}", file=self.out)


async def run_demo(out: TextIO | None = None) -> int:
    """Run the scripted workflow; 0 when every step behaved, 1 otherwise."""
    from mcp import Client

    from commerce_mcp.server import build_server

    out = out or sys.stdout
    started = time.monotonic()
    services = Services.from_env(sandbox=True)
    sandbox = await services.ensure_sandbox()
    assert sandbox is not None
    try:
        async with Client(build_server(services)) as client:
            runner = _Runner(client, out)
            await _script(runner, sandbox)
    except DemoFailed as exc:
        print(f"\nDEMO FAILED: {exc}", file=out)
        return 1
    finally:
        await services.aclose()
    print(
        f"\nDone in {time.monotonic() - started:.1f}s. All of this ran against the embedded"
        " sandbox; set real credentials (see README) to do it for your shop.",
        file=out,
    )
    return 0


async def _script(run: _Runner, sandbox: Any) -> None:
    run.say("Which channels are connected?")
    await run.call("get_connection_status")

    run.say("TikTok Shop orders waiting to ship")
    listed = await run.call("list_tiktok_orders", status="AWAITING_SHIPMENT", limit=25)
    candidates = [o.get("id") or o.get("order_id") for o in listed.get("orders", [])]
    candidates = [c for c in candidates if c]
    if not candidates:
        raise DemoFailed("the sandbox has no orders awaiting shipment")

    run.say("Unified inventory: TikTok stock next to FBA stock, with risk flags")
    await run.call("get_inventory", only_flagged=True, limit=8)

    run.say("Preview shipping TikTok orders from FBA (finds one FBA can ship, one it cannot)")
    chosen: dict[str, Any] | None = None
    refused: dict[str, Any] | None = None
    for order_id in candidates:
        preview = await run.call("fulfill_tiktok_order_with_mcf", quiet=True, order_id=order_id)
        status = preview.get("status")
        if status == "preview" and chosen is None:
            chosen = preview
            _print_result(run, preview)
        elif status in ("not_fulfillable", "blocked") and refused is None:
            refused = preview
            _print_result(run, preview)
        if chosen and refused:
            break
    if chosen is None:
        raise DemoFailed("no awaiting order could be fulfilled from FBA")

    order_id = chosen["tiktok_order_id"]
    run.say(f"The seller approves: create the MCF order for TikTok order {order_id}")
    created = await run.call(
        "fulfill_tiktok_order_with_mcf",
        order_id=order_id,
        confirmation_token=chosen["confirmation_token"],
    )
    if created.get("status") != "created":
        raise DemoFailed(f"expected the MCF order to be created, got {created.get('status')}")

    run.say("Calling it again (say, after a timeout) never creates a second order")
    again = await run.call("fulfill_tiktok_order_with_mcf", order_id=order_id)
    if again.get("status") != "already_created":
        raise DemoFailed("a repeated fulfil call did not recognise the existing MCF order")

    run.say("Two days pass in the sandbox: Amazon picks, packs and ships")
    sandbox.advance(2 * DAYS)
    await run.call("get_mcf_order", seller_fulfillment_order_id=created["mcf_order_id"])

    run.say("Push the tracking number back to TikTok Shop")
    synced = await run.call("sync_mcf_tracking_to_tiktok", order_ids=[order_id])
    if not synced.get("marked"):
        raise DemoFailed("no package was marked shipped on TikTok")
    again_sync = await run.call("sync_mcf_tracking_to_tiktok", order_ids=[order_id])
    if again_sync.get("marked"):
        raise DemoFailed("the second sync marked a package twice")

    run.say("The TikTok order now shows its MCF fulfilment and tracking")
    await run.call("get_order", order_id=order_id)

    run.say("Keep TikTok stock honest: plan an inventory sync from FBA (not applied)")
    skus = [line["tiktok_sku"] for line in chosen.get("lines", [])]
    await run.call("sync_inventory_to_tiktok", skus=skus, buffer=2)


def _print_result(run: _Runner, result: dict[str, Any]) -> None:
    preview = result.get("preview") or {}
    fees = preview.get("total_fees")
    print(
        f"    {result.get('tiktok_order_id')}: {result.get('status')} -"
        f" {result.get('message')}"
        + (
            f" fees {fees} {preview.get('currency')}, arrives {preview.get('arrives_between')}"
            if fees
            else ""
        ),
        file=run.out,
    )
