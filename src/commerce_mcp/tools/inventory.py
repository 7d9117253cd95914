"""get_inventory: TikTok Shop stock and Amazon FBA stock per seller SKU, side by side.

The join and its flags live in :mod:`commerce_mcp.crosschannel.stock` (through COMMERCE_MCP_SKU_MAP);
this module reads what the configured channels have, then pages and renders. With one channel
configured the tool still answers for that channel and says why there are no flags.

Paging is cheap. The first page of the plain listing (both channels, no filter) reads TikTok's
catalogue and the stock of its own SKUs only (FBA ``sellerSkus`` look-ups, not every FBA page), then
reads everything once in the background into a snapshot (:mod:`commerce_mcp.crosschannel.stock_snapshot`)
its cursor names; every later page comes from that snapshot without calling the platforms. Other
first pages (``only_flagged``, ``seller_skus``, one channel) read what they need at once and pin it the
same way.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
from dataclasses import replace
from typing import TYPE_CHECKING, Annotated, Literal

from pydantic import BaseModel, Field

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
    SnapshotHead,
    SnapshotRow,
    SnapshotShelf,
    StockSnapshot,
)
from commerce_mcp.errors import CommerceError, InvalidRequest, NotConfigured
from commerce_mcp.services import Services
from commerce_mcp.tools._common import Reply, ToolResult
from commerce_mcp.tools.inputs import refuse_unsafe_text
from commerce_mcp.tools.paging import (
    Cursor,
    Limit,
    PagePosition,
    ResponseFormat,
    decode_cursor,
    encode_cursor,
)
from commerce_mcp.tools.registry import Progress, ToolSpec, read_tool
from commerce_mcp.tools.text import clean_text

if TYPE_CHECKING:
    from commerce_mcp.tiktok.client import TikTokShopClient
    from commerce_mcp.tiktok.models import Shop

Channel = Literal["both", "tiktok", "amazon"]
TOOL = "get_inventory"


class InventoryRow(BaseModel):
    seller_sku: str
    tiktok: TikTokStock | None = Field(default=None, description="None: not listed on TikTok")
    fba: FbaStock | None = Field(default=None, description="None: FBA holds no record")
    flags: list[str] = Field(default_factory=list, description="oversell_risk, stranded, unmapped")


class InventoryResult(ToolResult):
    channels: list[str] = Field(description="Channels that answered")
    notes: list[str] = Field(default_factory=list)
    skus: list[InventoryRow]
    total_matching: int | None = Field(
        description="None on page 1 of the full list: FBA-only SKUs not yet counted"
    )
    as_of: str = Field(description="When this stock was read (UTC); later pages keep it")
    next_cursor: str | None = None


async def _no_progress(done: float, total: float, message: str) -> None:
    return None


async def get_inventory(
    services: Services,
    channel: Annotated[
        Channel, Field(description="both (side by side, with flags), tiktok or amazon")
    ] = "both",
    seller_skus: Annotated[
        list[Annotated[str, Field(min_length=1, max_length=60, pattern=r"^[^,]+$")]] | None,
        Field(max_length=100, description="Only these seller SKUs (≤100); omit for all"),
    ] = None,
    only_flagged: Annotated[
        bool, Field(description="Only SKUs with a flag (oversell_risk, stranded, unmapped)")
    ] = False,
    shop: Annotated[
        str | None,
        Field(max_length=100, description="TikTok shop id or name; omit when only one"),
    ] = None,
    limit: Limit = 20,
    cursor: Cursor = None,
    response_format: ResponseFormat = "concise",
    progress: Progress = _no_progress,
) -> Reply[InventoryResult]:
    """Stock per seller SKU on both channels: TikTok available (per warehouse) next to FBA.

    One line per SKU: TikTok available, FBA fulfillable/inbound/reserved, and flags:
    oversell_risk (TikTok offers more than FBA can ship), stranded (FBA stock not listed on
    TikTok), unmapped (TikTok SKU FBA does not hold). Use only_flagged=true for what needs
    action; detailed adds per-warehouse stock. Reading every SKU takes a few calls (progress
    is reported). Then: update_tiktok_inventory to fix TikTok stock, preview_mcf_order to check
    that FBA can ship.
    """
    refuse_unsafe_text(seller_skus=seller_skus)
    position = decode_cursor(TOOL, cursor)
    wanted = list(dict.fromkeys(seller_skus)) if seller_skus else None
    listing = _Listing(services, channel, wanted, shop, only_flagged, progress)
    detailed = response_format == "detailed"
    if position.token is not None:
        head = await listing.pinned(position.token)
        position, rows = await listing.page_after(position, head, limit)
        return _reply(services, head, rows, position, limit, detailed)
    if channel == "both" and wanted is None and not only_flagged:
        quick = await listing.first_page(limit, detailed)
        if quick is not None:
            return quick
    snapshot = await listing.read_all()
    snapshot_id = await listing.keep(snapshot)
    return _reply(
        services, snapshot, snapshot.rows[:limit], PagePosition(snapshot_id, 0), limit, detailed
    )


class _Listing:
    """One get_inventory listing: its arguments, the snapshot that pins it, and how to read it."""

    def __init__(
        self,
        services: Services,
        channel: Channel,
        wanted: list[str] | None,
        shop: str | None,
        only_flagged: bool,
        progress: Progress,
    ) -> None:
        self.services = services
        self.channel = channel
        self.wanted = wanted
        self.shop = shop
        self.only_flagged = only_flagged
        self.progress = progress
        self.skumap = SkuMap.parse(services.settings.commerce_mcp_sku_map)
        # A cursor is good only for the arguments that decide which rows the list holds.
        shape = [channel, wanted, shop, only_flagged, services.settings.commerce_mcp_sku_map]
        self.query = hashlib.sha256(json.dumps(shape).encode()).hexdigest()[:24]

    async def shelf(self) -> SnapshotShelf:
        return SnapshotShelf(await self.services.store(), self.services.clock)

    async def keep(self, snapshot: StockSnapshot) -> str:
        """Pin a snapshot read in full; the id for its cursors."""
        shelf = await self.shelf()
        snapshot_id = await shelf.reserve(self.query)
        await shelf.save(snapshot_id, snapshot)
        return snapshot_id

    async def first_page(self, limit: int, detailed: bool) -> Reply[InventoryResult] | None:
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
        view = await catalogue_page(tiktok, the_shop, amazon, catalogue, self.skumap, 0, limit)
        names = await _warehouse_names(tiktok, the_shop) if detailed else {}
        await self.progress(2, 2, "FBA stock read")
        snapshot_id = await (await self.shelf()).reserve(self.query)
        self.services.start_background(snapshot_id, self._keep_all(snapshot_id, catalogue))
        notes = _notes(view, ["tiktok", "amazon"])
        notes.append(
            f"FBA stock no TikTok SKU sells comes after the {len(catalogue)} TikTok SKUs;"
            " the next page gives the full count"
        )
        page = _snapshot(self.query, taken_at, ["tiktok", "amazon"], notes, names, view.rows)
        position = PagePosition(snapshot_id, 0)
        return _reply(self.services, page, page.rows, position, limit, detailed, total_known=False)

    async def _keep_all(self, snapshot_id: str, catalogue: dict[str, str]) -> StockSnapshot:
        snapshot = await self.read_all(catalogue, quiet=True)
        await (await self.shelf()).save(snapshot_id, snapshot)
        return snapshot

    async def pinned(self, snapshot_id: str) -> SnapshotHead:
        """The snapshot a cursor names: stored, still being read here, or read again now."""
        shelf = await self.shelf()
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
        # Being read by another replica, or the read failed: read it here, under the same id.
        snapshot = await self.read_all()
        await shelf.save(snapshot_id, snapshot)
        return snapshot

    async def page_after(
        self, position: PagePosition, head: SnapshotHead, limit: int
    ) -> tuple[PagePosition, list[SnapshotRow]]:
        """The rows after the last one the previous page showed (the cursor's anchor).

        Normally that row sits just before the cursor's offset. Page 1 of the plain listing was read
        SKU by SKU, before the snapshot: should the snapshot hold a row more or less before that
        point, the page still continues right after the SKU shown last, never skipping one.
        """
        assert position.token is not None
        start = position.offset
        if position.anchor is None or start == 0:
            return position, await self._rows(position.token, head, start, start + limit)
        window = await self._rows(position.token, head, start - 1, start + limit)
        if window and window[0].seller_sku == position.anchor:
            return position, window[1:]
        everything = await self._rows(position.token, head, 0, head.count)
        names = [r.seller_sku for r in everything]
        if position.anchor in names:
            start = names.index(position.anchor) + 1
        return replace(position, offset=start), everything[start : start + limit]

    async def _rows(
        self, snapshot_id: str, head: SnapshotHead, start: int, stop: int
    ) -> list[SnapshotRow]:
        """Rows from the snapshot in hand, or from the stored chunks that hold them."""
        if isinstance(head, StockSnapshot):
            return head.rows[start:stop]
        return await (await self.shelf()).rows(snapshot_id, start, stop)

    async def read_all(
        self, catalogue: dict[str, str] | None = None, *, quiet: bool = False
    ) -> StockSnapshot:
        """Every row the listing shows, read from each channel asked for (``catalogue``: the TikTok
        SKUs a first page already listed, so later pages follow the same order)."""
        read = _Reading(self.services, self.channel, _no_progress if quiet else self.progress)
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
        notes = read.notes + _notes(view, read.answered)
        if self.only_flagged and len(read.answered) < 2:
            notes.append("only_flagged needs both channels; flags were not computed")
        shown = [r for r in view.rows if not self.only_flagged or r.flags]
        return _snapshot(self.query, taken_at, read.answered, notes, names, shown)


def _notes(view: StockView, answered: list[str]) -> list[str]:
    notes: list[str] = []
    if view.unknown:
        shown = ", ".join(clean_text(s, 60) or "?" for s in view.unknown)
        notes.append(f"not found on {' or '.join(answered)}: {clean_text(shown, 2000)}")
    if view.excluded:
        excluded = clean_text(", ".join(view.excluded), 400)
        notes.append(f"FBA stock of {excluded} not shown: COMMERCE_MCP_SKU_MAP excludes those SKUs")
    return notes


def _snapshot(
    query: str,
    taken_at: float,
    channels: list[str],
    notes: list[str],
    names: dict[str, str],
    rows: list[StockRow],
) -> StockSnapshot:
    return StockSnapshot(
        query=query,
        taken_at=taken_at,
        channels=channels,
        notes=notes,
        warehouses=names,
        rows=[SnapshotRow.of(r) for r in rows],
        count=len(rows),
    )


def _reply(
    services: Services,
    head: SnapshotHead,
    rows: list[SnapshotRow],
    position: PagePosition,
    limit: int,
    detailed: bool,
    *,
    total_known: bool = True,
) -> Reply[InventoryResult]:
    """One page of a pinned listing: its rows, the cursor to the rest, and the text."""
    end = position.offset + limit
    more = end < head.count or not total_known
    # The anchor (the SKU shown last) lets the next page continue after it whatever its offset.
    last = rows[-1].seller_sku if rows else None
    after = PagePosition(position.token, end, last) if more else None
    result = InventoryResult(
        channels=head.channels,
        notes=list(head.notes),
        skus=[_row(r) for r in rows],
        total_matching=head.count if total_known else None,
        as_of=head.stamp,
        next_cursor=encode_cursor(TOOL, after) if after else None,
    )
    mapped = {
        clean_text(r.seller_sku, 60) or "?": r.amazon_sku
        for r in rows
        if r.amazon_sku != r.seller_sku
    }
    age = head.as_of(services.clock.wall())
    return Reply(result, render(result, detailed, head.warehouses, mapped, age))


async def _warehouse_names(client: TikTokShopClient, shop: Shop) -> dict[str, str]:
    warehouses = await client.get_warehouses(shop)
    return {w.id: clean_text(w.name, 30) or w.id for w in warehouses}


class _Reading:
    """Reads each channel the call asked for; a channel that is not configured becomes a note."""

    def __init__(self, services: Services, channel: Channel, progress: Progress) -> None:
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


def _row(row: SnapshotRow) -> InventoryRow:
    return InventoryRow(
        seller_sku=clean_text(row.seller_sku, 60) or "?",
        tiktok=row.tiktok,
        fba=row.fba,
        flags=list(row.flags),
    )


def render(
    result: InventoryResult,
    detailed: bool,
    names: dict[str, str],
    mapped: dict[str, str | None],
    age: str,
) -> str:
    """The compact listing: a head line, notes, one line per SKU, and how to get more."""
    count = (
        f"{len(result.skus)} of {result.total_matching}"
        if result.total_matching is not None
        else f"first {len(result.skus)}"
    )
    lines = [
        f"{count} SKU(s) from {' + '.join(result.channels) or 'no channel'}, {age}"
        " (fba = fulfillable/inbound/reserved)",
        *(f"note: {n}" for n in result.notes),
        *(render_row(r, detailed, names, mapped) for r in result.skus),
        f"more: call again with cursor={result.next_cursor}"
        if result.next_cursor
        else "end of list",
    ]
    return "\n".join(lines)


def render_row(
    row: InventoryRow, detailed: bool, names: dict[str, str], mapped: dict[str, str | None]
) -> str:
    """One SKU's line; a TikTok SKU the map sends to another FBA SKU (or excludes) says so."""
    parts = [clean_text(row.seller_sku, 60) or "?"]
    if row.seller_sku in mapped:
        amazon = mapped[row.seller_sku]
        parts[0] += f" (FBA SKU {clean_text(amazon, 60)})" if amazon else " (not fulfilled by FBA)"
    if row.tiktok is None:
        parts.append("tiktok -")
    else:
        text = f"tiktok {row.tiktok.available}"
        if detailed:
            text += (
                " ("
                + ", ".join(f"{names.get(w, w)} {q}" for w, q in row.tiktok.warehouses.items())
                + f"; committed {row.tiktok.committed})"
            )
        parts.append(text)
    if row.fba is None:
        parts.append("fba -")
    else:
        f = row.fba
        parts.append(f"fba {f.fulfillable} ok/{f.inbound} in/{f.reserved} res")
        if detailed and f.unfulfillable:
            parts[-1] += f"/{f.unfulfillable} bad"
    if row.flags:
        parts.append("[" + ",".join(row.flags) + "]")
    return " | ".join(parts)


TOOLS: tuple[ToolSpec, ...] = (
    read_tool(get_inventory, title="Inventory: TikTok vs FBA", toolset="crosschannel"),
)
