"""Scaling: cost grows linearly and memory stays flat as the seller's world grows.

* Inventory-sync planning (``crosschannel.inventory_sync.build_plan`` over every SKU: TikTok product
  search pages of 100, FBA inventory 50 SKUs a call as the pages bring them) on ~500 / 5,000 /
  20,000 SKUs.
* Order listing (every order of a shop, search pages of 100, each page counted and dropped) over
  1k / 10k / 100k orders.

Each size gets fresh fakes holding that world, with rate plans chosen so the job takes seconds and the
plan, not latency, is what bounds it; each job runs in a fresh process with limiters seeded with the
same plans, so its peak RSS is its own. The goal is wall time / rate-plan bound ≤ 1.05 at every size
(the fakes must keep up) and peak RSS growth well under linear in the size.
"""

from __future__ import annotations

import json
import math
import subprocess
import sys
from pathlib import Path
from typing import Any

from benchmarks._sandbox import require, running_sandbox
from benchmarks._stats import figure, result
from benchmarks.throughput import GOAL_WITHIN, INVENTORY_PATH, rate_bound, send_times

ROOT = Path(__file__).resolve().parents[1]
SKUS_PER_PRODUCT = 20_067 / 8_600  # the catalog's mix of 2- and 3-variant products
#: Growth at the largest size may be at most this share of linear growth from the smallest.
SUBLINEAR = 0.25
NOISE_MIB = 5.0

#: (SKUs, TikTok QPS, SP-API scale): each run's bound is a few seconds.
PLAN_SIZES = ((500, 5.0, 1.0), (5_000, 5.0, 10.0), (20_000, 20.0, 20.0))
#: (orders, TikTok QPS)
ORDER_SIZES = ((1_000, 2.0), (10_000, 20.0), (100_000, 50.0))
SMOKE_PLAN = ((140, 50.0, 5.0),)
SMOKE_ORDERS = ((300, 50.0),)


def _job(handle: Any, spec: dict[str, Any]) -> dict[str, Any]:
    spec = {
        **spec,
        "overrides": handle.overrides,
        "state_dir": str(handle.state_dir),
        "fakes_pid": handle.child_pid,
    }
    done = subprocess.run(
        [sys.executable, "-m", "benchmarks._scaling_job", json.dumps(spec)],
        capture_output=True,
        text=True,
        cwd=ROOT,
        check=False,
    )
    if done.returncode != 0:
        raise RuntimeError(f"scaling job failed: {done.stderr[-2000:]}")
    answer: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return answer


def _count(paths: dict[str, int], suffix: str) -> int:
    return sum(n for path, n in paths.items() if path.endswith(suffix))


def plan_bound(
    page_skus: list[int], search: tuple[float, float], fba: tuple[float, float], batch: int = 50
) -> float:
    """Least seconds any client can plan in, with the search and FBA buckets (rate, burst) full.

    Search pages follow one another (each needs the last one's token); an FBA call can go once the
    pages read so far hold its ``batch`` SKUs (the last, partial one once every page is read). The
    two platforms limit separately, so FBA calls overlap the searches.
    """
    pages = send_times([0.0] * len(page_skus), *search)
    ready: list[float] = []
    known = 0
    for read_at, count in zip(pages, page_skus, strict=True):
        known += count
        while known >= batch * (len(ready) + 1):
            ready.append(read_at)
    if known > batch * len(ready):
        ready.append(pages[-1])
    return max([*pages, *send_times(ready, *fba)], default=0.0)


def _plan_run(skus: int, qps: float, scale: float) -> dict[str, Any]:
    products = max(1, round(skus / SKUS_PER_PRODUCT))
    with running_sandbox(
        products=products, tiktok_orders=[100, 10], rate_scale=scale, tiktok_qps=qps
    ) as handle:
        out = _job(handle, {"job": "plan", "tiktok_qps": qps, "rate_scale": scale})
    searches = _count(out["paths"], "/products/search")
    # A retry after a 429 is the client's cost, not the job's: the bound counts the calls it needs.
    inventory = _count(out["paths"], INVENTORY_PATH) - out["429_paths"].get(INVENTORY_PATH, 0)
    listed = sum(out["page_skus"])
    if inventory != math.ceil(listed / 50):  # the bound below assumes full batches of 50
        raise RuntimeError(f"{inventory} FBA calls for {listed} SKUs: not batches of 50")
    out["bound"] = plan_bound(out["page_skus"], (qps, round(qps)), (2 * scale, round(2 * scale)))
    out["requests"] = searches + inventory
    out["detail"] = (
        f"{out['rows']:,} SKUs planned: {searches} product searches at {qps:g}/s, "
        f"{inventory} FBA inventory calls at {2 * scale:g}/s"
    )
    return out


def _orders_run(orders: int, qps: float) -> dict[str, Any]:
    with running_sandbox(tiktok_orders=[orders, 0], tiktok_qps=qps) as handle:
        out = _job(handle, {"job": "orders", "tiktok_qps": qps})
    pages = _count(out["paths"], "/orders/search")
    out["bound"] = rate_bound(pages, qps, round(qps))
    out["requests"] = pages
    out["detail"] = f"{out['rows']:,} orders listed: {pages} search pages at {qps:g}/s"
    return out


def _where(out: dict[str, Any]) -> str:
    """Which paths the 429s came from, when there were any."""
    paths = out.get("429_paths") or {}
    return f" ({', '.join(f'{path} {n}' for path, n in paths.items())})" if paths else ""


def _rows(name: str, unit: str, runs: list[tuple[int, dict[str, Any]]]) -> tuple[list[Any], str]:
    figures = []
    for size, out in runs:
        if not out["bound"]:  # everything fits in the bursts (smoke sizes): nothing to grade
            figures.append(figure(f"{name}, {size:,} {unit}: wall time", [out["wall"]], "s"))
            continue
        ratio = out["wall"] / out["bound"]
        figures.append(
            figure(
                f"{name}, {size:,} {unit}: wall / rate-plan bound",
                [ratio],
                "x",
                goal=f"≤ {1 + GOAL_WITHIN:.2f}",
                passed=ratio <= 1 + GOAL_WITHIN and out["429"] == 0,
                spread="min–max",
            )
        )
    for size, out in runs:
        figures.append(
            figure(
                f"{name}, {size:,} {unit}: peak RSS growth during the job",
                [out["peak"] - out["before"]],
                "MiB",
                spread="min–max",
            )
        )
    (small, first), (large, last) = runs[0], runs[-1]
    growth_small = max(first["peak"] - first["before"], NOISE_MIB)
    growth_large = last["peak"] - last["before"]
    linear = growth_small * large / small
    if len(runs) > 1:
        figures.append(
            figure(
                f"{name}: RSS growth at {large:,} vs linear from {small:,}",
                [growth_large / linear],
                "x",
                goal=f"≤ {SUBLINEAR:g} (well under linear)",
                passed=growth_large <= SUBLINEAR * linear,
                spread="min–max",
            )
        )
    note = f"{name}: " + "; ".join(
        f"{size:,}: {out['detail']}, wall {out['wall']:.2f} s vs bound {out['bound']:.2f} s, "
        f"{out['429']} × 429{_where(out)}, fakes' CPU {1000 * out['fakes_cpu_s'] / max(out['requests'], 1):.1f} "
        f"ms a request"
        for size, out in runs
    )
    return figures, note


def run(smoke: bool) -> dict[str, Any]:
    """Planning and order listing at growing sizes: time against the bound, peak RSS."""
    require("commerce_mcp.crosschannel.inventory_sync", "commerce_mcp.tiktok.client")
    plan_sizes = SMOKE_PLAN if smoke else PLAN_SIZES
    order_sizes = SMOKE_ORDERS if smoke else ORDER_SIZES
    plans = [(skus, _plan_run(skus, qps, scale)) for skus, qps, scale in plan_sizes]
    orders = [(count, _orders_run(count, qps)) for count, qps in order_sizes]
    figures, notes = [], []
    for name, unit, runs in (
        ("Inventory-sync planning", "SKUs", plans),
        ("Order listing", "orders", orders),
    ):
        rows, note = _rows(name, unit, runs)
        figures += rows
        notes.append(note)
    notes.append(
        "Bounds: what the rate plans allow a client with no latency, every bucket starting full "
        "(the job's process has been up a while). Inventory-sync planning: search pages follow one "
        "another, and an FBA call can go once the pages read so far hold its 50 SKUs, so FBA "
        "overlaps the searches (different platforms, different buckets); order listing: "
        "(pages − burst) / rate. Peak RSS growth is the job process's RSS sampled every 5 ms during "
        "the job, peak minus the level just before it (one process per size; the fakes run in "
        "another). Both jobs stream: planning keeps a few fields per planned SKU, not the product "
        "models and FBA summaries; order listing drops each page."
    )
    return result("scaling", "Scaling with the size of the world", figures, notes)
