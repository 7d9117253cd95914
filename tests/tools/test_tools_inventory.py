"""get_inventory: both channels side by side, flags, filters, paging, progress, one channel only."""

from __future__ import annotations

from typing import Any

import pytest
from mcp import Client
from tests.support.mcp import connect, error_text, ok, services_for, text_of

from commerce_mcp.sandbox.catalog import build_catalog

pytestmark = pytest.mark.anyio


def _catalog_sku(flavour: str) -> str:
    """A seller SKU of the given kind from the shared catalog (stock values are reseeded per run)."""
    catalog = build_catalog()
    for sku in catalog.all_skus():
        if flavour == "unmapped" and sku.fba is None:
            return sku.seller_sku
        if flavour == "plenty" and sku.fba and sku.fba.fulfillable >= 400:
            return sku.seller_sku
    if flavour == "stranded":
        return catalog.amazon_only[0].seller_sku
    raise AssertionError(flavour)


async def test_skus_show_both_channels_side_by_side(sandbox: Any, era: str) -> None:
    plenty, unmapped, stranded = (_catalog_sku(k) for k in ("plenty", "unmapped", "stranded"))
    async with connect(sandbox, era) as client:
        result = ok(
            await client.call_tool(
                "get_inventory",
                {"seller_skus": [plenty, unmapped, stranded, "NO-SUCH-SKU"]},
            )
        )
    rows = {r["seller_sku"]: r for r in result["skus"]}
    assert result["channels"] == ["tiktok", "amazon"]
    assert rows[plenty]["tiktok"]["warehouses"] and rows[plenty]["fba"]["fulfillable"] >= 400
    assert rows[stranded].get("tiktok") is None and rows[stranded]["flags"] == ["stranded"]
    assert rows[unmapped].get("fba") is None and rows[unmapped]["flags"] == ["unmapped"]
    assert any("NO-SUCH-SKU" in note for note in result["notes"])


async def test_flags_follow_the_rule_for_every_sku(sandbox: Any) -> None:
    async with connect(sandbox) as client:
        result = ok(await client.call_tool("get_inventory", {"limit": 100}))
    for row in result["skus"]:
        tiktok, fba = row.get("tiktok"), row.get("fba")
        expected = []
        if tiktok and fba and tiktok["available"] > fba["fulfillable"]:
            expected.append("oversell_risk")
        if not tiktok and fba and fba["fulfillable"] > 0:
            expected.append("stranded")
        if tiktok and not fba:
            expected.append("unmapped")
        assert row["flags"] == expected, row


async def test_only_flagged_pages_to_the_end(sandbox: Any) -> None:
    seen: list[str] = []
    cursor = None
    async with connect(sandbox) as client:
        for _ in range(100):
            args: dict[str, Any] = {"only_flagged": True, "limit": 100}
            if cursor:
                args["cursor"] = cursor
            page = ok(await client.call_tool("get_inventory", args))
            assert all(row["flags"] for row in page["skus"])
            seen += [row["seller_sku"] for row in page["skus"]]
            cursor = page.get("next_cursor")
            if not cursor:
                break
    assert len(seen) == len(set(seen)) == page["total_matching"]
    assert any(s.startswith("AMZ-ONLY-") for s in seen)


async def test_long_read_reports_progress(sandbox: Any) -> None:
    updates: list[tuple[float, float | None, str | None]] = []

    async def progress(done: float, total: float | None, message: str | None) -> None:
        updates.append((done, total, message))

    async with connect(sandbox) as client:
        result = await client.call_tool(
            "get_inventory",
            {"seller_skus": [_catalog_sku("plenty")], "response_format": "detailed"},
            progress_callback=progress,
        )
    ok(result)
    assert updates and updates[-1][0] == updates[-1][1]
    assert "committed" in text_of(result) and "Main Warehouse" in text_of(result)


async def test_works_with_only_tiktok_configured(sandbox: Any) -> None:
    services = services_for(sandbox, amazon_seller_id="")
    async with connect(sandbox, services=services) as client:
        result = ok(await client.call_tool("get_inventory", {"limit": 5}))
        amazon_only = error_text(
            await client.call_tool("get_inventory", {"channel": "amazon", "limit": 5})
        )
    assert result["channels"] == ["tiktok"]
    assert any("Amazon is not configured (missing AMAZON_SELLER_ID)" in n for n in result["notes"])
    assert all(row["flags"] == [] for row in result["skus"])
    assert "AMAZON_SELLER_ID" in amazon_only


async def test_amazon_channel_alone_lists_fba_stock(sandbox: Any) -> None:
    async with connect(sandbox) as client:
        result = ok(await client.call_tool("get_inventory", {"channel": "amazon", "limit": 100}))
    assert result["channels"] == ["amazon"]
    assert all(r.get("tiktok") is None and r["fba"] is not None for r in result["skus"])


async def test_bad_sku_filter_is_refused_before_any_call(sandbox: Any) -> None:
    async with connect(sandbox) as client:
        message = error_text(await client.call_tool("get_inventory", {"seller_skus": ["A,B"]}))
    assert "pattern" in message


async def test_the_sku_map_joins_a_tiktok_sku_to_its_fba_sku(sandbox: Any) -> None:
    """COMMERCE_MCP_SKU_MAP decides the join, as it does for the sync and for fulfilment."""
    tiktok_only, fba_only, plenty = (_catalog_sku(k) for k in ("unmapped", "stranded", "plenty"))
    services = services_for(sandbox, commerce_mcp_sku_map=f"{tiktok_only}={fba_only},{plenty}=-")
    async with connect(sandbox, services=services) as client:
        chosen = await client.call_tool(
            "get_inventory", {"seller_skus": [tiktok_only, plenty], "response_format": "detailed"}
        )
        everything = ok(await client.call_tool("get_inventory", {"limit": 100}))
    rows = {r["seller_sku"]: r for r in ok(chosen)["skus"]}
    assert set(rows) == {tiktok_only, plenty} and len(ok(chosen)["skus"]) == 2
    assert rows[tiktok_only]["tiktok"] is not None and rows[tiktok_only]["fba"] is not None
    assert "unmapped" not in rows[tiktok_only]["flags"]
    assert rows[plenty]["fba"] is None and rows[plenty]["flags"] == ["unmapped"]
    assert f"{tiktok_only} (FBA SKU {fba_only})" in text_of(chosen)
    # The FBA SKU is sold through its TikTok SKU now, so it is no longer stranded on a row of its own.
    assert fba_only not in {r["seller_sku"] for r in everything["skus"]}


async def test_with_nothing_configured_one_plain_sentence_names_what_to_set() -> None:
    from commerce_mcp.config import load_settings
    from commerce_mcp.server import build_server
    from commerce_mcp.services import Services

    settings, problems = load_settings()
    services = Services(settings=settings, problems=problems)
    async with Client(build_server(services)) as client:
        message = error_text(await client.call_tool("get_inventory", {}))
    assert message == (
        "Error executing tool get_inventory: neither TikTok Shop nor Amazon is configured, so"
        " there is no stock to show: set TIKTOK_APP_KEY, TIKTOK_APP_SECRET, TIKTOK_ACCESS_TOKEN"
        " (or TIKTOK_REFRESH_TOKEN), AMAZON_SP_API_CLIENT_ID, AMAZON_SP_API_CLIENT_SECRET,"
        " AMAZON_SP_API_REFRESH_TOKEN, AMAZON_SELLER_ID. Next: set one channel's variables or"
        " both (get_connection_status lists them), or run with --sandbox to try fake data"
    )
