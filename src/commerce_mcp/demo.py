"""``commerce-mcp demo``: the whole cross-channel workflow on the sandbox, through a real MCP client.

Written for a seller who has never seen MCP: each numbered step says what an assistant would be doing for
them, the request it makes to this server (a "tool call", after the arrow) and, in a line or two, what came
of it. The closing summary says what was created, what was refused and why, and how long it took.
Simulated time is moved forward so Amazon ships while you watch; nothing touches a real account.
"""

from __future__ import annotations

import json
import sys
import textwrap
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TextIO

from commerce_mcp.resilience.clock import Clock
from commerce_mcp.sandbox.runner import SandboxServers
from commerce_mcp.services import Services
from commerce_mcp.terminal import ProgressLine

DAYS = 86_400.0
#: The numbered steps of the script below (the progress line counts them).
STEPS = 10
#: Orders previewed at most while looking for one FBA can ship and one it cannot.
MAX_PREVIEWS = 8
INDENT = "      "
#: Lines are wrapped to this width so the demo reads well in a plain terminal.
WIDTH = 100

INTRO = """\
commerce-mcp demo: one morning of a TikTok Shop seller who ships from Amazon FBA

An AI assistant (Claude, for example) does this work for you through commerce-mcp. Each step below
is one thing it does: the request it sends to commerce-mcp (a "tool call", after the arrow) and what
came back. Everything runs on a practice shop on this computer: no real account, order or parcel."""

CLOSING = """\
To do this for your own shop: put your TikTok Shop and Amazon credentials in a .env file (README,
"Configuration"), check them with `commerce-mcp doctor`, then add commerce-mcp to Claude Desktop
(README, "Claude Desktop") and ask Claude in your own words."""


class DemoFailed(Exception):
    """A step did not behave as the workflow requires."""


@dataclass
class _Results:
    """What the run did, for the closing summary."""

    created: list[str] = field(default_factory=list)
    refused: list[str] = field(default_factory=list)
    not_repeated: list[str] = field(default_factory=list)
    only_planned: list[str] = field(default_factory=list)


class _Runner:
    """Runs one step at a time: the calls, then the step's title, calls and outcome, together."""

    def __init__(self, client: Any, out: TextIO, progress: ProgressLine) -> None:
        self.client = client
        self.out = out
        self.progress = progress
        self.results = _Results()
        self._title = ""
        self._calls: list[str] = []

    def begin(self, title: str) -> None:
        self._title = title
        self._calls = []
        self.progress.step(title)

    async def call(
        self, tool: str, *, shown: str | None = None, **arguments: Any
    ) -> dict[str, Any]:
        """Call ``tool``; remember the call line (``shown`` replaces it; "" hides it)."""
        if shown is None:
            shown = f"→ {tool} {_arguments(arguments)}".rstrip()
        if shown and shown not in self._calls:
            self._calls.append(shown)
        result = await self.client.call_tool(tool, arguments)
        if result.is_error:
            text = " ".join(getattr(block, "text", "") for block in result.content)
            self.finish(f"FAILED: {text}")
            raise DemoFailed(f"{tool} failed: {text}")
        return dict(result.structured_content or {})

    def finish(self, *outcome: str) -> None:
        """Print the step: number and title, the calls made, then the outcome lines."""
        self.progress.clear()
        print(f"\n[{self.progress.done}/{self.progress.total}] {self._title}", file=self.out)
        for line in self._calls:
            print(f"{INDENT}{line}", file=self.out)
        for line in outcome:
            print(_wrap(line, INDENT), file=self.out)


async def run_demo(
    out: TextIO | None = None,
    *,
    progress: ProgressLine | None = None,
    sandbox: SandboxServers | None = None,
    timer: Callable[[], float] = time.monotonic,
    clock: Clock | None = None,
) -> int:
    """Run the scripted workflow; 0 when every step behaved, 1 otherwise.

    ``progress`` (default: none) is the terminal progress line; ``sandbox`` replaces the fakes the demo
    would start (the caller stops them); ``timer`` measures the duration reported at the end;
    ``clock`` replaces the one the clients wait on (rate limits, backoff), so tests wait in virtual time.
    """
    from mcp import Client

    from commerce_mcp.config import TOOLSETS
    from commerce_mcp.server import build_server

    out = out or sys.stdout
    progress = progress or ProgressLine(STEPS, enabled=False)
    started = timer()
    # The demo needs every tool and writes on, whatever the seller's own .env says: it only
    # ever touches the fakes.
    services = Services.from_env(
        sandbox=True, commerce_mcp_allow_writes=True, commerce_mcp_toolsets=",".join(TOOLSETS)
    )
    services.sandbox = sandbox
    print(INTRO, file=out)
    try:
        if clock is not None:
            services.clock = clock
        servers = await services.ensure_sandbox()
        assert servers is not None
        async with Client(build_server(services)) as client:
            runner = _Runner(client, out, progress)
            await _script(runner, servers)
    except Exception as exc:
        # The MCP client's task group wraps what the script raises in an exception group.
        failed = _demo_failure(exc)
        if failed is None:
            raise
        progress.clear()
        print(f"\nThe demo stopped: {failed}", file=out)
        return 1
    finally:
        await services.aclose()
    _summarise(runner.results, timer() - started, out)
    return 0


async def _script(run: _Runner, sandbox: SandboxServers) -> None:
    run.begin("Check which accounts are connected")
    status = await run.call("get_connection_status")
    run.finish(*_status_outcome(status))

    run.begin("Find TikTok Shop orders waiting to ship")
    listed = await run.call("list_tiktok_orders", status="AWAITING_SHIPMENT", limit=25)
    orders = listed.get("orders") or []
    if not orders:
        raise DemoFailed("the practice shop has no orders waiting to ship")
    total = listed.get("total")
    counted = f"{total} orders are waiting" if total else f"{len(orders)} orders are waiting"
    newest = orders[0]
    run.finish(
        f"{counted} in {listed.get('shop') or 'the shop'}; the newest {len(orders)} came back.",
        f"Newest: {newest['id']}, {newest.get('total')} {newest.get('currency')},"
        f" {', '.join(newest.get('skus') or [])}, to {newest.get('ship_to')}.",
    )

    run.begin("Compare TikTok Shop stock with the stock Amazon FBA can ship")
    inventory = await run.call("get_inventory", only_flagged=True, limit=100)
    flagged, pages = list(inventory.get("skus") or []), 1
    while inventory.get("next_cursor"):
        # Later pages come from the snapshot the first one pinned: no platform is asked again.
        inventory = await run.call(
            "get_inventory",
            shown="→ get_inventory only_flagged=true limit=100 cursor=…  (the next pages)",
            only_flagged=True,
            limit=100,
            cursor=inventory["next_cursor"],
        )
        flagged += inventory.get("skus") or []
        pages += 1
    run.finish(*_inventory_outcome(flagged, pages))

    run.begin("Ask Amazon whether FBA can ship these orders (a preview: nothing is created)")
    chosen: dict[str, Any] | None = None
    refused: dict[str, Any] | None = None
    lines = []
    for order in orders[:MAX_PREVIEWS]:
        preview = await run.call(
            "fulfill_tiktok_order_with_mcf",
            shown="→ fulfill_tiktok_order_with_mcf order_id=…  (once per order)",
            order_id=order["id"],
        )
        lines.append(_preview_outcome(preview))
        if preview.get("status") == "preview" and chosen is None:
            chosen = preview
        elif preview.get("status") in ("not_fulfillable", "blocked") and refused is None:
            refused = preview
            run.results.refused.append(
                f"TikTok order {preview.get('tiktok_order_id')}: {_refusal(preview)};"
                " nothing was sent to Amazon."
            )
        if chosen and refused:
            break
    run.finish(*lines)
    if chosen is None:
        raise DemoFailed("FBA could ship none of the orders previewed")

    order_id = chosen["tiktok_order_id"]
    run.begin(f"You approve order {order_id}: create the Amazon order that ships it")
    created = await run.call(
        "fulfill_tiktok_order_with_mcf",
        shown=f"→ fulfill_tiktok_order_with_mcf order_id={order_id}"
        " confirmation_token=… (from step 4)",
        order_id=order_id,
        confirmation_token=chosen["confirmation_token"],
    )
    if created.get("status") != "created":
        raise DemoFailed(f"expected the Amazon order to be created, got {created.get('status')}")
    mcf_id = created["mcf_order_id"]
    items = ", ".join(f"{line['quantity']} x {line['amazon_sku']}" for line in created["lines"])
    run.finish(f"Created Amazon order {mcf_id} ({items}) for TikTok order {order_id}.")

    run.begin("Send the same request again, as after a dropped connection")
    again = await run.call("fulfill_tiktok_order_with_mcf", order_id=order_id)
    if again.get("status") != "already_created":
        raise DemoFailed("a repeated request did not recognise the existing Amazon order")
    run.finish(f"Recognised: {mcf_id} already ships this order, so no second order was created.")
    run.results.not_repeated.append("the repeated order request created nothing")

    run.begin("Two days later (simulated): see what Amazon has done")
    sandbox.advance(2 * DAYS)
    mcf = await run.call("get_mcf_order", seller_fulfillment_order_id=mcf_id)
    run.finish(_shipment_outcome(mcf))

    run.begin(
        "Put the tracking number on the TikTok Shop order (twice: the second changes nothing)"
    )
    synced = await run.call("sync_mcf_tracking_to_tiktok", order_ids=[order_id])
    if not synced.get("marked"):
        raise DemoFailed("no package was marked shipped on TikTok Shop")
    again_sync = await run.call("sync_mcf_tracking_to_tiktok", order_ids=[order_id])
    if again_sync.get("marked"):
        raise DemoFailed("the second sync marked a package twice")
    marked = synced["marked"][0]
    tracking = f"{marked.get('carrier')} {marked.get('tracking_number')}"
    run.finish(
        f"First time: order {order_id} marked shipped on TikTok Shop with {tracking}.",
        "Second time: nothing left to do; no package was marked twice.",
    )
    run.results.created.append(
        f"Amazon order {mcf_id} for TikTok order {order_id}; it shipped and its tracking"
        f" number ({tracking}) is on TikTok Shop."
    )
    run.results.not_repeated.append("the second tracking sync changed nothing")

    run.begin("Look at the order as TikTok Shop now shows it")
    detail = await run.call("get_order", order_id=order_id)
    run.finish(_order_outcome(detail))

    run.begin("Plan TikTok Shop stock from what FBA can ship (a plan: nothing is changed)")
    skus = [line["tiktok_sku"] for line in chosen.get("lines", [])]
    plan = await run.call("sync_inventory_to_tiktok", skus=skus, buffer=2)
    changes = plan.get("changes") or []
    planned = [
        f"{c['seller_sku']} {c['tiktok_now']} -> {c['tiktok_after']}"
        f" (FBA can ship {c['fba_fulfillable']}, 2 kept back)"
        for c in changes
    ]
    run.finish(
        ("Would set " + "; ".join(planned) + ".") if planned else "TikTok stock already matches."
    )
    if planned:
        run.results.only_planned.append("TikTok stock " + "; ".join(planned))


def _demo_failure(exc: BaseException) -> DemoFailed | None:
    if isinstance(exc, DemoFailed):
        return exc
    if isinstance(exc, BaseExceptionGroup):
        for inner in exc.exceptions:
            found = _demo_failure(inner)
            if found is not None:
                return found
    return None


def _summarise(results: _Results, seconds: float, out: TextIO) -> None:
    print(f"\nSummary ({seconds:.1f} s)", file=out)
    rows = [
        ("Created", results.created or ["nothing"]),
        ("Refused", results.refused or ["nothing"]),
        ("Not repeated", ["; ".join(results.not_repeated) + "."] if results.not_repeated else []),
        ("Only planned", [f"{'; '.join(results.only_planned)}; nothing was changed."]
         if results.only_planned else []),
    ]  # fmt: skip
    for label, lines in rows:
        for line in lines:
            print(_wrap(f"{label + ':':<14}{line}", "  ", hang=14), file=out)
    print(f"\n{CLOSING}", file=out)


# What came back, in a line or two -------------------------------------------------------------


def _wrap(text: str, indent: str, *, hang: int = 2) -> str:
    return textwrap.fill(
        text, WIDTH, initial_indent=indent, subsequent_indent=indent + " " * hang,
        break_on_hyphens=False, break_long_words=False,
    )  # fmt: skip


def _arguments(arguments: dict[str, Any]) -> str:
    parts = []
    for key, value in arguments.items():
        shown = value if isinstance(value, str) and " " not in value else json.dumps(value)
        parts.append(f"{key}={shown}")
    return " ".join(parts)


def _status_outcome(status: dict[str, Any]) -> list[str]:
    said = []
    for channel in status.get("channels") or []:
        name = "TikTok Shop" if channel["channel"] == "tiktok" else "Amazon"
        if not channel.get("configured"):
            said.append(f"{name}: not connected (missing {', '.join(channel.get('missing', []))})")
        elif channel["channel"] == "tiktok":
            shops = [shop.rsplit(" (", 1)[0] for shop in channel.get("shops") or []]
            said.append(f"{name} connected ({', '.join(shops) or 'no shops'})")
        else:
            said.append(f"{name} connected (seller {channel.get('account')})")
    writes = (
        "Changes (shipping, stock, Amazon orders) are allowed, and each is previewed first."
        if status.get("writes_enabled")
        else "Changes are switched off; only reading is possible."
    )
    return ["; ".join(said) + ".", writes]


_FLAG_WORDS = {
    "oversell_risk": "may oversell",
    "stranded": "are at FBA but not on sale on TikTok Shop",
    "unmapped": "have no FBA stock",
}


def _inventory_outcome(skus: list[dict[str, Any]], pages: int) -> list[str]:
    if not skus:
        return ["Nothing needs a look: TikTok Shop and FBA stock agree."]
    counts = Counter(flag for sku in skus for flag in sku.get("flags", []))
    parts = [f"{counts[flag]} {words}" for flag, words in _FLAG_WORDS.items() if counts[flag]]
    lines = [
        f"{len(skus)} SKUs need a look ({pages} pages; stock read once, the later pages"
        " from its snapshot): " + ", ".join(parts) + "."
    ]
    risky = next((s for s in skus if "oversell_risk" in s.get("flags", [])), None)
    if risky:
        lines.append(
            f"{risky['seller_sku']} may oversell: TikTok Shop offers"
            f" {risky['tiktok']['available']}, FBA can ship {risky['fba']['fulfillable']}."
        )
    return lines


def _refusal(preview: dict[str, Any]) -> str:
    details = preview.get("preview") or {}
    short = [item.split(":")[0] for item in details.get("unfulfillable") or []]
    if short:
        return f"FBA cannot ship it (not enough stock of {', '.join(short)})"
    return str(preview.get("message") or "refused")


def _preview_outcome(preview: dict[str, Any]) -> str:
    order_id = preview.get("tiktok_order_id")
    status = preview.get("status")
    details = preview.get("preview") or {}
    if status == "preview":
        window = str(details.get("arrives_between") or "")
        arrives = " to ".join(part[:10] for part in window.split(" to ")) if window else "unknown"
        return (
            f"{order_id}: FBA can ship it; fee {details.get('total_fees')}"
            f" {details.get('currency')}, arrives {arrives}."
        )
    if status in ("not_fulfillable", "blocked"):
        return f"{order_id}: refused: {_refusal(preview)}."
    return f"{order_id}: {status}: {preview.get('message')}"


def _shipment_outcome(found: dict[str, Any]) -> str:
    order = found.get("order") or {}
    packages = [
        f"{package.get('carrier')} {package.get('tracking_number')}"
        for shipment in order.get("shipments") or []
        for package in shipment.get("packages") or []
    ]
    shipped = ", tracking " + ", ".join(packages) if packages else ", not shipped yet"
    return (
        f"Amazon order {order.get('seller_fulfillment_order_id')}: {order.get('status')}{shipped}."
    )


def _order_outcome(found: dict[str, Any]) -> str:
    order = found.get("order") or {}
    mcf = order.get("mcf") or {}
    packages = ", ".join(
        f"{p.get('carrier')} {p.get('tracking_number')}" for p in order.get("packages") or []
    )
    text = f"TikTok order {order.get('id')}: {order.get('status')}"
    if packages:
        text += f", package {packages}"
    if mcf:
        text += f"; shipped from FBA by Amazon order {mcf.get('mcf_order_id')}"
    return text + "."
