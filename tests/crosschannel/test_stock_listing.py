"""A listing's later pages when the background read they wait for does not deliver."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from commerce_mcp.crosschannel.stock_listing import StockListing
from commerce_mcp.crosschannel.stock_snapshot import SnapshotShelf
from commerce_mcp.store.memory import MemoryStore
from tests.support.mcp import services_for

pytestmark = pytest.mark.anyio


async def test_a_page_waiting_for_a_cancelled_background_read_reads_again(sandbox: Any) -> None:
    """Closing the services cancels the read a page 2 waits for: the page reads everything itself
    instead of failing with a bare cancellation."""
    services = services_for(sandbox)
    services.use_store(MemoryStore())  # no I/O before the page waits: a few yields get it there
    listing = StockListing(
        services, channel="both", wanted=None, shop=None, only_flagged=False, sku_map=None
    )
    shelf = SnapshotShelf(await services.store(), services.clock)
    snapshot_id = await shelf.reserve(listing.query)
    services.start_background(snapshot_id, asyncio.Event().wait(), within=60)
    stuck = services.background(snapshot_id)
    assert stuck is not None
    page = asyncio.ensure_future(listing.after(snapshot_id, 0, None, 10))
    for _ in range(20):
        await asyncio.sleep(0)
    assert not page.done()
    stuck.cancel()
    try:
        found = await page
        assert len(found.rows) == 10 and found.head.count > 10
        assert (await shelf.state(snapshot_id))[0] == "ready"
    finally:
        await services.aclose()
