"""Stock snapshots in the state store: reserved, saved, found by id, gone once expired, pruned."""

from __future__ import annotations

import pytest

from commerce_mcp.crosschannel.stock import FbaStock, StockRow, TikTokStock
from commerce_mcp.crosschannel.stock_snapshot import (
    CHUNK_ROWS,
    MARKERS,
    ROWS,
    SNAPSHOTS,
    Part,
    Partial,
    SnapshotHead,
    SnapshotRow,
    SnapshotShelf,
    StockSnapshot,
)
from commerce_mcp.resilience.testing import VirtualClock
from commerce_mcp.store.memory import MemoryStore
from commerce_mcp.store.prefixed import PrefixedStore

pytestmark = pytest.mark.anyio


def _snapshot(query: str, taken_at: float, rows: int = 1) -> StockSnapshot:
    made = [
        StockRow(f"SKU-{n:04d}", f"SKU-{n:04d}", TikTokStock(available=n), FbaStock(fulfillable=2),
                 ("x",))
        for n in range(rows)
    ]  # fmt: skip
    return StockSnapshot(query=query, taken_at=taken_at, channels=["tiktok", "amazon"],
                         rows=[SnapshotRow.of(row) for row in made])  # fmt: skip


async def test_a_reserved_snapshot_is_building_then_ready_then_gone() -> None:
    clock, store = VirtualClock(), MemoryStore()
    shelf = SnapshotShelf(store, clock, ttl=300)
    snapshot_id = await shelf.reserve("q")
    assert await shelf.state(snapshot_id) == ("building", None, "q")
    assert await shelf.building("q") == [snapshot_id] and await shelf.building("other") == []
    clock.advance(10)
    await shelf.save(snapshot_id, _snapshot("q", clock.wall()))
    assert await shelf.building("q") == []
    state, head, query = await shelf.state(snapshot_id)
    assert (state, query) == ("ready", "q") and head is not None and head.count == 1
    [row] = await shelf.rows(snapshot_id, head, 0, 20)
    assert row.flags == ["x"] and row.fba == FbaStock(fulfillable=2)
    clock.advance(299)  # the snapshot lives ttl from when it was saved
    assert (await shelf.state(snapshot_id))[0] == "ready"
    clock.advance(1)
    assert await shelf.state(snapshot_id) == ("gone", None, None)
    assert await shelf.state("never-issued") == ("gone", None, None)


async def test_a_page_reads_only_the_chunks_that_hold_its_rows() -> None:
    clock, store = VirtualClock(), MemoryStore()
    shelf = SnapshotShelf(store, clock)
    snapshot_id = await shelf.reserve("q")
    await shelf.save(snapshot_id, _snapshot("q", clock.wall(), rows=CHUNK_ROWS * 2 + 50))
    assert len(await store.list(ROWS)) == 3
    head = await _head(shelf, snapshot_id)
    rows = await shelf.rows(snapshot_id, head, CHUNK_ROWS - 5, CHUNK_ROWS + 5)
    assert [r.seller_sku for r in rows] == [f"SKU-{n:04d}" for n in range(95, 105)]
    assert [r.seller_sku for r in await shelf.rows(snapshot_id, head, 245, 270)] == [
        f"SKU-{n:04d}" for n in range(245, 250)
    ]
    assert await shelf.rows(snapshot_id, head, 250, 275) == []


async def test_saving_a_snapshot_deletes_the_expired_ones() -> None:
    clock, store = VirtualClock(), MemoryStore()
    shelf = SnapshotShelf(store, clock, ttl=60)
    old = await shelf.reserve("q")
    await shelf.save(old, _snapshot("q", clock.wall(), rows=CHUNK_ROWS + 1))
    unfinished = await shelf.reserve("q")
    clock.advance(61)
    new = await shelf.reserve("q")
    await shelf.save(new, _snapshot("q", clock.wall()))
    assert [key for key, _ in await store.list(SNAPSHOTS)] == [new]
    assert [key for key, _ in await store.list(MARKERS)] == [new]
    assert [key for key, _ in await store.list(ROWS)] == [
        f"{new}.{await _generation(shelf, new)}.0"
    ]
    assert unfinished != new


async def test_reserving_deletes_expired_markers_of_snapshots_never_saved() -> None:
    """Page-1 calls whose background read keeps failing reserve ids nobody saves."""
    clock, store = VirtualClock(), MemoryStore()
    shelf = SnapshotShelf(store, clock, ttl=60)
    abandoned = [await shelf.reserve("q") for _ in range(3)]
    clock.advance(61)
    latest = await shelf.reserve("q")
    assert [key for key, _ in await store.list(MARKERS)] == [latest]
    assert latest not in abandoned


async def test_two_saves_of_one_id_never_mix_and_both_are_pruned() -> None:
    """Two replicas each read an unfinished snapshot and save it under the same id: a page reads
    the rows of the head it found only, and expiry deletes the chunks of both saves."""
    clock, store = VirtualClock(), MemoryStore()
    shelf = SnapshotShelf(store, clock, ttl=60)
    snapshot_id = await shelf.reserve("q")
    await shelf.save(snapshot_id, _snapshot("q", clock.wall(), rows=CHUNK_ROWS * 3))
    first = await _head(shelf, snapshot_id)
    await shelf.save(snapshot_id, _snapshot("q", clock.wall(), rows=CHUNK_ROWS + 1))
    second = await _head(shelf, snapshot_id)
    assert second.count == CHUNK_ROWS + 1 and second.generation != first.generation
    assert len(await shelf.rows(snapshot_id, second, 0, CHUNK_ROWS * 3)) == CHUNK_ROWS + 1
    assert await shelf.rows(snapshot_id, second, CHUNK_ROWS * 2, CHUNK_ROWS * 3) == []
    assert len(await store.list(ROWS)) == 3 + 2
    clock.advance(61)
    await shelf.reserve("q")
    assert await store.list(ROWS) == [] and await store.list(SNAPSHOTS) == []


async def _head(shelf: SnapshotShelf, snapshot_id: str) -> SnapshotHead:
    state, head, _ = await shelf.state(snapshot_id)
    assert state == "ready" and head is not None
    return head


async def _generation(shelf: SnapshotShelf, snapshot_id: str) -> str:
    return (await _head(shelf, snapshot_id)).generation


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


async def test_rows_published_while_building_are_read_by_part_and_pruned_with_the_snapshot() -> (
    None
):
    clock, store = VirtualClock(), MemoryStore()
    shelf = SnapshotShelf(store, clock, ttl=300)
    snapshot_id = await shelf.reserve("q")
    assert await shelf.partial(snapshot_id) is None
    rows = _snapshot("q", clock.wall(), rows=70).rows
    template = Partial(channels=["tiktok", "amazon"], notes=["n"], warehouses={"W1": "Main"})
    await shelf.publish(snapshot_id, template, Part(start=0, stop=50, taken_at=10.0), rows[:50])
    clock.advance(1)
    await shelf.publish(snapshot_id, template, Part(start=50, stop=70, taken_at=11.0), rows[50:])
    partial = await shelf.partial(snapshot_id)
    assert partial is not None and partial.frontier == 70
    assert await shelf.partial_rows(snapshot_id, partial, 45, 55) == rows[45:55]
    # A page's stock is as of the oldest part it shows.
    assert partial.head("q", 45, 55).taken_at == 10.0
    assert partial.head("q", 50, 70).taken_at == 11.0
    # Saving keeps the parts listed in the marker, so they are pruned with the snapshot.
    await shelf.save(snapshot_id, _snapshot("q", clock.wall(), rows=70))
    assert len(await store.list(ROWS)) == 2 + 1
    clock.advance(301)
    await shelf.reserve("q")
    assert await store.list(ROWS) == [] and await store.list(SNAPSHOTS) == []
