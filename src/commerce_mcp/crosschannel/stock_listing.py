"""get_inventory's listing: which rows it holds, how they are read, and the snapshot that pins them.

Paging is cheap. Page 1 of the plain listing (both channels, no filter) reads TikTok's catalogue and
the stock of its first SKUs only (FBA ``sellerSkus`` look-ups, not every FBA page: the join lists
TikTok SKUs first, in seller-SKU order), as many as its FBA call has room for, so the next page's rows
are known when it returns. A background read then builds the snapshot
(:mod:`commerce_mcp.crosschannel.stock_snapshot`) its cursor names, in the order pages are asked
for: the next ``AHEAD_PAGES`` pages' TikTok SKUs, in catalogue order, one ``sellerSkus`` call at a
time, each call's rows published as they come; then the rest of TikTok's stock and FBA's whole
listing, which alone finds the FBA stock no TikTok SKU sells. A later page within the published rows
is served at once, here or on another replica (a page just past them waits for the call that reads
them, when this process makes it); a page beyond them waits for the finished snapshot, and once that
is saved every page comes from it. Other first pages (``only_flagged``, ``seller_skus``, one
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
    catalogue_rows,
    join,
    read_fba,
    read_tiktok,
    read_tiktok_catalogue,
    read_tiktok_skus,
    window_end,
)
from commerce_mcp.crosschannel.stock_snapshot import (
    SNAPSHOT_TTL,
    Part,
    Partial,
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
#: Pages of TikTok SKUs after page 1's that the background read reads in catalogue order, a
#: ``sellerSkus`` call (50 SKUs) at a time, before FBA's whole listing: at limit 25, 200 SKUs in
#: four calls, 2 s at FBA's 2 requests/s, ahead of a reader asking a page per turn. Past them
#: the whole listing is the cheaper read (a call per 50 FBA SKUs, and the only way to find the FBA
#: stock no TikTok SKU sells); reading further ahead would delay it, and every page beyond, by the
#: same half second a call.
AHEAD_PAGES = 8


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
    #: False on a page read before the snapshot was finished: FBA-only rows are not counted yet.
    total_known: bool = True

    def next_start(self) -> tuple[int, str | None] | None:
        """Where the next page starts (its offset, and the SKU this page shows last), or None at
        the end. Right after this page's rows, not ``limit`` on: page 1 of the plain listing may
        show fewer (a catalogue SKU TikTok gives no stock for has no row)."""
        end = self.offset + len(self.rows)
        if end < self.head.count or not self.total_known:
            return end, self.rows[-1].seller_sku if self.rows else None
        return None


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

    async def first(self, limit: int) -> ListingPage:
        """Page 1, pinning the listing."""
        if self.channel == "both" and self.wanted is None and not self.only_flagged:
            quick = await self._catalogue_first(limit)
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

        While the snapshot is being built, a page within the rows published so far comes from
        them (they are the snapshot's own rows at the same positions).
        """
        head = await self._found(snapshot_id)
        if head is None:
            early = await self._published(snapshot_id, offset, anchor, limit)
            if early is not None:
                return early
            head = await self._whole(snapshot_id)
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

    async def read_all(self) -> StockSnapshot:
        """Every row the listing shows, read from each channel asked for."""
        read = _Reading(self.services, self.channel, self.progress)
        taken_at = self.services.clock.wall()
        tiktok, names = await read.tiktok(self.shop, self.wanted)
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

    async def _catalogue_first(self, limit: int) -> ListingPage | None:
        """Page 1 from TikTok's catalogue and its first SKUs' stock, while a background read pins
        the rest; None when that cannot be done (a channel not configured, a catalogue this short)."""
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
        names = sorted(catalogue)
        # Read whatever page is asked next might show in detail, not only a detailed page 1.
        warehouses = await _warehouse_names(tiktok, the_shop)
        taken_at = self.services.clock.wall()
        # The FBA call costs the same with as many SKUs as it has room for: the rows after this
        # page's are known too, and the next page is served from them at once.
        read_to = window_end(names, 0, limit, self.skumap)
        rows = [
            SnapshotRow.of(r)
            for r in await catalogue_rows(
                tiktok, the_shop, amazon, catalogue, names[:read_to], self.skumap
            )
        ]
        await self.progress(2, 2, "FBA stock read")
        partial = Partial(
            channels=["tiktok", "amazon"],
            notes=[
                f"FBA stock no TikTok SKU sells comes after the {len(catalogue)} TikTok SKUs;"
                " the page that reaches it gives the full count"
            ],
            warehouses=warehouses,
        )
        read = partial.model_copy(
            update={"parts": [Part(start=0, stop=len(rows), taken_at=taken_at)]}
        )
        head = read.head(self.query, 0, limit)
        shelf = await self._shelf()
        snapshot_id = await self._running(shelf)
        if snapshot_id is None:
            snapshot_id = await shelf.reserve(self.query)
            if rows:
                await shelf.publish(snapshot_id, partial, read.parts[0], rows)
            ahead = _Ahead(
                tiktok, amazon, the_shop, catalogue, names, read_to, rows, taken_at, partial, limit
            )
            # The first part is under way before this page returns: the page after next finds it.
            following = self._read_ahead(snapshot_id, ahead, read_to, len(rows))
            self.services.start_background(
                snapshot_id,
                self._keep_all(snapshot_id, ahead, following),
                within=BACKGROUND_READ_SECONDS,
            )
        return ListingPage(head, rows[:limit], snapshot_id, 0, total_known=False)

    async def _running(self, shelf: SnapshotShelf) -> str | None:
        """A snapshot of this listing this process is reading now: page 1 asked again while its
        read runs is served by the same read."""
        for snapshot_id in await shelf.building(self.query):
            if self.services.background(snapshot_id) is not None:
                return snapshot_id
        return None

    async def _keep_all(
        self, snapshot_id: str, ahead: _Ahead, following: asyncio.Task[_AheadPart] | None
    ) -> StockSnapshot:
        """Build the snapshot in the order pages are asked for (see the module's docstring):
        the parts read ahead, one after the other from ``following``, then the rest."""
        rows, read_to = list(ahead.rows), ahead.read_to
        while following is not None:
            part = await following
            rows += part.rows
            read_to, following = part.read_to, part.following
        rest = ahead.names[read_to:]
        tiktok_stock = {r.seller_sku: r.tiktok for r in rows if r.tiktok is not None}
        tiktok_stock |= await read_tiktok_skus(
            ahead.tiktok, ahead.shop, [ahead.catalogue[n] for n in rest]
        )
        view = join(tiktok_stock, await read_fba(ahead.amazon, None), self.skumap)
        done = set(ahead.names[:read_to])
        # The rows already read keep their place and their figures; the rest follow in join order.
        rows += [
            SnapshotRow.of(r) for r in view.rows if r.tiktok is None or r.seller_sku not in done
        ]
        snapshot = StockSnapshot(
            query=self.query,
            taken_at=ahead.taken_at,
            channels=["tiktok", "amazon"],
            excluded=view.excluded,
            warehouses=ahead.partial.warehouses,
            rows=rows,
            count=len(rows),
        )
        await (await self._shelf()).save(snapshot_id, snapshot)
        return snapshot

    def _read_ahead(
        self, snapshot_id: str, ahead: _Ahead, read_to: int, start: int
    ) -> asyncio.Task[_AheadPart] | None:
        """Start reading the next part ahead, from catalogue SKU ``read_to`` (row ``start``), as
        background work of its own: a page waiting for its rows waits for this call only. None:
        the parts read ahead end here."""
        if read_to >= min(len(ahead.names), ahead.read_to + AHEAD_PAGES * ahead.limit):
            return None
        key = _part_task(snapshot_id, start)
        work = self._read_part(snapshot_id, ahead, read_to, start)
        self.services.start_background(key, work, within=BACKGROUND_READ_SECONDS)
        return self.services.background(key)

    async def _read_part(
        self, snapshot_id: str, ahead: _Ahead, read_to: int, start: int
    ) -> _AheadPart:
        end = window_end(ahead.names, read_to, 1, self.skumap)
        taken_at = self.services.clock.wall()
        found = await catalogue_rows(
            ahead.tiktok, ahead.shop, ahead.amazon, ahead.catalogue, ahead.names[read_to:end],
            self.skumap,
        )  # fmt: skip
        rows = [SnapshotRow.of(r) for r in found]
        # The next part starts before this one is published: a page that finds these rows short
        # of its own finds the work that reads on (its FBA call queues behind none of ours).
        following = self._read_ahead(snapshot_id, ahead, end, start + len(rows))
        try:
            if rows:  # an empty part would share its start with the next one
                part = Part(start=start, stop=start + len(rows), taken_at=taken_at)
                await (await self._shelf()).publish(snapshot_id, ahead.partial, part, rows)
        except BaseException:
            if following is not None:
                following.cancel()  # a later part must not be published after a missing one
            raise
        return _AheadPart(rows, end, following)

    async def _published(
        self, snapshot_id: str, offset: int, anchor: str | None, limit: int
    ) -> ListingPage | None:
        """The page from the rows published while the snapshot is built, waiting for the call
        that reads them if this process makes it; None: the page needs the whole snapshot."""
        start = offset - 1 if anchor is not None and offset > 0 else offset
        stop = offset + limit
        shelf = await self._shelf()
        while True:
            partial = await shelf.partial(snapshot_id)
            if partial is None:
                return None
            if stop <= partial.frontier:
                break
            reading = self.services.background(_part_task(snapshot_id, partial.frontier))
            if reading is None:
                # The call may have ended between the two reads: it published before it ended.
                again = await shelf.partial(snapshot_id)
                if again is None or again.frontier == partial.frontier:
                    return None  # not read here, or past what is read ahead
                continue
            if await self._outcome(reading) is None:
                return None
        rows = await shelf.partial_rows(snapshot_id, partial, start, stop)
        if start < offset:
            if not rows or rows[0].seller_sku != anchor:
                return None  # the whole snapshot finds where the SKU shown last is
            rows = rows[1:]
        if len(rows) != stop - offset:
            return None  # expired meanwhile
        head = partial.head(self.query, offset, stop)
        return ListingPage(head, rows, snapshot_id, offset, total_known=False)

    async def _outcome(self, running: asyncio.Task[Any]) -> Any:
        """What background work returned, or None when it failed or was cancelled (whoever needs
        its result then does the work again); raises when this call itself is cancelled."""
        try:
            # Shielded: a cancelled page call must not cancel the read other pages wait for.
            return await asyncio.shield(running)
        except CommerceError:
            return None
        except asyncio.CancelledError:
            me = asyncio.current_task()
            if not running.cancelled() or (me is not None and me.cancelling()):
                raise  # this page call itself was cancelled
            return None  # the read was (services closing): like a failed read

    async def _found(self, snapshot_id: str) -> SnapshotHead | None:
        """The saved snapshot a cursor names, or None while it is being built; refuses a cursor
        whose snapshot expired or that belongs to other arguments."""
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
        return head

    async def _whole(self, snapshot_id: str) -> SnapshotHead:
        """The whole snapshot a cursor names: still being read here, or read again now."""
        running = self.services.background(snapshot_id)
        if running is not None:
            pinned: StockSnapshot | None = await self._outcome(running)
            if pinned is not None:
                return pinned
        # Being read by another replica, or the read failed: read it here, under the same id.
        snapshot = await self.read_all()
        await (await self._shelf()).save(snapshot_id, snapshot)
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


@dataclass(frozen=True)
class _Ahead:
    """What page 1 of the plain listing read, for the background read that continues from it."""

    tiktok: TikTokShopClient
    amazon: AmazonMcfClient
    shop: Shop
    catalogue: dict[str, str]
    #: The catalogue's seller SKUs, sorted: the order of the listing's TikTok rows.
    names: list[str]
    #: How many of ``names`` page 1 read (``rows`` are theirs).
    read_to: int
    rows: list[SnapshotRow]
    taken_at: float
    partial: Partial
    #: Page 1's limit, which says how far to read ahead.
    limit: int


@dataclass(frozen=True)
class _AheadPart:
    """One part read ahead: its rows, the catalogue SKUs read so far, and the part after it."""

    rows: list[SnapshotRow]
    read_to: int
    following: asyncio.Task[_AheadPart] | None


def _part_task(snapshot_id: str, start: int) -> str:
    """The background work reading the rows from ``start`` on, ahead of the whole snapshot."""
    return f"{snapshot_id}@{start}"


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
        self, shop: str | None, wanted: list[str] | None
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
