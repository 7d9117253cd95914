"""TikTok Shop stock next to Amazon FBA stock, joined through the SKU map.

One reader for every cross-channel stock question (get_inventory): TikTok available per seller SKU,
FBA fulfillable per Amazon SKU, and the join ``SkuMap.to_amazon`` defines, the same map
``inventory_sync`` and ``fulfill`` use. Flags mark what a person should look at, and need both channels:
stock TikTok may sell that FBA cannot ship (``oversell_risk``), FBA stock no TikTok SKU sells
(``stranded``), and a TikTok SKU FBA does not hold or that the map excludes (``unmapped``).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from pydantic import BaseModel, Field

from commerce_mcp.crosschannel.inventory_sync import MAX_PRODUCT_PAGES
from commerce_mcp.crosschannel.skumap import SkuMap
from commerce_mcp.resilience.paging import PageGuard

if TYPE_CHECKING:
    from commerce_mcp.amazon.client import AmazonMcfClient
    from commerce_mcp.amazon.models import InventorySummary
    from commerce_mcp.tiktok.client import TikTokShopClient
    from commerce_mcp.tiktok.models import Shop

#: TikTok accepts at most this many seller SKUs per product search.
SKU_SEARCH_BATCH = 10
#: Amazon answers at most this many ``sellerSkus`` per FBA inventory call.
FBA_SKUS_PER_CALL = 50


# The two models below are also the get_inventory result's shape (its output schema).
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


@dataclass(frozen=True)
class StockRow:
    """One sellable thing: a TikTok SKU with the FBA SKU it maps to, or FBA stock no TikTok SKU sells."""

    seller_sku: str
    #: The Amazon SKU the row's FBA stock is for (None: the map excludes this TikTok SKU).
    amazon_sku: str | None
    tiktok: TikTokStock | None
    fba: FbaStock | None
    flags: tuple[str, ...] = ()


@dataclass
class StockView:
    """The joined rows and the wanted SKUs neither channel knows.

    Rows for TikTok SKUs come first, sorted by seller SKU, then FBA stock no TikTok SKU sells, sorted:
    so the first pages of a listing are known from TikTok's catalogue and a few FBA look-ups, without
    reading every FBA page (see :func:`catalogue_rows`).
    """

    rows: list[StockRow] = field(default_factory=list)
    unknown: list[str] = field(default_factory=list)
    #: FBA SKUs named like a TikTok SKU the map excludes: their stock is not joined to that SKU.
    excluded: list[str] = field(default_factory=list)


def flags_for(tiktok: TikTokStock | None, fba: FbaStock | None) -> tuple[str, ...]:
    """What deserves attention about one row, when both channels answered."""
    flags: list[str] = []
    if tiktok is not None and fba is not None and tiktok.available > fba.fulfillable:
        flags.append("oversell_risk")
    if tiktok is None and fba is not None and fba.fulfillable > 0:
        flags.append("stranded")
    if tiktok is not None and fba is None:
        flags.append("unmapped")
    return tuple(flags)


def amazon_skus_for(seller_skus: Iterable[str], skumap: SkuMap) -> list[str]:
    """The FBA SKUs to read for these seller SKUs: each one's mapped SKU, and the SKU itself (a
    seller may name an Amazon SKU directly)."""
    wanted: dict[str, None] = {}
    for sku in seller_skus:
        mapped = skumap.to_amazon(sku)
        if mapped is not None:
            wanted[mapped] = None
        wanted[sku] = None
    return list(wanted)


def join(
    tiktok: dict[str, TikTokStock] | None,
    fba: dict[str, FbaStock] | None,
    skumap: SkuMap,
    wanted: Sequence[str] | None = None,
) -> StockView:
    """Rows for TikTok stock (by TikTok SKU) and FBA stock (by Amazon SKU); None: channel not read.

    With both channels every TikTok SKU takes the FBA stock of the SKU the map gives it, FBA stock no
    TikTok SKU maps to gets a row of its own (unless a TikTok SKU the map excludes has its name), and
    rows carry flags. With one channel, its stock alone,
    without flags. ``wanted`` keeps rows whose TikTok or Amazon SKU is listed.
    """
    both = tiktok is not None and fba is not None
    rows: list[StockRow] = []
    claimed: set[str] = set()
    for sku, stock in (tiktok or {}).items():
        amazon = skumap.to_amazon(sku) if fba is not None else sku
        found = (fba or {}).get(amazon) if amazon is not None else None
        if found is not None and amazon is not None:
            claimed.add(amazon)
        flags = flags_for(stock, found) if both else ()
        rows.append(StockRow(sku, amazon, stock, found, flags))
    excluded: list[str] = []
    fba_only: list[StockRow] = []
    for sku, held in (fba or {}).items():
        if sku in claimed:
            continue
        if sku in (tiktok or {}):
            excluded.append(sku)  # one row per seller SKU: the TikTok one says "not FBA"
            continue
        fba_only.append(StockRow(sku, sku, None, held, flags_for(None, held) if both else ()))
    view = StockView(rows=_by_sku(rows) + _by_sku(fba_only), excluded=sorted(excluded))
    if wanted:
        names = set(wanted)
        view.rows = [r for r in view.rows if r.seller_sku in names or r.amazon_sku in names]
        known = {r.seller_sku for r in view.rows} | {r.amazon_sku for r in view.rows if r.fba}
        view.unknown = [s for s in wanted if s not in known]
    return view


def _by_sku(rows: list[StockRow]) -> list[StockRow]:
    return sorted(rows, key=lambda r: r.seller_sku)


def fba_stock(summary: InventorySummary) -> FbaStock:
    """One FBA inventory summary as stock numbers."""
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


async def read_fba(amazon: AmazonMcfClient, amazon_skus: list[str] | None) -> dict[str, FbaStock]:
    """FBA stock per Amazon SKU: the given SKUs, or every SKU FBA holds."""
    if amazon_skus:
        page = await amazon.get_inventory_summaries(seller_skus=amazon_skus)
        summaries = page.inventory_summaries
    else:
        summaries = [s async for s in amazon.iter_all_inventory()]
    return {s.seller_sku: fba_stock(s) for s in summaries if s.seller_sku}


async def read_tiktok(
    client: TikTokShopClient, shop: Shop, seller_skus: list[str] | None
) -> dict[str, TikTokStock]:
    """Available stock per seller SKU: the given SKUs, or every SKU of every product."""
    if seller_skus is None:
        catalogue = await read_tiktok_catalogue(client, shop)
        return await read_tiktok_skus(client, shop, list(catalogue.values()))
    sku_ids: list[str] = []
    for start in range(0, len(seller_skus), SKU_SEARCH_BATCH):
        batch = seller_skus[start : start + SKU_SEARCH_BATCH]
        found = await _search_skus(client, shop, batch)
        sku_ids += [sku_id for seller_sku, sku_id in found.items() if seller_sku in batch]
    return await read_tiktok_skus(client, shop, sku_ids)


async def read_tiktok_catalogue(client: TikTokShopClient, shop: Shop) -> dict[str, str]:
    """Every seller SKU the shop lists, with its TikTok SKU id (product search pages, no stock)."""
    return await _search_skus(client, shop, None)


async def _search_skus(
    client: TikTokShopClient, shop: Shop, seller_skus: list[str] | None
) -> dict[str, str]:
    found: dict[str, str] = {}
    token: str | None = None
    # Every product of a shop: up to MAX_PRODUCT_PAGES pages of 100; a SKU batch: a few pages.
    guard = PageGuard(max_pages=MAX_PRODUCT_PAGES)
    while True:
        page = await client.search_products(
            shop, seller_skus=seller_skus, page_size=100, page_token=token
        )
        for product in page.items:
            found.update((s.seller_sku, s.id) for s in product.skus if s.seller_sku)
        token = guard.follow(page.next_page_token, platform="tiktok", operation="search_products")
        if token is None:
            return found


async def read_tiktok_skus(
    client: TikTokShopClient, shop: Shop, sku_ids: list[str]
) -> dict[str, TikTokStock]:
    """Available stock per seller SKU for these TikTok SKU ids."""
    if not sku_ids:
        return {}
    entries = await client.search_inventory(shop, sku_ids=sku_ids)
    return {
        sku.seller_sku: TikTokStock(
            available=sku.total_available_quantity,
            committed=sku.total_committed_quantity,
            warehouses={w.warehouse_id: w.available_quantity for w in sku.warehouse_inventory},
        )
        for entry in entries
        for sku in entry.skus
        if sku.seller_sku
    }


def window_end(names: Sequence[str], start: int, at_least: int, skumap: SkuMap) -> int:
    """Where a window of the sorted catalogue that starts at ``start`` and holds at least
    ``at_least`` SKUs should end: as far as its FBA ``sellerSkus`` calls (one per 50 Amazon SKUs)
    have room, since a call costs one token of the FBA plan whether it names 20 SKUs or 50."""
    end = min(len(names), start + max(1, at_least))
    calls = -(-len(amazon_skus_for(names[start:end], skumap)) // FBA_SKUS_PER_CALL)
    while end < len(names):
        wider = len(amazon_skus_for(names[start : end + 1], skumap))
        if -(-wider // FBA_SKUS_PER_CALL) > calls:
            break
        end += 1
    return end


async def catalogue_rows(
    tiktok: TikTokShopClient,
    shop: Shop,
    amazon: AmazonMcfClient,
    catalogue: dict[str, str],
    names: Sequence[str],
    skumap: SkuMap,
) -> list[StockRow]:
    """The full join's rows for these TikTok SKUs (a run of the sorted catalogue), read for them
    only.

    The full join lists TikTok SKUs first, in seller-SKU order, so the rows of a run of the sorted
    catalogue are a run of the join's rows: their TikTok stock by SKU id and their FBA stock by
    ``sellerSkus`` (a call per 50), instead of every FBA page. A SKU TikTok gives no stock for has
    no row, here as in the full join.
    """
    if not names:
        return []  # read_fba without SKUs would read every FBA page
    tiktok_stock = await read_tiktok_skus(tiktok, shop, [catalogue[n] for n in names])
    fba = await read_fba(amazon, amazon_skus_for(names, skumap))
    return [r for r in join(tiktok_stock, fba, skumap).rows if r.tiktok is not None]
