"""sync_inventory_to_tiktok over a real MCP client: plan and apply both report progress."""

from __future__ import annotations

import itertools

import pytest
from mcp import Client
from tests.support.mcp import ok
from tests.support.sandbox import private_sandbox, sandbox_services

from commerce_mcp.server import build_server

pytestmark = pytest.mark.anyio


class Recorder:
    def __init__(self) -> None:
        self.reports: list[tuple[float, float | None, str | None]] = []

    async def __call__(self, done: float, total: float | None, message: str | None) -> None:
        self.reports.append((done, total, message))

    def check(self) -> None:
        """Progress only grows, never passes its total, and ends at it."""
        assert self.reports, "no progress notification arrived"
        done = [d for d, _, _ in self.reports]
        assert all(a < b for a, b in itertools.pairwise(done)), done
        assert all(t is not None and d <= t for d, t, _ in self.reports)
        assert self.reports[-1][0] == self.reports[-1][1]


async def test_plan_and_apply_report_progress_to_the_end() -> None:
    with private_sandbox() as sandbox:  # applying changes the shop: fakes of its own
        products = list(sandbox.tiktok.shops[0].products.values())[:30]
        owner = {sku["seller_sku"]: p["id"] for p in products for sku in p["skus"]}
        skus = list(owner)[:25]
        async with Client(build_server(sandbox_services(sandbox))) as client:
            planning = Recorder()
            plan = ok(
                await client.call_tool(
                    "sync_inventory_to_tiktok", {"skus": skus}, progress_callback=planning
                )
            )
            applying = Recorder()
            applied = ok(
                await client.call_tool(
                    "sync_inventory_to_tiktok",
                    {"skus": skus, "confirmation_token": plan["confirmation_token"]},
                    progress_callback=applying,
                )
            )
    assert plan["status"] == "plan" and applied["status"] in ("applied", "partial")
    planning.check()
    # 25 SKUs: 3 product searches of 10 seller SKUs and one FBA lookup.
    assert planning.reports[-1][1] == 4
    assert "3 product search(s), 1 FBA lookup(s)" in (planning.reports[-1][2] or "")
    applying.check()
    # The confirmed call plans again, then takes each changed product in turn, on one scale.
    changed = {owner[row["seller_sku"]] for row in plan["changes"]}
    assert len(changed) > 1
    assert applying.reports[-1][1] == 4 + len(changed)
    assert any((m or "").startswith("updated") for _, _, m in applying.reports)
    assert any((m or "").startswith("planning") for _, _, m in applying.reports)
