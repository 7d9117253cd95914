"""Arguments, result models and conversions for the Amazon MCF tools (no MCP, no HTTP: pure shaping).

Everything Amazon echoes back (SKUs, reason codes, carriers, ids) is cleaned before the model sees it.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, Field, field_validator

from commerce_mcp.amazon.events import event_meaning
from commerce_mcp.amazon.models import (
    Address,
    FulfillmentOrder,
    FulfillmentOrderDetail,
    FulfillmentPreview,
    PackageTracking,
)
from commerce_mcp.amazon.requests import RequestLine
from commerce_mcp.countries import require_assigned
from commerce_mcp.timefmt import iso_utc
from commerce_mcp.tools._common import ToolInput, ToolResult
from commerce_mcp.tools.inputs import require_plain
from commerce_mcp.tools.text import clean_text

# Arguments -----------------------------------------------------------------------------------------

Speed = Literal["Standard", "Expedited", "Priority"]
ShippingSpeed = Annotated[
    Speed,
    Field(description="Standard is cheapest; preview_mcf_order quotes each"),
]


class Recipient(ToolInput):
    """Where the parcel goes."""

    name: Annotated[str, Field(min_length=1, max_length=50)]
    address_line1: Annotated[str, Field(min_length=1, max_length=180)]
    address_line2: Annotated[str | None, Field(max_length=60)] = None
    address_line3: Annotated[str | None, Field(max_length=60)] = None
    city: Annotated[str, Field(min_length=1, max_length=50)]
    state_or_region: Annotated[str, Field(min_length=1, max_length=150)]
    postal_code: Annotated[str, Field(min_length=1, max_length=20)]
    country_code: Annotated[
        str,
        Field(max_length=2, pattern=r"^[A-Z]{2}$", description="ISO 3166-1 alpha-2, e.g. US"),
        AfterValidator(require_assigned),
    ] = "US"
    phone: Annotated[str | None, Field(max_length=20)] = None

    # Every field goes to Amazon and comes back in previews and orders: refuse hidden characters here,
    # before any upstream call, rather than clean them on the way back.
    @field_validator(
        "name",
        "address_line1",
        "address_line2",
        "address_line3",
        "city",
        "state_or_region",
        "postal_code",
        "phone",
    )
    @classmethod
    def _plain(cls, value: str | None) -> str | None:
        return require_plain(value)


class Line(ToolInput):
    seller_sku: Annotated[str, Field(min_length=1, max_length=50, description="Amazon seller SKU")]
    quantity: Annotated[int, Field(ge=1, le=10_000)]

    @field_validator("seller_sku")
    @classmethod
    def _plain(cls, value: str) -> str:
        return require_plain(value)


Items = Annotated[
    list[Line], Field(min_length=1, max_length=100, description="SKUs and quantities")
]
OrderId = Annotated[
    str,
    Field(
        min_length=1,
        max_length=40,
        pattern=r"^[A-Za-z0-9_-]+$",
        description="MCF order id (sellerFulfillmentOrderId)",
    ),
]


# Requests -----------------------------------------------------------------------------------------


def to_address(recipient: Recipient) -> Address:
    return Address(**recipient.model_dump())


def preview_lines(items: list[Line]) -> list[RequestLine]:
    return [
        RequestLine(line.seller_sku, line.quantity, f"line-{n}")
        for n, line in enumerate(items, start=1)
    ]


def order_lines(order_id: str, items: list[Line]) -> list[RequestLine]:
    # The item ids are part of the payload the intent ledger hashes: this scheme must not change.
    return [
        RequestLine(line.seller_sku, line.quantity, f"{order_id[: 40 - 4]}-{n}"[-50:])
        for n, line in enumerate(items, start=1)
    ]


# Outputs -------------------------------------------------------------------------------------------


class FeeLine(BaseModel):
    name: str
    amount: Decimal
    currency: str


class SpeedPreview(BaseModel):
    shipping_speed: str
    fulfillable: bool
    total_fees: Decimal | None = None
    currency: str | None = None
    fees: list[FeeLine] = Field(default_factory=list)
    ship_by: str | None = Field(default=None, description="Latest ship date (ISO 8601)")
    arrives_between: str | None = None
    unfulfillable: list[str] = Field(
        default_factory=list, description="SKU: reason, for lines FBA cannot ship"
    )
    reasons: list[str] = Field(default_factory=list)


class McfPreview(ToolResult):
    previews: list[SpeedPreview]


class McfPackage(BaseModel):
    package_number: int
    carrier: str | None = None
    tracking_number: str | None = None
    estimated_arrival: str | None = None


class McfLine(BaseModel):
    seller_sku: str | None
    quantity: int
    cancelled: int = 0
    unfulfillable: int = 0


class McfShipment(BaseModel):
    status: str | None
    shipped: str | None = None
    estimated_arrival: str | None = None
    packages: list[McfPackage] = Field(default_factory=list)


class McfOrderSummary(BaseModel):
    seller_fulfillment_order_id: str
    displayable_order_id: str | None = None
    status: str
    shipping_speed: str | None = None
    received: str | None = None
    status_updated: str | None = None
    ship_to: str | None = None


class McfOrder(McfOrderSummary):
    lines: list[McfLine] = Field(default_factory=list)
    shipments: list[McfShipment] = Field(default_factory=list)
    comment: str | None = None


class McfOrderResult(ToolResult):
    order: McfOrder


class McfOrderList(ToolResult):
    orders: list[McfOrderSummary]
    next_cursor: str | None = None


class McfWriteResult(ToolResult):
    status: Literal["preview", "created", "already_created", "cancelled", "declined"]
    seller_fulfillment_order_id: str
    message: str
    confirmation_token: str | None = None
    token_expires_in_seconds: int | None = None
    preview: SpeedPreview | None = None
    order: McfOrder | None = None


class TrackingEventView(BaseModel):
    time: str | None
    code: str | None
    where: str | None = None
    description: str | None = None


class McfTracking(ToolResult):
    package_number: int
    tracking_number: str | None
    carrier: str | None
    status: str | None
    estimated_arrival: str | None = None
    tracking_link: str | None = None
    events: list[TrackingEventView] = Field(default_factory=list)


# Conversions ---------------------------------------------------------------------------------------


def summarize_preview(preview: FulfillmentPreview) -> SpeedPreview:
    fees = [
        FeeLine(
            name=clean_text(fee.name, 60) or "fee",
            amount=fee.amount.value,
            currency=fee.amount.currency_code,
        )
        for fee in preview.estimated_fees
        if fee.amount is not None
    ]
    shipments = preview.fulfillment_preview_shipments
    arrival = None
    if shipments:
        first, last = shipments[0].earliest_arrival_date, shipments[-1].latest_arrival_date
        arrival = " to ".join(d for d in (iso_utc(first), iso_utc(last)) if d) or None
    return SpeedPreview(
        shipping_speed=clean_text(str(preview.shipping_speed_category or "?"), 40) or "?",
        fulfillable=preview.is_fulfillable,
        total_fees=sum((f.amount for f in fees), Decimal("0")) if fees else None,
        currency=fees[0].currency if fees else None,
        fees=fees,
        ship_by=iso_utc(shipments[0].latest_ship_date) if shipments else None,
        arrives_between=arrival,
        # Amazon echoes the SKUs and adds its own reason codes: shown to the model, so cleaned.
        unfulfillable=[
            f"{clean_text(item.seller_sku, 60) or '?'}: "
            + (clean_text(", ".join(item.item_unfulfillable_reasons), 200) or "unfulfillable")
            for item in preview.unfulfillable_preview_items
        ],
        reasons=[clean_text(r, 200) or "?" for r in preview.order_unfulfillable_reasons],
    )


def render_preview(p: SpeedPreview) -> str:
    head = f"{p.shipping_speed}: {'FULFILLABLE' if p.fulfillable else 'NOT fulfillable'}"
    if p.total_fees is not None:
        head += f", fees {p.total_fees} {p.currency}"
    if p.ship_by:
        head += f", ship by {p.ship_by}"
    if p.arrives_between:
        head += f", arrives {p.arrives_between}"
    extra = [f"  unfulfillable {u}" for u in p.unfulfillable]
    extra += [f"  reason {r}" for r in p.reasons]
    return "\n".join([head, *extra])


def summarize_order(order: FulfillmentOrder) -> McfOrderSummary:
    address = order.destination_address
    ship_to = None
    if address is not None:
        ship_to = ", ".join(
            x for x in (address.city, address.state_or_region, address.country_code) if x
        )
    return McfOrderSummary(
        seller_fulfillment_order_id=clean_text(order.seller_fulfillment_order_id, 60) or "?",
        displayable_order_id=clean_text(order.displayable_order_id, 60),
        status=clean_text(order.fulfillment_order_status, 40) or "?",
        shipping_speed=clean_text(order.shipping_speed_category, 40),
        received=iso_utc(order.received_date),
        status_updated=iso_utc(order.status_updated_date),
        ship_to=clean_text(ship_to, 120),
    )


def order_view(detail: FulfillmentOrderDetail) -> McfOrder:
    summary = summarize_order(detail.fulfillment_order)
    return McfOrder(
        **summary.model_dump(),
        comment=clean_text(detail.fulfillment_order.displayable_order_comment, 200),
        lines=[
            McfLine(
                seller_sku=clean_text(item.seller_sku, 60),
                quantity=item.quantity,
                cancelled=item.cancelled_quantity,
                unfulfillable=item.unfulfillable_quantity,
            )
            for item in detail.fulfillment_order_items
        ],
        shipments=[
            McfShipment(
                status=clean_text(shipment.fulfillment_shipment_status, 40),
                shipped=iso_utc(shipment.shipping_date),
                estimated_arrival=iso_utc(shipment.estimated_arrival_date),
                packages=[
                    McfPackage(
                        package_number=package.package_number,
                        carrier=clean_text(package.carrier_code, 60),
                        tracking_number=clean_text(package.tracking_number, 60),
                        estimated_arrival=iso_utc(package.estimated_arrival_date),
                    )
                    for package in shipment.fulfillment_shipment_package
                ],
            )
            for shipment in detail.fulfillment_shipments
        ],
    )


def render_order(order: McfOrder) -> str:
    lines = [
        f"MCF order {order.seller_fulfillment_order_id} [{order.status}]"
        f" speed {order.shipping_speed or '?'}; received {order.received or '?'};"
        f" to {order.ship_to or '?'}"
    ]
    lines += [
        f"  {line.seller_sku} x{line.quantity}"
        + (f" (cancelled {line.cancelled})" if line.cancelled else "")
        + (f" (unfulfillable {line.unfulfillable})" if line.unfulfillable else "")
        for line in order.lines
    ]
    for shipment in order.shipments:
        packages = "; ".join(
            f"pkg {p.package_number} {p.carrier or '?'} {p.tracking_number or '(no tracking yet)'}"
            for p in shipment.packages
        )
        lines.append(
            f"  shipment {shipment.status or '?'} shipped {shipment.shipped or '-'}: {packages or '-'}"
        )
    if not order.shipments:
        lines.append("  no shipments yet")
    return "\n".join(lines)


def tracking_view(tracking: PackageTracking) -> McfTracking:
    """One package's carrier tracking, with its events, cleaned for the model."""
    return McfTracking(
        package_number=tracking.package_number,
        tracking_number=clean_text(tracking.tracking_number, 60),
        carrier=clean_text(tracking.carrier_code, 60),
        status=clean_text(tracking.current_status, 40),
        estimated_arrival=iso_utc(tracking.estimated_arrival_date),
        tracking_link=clean_text(tracking.customer_tracking_link, 300),
        events=[
            TrackingEventView(
                time=iso_utc(event.event_date),
                code=clean_text(event.event_code, 40),
                where=clean_text(
                    ", ".join(
                        x
                        for x in (
                            event.event_address.city if event.event_address else None,
                            event.event_address.state if event.event_address else None,
                        )
                        if x
                    )
                    or None,
                    80,
                ),
                description=clean_text(event.event_description, 120)
                or event_meaning(event.event_code),
            )
            for event in tracking.tracking_events
        ],
    )


def render_tracking(result: McfTracking) -> str:
    """Carrier, tracking number and link, then what happened, where and when, newest first."""
    head = f"package {result.package_number}: {result.status or 'status unknown'}"
    if result.carrier or result.tracking_number:
        head += f", {result.carrier or 'carrier unknown'} {result.tracking_number or ''}".rstrip()
    if result.estimated_arrival:
        head += f", estimated arrival {result.estimated_arrival}"
    text = [head]
    if result.tracking_link:
        text.append(f"track it: {result.tracking_link}")
    newest = sorted(result.events, key=lambda e: e.time or "", reverse=True)
    for event in newest[:10]:
        what = event.description or event_meaning(event.code) or event.code or "event"
        where = f" ({event.where})" if event.where else ""
        text.append(f"  {event.time or 'time unknown'}  {what}{where}")
    if len(newest) > 10:
        text.append(f"  … {len(newest) - 10} older event(s) in the structured result")
    if not newest:
        text.append("  no carrier events yet")
    return "\n".join(text)


def render_order_list(result: McfOrderList, detailed: bool) -> str:
    lines = [
        f"{o.seller_fulfillment_order_id} [{o.status}] {o.displayable_order_id or ''}"
        + (
            f" {o.shipping_speed} to {o.ship_to} updated {o.status_updated}"
            if detailed
            else f" {o.status_updated or ''}"
        )
        for o in result.orders
    ]
    lines.append(
        f"more: call again with cursor={result.next_cursor}"
        if result.next_cursor
        else "end of list"
    )
    return f"{len(result.orders)} MCF order(s)\n" + "\n".join(lines)
