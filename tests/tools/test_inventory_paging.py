"""get_inventory paging, counted at the fakes: page 1 reads only its SKUs (and the next page's, in
the same FBA call), the background read goes on in catalogue order, pages read nothing themselves.

Requests are counted where they arrive (the sandbox's request logs), never timed.
"""

from __future__ import annotations

import math
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from mcp import Client
from tests.support.mcp import connect, error_text, ok, services_for, text_of
from tests.support.sandbox import live_services

from commerce_mcp.crosschannel.stock_listing import AHEAD_PAGES
from commerce_mcp.resilience.clock import SystemClock
from commerce_mcp.sandbox.catalog import build_catalog
from commerce_mcp.services import Services
from commerce_mcp.tools.paging import PagePosition, decode_cursor, encode_cursor

pytestmark = pytest.mark.anyio

INVENTORY = "/fba/inventory/v1/summaries"
PRODUCT_SEARCH = "/product/202502/products/search"


class ShiftedClock(SystemClock):
    """Real time whose wall clock the test moves on (snapshots expire by wall time)."""

    def __init__(self) -> None:
        self.offset = 0.0

    def wall(self) -> float:
        return super().wall() + self.offset


def _fba_requests(sandbox: Any, mark: int) -> list[Any]:
    return [r for r in sandbox.amazon_traffic.since(mark) if r.path == INVENTORY]


def _fba_listing_pages(sandbox: Any) -> int:
    """Requests that list every FBA summary once."""
    catalog = build_catalog()
    held = sum(1 for s in catalog.all_skus() if s.fba) + len(catalog.amazon_only)
    return math.ceil(held / sandbox.amazon.INVENTORY_PAGE_SIZE)


def _tiktok_skus() -> list[str]:
    return sorted(s.seller_sku for s in build_catalog().all_skus())


async def _read_through(services: Services, cursor: str) -> None:
    """Wait until the background read behind ``cursor``'s snapshot has ended."""
    running = services.background(decode_cursor("get_inventory", cursor).token or "")
    if running is not None:
        await running


def _asked_of_fba(requests: list[Any]) -> list[str]:
    """The seller SKUs named by ``sellerSkus`` look-ups, in the order they were asked for."""
    return [
        sku
        for r in requests
        if "sellerSkus" in r.query
        for sku in r.query["sellerSkus"][0].split(",")
    ]


async def _walk(client: Client, args: dict[str, Any], cursor: str) -> list[dict[str, Any]]:
    """Every page after the first, to the end of the list."""
    pages = []
    while cursor:
        pages.append(ok(await client.call_tool("get_inventory", {**args, "cursor": cursor})))
        cursor = pages[-1].get("next_cursor")
    return pages


async def test_page_one_reads_only_its_skus_and_later_pages_read_nothing(sandbox: Any) -> None:
    fba_mark, tiktok_mark = len(sandbox.amazon_traffic), len(sandbox.tiktok_traffic)
    updates: list[tuple[float, float | None, str | None]] = []

    async def progress(done: float, total: float | None, message: str | None) -> None:
        updates.append((done, total, message))

    services = services_for(sandbox)
    async with connect(sandbox, services=services) as client:
        first = await client.call_tool("get_inventory", {"limit": 25}, progress_callback=progress)
        page_one = ok(first)
        page_one_fba = _fba_requests(sandbox, fba_mark)
        # Page 2 asked at once: its rows came with page 1's FBA call.
        page_two = ok(
            await client.call_tool(
                "get_inventory", {"limit": 25, "cursor": page_one["next_cursor"]}
            )
        )
        await _read_through(services, page_one["next_cursor"])
        pinned_fba, pinned_tiktok = len(sandbox.amazon_traffic), len(sandbox.tiktok_traffic)
        rest = await _walk(client, {"limit": 25}, page_two["next_cursor"])

    page_skus = [row["seller_sku"] for row in page_one["skus"]]
    assert page_skus == _tiktok_skus()[:25]  # TikTok SKUs first, in seller-SKU order
    assert page_one["total_matching"] is None and page_one["next_cursor"]
    assert page_two["total_matching"] is None
    assert "stock as of" in text_of(first).splitlines()[1]
    assert updates and updates[-1][0] == updates[-1][1]
    # Page 1's FBA call names its SKUs and the next ones, as many as one call takes (50).
    assert len(page_one_fba) == 1 and _asked_of_fba(page_one_fba) == _tiktok_skus()[:50]
    # Then the background read asks for the following pages' SKUs in catalogue order, each once,
    # before FBA's whole listing.
    ahead = 50 + AHEAD_PAGES * 25
    assert _asked_of_fba(_fba_requests(sandbox, fba_mark)) == _tiktok_skus()[:ahead]

    assert sandbox.amazon_traffic.since(pinned_fba) == []
    assert sandbox.tiktok_traffic.since(pinned_tiktok) == []
    pages = [page_one, page_two, *rest]
    listed = [row["seller_sku"] for page in pages for row in page["skus"]]
    assert len(listed) == len(set(listed)) == rest[-1]["total_matching"]
    assert listed[: len(_tiktok_skus())] == _tiktok_skus()
    assert all(sku.startswith("AMZ-ONLY-") for sku in listed[len(_tiktok_skus()) :])
    # Every row was read after page 1 started reading stock; the pages say so alike.
    assert len({page["as_of"] for page in pages}) == 1
    # The whole catalogue was read once: FBA's pages (plus the look-ups), TikTok's products.
    unfiltered = [r for r in _fba_requests(sandbox, fba_mark) if "sellerSkus" not in r.query]
    assert len(unfiltered) == _fba_listing_pages(sandbox)
    searches = [r for r in sandbox.tiktok_traffic.since(tiktok_mark) if r.path == PRODUCT_SEARCH]
    assert len(searches) == math.ceil(len(build_catalog().products) / 100)


async def test_only_flagged_reads_the_catalogue_once_then_pages_from_the_snapshot(
    sandbox: Any,
) -> None:
    async with connect(sandbox) as client:
        first = ok(await client.call_tool("get_inventory", {"only_flagged": True, "limit": 20}))
        fba_mark, tiktok_mark = len(sandbox.amazon_traffic), len(sandbox.tiktok_traffic)
        rest = await _walk(client, {"only_flagged": True, "limit": 20}, first["next_cursor"])
    assert rest and sandbox.amazon_traffic.since(fba_mark) == []
    assert sandbox.tiktok_traffic.since(tiktok_mark) == []
    rows = [row for page in (first, *rest) for row in page["skus"]]
    assert all(row["flags"] for row in rows) and len(rows) == first["total_matching"]


async def test_an_expired_or_unknown_cursor_says_to_start_again(sandbox: Any) -> None:
    services = services_for(sandbox)
    clock = ShiftedClock()
    services.clock = clock
    skus = _tiktok_skus()[:3]
    args: dict[str, Any] = {"seller_skus": skus, "limit": 1}
    async with connect(sandbox, services=services) as client:
        first = ok(await client.call_tool("get_inventory", args))
        second = ok(
            await client.call_tool("get_inventory", {**args, "cursor": first["next_cursor"]})
        )
        other = error_text(
            await client.call_tool(
                "get_inventory", {"seller_skus": skus[:2], "cursor": first["next_cursor"]}
            )
        )
        clock.offset += 301
        expired = error_text(
            await client.call_tool("get_inventory", {**args, "cursor": second["next_cursor"]})
        )
        forged = encode_cursor("get_inventory", PagePosition("no-such-snapshot", 1))
        unknown = error_text(await client.call_tool("get_inventory", {**args, "cursor": forged}))
        garbage = error_text(await client.call_tool("get_inventory", {"cursor": "xyz"}))
    assert second["skus"][0]["seller_sku"] == skus[1]
    for message in (expired, unknown):
        assert "expired" in message and "without cursor to start from page 1" in message
    assert "other arguments" in other
    assert "not a next_cursor issued by this tool" in garbage


async def test_a_replica_sharing_the_store_continues_the_listing(
    sandbox: Any, tmp_path: Path
) -> None:
    """Page 1 on one server, the next pages on another with the same state store: no re-read."""
    args: dict[str, Any] = {"only_flagged": True, "limit": 30}
    async with connect(sandbox, services=live_services(sandbox, tmp_path)) as one:
        first = ok(await one.call_tool("get_inventory", args))
    fba_mark, tiktok_mark = len(sandbox.amazon_traffic), len(sandbox.tiktok_traffic)
    async with connect(sandbox, services=live_services(sandbox, tmp_path)) as two:
        second = ok(await two.call_tool("get_inventory", {**args, "cursor": first["next_cursor"]}))
    assert sandbox.amazon_traffic.since(fba_mark) == []
    assert sandbox.tiktok_traffic.since(tiktok_mark) == []
    assert second["as_of"] == first["as_of"]
    assert not {r["seller_sku"] for r in first["skus"]} & {r["seller_sku"] for r in second["skus"]}


async def test_a_snapshot_another_server_never_finished_is_read_again(
    sandbox: Any, tmp_path: Path
) -> None:
    """The server that served page 1 stops before its background read ends: page 2 elsewhere still
    answers, reading everything itself."""
    async with connect(sandbox, services=live_services(sandbox, tmp_path)) as one:
        first = ok(await one.call_tool("get_inventory", {"limit": 25}))
    # Leaving the session closed that server's services, cancelling its background read.
    async with connect(sandbox, services=live_services(sandbox, tmp_path)) as two:
        second = ok(
            await two.call_tool("get_inventory", {"limit": 25, "cursor": first["next_cursor"]})
        )
        rest = await _walk(two, {"limit": 25}, second["next_cursor"])
    # Page 2's rows were published by the first server (its page 1 read them); the next page
    # past what it published reads everything here.
    assert [r["seller_sku"] for r in second["skus"]] == _tiktok_skus()[25:50]
    listed = [r["seller_sku"] for page in (first, second, *rest) for r in page["skus"]]
    total = len(_tiktok_skus()) + len(build_catalog().amazon_only)
    assert len(listed) == len(set(listed)) == rest[-1]["total_matching"] == total


async def test_a_page_continues_after_the_sku_shown_last_whatever_the_offset(
    sandbox: Any,
) -> None:
    """Page 1 of the plain listing is read before its snapshot; should they disagree on a row
    before the cursor's offset, the next page neither skips nor repeats a SKU."""
    args: dict[str, Any] = {"only_flagged": True, "limit": 10}
    async with connect(sandbox) as client:
        first = ok(await client.call_tool("get_inventory", args))
        cursor = first["next_cursor"]
        honest = ok(await client.call_tool("get_inventory", {**args, "cursor": cursor}))
        position = decode_cursor("get_inventory", cursor)
        shifted = []
        for offset in (position.offset - 3, position.offset + 4):
            moved = encode_cursor("get_inventory", replace(position, offset=offset))
            shifted.append(ok(await client.call_tool("get_inventory", {**args, "cursor": moved})))
    assert position.anchor == first["skus"][-1]["seller_sku"]
    for page in shifted:
        assert page["skus"] == honest["skus"]
        assert page["next_cursor"] == honest["next_cursor"]


async def test_page_one_asked_again_while_its_snapshot_is_read_shares_that_read(
    sandbox: Any,
) -> None:
    fba_mark = len(sandbox.amazon_traffic)
    services = services_for(sandbox)
    async with connect(sandbox, services=services) as client:
        first = ok(await client.call_tool("get_inventory", {"limit": 25}))
        again = ok(await client.call_tool("get_inventory", {"limit": 10}))
        second = ok(
            await client.call_tool("get_inventory", {"limit": 10, "cursor": again["next_cursor"]})
        )
        other = ok(
            await client.call_tool("get_inventory", {"limit": 25, "cursor": first["next_cursor"]})
        )
        await _read_through(services, first["next_cursor"])
    assert decode_cursor("get_inventory", again["next_cursor"]).token == (
        decode_cursor("get_inventory", first["next_cursor"]).token
    )
    unfiltered = [r for r in _fba_requests(sandbox, fba_mark) if "sellerSkus" not in r.query]
    assert len(unfiltered) == _fba_listing_pages(sandbox)
    assert [r["seller_sku"] for r in second["skus"]] == _tiktok_skus()[10:20]
    assert [r["seller_sku"] for r in other["skus"]] == _tiktok_skus()[25:50]
    assert second["as_of"] == other["as_of"]
