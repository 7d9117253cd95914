"""Short-lived stock snapshots that let a listing's later pages be served without reading again.

A listing of stock is joined and filtered client-side, so its pages cannot come from the platforms'
own page tokens (and FBA's expire after 30 s anyway). The first page pins what every later page of
that listing shows: the joined rows, as of one moment, kept in the state store for ``SNAPSHOT_TTL``
seconds under a random id the cursor carries. Kept in the store rather than in this process, a
snapshot is found by whichever replica the next page reaches (hosted mode shares the store; each
tenant sees only its own through the prefixed view).

The store has no expiry of its own (Redis hashes expire as a whole), so each snapshot has a small
marker document with its expiry, written first: a marker without its snapshot is a snapshot still
being built. Expired snapshots are deleted whenever one is reserved or saved.

While the snapshot is being built its first rows may already be published, part by part (the plain
listing reads TikTok's SKUs in catalogue order first, see
:mod:`commerce_mcp.crosschannel.stock_listing`): the marker then holds a :class:`Partial` naming
the parts, each stored under ``<id>.part.<start>``, so a page within them is served at once, here or
on another replica. Those rows are the saved snapshot's own rows at the same positions.

Two replicas may save the same id (each found it unfinished and read it itself). Every save writes its
rows under its own generation and names it in the head it writes last, so a page reads the rows of the
head it found, never a mix of two saves; the marker lists every generation, so pruning deletes them all.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from pydantic import BaseModel, Field

from commerce_mcp.crosschannel.stock import FbaStock, StockRow, TikTokStock
from commerce_mcp.resilience.clock import Clock
from commerce_mcp.store.base import StateStore

SNAPSHOT_TTL = 300.0
#: Rows per stored chunk: a page reads one or two chunks, whatever the size of the catalogue.
CHUNK_ROWS = 100
#: Snapshot heads, their rows in chunks (keyed ``<id>.<generation>.<n>``), and markers (the expiry,
#: and the chunk count of each generation saved).
SNAPSHOTS = "stock_snapshots"
ROWS = "stock_snapshots.rows"
MARKERS = "stock_snapshots.markers"


class SnapshotRow(BaseModel):
    seller_sku: str
    amazon_sku: str | None
    tiktok: TikTokStock | None = None
    fba: FbaStock | None = None
    flags: list[str] = Field(default_factory=list)

    @classmethod
    def of(cls, row: StockRow) -> SnapshotRow:
        return cls(
            seller_sku=row.seller_sku,
            amazon_sku=row.amazon_sku,
            tiktok=row.tiktok,
            fba=row.fba,
            flags=list(row.flags),
        )


class SnapshotHead(BaseModel):
    """What a listing says besides its rows: when it was read, from where, and how many rows."""

    query: str = Field(description="The arguments that shape the list; a cursor is only for these")
    taken_at: float
    channels: list[str]
    notes: list[str] = Field(default_factory=list)
    #: Wanted SKUs neither channel knows, and FBA SKUs whose stock the SKU map keeps off the list.
    unknown: list[str] = Field(default_factory=list)
    excluded: list[str] = Field(default_factory=list)
    #: TikTok warehouse id -> name as TikTok gives it, for detailed pages.
    warehouses: dict[str, str] = Field(default_factory=dict)
    count: int = 0
    #: Which save's chunks hold the rows (set when stored).
    generation: str = ""

    @property
    def stamp(self) -> str:
        """When the stock was read, as UTC ISO 8601 to the second."""
        return datetime.fromtimestamp(self.taken_at, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")

    def as_of(self, now: float) -> str:
        """'stock as of 2026-11-30T08:01:05Z (40 s ago)': how old every figure on the page is."""
        return f"stock as of {self.stamp} ({max(0, round(now - self.taken_at))} s ago)"


class StockSnapshot(SnapshotHead):
    """One listing's rows (exactly those it shows, in order) as of ``taken_at`` (wall seconds)."""

    rows: list[SnapshotRow]

    def head(self) -> SnapshotHead:
        return SnapshotHead(**self.model_dump(exclude={"rows", "count"}), count=len(self.rows))


class Part(BaseModel):
    """Rows ``start`` to ``stop`` of a listing, read from ``taken_at`` on (wall seconds)."""

    start: int
    stop: int
    taken_at: float


class Partial(BaseModel):
    """The rows of a snapshot still being built that are known already: the listing's first
    ``frontier`` rows, in parts, with what a page of them says besides its rows."""

    channels: list[str]
    notes: list[str] = Field(default_factory=list)
    warehouses: dict[str, str] = Field(default_factory=dict)
    parts: list[Part] = Field(default_factory=list)

    @property
    def frontier(self) -> int:
        """Where the rows known without a gap from row 0 end: a part stored before the one ahead
        of it (each part's read starts the next before it is stored) counts once that one is."""
        end = 0
        for part in self.parts:  # in row order
            if part.start > end:
                break
            end = max(end, part.stop)
        return end

    def head(self, query: str, start: int, stop: int) -> SnapshotHead:
        """The head of a page of rows ``start`` to ``stop``: its stock is as of the oldest part
        it shows (``count`` is the rows known so far, not the listing's)."""
        shown = [p.taken_at for p in self.parts if p.start < stop and start < p.stop]
        return SnapshotHead(
            query=query,
            taken_at=min(shown or [self.parts[0].taken_at]),
            channels=self.channels,
            notes=self.notes,
            warehouses=self.warehouses,
            count=self.frontier,
        )


class SnapshotShelf:
    """Saves and finds stock snapshots in one tenant's state store, by id, until they expire."""

    def __init__(self, store: StateStore, clock: Clock, ttl: float = SNAPSHOT_TTL) -> None:
        self._store = store
        self._clock = clock
        self.ttl = ttl

    async def reserve(self, query: str) -> str:
        """A new snapshot id, marked as being built for ``query`` (so a cursor can name it now)."""
        # Here too, not only on save: page-1 calls whose background read keeps failing never save.
        await self._prune()
        snapshot_id = secrets.token_urlsafe(16)
        marker = {"query": query, "expires": self._clock.wall() + self.ttl}
        await self._store.put(MARKERS, snapshot_id, marker)
        return snapshot_id

    async def building(self, query: str) -> list[str]:
        """Ids reserved for ``query`` whose snapshot is not saved yet (and has not expired)."""
        now = self._clock.wall()
        return [
            snapshot_id
            for snapshot_id, marker in await self._store.list(MARKERS)
            if marker.get("query") == query
            and "saves" not in marker  # written by save()
            and now < float(marker.get("expires", 0))
        ]

    async def save(self, snapshot_id: str, snapshot: StockSnapshot) -> None:
        """Store the snapshot under a reserved id; it expires ``ttl`` from now.

        The marker (which says which chunks to delete) goes first, the head last: a head found
        means every chunk of its generation is there.
        """
        generation = secrets.token_hex(4)
        await self._mark_saved(snapshot_id, snapshot.query, generation, len(snapshot.rows))
        for start in range(0, len(snapshot.rows), CHUNK_ROWS):
            chunk = snapshot.rows[start : start + CHUNK_ROWS]
            rows = {"rows": [row.model_dump(mode="json") for row in chunk]}
            await self._store.put(
                ROWS, _chunk_key(snapshot_id, generation, start // CHUNK_ROWS), rows
            )
        head = snapshot.head().model_copy(update={"generation": generation})
        await self._store.put(SNAPSHOTS, snapshot_id, head.model_dump(mode="json"))
        await self._prune()

    async def _mark_saved(self, snapshot_id: str, query: str, generation: str, rows: int) -> None:
        """Add this save's generation to the marker, keeping any other save's."""

        def saved(marker: dict[str, Any]) -> None:
            saves = dict(marker.get("saves", {}))
            saves[generation] = -(-rows // CHUNK_ROWS)
            marker.update(query=query, expires=self._clock.wall() + self.ttl, saves=saves)

        await self._change_marker(snapshot_id, saved)

    async def publish(
        self, snapshot_id: str, partial: Partial, part: Part, rows: list[SnapshotRow]
    ) -> None:
        """Make rows ``part.start`` to ``part.stop`` of a snapshot still being built readable.

        Each part starts where the one before it stops, but may be stored first; the marker keeps
        the parts in row order, and only those without a gap from row 0 are read (``frontier``).
        The marker names the part before its rows are written (so pruning finds them whatever
        happens next), and lists it as readable only after.
        """
        key = _part_key(snapshot_id, part.start)

        def pending(marker: dict[str, Any]) -> None:
            marker["part_keys"] = [*marker.get("part_keys", []), key]

        def readable(marker: dict[str, Any]) -> None:
            found = marker.get("partial")
            known = (
                Partial.model_validate(found) if found else partial.model_copy(update={"parts": []})
            )
            known.parts = sorted([*known.parts, part], key=lambda p: p.start)
            marker["partial"] = known.model_dump(mode="json")

        await self._change_marker(snapshot_id, pending)
        await self._store.put(ROWS, key, {"rows": [row.model_dump(mode="json") for row in rows]})
        await self._change_marker(snapshot_id, readable)

    async def partial(self, snapshot_id: str) -> Partial | None:
        """The rows published while the snapshot was being built (None: none, or expired)."""
        marker = await self._store.get(MARKERS, snapshot_id)
        if marker is None or self._clock.wall() >= float(marker.get("expires", 0)):
            return None
        if not marker.get("partial"):
            return None
        return Partial.model_validate(marker["partial"])

    async def partial_rows(
        self, snapshot_id: str, partial: Partial, start: int, stop: int
    ) -> list[SnapshotRow]:
        """Rows ``start`` to ``stop`` (within ``partial.frontier``) from the parts that hold them."""
        found: list[SnapshotRow] = []
        for part in partial.parts:
            if part.stop <= start or stop <= part.start:
                continue
            stored = await self._store.get(ROWS, _part_key(snapshot_id, part.start))
            if stored is None:  # pruned between the two reads: the snapshot has expired
                return []
            for index, row in enumerate(stored["rows"], start=part.start):
                if start <= index < stop:
                    found.append(SnapshotRow.model_validate(row))
        return found

    async def _change_marker(
        self, snapshot_id: str, change: Callable[[dict[str, Any]], None]
    ) -> None:
        """Apply ``change`` to the marker, keeping what others wrote (compare-and-put: two replicas
        may save the same id at once, and each one's rows must be pruned)."""
        while True:
            current = await self._store.get(MARKERS, snapshot_id)
            marker = dict(current or {})
            change(marker)
            if await self._store.compare_and_put(MARKERS, snapshot_id, current, marker):
                return

    async def state(self, snapshot_id: str) -> tuple[str, SnapshotHead | None, str | None]:
        """``("ready", head, query)``, ``("building", None, query)`` or ``("gone", None, None)``
        for an id that is unknown or whose snapshot has expired."""
        marker = await self._store.get(MARKERS, snapshot_id)
        if marker is None or self._clock.wall() >= float(marker.get("expires", 0)):
            return "gone", None, None
        query = str(marker.get("query"))
        document = await self._store.get(SNAPSHOTS, snapshot_id)
        if document is None:
            return "building", None, query
        return "ready", SnapshotHead.model_validate(document), query

    async def rows(
        self, snapshot_id: str, head: SnapshotHead, start: int, stop: int
    ) -> list[SnapshotRow]:
        """Rows ``start`` to ``stop`` of the save ``head`` describes, reading only the chunks that
        hold them."""
        found: list[SnapshotRow] = []
        first, last = start // CHUNK_ROWS, max(start, stop - 1) // CHUNK_ROWS
        for number in range(first, last + 1):
            chunk = await self._store.get(ROWS, _chunk_key(snapshot_id, head.generation, number))
            if chunk is None:
                break  # past the last chunk
            offset = number * CHUNK_ROWS
            for index, row in enumerate(chunk["rows"], start=offset):
                if start <= index < stop:
                    found.append(SnapshotRow.model_validate(row))
        return found

    async def _prune(self) -> None:
        now = self._clock.wall()
        for snapshot_id, marker in await self._store.list(MARKERS):
            if now >= float(marker.get("expires", 0)):
                for generation, chunks in marker.get("saves", {}).items():
                    for number in range(int(chunks)):
                        await self._store.delete(ROWS, _chunk_key(snapshot_id, generation, number))
                for key in marker.get("part_keys", []):
                    await self._store.delete(ROWS, key)
                await self._store.delete(SNAPSHOTS, snapshot_id)
                await self._store.delete(MARKERS, snapshot_id)


def _chunk_key(snapshot_id: str, generation: str, number: int) -> str:
    return f"{snapshot_id}.{generation}.{number}"


def _part_key(snapshot_id: str, start: int) -> str:
    return f"{snapshot_id}.part.{start}"
