"""get_inventory: TikTok Shop stock and Amazon FBA stock per seller SKU, side by side.

The join and its flags live in :mod:`commerce_mcp.crosschannel.stock` (through COMMERCE_MCP_SKU_MAP);
this module reads what the configured channels have, then pages and renders. With one channel
configured the tool still answers for that channel and says why there are no flags.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, Field

from commerce_mcp.crosschannel.skumap import SkuMap
from commerce_mcp.crosschannel.stock import (
    FbaStock,
    StockRow,
    TikTokStock,
    amazon_skus_for,
    join,
    read_fba,
    read_tiktok,
)
from commerce_mcp.errors import NotConfigured
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
    total_matching: int
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
    skumap = SkuMap.parse(services.settings.commerce_mcp_sku_map)
    read = _Reading(services, channel, progress)
    tiktok, names = await read.tiktok(shop, wanted, detailed=response_format == "detailed")
    fba = await read.fba(amazon_skus_for(wanted, skumap) if wanted else None)
    if not read.answered:
        raise NotConfigured(
            "TikTok Shop and Amazon",
            read.missing,
            message="neither TikTok Shop nor Amazon is configured, so there is no stock to show:"
            f" set {', '.join(read.missing)}",
            hint="set one channel's variables or both (get_connection_status lists them),"
            " or run with --sandbox to try fake data",
        )
    view = join(tiktok, fba, skumap, wanted)
    notes = read.notes
    if view.unknown:
        shown = ", ".join(clean_text(s, 60) or "?" for s in view.unknown)
        notes.append(f"not found on {' or '.join(read.answered)}: {clean_text(shown, 2000)}")
    if view.excluded:
        excluded = clean_text(", ".join(view.excluded), 400)
        notes.append(f"FBA stock of {excluded} not shown: COMMERCE_MCP_SKU_MAP excludes those SKUs")
    rows = [_row(r) for r in view.rows if not only_flagged or r.flags]
    if only_flagged and len(read.answered) < 2:
        notes.append("only_flagged needs both channels; flags were not computed")
    chosen = rows[position.offset : position.offset + limit]
    end = position.offset + limit
    after = PagePosition(None, end) if end < len(rows) else None
    result = InventoryResult(
        channels=read.answered,
        notes=notes,
        skus=chosen,
        total_matching=len(rows),
        next_cursor=encode_cursor(TOOL, after) if after else None,
    )
    mapped = {
        clean_text(r.seller_sku, 60) or "?": r.amazon_sku
        for r in view.rows
        if r.amazon_sku != r.seller_sku
    }
    return Reply(result, render(result, response_format == "detailed", names, mapped))


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
        self, shop: str | None, wanted: list[str] | None, *, detailed: bool
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
        names: dict[str, str] = {}
        if detailed:
            warehouses = await client.get_warehouses(the_shop)
            names = {w.id: clean_text(w.name, 30) or w.id for w in warehouses}
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


def _row(row: StockRow) -> InventoryRow:
    return InventoryRow(
        seller_sku=clean_text(row.seller_sku, 60) or "?",
        tiktok=row.tiktok,
        fba=row.fba,
        flags=list(row.flags),
    )


def render(
    result: InventoryResult, detailed: bool, names: dict[str, str], mapped: dict[str, str | None]
) -> str:
    """The compact listing: a head line, notes, one line per SKU, and how to get more."""
    lines = [
        f"{len(result.skus)} of {result.total_matching} SKU(s) from"
        f" {' + '.join(result.channels) or 'no channel'} (fba = fulfillable/inbound/reserved)",
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
