"""Stock snapshots in the state store: reserved, saved, found by id, gone once expired, pruned."""

from __future__ import annotations

import pytest

from commerce_mcp.crosschannel.stock import FbaStock, StockRow, TikTokStock
from commerce_mcp.crosschannel.stock_snapshot import (
    MARKERS,
    SNAPSHOTS,
    SnapshotRow,
    SnapshotShelf,
    StockSnapshot,
)
from commerce_mcp.resilience.testing import VirtualClock
from commerce_mcp.store.memory import MemoryStore
from commerce_mcp.store.prefixed import PrefixedStore

pytestmark = pytest.mark.anyio


def _snapshot(query: str, taken_at: float) -> StockSnapshot:
    row = StockRow("SKU-1", "SKU-1", TikTokStock(available=5), FbaStock(fulfillable=2), ("x",))
    return StockSnapshot(query=query, taken_at=taken_at, channels=["tiktok", "amazon"],
                         rows=[SnapshotRow.of(row)])  # fmt: skip


async def test_a_reserved_snapshot_is_building_then_ready_then_gone() -> None:
    clock, store = VirtualClock(), MemoryStore()
    shelf = SnapshotShelf(store, clock, ttl=300)
    snapshot_id = await shelf.reserve("q")
    assert await shelf.state(snapshot_id) == ("building", None, "q")
    clock.advance(10)
    await shelf.save(snapshot_id, _snapshot("q", clock.wall()))
    state, found, query = await shelf.state(snapshot_id)
    assert (state, query) == ("ready", "q") and found is not None
    assert found.rows[0].flags == ["x"] and found.rows[0].fba == FbaStock(fulfillable=2)
    clock.advance(299)  # the snapshot lives ttl from when it was saved
    assert (await shelf.state(snapshot_id))[0] == "ready"
    clock.advance(1)
    assert await shelf.state(snapshot_id) == ("gone", None, None)
    assert await shelf.state("never-issued") == ("gone", None, None)


async def test_saving_a_snapshot_deletes_the_expired_ones() -> None:
    clock, store = VirtualClock(), MemoryStore()
    shelf = SnapshotShelf(store, clock, ttl=60)
    old = await shelf.reserve("q")
    await shelf.save(old, _snapshot("q", clock.wall()))
    clock.advance(61)
    new = await shelf.reserve("q")
    await shelf.save(new, _snapshot("q", clock.wall()))
    assert [key for key, _ in await store.list(SNAPSHOTS)] == [new]
    assert [key for key, _ in await store.list(MARKERS)] == [new]


async def test_another_tenant_cannot_find_a_snapshot() -> None:
    clock, shared = VirtualClock(), MemoryStore()
    mine = SnapshotShelf(PrefixedStore(shared, "a"), clock)
    theirs = SnapshotShelf(PrefixedStore(shared, "b"), clock)
    snapshot_id = await mine.reserve("q")
    await mine.save(snapshot_id, _snapshot("q", clock.wall()))
    assert (await mine.state(snapshot_id))[0] == "ready"
    assert (await theirs.state(snapshot_id))[0] == "gone"


def test_the_age_is_said_in_words() -> None:
    snapshot = _snapshot("q", 1_767_225_600.0)
    assert snapshot.stamp == "2026-01-01T00:00:00Z"
    assert snapshot.as_of(1_767_225_642.4) == "stock as of 2026-01-01T00:00:00Z (42 s ago)"
