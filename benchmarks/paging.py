"""Paging: what the first and the later pages of a listing cost, as a user pages through it.

``get_inventory`` (both channels, ``limit`` 25) through an in-process ``mcp.Client`` on live-mode
services aimed at the fakes (served by their own process). Every run is a new server, as a new session
would be, started after the fakes' buckets refilled; nothing is warmed but imports and the fakes, and the
process settles after its warm-up as ``serve`` does (``commerce_mcp.startup``).

* **page 1**: TikTok's catalogue and the stock of its first 50 SKUs only (one FBA ``sellerSkus``
  call, which has room for page 2's SKUs too); goal ≤ 1 s.
* **page 2 asked at once**: its rows came with page 1's FBA call and are in the state store when
  page 1 returns; goal ≤ 300 ms.
* **pages 3–10 asked at once**: the background read reads them ahead, a ``sellerSkus`` call (two
  pages) at a time at FBA's 2 requests/s; each page asked back to back waits for at most the call
  that reads it. Shown, not graded: a reader asking a page per turn does not catch up with it.
* **snapshot finished**: when the background read has FBA's whole listing (the Amazon-only SKUs,
  the total count) and saved the snapshot, seconds after page 1 returned. Shown, not graded: the
  FBA plan's bound for the read-ahead calls plus the whole listing.
* **later pages**: pages 2–10 again, after the snapshot is pinned; goal ≤ 300 ms each, and no
  upstream request (counted from the HTTP responses the clients receive).
* **429s**: responses refused by the fakes' rate plans during the whole run (the read ahead shares
  the limiter with everything else); goal 0.
* **only_flagged**: its page 1 reads everything once (the flags need both whole channels), then its
  later pages come from the snapshot; same goal for those.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import time
from collections.abc import Iterator
from typing import Any

from benchmarks._sandbox import require, running_sandbox, tally_http
from benchmarks._stats import figure, result

LIMIT = 25
GOAL_FIRST_S = 1.0
GOAL_LATER_S = 0.3
#: Seconds for the fakes' FBA bucket (2/s, burst 2) to refill after the previous run, plus margin.
REFILL_SECONDS = 1.5
#: Pages asked back to back right after page 1 (pages 2–10): within the eight read ahead.
AT_ONCE_PAGES = 9
INVENTORY_PATH = "/fba/inventory/v1/summaries"


@contextlib.contextmanager
def _full_collections() -> Iterator[list[float]]:
    """Seconds spent in each full (generation 2) garbage collection inside the block.

    A full collection of this process's heap (the SDK, pydantic, sp_api) takes 0.1–0.25 s on this
    machine under load and lands on whichever call is running; the note says how many did.
    """
    pauses: list[float] = []
    started = [0.0]

    def watch(phase: str, info: dict[str, Any]) -> None:
        if phase == "start":
            started[0] = time.perf_counter()
        elif info["generation"] == 2:
            pauses.append(time.perf_counter() - started[0])

    gc.callbacks.append(watch)
    try:
        yield pauses
    finally:
        gc.callbacks.remove(watch)


async def _page(session: Any, args: dict[str, Any]) -> tuple[float, dict[str, Any]]:
    started = time.perf_counter()
    answer = await session.call_tool("get_inventory", args)
    wall = time.perf_counter() - started
    if answer.is_error:
        raise RuntimeError(f"get_inventory failed: {getattr(answer.content[0], 'text', '')[:300]}")
    return wall, dict(answer.structured_content or {})


async def _later_pages(
    session: Any, args: dict[str, Any], page: dict[str, Any], count: int
) -> dict[str, Any]:
    """Up to ``count`` pages after ``page``: their walls, upstream requests and full GC pauses."""
    walls: list[float] = []
    with _full_collections() as collections:
        async with tally_http() as tally:
            for _ in range(count):
                if not page.get("next_cursor"):
                    break
                wall, page = await _page(session, {**args, "cursor": page["next_cursor"]})
                walls.append(wall)
    return {"walls": walls, "requests": tally.requests, "collections": collections}


async def _pinned(services: Any, cursor: str) -> None:
    """Wait until the background read behind ``cursor`` has saved its snapshot."""
    from commerce_mcp.tools.paging import decode_cursor

    running = services.background(decode_cursor("get_inventory", cursor).token or "")
    if running is not None:
        await running


async def _one_run(handle: Any, later_pages: int, at_once_pages: int) -> dict[str, Any]:
    from mcp import Client

    from commerce_mcp.server import build_server

    await asyncio.sleep(REFILL_SECONDS)
    plain: dict[str, Any] = {"limit": LIMIT}
    flagged: dict[str, Any] = {"limit": LIMIT, "only_flagged": True}
    services = handle.services()
    async with Client(build_server(services)) as session, tally_http() as everything:
        async with tally_http() as tally:
            first, page = await _page(session, plain)
            first_requests = dict(tally.paths)
        returned = time.perf_counter()
        cursor = page["next_cursor"]
        second, page = await _page(session, {**plain, "cursor": cursor})
        at_once = [second]
        for _ in range(at_once_pages - 1):
            wall, page = await _page(session, {**plain, "cursor": page["next_cursor"]})
            at_once.append(wall)
        await _pinned(services, cursor)
        finished = time.perf_counter() - returned
        # Pages 2 on again, from page 1's cursor: now from the finished snapshot.
        later = await _later_pages(session, plain, {"next_cursor": cursor}, later_pages)
        await asyncio.sleep(REFILL_SECONDS)
        flagged_first, page = await _page(session, flagged)
        flagged_later = await _later_pages(session, flagged, page, later_pages)
    return {
        "first": first,
        "first_requests": first_requests,
        "second": second,
        "at_once": at_once[1:],
        "finished": finished,
        "later": later["walls"],
        "flagged_first": flagged_first,
        "flagged_later": flagged_later["walls"],
        "later_requests": later["requests"] + flagged_later["requests"],
        "collections": later["collections"] + flagged_later["collections"],
        "throttled": everything.too_many_requests,
    }


def _later_ms(metric: str, walls: list[float], each: str) -> dict[str, Any]:
    """Page wall times (seconds) as milliseconds, graded on the slowest against the later-page goal."""
    return figure(
        metric,
        [wall * 1000 for wall in walls],
        "ms",
        goal=f"≤ {GOAL_LATER_S * 1000:g} ms{each}",
        passed=max(walls) <= GOAL_LATER_S,
        spread="min–max",
    )


async def _run(smoke: bool) -> dict[str, Any]:
    runs = 1 if smoke else 5
    later_pages = 3 if smoke else 8
    at_once_pages = 3 if smoke else AT_ONCE_PAGES
    with running_sandbox() as handle:
        await _one_run(handle, 1, 2)  # warm-up: imports (sp_api is heavy); not measured
        # Settle as `serve` does once built (and as the throughput section did before this one in
        # a full run): `--only paging` then measures the same heap as the full suite.
        from commerce_mcp import startup

        startup.settle()
        samples = [await _one_run(handle, later_pages, at_once_pages) for _ in range(runs)]
    second = [s["second"] for s in samples]
    at_once = [wall for s in samples for wall in s["at_once"]]
    throttled = sum(s["throttled"] for s in samples)
    first = [s["first"] for s in samples]
    later = [wall for s in samples for wall in s["later"]]
    flagged_later = [wall for s in samples for wall in s["flagged_later"]]
    quiet = sum(s["later_requests"] for s in samples)
    fba_calls = samples[-1]["first_requests"].get(INVENTORY_PATH, 0)
    collections = [pause for s in samples for pause in s["collections"]]
    figures = [
        figure(
            f"get_inventory page 1 (limit {LIMIT})",
            first,
            "s",
            goal=f"≤ {GOAL_FIRST_S:g} s",
            passed=max(first) <= GOAL_FIRST_S,
            spread="min–max",
        ),
        _later_ms("page 2 asked at once (its rows came with page 1's FBA call)", second, ""),
        figure(
            f"pages 3–{at_once_pages + 1} asked at once, while the snapshot is read ahead"
            f" ({len(at_once)} pages)",
            [wall * 1000 for wall in at_once],
            "ms",
            spread="min–max",
        ),
        figure(
            "snapshot finished, after page 1 returned",
            [s["finished"] for s in samples],
            "s",
            spread="min–max",
        ),
        _later_ms(f"later pages once the snapshot is pinned ({len(later)} pages)", later, " each"),
        figure(
            "only_flagged page 1 (reads everything once)",
            [s["flagged_first"] for s in samples],
            "s",
            spread="min–max",
        ),
        _later_ms(f"only_flagged later pages ({len(flagged_later)} pages)", flagged_later, " each"),
        figure(
            "429 responses from the fakes during the runs",
            [float(throttled)],
            "",
            goal="0",
            passed=throttled == 0,
            spread="min–max",
        ),
        figure(
            "upstream requests made by later pages",
            [float(quiet)],
            "",
            goal="0",
            passed=quiet == 0,
            spread="min–max",
        ),
    ]
    notes = [
        f"Page 1 made {sum(samples[-1]['first_requests'].values())} upstream requests, "
        f"{fba_calls} of them FBA inventory: "
        + ", ".join(f"{path} ×{n}" for path, n in sorted(samples[-1]["first_requests"].items()))
        + ". Before this change every page read every FBA page (9 calls at 2/s) and took 4.0–4.5 s.",
        f"{len(collections)} full garbage collections ran during the timed later pages"
        + (f", the longest {max(collections) * 1000:.0f} ms" if collections else "")
        + ": a later page itself costs a few milliseconds (a few small reads from the state store).",
        "Page 2 asked the instant page 1 returns is served from the rows page 1's FBA call read "
        "beyond its own (one sellerSkus call takes 50 SKUs, at the same cost as 25), stored with "
        "the snapshot's marker, so another replica serves it too. Before this change it waited for "
        "the whole background read: 4.5 s [4.42–4.54]. Pages after it asked back to back each wait "
        "for at most the sellerSkus call that reads its rows ahead (FBA's plan: 2 calls/s, 50 "
        "SKUs a call, about 0.25 s a page of 25).",
        "The price: the snapshot is finished later, since the read ahead (four sellerSkus calls "
        "for pages 3–10) comes before FBA's whole listing (9 pages here, the only way to find the "
        "Amazon-only SKUs); was ~4.5 s. A page past the pages read ahead (page 11 on, and the "
        "Amazon-only SKUs at the end) waits for it when asked that early.",
        "A new server's first FBA call waits up to ~0.55 s for its rate limiter, which starts every "
        "bucket empty (see the throughput section); that wait is inside the page 1 figure.",
        "Snapshots live in the state store (SQLite here; Redis when replicas share state) for 5 "
        "minutes, so another replica serves the next page from them; an expired cursor is refused "
        "with 'start again from page 1'.",
    ]
    return result("paging", "Paging through a listing", figures, notes)


def run(smoke: bool) -> dict[str, Any]:
    """Page 1 and later-page latency of get_inventory against the fakes."""
    require("commerce_mcp.tools.inventory", "commerce_mcp.crosschannel.stock_snapshot")
    return asyncio.run(_run(smoke))
