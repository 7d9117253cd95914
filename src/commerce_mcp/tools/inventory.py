"""get_inventory: TikTok Shop stock and Amazon FBA stock per seller SKU, side by side.

The join and its flags live in :mod:`commerce_mcp.crosschannel.stock` (through COMMERCE_MCP_SKU_MAP),
the reading and the snapshot that makes later pages cheap in
:mod:`commerce_mcp.crosschannel.stock_listing`; this module turns cursors into pages and renders them.
With one channel configured the tool still answers for that channel and says why there are no flags.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, Field

from commerce_mcp.crosschannel.stock import FbaStock, TikTokStock
from commerce_mcp.crosschannel.stock_listing import Channel, ListingPage, StockListing
from commerce_mcp.crosschannel.stock_snapshot import SNAPSHOT_TTL, SnapshotHead, SnapshotRow
from commerce_mcp.progress import Progress, no_progress
from commerce_mcp.services import Services
from commerce_mcp.tools._common import Reply, ToolResult
from commerce_mcp.tools.args import ShopArg
from commerce_mcp.tools.inputs import refuse_unsafe_text
from commerce_mcp.tools.paging import (
    Limit,
    PagePosition,
    ResponseFormat,
    decode_cursor,
    encode_cursor,
)
from commerce_mcp.tools.registry import ToolSpec, read_tool
from commerce_mcp.tools.text import clean_text

TOOL = "get_inventory"
#: A cursor names a snapshot of one listing: good for the same arguments, until it expires.
InventoryCursor = Annotated[
    str | None,
    Field(
        max_length=4096,
        description="next_cursor of a call with the same channel, seller_skus, only_flagged and"
        f" shop; expires after {SNAPSHOT_TTL / 60:g} min",
    ),
]


class InventoryRow(BaseModel):
    seller_sku: str
    tiktok: TikTokStock | None = Field(default=None, description="null: not listed on TikTok")
    fba: FbaStock | None = Field(default=None, description="null: FBA holds no record")
    flags: list[str] = Field(default_factory=list, description="oversell_risk, stranded, unmapped")


class InventoryResult(ToolResult):
    channels: list[str] = Field(description="Channels that answered")
    notes: list[str] = Field(default_factory=list)
    skus: list[InventoryRow]
    total_matching: int | None = Field(
        description="null on the first pages of the full list: FBA-only SKUs not yet counted"
    )
    as_of: str = Field(description="When reading this page's stock began (UTC)")
    next_cursor: str | None = None


async def get_inventory(
    services: Services,
    channel: Annotated[Channel, Field(description="both: side by side, with flags")] = "both",
    seller_skus: Annotated[
        list[Annotated[str, Field(min_length=1, max_length=60, pattern=r"^[^,]+$")]] | None,
        Field(max_length=100, description="Only these seller SKUs"),
    ] = None,
    only_flagged: Annotated[bool, Field(description="Only SKUs with a flag")] = False,
    shop: ShopArg = None,
    limit: Limit = 20,
    cursor: InventoryCursor = None,
    response_format: ResponseFormat = "concise",
    progress: Progress = no_progress,
) -> Reply[InventoryResult]:
    """Stock per seller SKU on both channels: TikTok available next to FBA.

    Flags: oversell_risk (TikTok offers more than FBA can ship), stranded (FBA stock not on
    TikTok), unmapped (no FBA record). Next: sync_inventory_to_tiktok, update_tiktok_inventory.
    """
    refuse_unsafe_text(seller_skus=seller_skus)
    position = decode_cursor(TOOL, cursor)
    listing = StockListing(
        services,
        channel=channel,
        wanted=list(dict.fromkeys(seller_skus)) if seller_skus else None,
        shop=shop,
        only_flagged=only_flagged,
        sku_map=services.settings.commerce_mcp_sku_map,
        progress=progress,
    )
    detailed = response_format == "detailed"
    if position.token is None:
        page = await listing.first(limit)
    else:
        page = await listing.after(position.token, position.offset, position.anchor, limit)
    return _reply(services, page, detailed)


def _reply(services: Services, page: ListingPage, detailed: bool) -> Reply[InventoryResult]:
    """One page of a pinned listing: its rows, the cursor to the rest, and the text."""
    head, rows = page.head, page.rows
    following = page.next_start()
    # The anchor (the SKU shown last) lets the next page continue after it whatever its offset.
    after = PagePosition(page.snapshot_id, *following) if following else None
    result = InventoryResult(
        channels=head.channels,
        notes=_notes(head),
        skus=[_row(r) for r in rows],
        total_matching=head.count if page.total_known else None,
        as_of=head.stamp,
        next_cursor=encode_cursor(TOOL, after) if after else None,
    )
    mapped = {
        clean_text(r.seller_sku, 60) or "?": r.amazon_sku
        for r in rows
        if r.amazon_sku != r.seller_sku
    }
    names = {w: clean_text(name, 30) or w for w, name in head.warehouses.items()}
    age = head.as_of(services.clock.wall())
    return Reply(result, render(result, detailed, names, mapped, age, page.offset))


def _notes(head: SnapshotHead) -> list[str]:
    notes = list(head.notes)
    if head.unknown:
        shown = ", ".join(clean_text(s, 60) or "?" for s in head.unknown)
        notes.append(f"not found on {' or '.join(head.channels)}: {clean_text(shown, 2000)}")
    if head.excluded:
        excluded = clean_text(", ".join(head.excluded), 400)
        notes.append(f"FBA stock of {excluded} not shown: COMMERCE_MCP_SKU_MAP excludes those SKUs")
    return notes


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
    offset: int = 0,
) -> str:
    """The compact listing: a head line, notes, one line per SKU, and how to get more."""
    shown = len(result.skus)
    if result.total_matching is not None:
        count = f"{shown} of {result.total_matching}"
    elif offset:
        count = f"{shown} more (#{offset + 1}–{offset + shown})"
    else:
        count = f"first {shown}"
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
