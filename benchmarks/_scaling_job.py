"""One scaling job in a fresh process, so its peak RSS is the job's own: ``python -m
benchmarks._scaling_job JSON``. Prints one JSON line: wall time, requests by path, 429s, RSS.

The job gets limiters seeded with the plans the fakes were scaled to (a real deployment would
configure them the same way); its clients are made, then left idle until their buckets are full, as
in a server process that has been up a while.
"""

from __future__ import annotations

import asyncio
import gc
import json
import sys
import threading
import time
from typing import Any

import psutil  # type: ignore[import-untyped]

from benchmarks._sandbox import SandboxProcess, tally_http

MIB = 2**20


class RssWatch:
    """Samples this process's RSS every 5 ms from a thread: the job's own high-water mark.

    ``ru_maxrss`` cannot give it: set-up (imports, the first responses) may peak higher than the job.
    """

    def __init__(self) -> None:
        self._process = psutil.Process()
        self.before = self._rss()
        self.peak = self.before
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _rss(self) -> float:
        return float(self._process.memory_info().rss) / MIB

    def _run(self) -> None:
        while not self._stop.wait(0.005):
            self.peak = max(self.peak, self._rss())

    def stop(self) -> tuple[float, float]:
        """(RSS before the job, peak RSS during it), in MiB."""
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, self._rss())
        return self.before, self.peak


async def _plan(handle: SandboxProcess, spec: dict[str, Any]) -> dict[str, Any]:
    from benchmarks.throughput import warm_up
    from commerce_mcp.amazon.client import AmazonMcfClient
    from commerce_mcp.crosschannel.inventory_sync import build_plan
    from commerce_mcp.crosschannel.skumap import SkuMap
    from commerce_mcp.resilience.clock import SystemClock
    from commerce_mcp.resilience.limiter import SPAPI_PLANS, RateLimiter, RatePlan
    from commerce_mcp.store.memory import MemoryStore
    from commerce_mcp.tiktok.client import TikTokShopClient

    clock = SystemClock()
    scale = spec["rate_scale"]
    plans = {
        name: RatePlan(plan.rate * scale, round(plan.burst * scale), plan.assume_drained)
        for name, plan in SPAPI_PLANS.items()
    }
    amazon = AmazonMcfClient.from_settings(
        handle.settings(),
        store=MemoryStore(),
        clock=clock,
        limiter=RateLimiter(clock, plans, RatePlan(scale, round(5 * scale))),
    )
    tiktok = TikTokShopClient.from_settings(handle.settings(), store=MemoryStore(), clock=clock)
    qps = spec["tiktok_qps"]
    tiktok.limiter = RateLimiter(clock, {}, RatePlan(qps, round(qps)))
    page_skus: list[int] = []  # seller SKUs on each search page, in order: the bound needs them
    search = tiktok.search_products

    async def counted_search(*args: Any, **kwargs: Any) -> Any:
        page = await search(*args, **kwargs)
        page_skus.append(sum(len(product.skus) for product in page.items))
        return page

    try:
        # Set-up, not throughput: the shop list and TikTok token, sp_api's import and the LWA token.
        shop = (await tiktok.list_shops())[0]
        await warm_up(amazon)
        await asyncio.sleep(1.2)  # every bucket (1 s of burst) full, like a process that is up
        tiktok.search_products = counted_search  # type: ignore[method-assign]
        gc.collect()
        watch = RssWatch()
        async with tally_http() as tally:
            started = time.perf_counter()
            plan = await build_plan(
                tiktok=tiktok, amazon=amazon, shop=shop, skumap=SkuMap.parse(None),
                skus=None, buffer=0,
            )  # fmt: skip
            wall = time.perf_counter() - started
        before, peak = watch.stop()
        return {
            "wall": wall,
            "rows": len(plan.rows),
            "tally": tally,
            "before": before,
            "peak": peak,
            "page_skus": page_skus,
        }
    finally:
        await tiktok.aclose()
        await amazon.aclose()


async def _orders(handle: SandboxProcess, spec: dict[str, Any]) -> dict[str, Any]:
    from commerce_mcp.resilience.clock import SystemClock
    from commerce_mcp.resilience.limiter import RateLimiter, RatePlan
    from commerce_mcp.store.memory import MemoryStore
    from commerce_mcp.tiktok.client import TikTokShopClient

    clock = SystemClock()
    tiktok = TikTokShopClient.from_settings(handle.settings(), store=MemoryStore(), clock=clock)
    qps = spec["tiktok_qps"]
    tiktok.limiter = RateLimiter(clock, {}, RatePlan(qps, round(qps)))
    try:
        shop = (await tiktok.list_shops())[0]
        await asyncio.sleep(1.2)
        gc.collect()
        watch = RssWatch()
        seen = 0
        async with tally_http() as tally:
            started = time.perf_counter()
            token: str | None = None
            while True:  # streamed: each page is counted and dropped
                page = await tiktok.search_orders(shop, page_size=100, page_token=token)
                seen += len(page.items)
                token = page.next_page_token or None
                if token is None:
                    break
            wall = time.perf_counter() - started
        before, peak = watch.stop()
        return {"wall": wall, "rows": seen, "tally": tally, "before": before, "peak": peak}
    finally:
        await tiktok.aclose()


def main() -> None:
    spec = json.loads(sys.argv[1])
    handle = SandboxProcess(spec["overrides"], __import__("pathlib").Path(spec["state_dir"]))
    fakes = psutil.Process(spec["fakes_pid"])
    cpu_before = sum(fakes.cpu_times()[:2])
    job = _plan if spec["job"] == "plan" else _orders
    out = asyncio.run(job(handle, spec))
    tally = out.pop("tally")
    print(
        json.dumps(
            {
                **out,
                "paths": dict(tally.paths),
                "429": tally.too_many_requests,
                "429_paths": dict(tally.throttled),
                "fakes_cpu_s": sum(fakes.cpu_times()[:2]) - cpu_before,
                "rss_mib": psutil.Process().memory_info().rss / MIB,
            }
        ),
        flush=True,
    )


if __name__ == "__main__":
    main()
