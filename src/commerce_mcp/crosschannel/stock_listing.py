"""get_inventory's listing: which rows it holds, how they are read, and the snapshot that pins them.

Paging is cheap. Page 1 of the plain listing (both channels, no filter) reads TikTok's catalogue and
the stock of its own SKUs only (FBA ``sellerSkus`` look-ups, not every FBA page: the join lists TikTok
SKUs first), then reads everything once in the background into a snapshot
(:mod:`commerce_mcp.crosschannel.stock_snapshot`) its cursor names; every later page comes from that
snapshot without calling the platforms. Other first pages (``only_flagged``, ``seller_skus``, one
channel) read what they need at once and pin it the same way.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
from collections.abc import Coroutine
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal, Protocol

from commerce_mcp.crosschannel.skumap import SkuMap
from commerce_mcp.crosschannel.stock import (
    FbaStock,
    StockRow,
    StockView,
    TikTokStock,
    amazon_skus_for,
    catalogue_page,
    join,
    read_fba,
    read_tiktok,
    read_tiktok_catalogue,
    read_tiktok_skus,
)
from commerce_mcp.crosschannel.stock_snapshot import (
    SNAPSHOT_TTL,
    SnapshotHead,
    SnapshotRow,
    SnapshotShelf,
    StockSnapshot,
)
from commerce_mcp.errors import CommerceError, InvalidRequest, NotConfigured
from commerce_mcp.progress import Progress, no_progress

if TYPE_CHECKING:
    from commerce_mcp.amazon.client import AmazonMcfClient
    from commerce_mcp.resilience.clock import Clock
    from commerce_mcp.store.base import StateStore
    from commerce_mcp.tiktok.client import TikTokShopClient
    from commerce_mcp.tiktok.models import Shop

Channel = Literal["both", "tiktok", "amazon"]
#: The background read's own deadline: room for thousands of FBA pages at the rate plan, and over well
#: before the id it reserved expires (a save after that would pin a snapshot no cursor can reach).
BACKGROUND_READ_SECONDS = SNAPSHOT_TTL / 2


class StockServices(Protocol):
    """What a listing needs from the session's services (:class:`commerce_mcp.services.Services`)."""

    clock: Clock

    async def tiktok(self) -> TikTokShopClient: ...

    async def amazon(self) -> AmazonMcfClient: ...

    async def store(self) -> StateStore: ...

    def start_background(
        self, key: str, work: Coroutine[Any, Any, Any], *, within: float
    ) -> None: ...

    def background(self, key: str) -> asyncio.Task[Any] | None: ...


@dataclass(frozen=True)
class ListingPage:
    """One page: what the listing says (``head``), the page's rows, and where they start in it."""

    head: SnapshotHead
    rows: list[SnapshotRow]
    snapshot_id: str
    offset: int
    #: False on a page 1 read SKU by SKU: the count of FBA-only rows is not known yet.
    total_known: bool = True


class StockListing:
    """One listing's arguments, and its pages."""

    def __init__(
        self,
        services: StockServices,
        *,
        channel: Channel,
        wanted: list[str] | None,
        shop: str | None,
        only_flagged: bool,
        sku_map: str | None,
        progress: Progress = no_progress,
    ) -> None:
        self.services = services
        self.channel = channel
        self.wanted = wanted
        self.shop = shop
        self.only_flagged = only_flagged
        self.progress = progress
        self.skumap = SkuMap.parse(sku_map)
        # A cursor is good only for the arguments that decide which rows the list holds.
        shape = [channel, wanted, shop, only_flagged, sku_map]
        self.query = hashlib.sha256(json.dumps(shape).encode()).hexdigest()[:24]

    async def first(self, limit: int, *, warehouses: bool) -> ListingPage:
        """Page 1, pinning the listing (``warehouses``: also read warehouse names for page 1)."""
        if self.channel == "both" and self.wanted is None and not self.only_flagged:
            quick = await self._catalogue_first(limit, warehouses)
            if quick is not None:
                return quick
        snapshot = await self.read_all()
        shelf = await self._shelf()
        snapshot_id = await shelf.reserve(self.query)
        await shelf.save(snapshot_id, snapshot)
        return ListingPage(snapshot, snapshot.rows[:limit], snapshot_id, 0)

    async def after(
        self, snapshot_id: str, offset: int, anchor: str | None, limit: int
    ) -> ListingPage:
        """The page after the one whose cursor holds ``offset`` and ``anchor`` (the SKU it showed
        last).

        Normally that row sits just before ``offset``. Page 1 of the plain listing was read SKU by
        SKU, before the snapshot: should the snapshot hold a row more or less before that point, the
        page still continues right after the SKU shown last, never skipping one.
        """
        head = await self._pinned(snapshot_id)
        if anchor is None or offset == 0:
            rows = await self._rows(snapshot_id, head, offset, offset + limit)
            return ListingPage(head, rows, snapshot_id, offset)
        window = await self._rows(snapshot_id, head, offset - 1, offset + limit)
        if window and window[0].seller_sku == anchor:
            return ListingPage(head, window[1:], snapshot_id, offset)
        everything = await self._rows(snapshot_id, head, 0, head.count)
        names = [r.seller_sku for r in everything]
        if anchor in names:
            offset = names.index(anchor) + 1
        return ListingPage(head, everything[offset : offset + limit], snapshot_id, offset)

    async def read_all(
        self, catalogue: dict[str, str] | None = None, *, quiet: bool = False
    ) -> StockSnapshot:
        """Every row the listing shows, read from each channel asked for (``catalogue``: the TikTok
        SKUs a first page already listed, so later pages follow the same order)."""
        read = _Reading(self.services, self.channel, no_progress if quiet else self.progress)
        taken_at = self.services.clock.wall()
        tiktok, names = await read.tiktok(self.shop, self.wanted, catalogue)
        wanted_fba = amazon_skus_for(self.wanted, self.skumap) if self.wanted else None
        fba = await read.fba(wanted_fba)
        if not read.answered:
            raise NotConfigured(
                "TikTok Shop and Amazon",
                read.missing,
                message="neither TikTok Shop nor Amazon is configured, so there is no stock to"
                f" show: set {', '.join(read.missing)}",
                hint="set one channel's variables or both (get_connection_status lists them),"
                " or run with --sandbox to try fake data",
            )
        view = join(tiktok, fba, self.skumap, self.wanted)
        notes = read.notes
        if self.only_flagged and len(read.answered) < 2:
            notes.append("only_flagged needs both channels; flags were not computed")
        shown = [r for r in view.rows if not self.only_flagged or r.flags]
        return self._snapshot(taken_at, read.answered, notes, names, view, shown)

    async def _catalogue_first(self, limit: int, warehouses: bool) -> ListingPage | None:
        """Page 1 from TikTok's catalogue and its own SKUs' stock, while a background read pins the
        rest; None when that cannot be done (a channel not configured, a catalogue this short)."""
        try:
            tiktok, amazon = await self.services.tiktok(), await self.services.amazon()
        except NotConfigured:
            return None
        the_shop = await tiktok.resolve_shop(self.shop)
        catalogue = await read_tiktok_catalogue(tiktok, the_shop)
        if len(catalogue) <= limit:
            return None
        # Progress only once this path is taken: the full read reports its own from 0.
        await self.progress(1, 2, "TikTok catalogue read")
        taken_at = self.services.clock.wall()
        view = await catalogue_page(tiktok, the_shop, amazon, catalogue, self.skumap, limit)
        names = await _warehouse_names(tiktok, the_shop) if warehouses else {}
        await self.progress(2, 2, "FBA stock read")
        snapshot_id = await self._background_read(catalogue)
        notes = [
            f"FBA stock no TikTok SKU sells comes after the {len(catalogue)} TikTok SKUs;"
            " the next page gives the full count"
        ]
        page = self._snapshot(taken_at, ["tiktok", "amazon"], notes, names, view, view.rows)
        return ListingPage(page, page.rows, snapshot_id, 0, total_known=False)

    async def _background_read(self, catalogue: dict[str, str]) -> str:
        """The id of the snapshot this listing's later pages come from: one this process is
        already reading for the same arguments, or a new one read from now on in the background."""
        shelf = await self._shelf()
        for snapshot_id in await shelf.building(self.query):
            if self.services.background(snapshot_id) is not None:
                return snapshot_id  # page 1 asked again while its read runs: one read serves both
        snapshot_id = await shelf.reserve(self.query)
        self.services.start_background(
            snapshot_id, self._keep_all(snapshot_id, catalogue), within=BACKGROUND_READ_SECONDS
        )
        return snapshot_id

    async def _keep_all(self, snapshot_id: str, catalogue: dict[str, str]) -> StockSnapshot:
        snapshot = await self.read_all(catalogue, quiet=True)
        await (await self._shelf()).save(snapshot_id, snapshot)
        return snapshot

    async def _pinned(self, snapshot_id: str) -> SnapshotHead:
        """The snapshot a cursor names: stored, still being read here, or read again now."""
        shelf = await self._shelf()
        state, head, query = await shelf.state(snapshot_id)
        if state == "gone":
            raise InvalidRequest(
                f"this cursor's stock snapshot has expired (snapshots last {shelf.ttl / 60:g}"
                " minutes) or is unknown",
                hint="call get_inventory again without cursor to start from page 1",
            )
        if query != self.query:
            raise InvalidRequest(
                "this cursor belongs to a get_inventory call with other arguments",
                hint="repeat channel, seller_skus, only_flagged and shop exactly as in the call"
                " that returned it, or omit cursor to start from page 1",
            )
        if head is not None:
            return head
        running = self.services.background(snapshot_id)
        if running is not None:
            try:
                # Shielded: a cancelled page call must not cancel the read other pages wait for.
                pinned: StockSnapshot = await asyncio.shield(running)
                return pinned
            except CommerceError:
                pass  # read again below; a second failure is reported to the caller
            except asyncio.CancelledError:
                me = asyncio.current_task()
                if not running.cancelled() or (me is not None and me.cancelling()):
                    raise  # this page call itself was cancelled
                # The read was (services closing): like a failed read, read again below.
        # Being read by another replica, or the read failed: read it here, under the same id.
        snapshot = await self.read_all()
        await shelf.save(snapshot_id, snapshot)
        return snapshot

    async def _rows(
        self, snapshot_id: str, head: SnapshotHead, start: int, stop: int
    ) -> list[SnapshotRow]:
        """Rows from the snapshot in hand, or from the stored chunks that hold them."""
        if isinstance(head, StockSnapshot):
            return head.rows[start:stop]
        return await (await self._shelf()).rows(snapshot_id, head, start, stop)

    async def _shelf(self) -> SnapshotShelf:
        return SnapshotShelf(await self.services.store(), self.services.clock)

    def _snapshot(
        self,
        taken_at: float,
        channels: list[str],
        notes: list[str],
        names: dict[str, str],
        view: StockView,
        rows: list[StockRow],
    ) -> StockSnapshot:
        return StockSnapshot(
            query=self.query,
            taken_at=taken_at,
            channels=channels,
            notes=notes,
            unknown=view.unknown,
            excluded=view.excluded,
            warehouses=names,
            rows=[SnapshotRow.of(r) for r in rows],
            count=len(rows),
        )


async def _warehouse_names(client: TikTokShopClient, shop: Shop) -> dict[str, str]:
    return {w.id: w.name or w.id for w in await client.get_warehouses(shop)}


class _Reading:
    """Reads each channel the call asked for; a channel that is not configured becomes a note."""

    def __init__(self, services: StockServices, channel: Channel, progress: Progress) -> None:
        self.services = services
        self.channel = channel
        self.progress = progress
        self.steps = 2 if channel == "both" else 1
        self.notes: list[str] = []
        self.answered: list[str] = []
        #: Settings still unset, for the channels that could not be read.
        self.missing: list[str] = []

    async def tiktok(
        self, shop: str | None, wanted: list[str] | None, catalogue: dict[str, str] | None
    ) -> tuple[dict[str, TikTokStock] | None, dict[str, str]]:
        await self.progress(0, self.steps, "reading stock")
        if self.channel not in ("both", "tiktok"):
            return None, {}
        try:
            client = await self.services.tiktok()
        except NotConfigured as exc:
            if self.channel == "tiktok":
                raise
            self.missing += exc.missing
            self.notes.append(
                f"TikTok Shop is not configured (missing {', '.join(exc.missing)}):"
                " FBA stock only, without oversell flags"
            )
            await self.progress(1, self.steps, "TikTok stock read")
            return None, {}
        the_shop = await client.resolve_shop(shop)
        if catalogue is not None:
            stock = await read_tiktok_skus(client, the_shop, list(catalogue.values()))
        else:
            stock = await read_tiktok(client, the_shop, wanted)
        self.answered.append("tiktok")
        # Kept with the snapshot, so any later page can be detailed.
        names = await _warehouse_names(client, the_shop)
        await self.progress(1, self.steps, "TikTok stock read")
        return stock, names

    async def fba(self, amazon_skus: list[str] | None) -> dict[str, FbaStock] | None:
        if self.channel not in ("both", "amazon"):
            return None
        try:
            amazon = await self.services.amazon()
        except NotConfigured as exc:
            if self.channel == "amazon":
                raise
            self.missing += exc.missing
            self.notes.append(
                f"Amazon is not configured (missing {', '.join(exc.missing)}):"
                " TikTok stock only, without FBA flags"
            )
            await self.progress(self.steps, self.steps, "FBA stock read")
            return None
        stock = await read_fba(amazon, amazon_skus)
        self.answered.append("amazon")
        await self.progress(self.steps, self.steps, "FBA stock read")
        return stock
