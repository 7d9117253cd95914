"""get_inventory: TikTok Shop stock and Amazon FBA stock per seller SKU, side by side.

SKUs are joined by identical seller SKU. Each SKU carries flags a person should look at: stock TikTok
may sell that FBA cannot ship (``oversell_risk``), FBA stock TikTok does not list (``stranded``), and a
TikTok SKU FBA does not hold at all (``unmapped``). Flags need both channels; with one configured the
tool still answers for that channel and says why there are no flags.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from mcp.server import MCPServer
from mcp.server.mcpserver import Context
from mcp.types import CallToolResult
from pydantic import BaseModel, Field

from commerce_mcp.amazon.models import InventorySummary
from commerce_mcp.crosschannel.inventory_sync import MAX_PRODUCT_PAGES
from commerce_mcp.errors import NotConfigured
from commerce_mcp.resilience.paging import PageGuard
from commerce_mcp.services import Services
from commerce_mcp.tiktok.client import TikTokShopClient
from commerce_mcp.tiktok.models import Shop
from commerce_mcp.tools._common import READ, ToolResult, respond, tool_boundary
from commerce_mcp.tools.inputs import refuse_unsafe_text
from commerce_mcp.tools.paging import (
    Cursor,
    Limit,
    PagePosition,
    ResponseFormat,
    decode_cursor,
    encode_cursor,
)
from commerce_mcp.tools.text import clean_text

Channel = Literal["both", "tiktok", "amazon"]
TOOL = "get_inventory"
#: TikTok accepts at most this many seller SKUs per product search.
SKU_SEARCH_BATCH = 10


class TikTokStock(BaseModel):
    available: int = Field(description="Available across warehouses")
    committed: int = 0
    warehouses: dict[str, int] = Field(
        default_factory=dict, description="Available per TikTok warehouse id"
    )


class FbaStock(BaseModel):
    fulfillable: int
    inbound: int = 0
    reserved: int = 0
    unfulfillable: int = 0


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


def flags_for(row: InventoryRow) -> list[str]:
    """What deserves attention when both channels are known, under identity SKU mapping."""
    flags: list[str] = []
    if (
        row.tiktok is not None
        and row.fba is not None
        and row.tiktok.available > row.fba.fulfillable
    ):
        flags.append("oversell_risk")
    if row.tiktok is None and row.fba is not None and row.fba.fulfillable > 0:
        flags.append("stranded")
    if row.tiktok is not None and row.fba is None:
        flags.append("unmapped")
    return flags


def fba_stock(summary: InventorySummary) -> FbaStock:
    details = summary.inventory_details
    if details is None:
        return FbaStock(fulfillable=0)
    return FbaStock(
        fulfillable=details.fulfillable_quantity,
        inbound=details.inbound_quantity,
        reserved=details.reserved_quantity.total_reserved_quantity
        if details.reserved_quantity
        else 0,
        unfulfillable=details.unfulfillable_quantity.total_unfulfillable_quantity
        if details.unfulfillable_quantity
        else 0,
    )


async def tiktok_stock(
    client: TikTokShopClient, shop: Shop, seller_skus: list[str] | None
) -> dict[str, TikTokStock]:
    """Available stock per seller SKU: the given SKUs, or every SKU of every product."""
    product_ids: list[str] = []
    sku_ids: list[str] = []
    batches = (
        [
            seller_skus[i : i + SKU_SEARCH_BATCH]
            for i in range(0, len(seller_skus), SKU_SEARCH_BATCH)
        ]
        if seller_skus
        else [None]
    )
    for batch in batches:
        token: str | None = None
        # Every product of a shop: up to MAX_PRODUCT_PAGES pages of 100; a SKU batch: a few pages.
        guard = PageGuard(max_pages=MAX_PRODUCT_PAGES)
        while True:
            page = await client.search_products(
                shop, seller_skus=batch, page_size=100, page_token=token
            )
            for product in page.items:
                if batch is None:
                    product_ids.append(product.id)
                else:
                    sku_ids += [s.id for s in product.skus if s.seller_sku in batch]
            token = guard.follow(
                page.next_page_token, platform="tiktok", operation="search_products"
            )
            if token is None:
                break
    if not product_ids and not sku_ids:
        return {}
    entries = await client.search_inventory(
        shop, product_ids=product_ids or None, sku_ids=sku_ids or None
    )
    stock: dict[str, TikTokStock] = {}
    for entry in entries:
        for sku in entry.skus:
            if not sku.seller_sku:
                continue
            stock[sku.seller_sku] = TikTokStock(
                available=sku.total_available_quantity,
                committed=sku.total_committed_quantity,
                warehouses={w.warehouse_id: w.available_quantity for w in sku.warehouse_inventory},
            )
    return stock


def render_row(row: InventoryRow, detailed: bool, names: dict[str, str]) -> str:
    parts = [clean_text(row.seller_sku, 60) or "?"]
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


def register(server: MCPServer[Services], services: Services) -> None:
    """Register get_inventory."""

    @server.tool(name=TOOL, title="Inventory: TikTok vs FBA", annotations=READ)
    @tool_boundary(services)
    async def get_inventory(
        ctx: Context[Any, Any],
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
    ) -> Annotated[CallToolResult, InventoryResult]:
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
        notes: list[str] = []
        answered: list[str] = []
        tiktok: dict[str, TikTokStock] = {}
        fba: dict[str, FbaStock] = {}
        names: dict[str, str] = {}
        steps = 2 if channel == "both" else 1
        await ctx.report_progress(0, steps, "reading stock")
        if channel in ("both", "tiktok"):
            try:
                client = await services.tiktok()
            except NotConfigured as exc:
                if channel == "tiktok":
                    raise
                notes.append(f"TikTok Shop not configured ({exc.describe()}); FBA only, no flags")
            else:
                the_shop = await client.resolve_shop(shop)
                tiktok = await tiktok_stock(client, the_shop, wanted)
                answered.append("tiktok")
                if response_format == "detailed":
                    names = {
                        w.id: clean_text(w.name, 30) or w.id
                        for w in await client.get_warehouses(the_shop)
                    }
            await ctx.report_progress(1, steps, "TikTok stock read")
        if channel in ("both", "amazon"):
            try:
                amazon = await services.amazon()
            except NotConfigured as exc:
                if channel == "amazon":
                    raise
                notes.append(f"Amazon not configured ({exc.describe()}); TikTok only, no flags")
            else:
                if wanted:
                    page = await amazon.get_inventory_summaries(seller_skus=wanted)
                    summaries = page.inventory_summaries
                else:
                    summaries = [s async for s in amazon.iter_all_inventory()]
                fba = {s.seller_sku: fba_stock(s) for s in summaries if s.seller_sku}
                answered.append("amazon")
            await ctx.report_progress(steps, steps, "FBA stock read")
        if not answered:
            raise NotConfigured(
                "TikTok Shop and Amazon SP-API",
                ["the TIKTOK_* and AMAZON_* variables"],
                hint="; ".join(notes),
            )
        both = answered == ["tiktok", "amazon"]
        keys = sorted(set(tiktok) | set(fba))
        if wanted:
            keys = [k for k in keys if k in set(wanted)]
            unknown = [s for s in wanted if s not in tiktok and s not in fba]
            if unknown:
                shown = ", ".join(clean_text(s, 60) or "?" for s in unknown)
                notes.append(f"not found on {' or '.join(answered)}: {clean_text(shown, 2000)}")
        rows = []
        for key in keys:
            row = InventoryRow(
                seller_sku=clean_text(key, 60) or "?", tiktok=tiktok.get(key), fba=fba.get(key)
            )
            if both:
                row.flags = flags_for(row)
            if not only_flagged or row.flags:
                rows.append(row)
        if only_flagged and not both:
            notes.append("only_flagged needs both channels; flags were not computed")
        chosen = rows[position.offset : position.offset + limit]
        end = position.offset + limit
        after = PagePosition(None, end) if end < len(rows) else None
        result = InventoryResult(
            channels=answered,
            notes=notes,
            skus=chosen,
            total_matching=len(rows),
            next_cursor=encode_cursor(TOOL, after) if after else None,
        )
        detailed = response_format == "detailed"
        lines = [
            f"{len(chosen)} of {len(rows)} SKU(s) from {' + '.join(answered) or 'no channel'}"
            f" (fba = fulfillable/inbound/reserved)",
            *(f"note: {n}" for n in notes),
            *(render_row(r, detailed, names) for r in chosen),
            f"more: call again with cursor={result.next_cursor}"
            if result.next_cursor
            else "end of list",
        ]
        return respond(services, result, "\n".join(lines))
