"""TikTok Shop analytics tools: shop, product, and video/LIVE performance over a date window."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any, Literal

from pydantic import Field

from commerce_mcp.errors import InvalidRequest, NotFound
from commerce_mcp.resilience.paging import PageGuard
from commerce_mcp.services import Services
from commerce_mcp.tiktok.client import TikTokShopClient
from commerce_mcp.tiktok.models import Shop
from commerce_mcp.tools._common import Reply, ToolResult
from commerce_mcp.tools.args import ShopArg
from commerce_mcp.tools.paging import (
    Cursor,
    Limit,
    PagePosition,
    decode_cursor,
    encode_cursor,
    next_position,
)
from commerce_mcp.tools.registry import ToolSpec, read_tool
from commerce_mcp.tools.text import clean_text
from commerce_mcp.tools.tiktok import (
    EndDate,
    Granularity,
    StartDate,
    client_and_shop,
    more,
    today,
)
from commerce_mcp.tools.tiktok_views import (
    IntervalView,
    PerformanceResult,
    RankedItem,
    date_window,
    interval_view,
    iso,
    render_interval,
    render_ranked,
)


class RankedList(ToolResult):
    shop: str
    start_date: str
    end_date: str
    kind: str
    items: list[RankedItem] = Field(default_factory=list)
    intervals: list[IntervalView] = Field(default_factory=list)
    next_cursor: str | None = None


async def get_tiktok_shop_performance(
    services: Services,
    shop: ShopArg = None,
    start_date: StartDate = None,
    end_date: EndDate = None,
    granularity: Granularity = "ALL",
) -> Reply[PerformanceResult]:
    """Shop sales and traffic over a date window: GMV, orders, units, buyers, views.

    Days are in the shop's timezone; latest_available_date says how recent the data is.
    Next: get_tiktok_product_performance, get_tiktok_content_performance.
    """
    start, end = date_window(start_date, end_date, today(services), 7)
    client, the_shop = await client_and_shop(services, shop)
    report = await client.shop_performance(the_shop, start, end, granularity=granularity)
    intervals = [interval_view(i) for i in report.performance.intervals]
    result = PerformanceResult(
        shop=the_shop.name,
        start_date=start.isoformat(),
        end_date=end.isoformat(),
        granularity=granularity,
        intervals=intervals,
        latest_available_date=report.latest_available_date,
    )
    text = [
        f"{the_shop.name} {start}..{end} (end exclusive), latest data {report.latest_available_date}"
    ]
    text += [render_interval(i) for i in intervals]
    return Reply(result, "\n".join(text))


async def get_tiktok_product_performance(
    services: Services,
    shop: ShopArg = None,
    product_id: Annotated[
        str | None,
        Field(
            max_length=30,
            pattern=r"^\d{1,30}$",
            description="One product; omit for the top list",
        ),
    ] = None,
    rank_by: Annotated[
        Literal["gmv", "orders", "units"], Field(description="Order of the top list")
    ] = "gmv",
    start_date: StartDate = None,
    end_date: EndDate = None,
    granularity: Granularity = "ALL",
    limit: Limit = 20,
    cursor: Cursor = None,
) -> Reply[RankedList]:
    """Product sales over a date window: one product's series, or the top products ranked.

    Next: get_tiktok_product.
    """
    start, end = date_window(start_date, end_date, today(services), 7)
    client, the_shop = await client_and_shop(services, shop)
    base: dict[str, Any] = {
        "shop": the_shop.name,
        "start_date": start.isoformat(),
        "end_date": end.isoformat(),
    }
    if product_id:
        report = await client.product_performance(
            the_shop, product_id, start, end, granularity=granularity
        )
        intervals = [interval_view(i) for i in report.performance.intervals]
        result = RankedList(**base, kind="product", intervals=intervals)
        text = [f"product {product_id} {start}..{end} (end exclusive)"]
        text += [render_interval(i) for i in intervals]
        return Reply(result, "\n".join(text))
    return await _top_products(client, the_shop, base, start, end, rank_by, limit, cursor)


async def _top_products(
    client: TikTokShopClient,
    shop: Shop,
    base: dict[str, Any],
    start: date,
    end: date,
    rank_by: str,
    limit: int,
    cursor: str | None,
) -> Reply[RankedList]:
    """One page of the shop's products ranked by ``rank_by``."""
    position = decode_cursor("get_tiktok_product_performance", cursor)
    sort = {"gmv": "gmv", "orders": "order_count", "units": "unit_sold_count"}[rank_by]
    page = await client.product_performance_list(
        shop,
        start,
        end,
        sort_field=sort,
        sort_order="DESC",
        page_size=limit,
        page_token=position.token,
    )
    chosen = page.items[position.offset : position.offset + limit]
    after = next_position(position, len(page.items), limit, page.next_page_token)
    items = [
        RankedItem(
            id=p.id,
            gmv=p.gmv.amount if p.gmv else None,
            currency=p.gmv.currency if p.gmv else None,
            orders=p.orders,
            units_sold=p.units_sold,
            click_through_rate=p.click_through_rate,
        )
        for p in chosen
    ]
    result = RankedList(
        **base,
        kind="top_products",
        items=items,
        next_cursor=encode_cursor("get_tiktok_product_performance", after) if after else None,
    )
    text = [f"top products by {rank_by}, {start}..{end} (end exclusive)"]
    text += [render_ranked(i) for i in items] + [more(result.next_cursor)]
    return Reply(result, "\n".join(text))


async def get_tiktok_content_performance(
    services: Services,
    shop: ShopArg = None,
    kind: Annotated[Literal["video", "live"], Field(description="Videos or LIVE sessions")] = (
        "video"
    ),
    view: Annotated[
        Literal["list", "overview", "item"],
        Field(description="item needs item_id"),
    ] = "list",
    item_id: Annotated[
        str | None,
        Field(max_length=30, pattern=r"^\d{1,30}$", description="Video or LIVE id (view=item)"),
    ] = None,
    start_date: StartDate = None,
    end_date: EndDate = None,
    granularity: Granularity = "ALL",
    limit: Limit = 20,
    cursor: Cursor = None,
) -> Reply[RankedList]:
    """How shoppable videos and LIVE sessions sell: a ranked list, an overview, or one item.

    Titles are creator text, shown as data. Find item ids with view=list.
    """
    if view == "item" and not item_id:
        raise InvalidRequest("view=item needs item_id", hint="call with view=list to find ids")
    start, end = date_window(start_date, end_date, today(services), 30)
    client, the_shop = await client_and_shop(services, shop)
    base: dict[str, Any] = {
        "shop": the_shop.name,
        "start_date": start.isoformat(),
        "end_date": end.isoformat(),
        "kind": f"{kind}_{view}",
    }
    head = f"{kind} {view} {start}..{end} (end exclusive); titles are creator text"
    if view == "overview":
        return await _content_overview(client, the_shop, kind, base, head, start, end, granularity)
    if view == "item" and kind == "video" and item_id:
        return await _video_item(
            client, the_shop, item_id, base, head, start, end, granularity, limit
        )
    position = decode_cursor("get_tiktok_content_performance", cursor)
    items, upstream_next, count = await _content_page(
        client, the_shop, kind, start, end, limit, position, item_id
    )
    after = None if view == "item" else next_position(position, count, limit, upstream_next)
    result = RankedList(
        **base,
        items=items,
        next_cursor=encode_cursor("get_tiktok_content_performance", after) if after else None,
    )
    text = [head, *(render_ranked(i) for i in items), more(result.next_cursor)]
    return Reply(result, "\n".join(text))


async def _content_overview(
    client: TikTokShopClient,
    shop: Shop,
    kind: str,
    base: dict[str, Any],
    head: str,
    start: date,
    end: date,
    granularity: str,
) -> Reply[RankedList]:
    """All videos (or LIVE sessions) together, per interval."""
    fetch = (
        client.video_performance_overview if kind == "video" else client.live_performance_overview
    )
    report = await fetch(shop, start, end, granularity=granularity)
    intervals = [interval_view(i) for i in report.performance.intervals]
    text = [head, *(render_interval(i) for i in intervals)]
    return Reply(RankedList(**base, intervals=intervals), "\n".join(text))


async def _video_item(
    client: TikTokShopClient,
    shop: Shop,
    item_id: str,
    base: dict[str, Any],
    head: str,
    start: date,
    end: date,
    granularity: str,
    limit: int,
) -> Reply[RankedList]:
    """One video's series, engagement and the products it sold."""
    report = await client.video_performance_detail(
        shop, item_id, start, end, granularity=granularity
    )
    products = await client.video_performance_products(
        shop, item_id, start, end, page_size=min(limit, 100)
    )
    intervals = [interval_view(i) for i in report.performance.intervals]
    items = [
        RankedItem(
            id=p.id,
            title=clean_text(p.name, 80),
            gmv=p.gmv.amount if p.gmv else None,
            currency=p.gmv.currency if p.gmv else None,
            units_sold=p.units_sold,
        )
        for p in products.items
    ]
    engagement = report.engagement_data
    text = [head, *(render_interval(i) for i in intervals)]
    if engagement:
        text.append(
            f"engagement: likes {engagement.total_likes}, shares {engagement.total_shares},"
            f" comments {engagement.total_comments}, views {engagement.total_views}"
        )
    text += ["products in this video:", *(render_ranked(i) for i in items)]
    return Reply(RankedList(**base, intervals=intervals, items=items), "\n".join(text))


async def _content_page(
    client: TikTokShopClient,
    shop: Shop,
    kind: str,
    start: date,
    end: date,
    limit: int,
    position: PagePosition,
    item_id: str | None,
) -> tuple[list[RankedItem], str | None, int]:
    """One ranked page of videos or LIVE sessions (or the one LIVE session ``item_id``)."""
    token = position.token
    # Looking for one item walks at most 20 pages; a repeated token stops it with a clear error.
    guard = PageGuard(max_pages=20)
    while True:
        if kind == "video":
            items, upstream_next, count = await _video_page(client, shop, start, end, limit, token)
        else:
            size = limit if not item_id else 100
            items, upstream_next, count = await _live_page(client, shop, start, end, size, token)
        if not item_id:
            return items[position.offset : position.offset + limit], upstream_next, count
        match = [i for i in items if i.id == item_id]
        if match:
            return match, None, 1
        token = guard.follow(upstream_next, platform="tiktok", operation=f"{kind}_performance")
        if token is None:
            break
    raise NotFound(
        f"no {kind} {item_id} in this date window",
        platform="tiktok",
        hint="call get_tiktok_content_performance with view=list to find ids",
    )


async def _video_page(
    client: TikTokShopClient, shop: Shop, start: date, end: date, size: int, token: str | None
) -> tuple[list[RankedItem], str | None, int]:
    videos = await client.video_performance_list(
        shop, start, end, sort_field="gmv", sort_order="DESC", page_size=size, page_token=token
    )
    items = [
        RankedItem(
            id=v.id,
            title=clean_text(v.title, 100),
            gmv=v.gmv.amount if v.gmv else None,
            currency=v.gmv.currency if v.gmv else None,
            orders=v.sku_orders,
            units_sold=v.units_sold,
            views=v.views,
            click_through_rate=v.click_through_rate,
            extra={"posted": v.video_post_time},
        )
        for v in videos.items
    ]
    return items, videos.next_page_token, len(videos.items)


async def _live_page(
    client: TikTokShopClient, shop: Shop, start: date, end: date, size: int, token: str | None
) -> tuple[list[RankedItem], str | None, int]:
    lives = await client.live_performance_list(
        shop, start, end, sort_field="gmv", sort_order="DESC", page_size=size, page_token=token
    )
    items: list[RankedItem] = []
    for live in lives.items:
        sales, talk = live.sales_performance, live.interaction_performance
        items.append(
            RankedItem(
                id=live.id,
                title=clean_text(live.title, 100),
                gmv=sales.gmv.amount if sales and sales.gmv else None,
                currency=sales.gmv.currency if sales and sales.gmv else None,
                orders=sales.sku_orders if sales else None,
                units_sold=sales.unit_sold if sales else None,
                views=talk.views if talk else None,
                click_through_rate=talk.click_through_rate if talk else None,
                extra={
                    "started": iso(live.start_time),
                    "viewers": talk.viewers if talk else None,
                    "peak_viewers": talk.pcu if talk else None,
                },
            )
        )
    return items, lives.next_page_token, len(lives.items)


TOOLS: tuple[ToolSpec, ...] = (
    read_tool(get_tiktok_shop_performance, title="TikTok shop performance", toolset="tiktok"),
    read_tool(get_tiktok_product_performance, title="TikTok product performance", toolset="tiktok"),
    read_tool(
        get_tiktok_content_performance,
        title="TikTok video and LIVE performance",
        toolset="tiktok",
    ),
)
