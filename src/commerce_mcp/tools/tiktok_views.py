"""Result models and conversions for the TikTok Shop tools (no MCP, no HTTP: pure shaping)."""

from __future__ import annotations

import re
from collections import Counter
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

from pydantic import BaseModel, Field

from commerce_mcp.errors import InvalidRequest
from commerce_mcp.tiktok.models import (
    Cancellation,
    Money,
    Order,
    PerformanceInterval,
    Product,
    ReturnRecord,
    Shop,
)
from commerce_mcp.timefmt import iso_utc
from commerce_mcp.tools._common import ToolResult
from commerce_mcp.tools.inputs import check_date
from commerce_mcp.tools.text import clean_text

_DAYS_AGO = re.compile(r"^(\d{1,4})d$")

#: Accepted by every date-or-age filter: an ISO date/time, or a number of days ago like "7d".
WHEN_PATTERN = r"^(\d{1,4}d|\d{4}-\d{2}-\d{2}([T ]\d{2}:\d{2}(:\d{2})?(Z|[+-]\d{2}:\d{2})?)?)$"


def iso(epoch: int | None) -> str | None:
    """Epoch seconds as a compact UTC ISO time (minutes)."""
    return iso_utc(epoch)


def to_epoch(value: str | None, now: float, name: str) -> int | None:
    """An ISO date/time or "Nd" (days before ``now``) as epoch seconds; dates mean midnight UTC."""
    if value is None:
        return None
    today = datetime.fromtimestamp(now, UTC).date()
    match = _DAYS_AGO.match(value)
    if match:
        epoch = int(now - int(match.group(1)) * 86_400)
        check_date(name, datetime.fromtimestamp(epoch, UTC).date(), today, given=value)
        return epoch
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise InvalidRequest(
            f"{name}={value!r} is not a date",
            hint="use an ISO date such as 2026-01-31, a time such as 2026-01-31T08:00Z, or 7d",
        ) from None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    # Checked on the calendar date as written, before any epoch arithmetic that year 1 would overflow.
    check_date(name, parsed.date(), today)
    return int(parsed.timestamp())


def date_window(start: date | None, end: date | None, today: date, days: int) -> tuple[date, date]:
    """Analytics window (end exclusive); default the ``days`` days before today.

    Each given date must lie in the allowed range (:func:`commerce_mcp.tools.inputs.check_date`).
    """
    if start is not None:
        check_date("start_date", start, today)
    if end is not None:
        check_date("end_date", end, today)
    end = end or today
    start = start or end - timedelta(days=days)
    if start >= end:
        raise InvalidRequest(
            f"start_date {start} must be before end_date {end} (end is exclusive)",
            hint="pass an earlier start_date or a later end_date",
        )
    return start, end


# ------------------------------------------------------------------------------------ shops


class ShopView(BaseModel):
    id: str
    name: str
    region: str | None = None
    code: str | None = None


class ShopList(ToolResult):
    shops: list[ShopView]


def shop_view(shop: Shop) -> ShopView:
    return ShopView(
        id=shop.id, name=clean_text(shop.name, 100) or "", region=shop.region, code=shop.code
    )


# ------------------------------------------------------------------------------------ products


class SkuView(BaseModel):
    seller_sku: str | None
    sku_id: str | None = Field(default=None, description="TikTok SKU id (detailed only)")
    variant: str | None = None
    price: Decimal | None = None
    currency: str | None = None
    available: int = Field(description="Stock across all warehouses")
    warehouses: dict[str, int] | None = Field(
        default=None, description="Stock per warehouse id (detailed only)"
    )


class ProductSummary(BaseModel):
    id: str
    title: str
    status: str | None = None
    updated: str | None = None
    skus: list[SkuView] = Field(default_factory=list)


class ProductList(ToolResult):
    shop: str
    products: list[ProductSummary]
    next_cursor: str | None = None
    total: int | None = None


class ProductDetail(ProductSummary):
    description: str | None = None
    brand: str | None = None
    category: str | None = None
    created: str | None = None
    audit_status: str | None = None
    image_urls: list[str] = Field(default_factory=list)


class ProductResult(ToolResult):
    shop: str
    product: ProductDetail


def product_summary(product: Product, detailed: bool) -> ProductSummary:
    skus = []
    for sku in product.skus:
        levels = {w.warehouse_id: w.quantity or 0 for w in sku.inventory}
        variant = ", ".join(
            clean_text(a.value_name, 40) or "" for a in sku.sales_attributes if a.value_name
        )
        skus.append(
            SkuView(
                seller_sku=clean_text(sku.seller_sku, 60),
                sku_id=sku.id if detailed else None,
                variant=variant or None,
                price=sku.price.sale_price if sku.price else None,
                currency=sku.price.currency if sku.price else None,
                available=sum(levels.values()),
                warehouses=levels if detailed else None,
            )
        )
    return ProductSummary(
        id=product.id,
        title=clean_text(product.title, 120) or "",
        status=product.status or product.product_status,
        updated=iso(product.update_time),
        skus=skus,
    )


def product_detail(product: Product) -> ProductDetail:
    summary = product_summary(product, detailed=True)
    description = re.sub(r"<[^>]+>", " ", product.description or "")
    leaf = product.category_chains[-1] if product.category_chains else None
    return ProductDetail(
        **summary.model_dump(),
        description=clean_text(description, 600) or None,
        brand=clean_text(product.brand.name, 60) if product.brand else None,
        category=clean_text(leaf.local_name, 60) if leaf else None,
        created=iso(product.create_time),
        audit_status=product.audit.status if product.audit else None,
        image_urls=[url for image in product.main_images for url in image.urls[:1]][:5],
    )


def render_product(p: ProductSummary, detailed: bool) -> str:
    skus = "; ".join(
        f"{s.seller_sku or '?'}"
        + (f" {s.variant}" if s.variant and detailed else "")
        + f" {s.price if s.price is not None else '?'} stock {s.available}"
        + (f" id {s.sku_id}" if detailed and s.sku_id else "")
        for s in p.skus
    )
    head = f"{p.id} {clean_text(p.title, 120)!r} [{p.status or '?'}]"
    if detailed:
        head += f" updated {p.updated or '?'}"
    return f"{head}: {skus or 'no SKUs'}"


# ------------------------------------------------------------------------------------ orders


class OrderSummary(BaseModel):
    id: str
    status: str | None = None
    created: str | None = None
    updated: str | None = None
    total: Decimal | None = None
    currency: str | None = None
    units: int = 0
    skus: list[str] = Field(default_factory=list, description="seller SKU x quantity")
    ship_to: str | None = None
    ship_by: str | None = Field(default=None, description="Ship-by deadline (detailed only)")


class OrderList(ToolResult):
    shop: str
    orders: list[OrderSummary]
    next_cursor: str | None = None
    total: int | None = None


class Amounts(BaseModel):
    currency: str | None = None
    subtotal: Decimal | None = None
    shipping_fee: Decimal | None = None
    seller_discount: Decimal | None = None
    platform_discount: Decimal | None = None
    tax: Decimal | None = None
    total: Decimal | None = None


class AddressView(BaseModel):
    name: str | None = None
    phone: str | None = None
    address_line1: str | None = None
    address_line2: str | None = None
    city: str | None = None
    state: str | None = None
    postal_code: str | None = None
    country_code: str | None = None


class OrderLineView(BaseModel):
    seller_sku: str | None
    product_name: str | None = None
    variant: str | None = None
    quantity: int
    unit_price: Decimal | None = None
    status: str | None = None
    package_id: str | None = None
    line_item_ids: list[str] = Field(default_factory=list)


class PackageView(BaseModel):
    id: str
    carrier: str | None = None
    tracking_number: str | None = None
    status: str | None = None


class TrackingView(BaseModel):
    time: str | None
    description: str | None


class OrderView(OrderSummary):
    paid: str | None = None
    buyer_message: str | None = Field(default=None, description="Untrusted buyer text, cleaned")
    amounts: Amounts = Field(default_factory=Amounts)
    address: AddressView | None = None
    lines: list[OrderLineView] = Field(default_factory=list)
    packages: list[PackageView] = Field(default_factory=list)
    tracking: list[TrackingView] = Field(default_factory=list)
    delivery_option: str | None = None
    warehouse_id: str | None = None
    mcf: dict[str, Any] | None = Field(
        default=None, description="The Amazon MCF fulfillment linked to this order, if any"
    )


class OrderResult(ToolResult):
    shop: str
    order: OrderView


def _sku_counts(order: Order) -> Counter[str]:
    return Counter(clean_text(item.seller_sku, 60) or "?" for item in order.line_items)


def order_summary(order: Order, detailed: bool) -> OrderSummary:
    address = order.recipient_address
    ship_to = None
    if address is not None:
        ship_to = ", ".join(
            x
            for x in (address.district("City"), address.district("State"), address.region_code)
            if x
        )
    counts = _sku_counts(order)
    return OrderSummary(
        id=order.id,
        status=order.status,
        created=iso(order.create_time),
        updated=iso(order.update_time) if detailed else None,
        total=order.payment.total_amount if order.payment else None,
        currency=order.payment.currency if order.payment else None,
        units=len(order.line_items),
        skus=[f"{sku} x{n}" for sku, n in counts.items()],
        ship_to=clean_text(ship_to, 80) or None,
        ship_by=iso(order.rts_sla_time) if detailed else None,
    )


def render_order_line(o: OrderSummary, detailed: bool) -> str:
    money = f"{o.total} {o.currency}" if o.total is not None else "?"
    text = f"{o.id} [{o.status}] {o.created or '?'} {money} {', '.join(o.skus)}"
    if detailed:
        text += f" to {o.ship_to or '?'} ship by {o.ship_by or '-'} updated {o.updated or '?'}"
    return text


def order_view(order: Order, tracking: list[TrackingView]) -> OrderView:
    summary = order_summary(order, detailed=True)
    payment = order.payment
    amounts = Amounts()
    if payment is not None:
        amounts = Amounts(
            currency=payment.currency,
            subtotal=payment.sub_total,
            shipping_fee=payment.shipping_fee,
            seller_discount=payment.seller_discount,
            platform_discount=payment.platform_discount,
            tax=payment.tax,
            total=payment.total_amount,
        )
    address = None
    if order.recipient_address is not None:
        a = order.recipient_address
        address = AddressView(
            name=clean_text(a.name, 80),
            phone=clean_text(a.phone_number, 30),
            address_line1=clean_text(a.address_line1, 120),
            address_line2=clean_text(a.address_line2, 120) or None,
            city=clean_text(a.district("City") or a.post_town, 60),
            state=clean_text(a.district("State"), 60),
            postal_code=clean_text(a.postal_code, 20),
            country_code=a.region_code,
        )
    grouped: dict[tuple[str | None, str | None], OrderLineView] = {}
    for item in order.line_items:
        key = (item.sku_id or item.seller_sku, item.package_id)
        line = grouped.get(key)
        if line is None:
            grouped[key] = OrderLineView(
                seller_sku=clean_text(item.seller_sku, 60),
                product_name=clean_text(item.product_name, 120),
                variant=clean_text(item.sku_name, 60),
                quantity=1,
                unit_price=item.sale_price,
                status=item.display_status,
                package_id=item.package_id,
                line_item_ids=[item.id],
            )
        else:
            line.quantity += 1
            line.line_item_ids.append(item.id)
    packages: dict[str, PackageView] = {}
    for item in order.line_items:
        if item.package_id and item.package_id not in packages:
            packages[item.package_id] = PackageView(
                id=item.package_id,
                carrier=item.shipping_provider_name,
                tracking_number=item.tracking_number,
                status=item.package_status,
            )
    for ref in order.packages:
        packages.setdefault(ref.id, PackageView(id=ref.id))
    return OrderView(
        **summary.model_dump(),
        paid=iso(order.paid_time),
        buyer_message=clean_text(order.buyer_message, 300) or None,
        amounts=amounts,
        address=address,
        lines=list(grouped.values()),
        packages=list(packages.values()),
        tracking=tracking,
        delivery_option=order.delivery_option_name,
        warehouse_id=order.warehouse_id,
    )


def render_order_detail(o: OrderView) -> str:
    a = o.amounts
    out = [
        f"Order {o.id} [{o.status}] created {o.created or '?'} paid {o.paid or '-'}"
        f" ship by {o.ship_by or '-'}",
        f"  amounts: subtotal {a.subtotal} + shipping {a.shipping_fee} + tax {a.tax}"
        f" - seller discount {a.seller_discount} - platform discount {a.platform_discount}"
        f" = total {a.total} {a.currency or ''}",
    ]
    if o.address:
        ad = o.address
        out.append(
            f"  ship to: {ad.name}, {ad.address_line1}"
            + (f", {ad.address_line2}" if ad.address_line2 else "")
            + f", {ad.city} {ad.state} {ad.postal_code} {ad.country_code}"
            + (f", phone {ad.phone}" if ad.phone else "")
        )
    if o.buyer_message:
        out.append(f"  buyer message (untrusted text): {o.buyer_message!r}")
    out += [
        f"  {line.seller_sku} x{line.quantity} @ {line.unit_price} {line.product_name!r}"
        f" [{line.status or '?'}]" + (f" pkg {line.package_id}" if line.package_id else "")
        for line in o.lines
    ]
    out += [
        f"  package {p.id}: {p.carrier or '?'} {p.tracking_number or '(no tracking)'}"
        f" [{p.status or '?'}]"
        for p in o.packages
    ]
    if not o.packages:
        out.append("  no packages yet (ship_tiktok_order marks it shipped)")
    out += [f"  tracking {t.time}: {t.description}" for t in o.tracking[:5]]
    if o.mcf:
        out.append(f"  MCF fulfillment: {o.mcf}")
    return "\n".join(out)


# ------------------------------------------------------------------------------------ after-sales


class AfterSaleView(BaseModel):
    kind: str = Field(description="return or cancellation")
    id: str
    order_id: str | None = None
    type: str | None = None
    status: str | None = None
    reason: str | None = Field(default=None, description="Untrusted text, cleaned")
    refund: Decimal | None = None
    currency: str | None = None
    skus: list[str] = Field(default_factory=list)
    created: str | None = None
    return_tracking: str | None = None


class AfterSaleList(ToolResult):
    shop: str
    items: list[AfterSaleView]
    next_cursor: str | None = None


def return_view(record: ReturnRecord) -> AfterSaleView:
    refund = record.refund_amount
    return AfterSaleView(
        kind="return",
        id=record.return_id,
        order_id=record.order_id,
        type=record.return_type,
        status=record.return_status,
        reason=clean_text(record.return_reason_text or record.return_reason, 160),
        refund=refund.refund_total if refund else None,
        currency=refund.currency if refund else None,
        skus=[clean_text(i.seller_sku, 60) or "?" for i in record.return_line_items],
        created=iso(record.create_time),
        return_tracking=record.return_tracking_number,
    )


def cancellation_view(record: Cancellation) -> AfterSaleView:
    refund = record.refund_amount
    return AfterSaleView(
        kind="cancellation",
        id=record.cancel_id,
        order_id=record.order_id,
        type=record.cancel_type,
        status=record.cancel_status,
        reason=clean_text(record.cancel_reason_text or record.cancel_reason, 160),
        refund=refund.refund_total if refund else None,
        currency=refund.currency if refund else None,
        skus=[clean_text(i.seller_sku, 60) or "?" for i in record.cancel_line_items],
        created=iso(record.create_time),
    )


def render_after_sale(item: AfterSaleView, detailed: bool) -> str:
    text = (
        f"{item.kind} {item.id} order {item.order_id} [{item.status}] {item.type or ''}"
        f" refund {item.refund} {item.currency or ''} {','.join(item.skus)}"
        f" reason {item.reason!r}"
    )
    if detailed:
        text += f" created {item.created} return tracking {item.return_tracking or '-'}"
    return text


# ------------------------------------------------------------------------------------ analytics


class IntervalView(BaseModel):
    start: str | None
    end: str | None
    gmv: Decimal | None = None
    currency: str | None = None
    orders: int | None = None
    units_sold: int | None = None
    buyers: int | None = None
    views: int | None = None
    page_views: int | None = None
    impressions: int | None = None
    click_through_rate: str | None = None


def _amount(money: Money | None) -> tuple[Decimal | None, str | None]:
    return (money.amount, money.currency) if money else (None, None)


def interval_view(interval: PerformanceInterval) -> IntervalView:
    gmv, currency = _amount(interval.gmv)
    return IntervalView(
        start=interval.start_date,
        end=interval.end_date,
        gmv=gmv,
        currency=currency,
        orders=interval.orders if interval.orders is not None else interval.sku_orders,
        units_sold=interval.units_sold,
        buyers=interval.buyers if interval.buyers is not None else interval.customers,
        views=interval.views,
        page_views=interval.page_views or interval.product_page_views,
        impressions=interval.impressions or interval.product_impressions,
        click_through_rate=interval.click_through_rate,
    )


def render_interval(i: IntervalView) -> str:
    parts = [f"{i.start}..{i.end}: GMV {i.gmv} {i.currency or ''}".rstrip()]
    for name in ("orders", "units_sold", "buyers", "views", "page_views", "impressions"):
        value = getattr(i, name)
        if value is not None:
            parts.append(f"{name} {value}")
    if i.click_through_rate:
        parts.append(f"CTR {i.click_through_rate}")
    return ", ".join(parts)


class PerformanceResult(ToolResult):
    shop: str
    start_date: str
    end_date: str = Field(description="Exclusive")
    granularity: str
    intervals: list[IntervalView]
    latest_available_date: str | None = None


class RankedItem(BaseModel):
    id: str
    title: str | None = None
    gmv: Decimal | None = None
    currency: str | None = None
    orders: int | None = None
    units_sold: int | None = None
    views: int | None = None
    click_through_rate: str | None = None
    extra: dict[str, Any] = Field(default_factory=dict)


def render_ranked(r: RankedItem) -> str:
    parts = [f"{r.id}" + (f" {r.title!r}" if r.title else ""), f"GMV {r.gmv} {r.currency or ''}"]
    for name in ("orders", "units_sold", "views"):
        value = getattr(r, name)
        if value is not None:
            parts.append(f"{name} {value}")
    if r.click_through_rate:
        parts.append(f"CTR {r.click_through_rate}")
    parts += [f"{k} {v}" for k, v in r.extra.items() if v is not None]
    return ", ".join(parts)
