"""Amazon Multi-Channel Fulfillment tools: preview, create, get, list, cancel, track."""

import hashlib
import json
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING, Annotated, Any, Literal

from mcp.server import MCPServer
from mcp.server.mcpserver import Context, Elicit, Resolve
from mcp.types import CallToolResult
from pydantic import BaseModel, Field, ValidationError, field_validator

from commerce_mcp.amazon.ids import deterministic_order_id
from commerce_mcp.amazon.models import (
    Address,
    CreateFulfillmentOrderRequest,
    FulfillmentOrder,
    FulfillmentOrderDetail,
    FulfillmentPreview,
    FulfillmentPreviewRequest,
    OrderItem,
    PackageTracking,
    PreviewItem,
)
from commerce_mcp.crosschannel.links import LinkStore
from commerce_mcp.errors import InvalidRequest
from commerce_mcp.services import Services
from commerce_mcp.tools._common import (
    READ,
    ToolInput,
    ToolResult,
    respond,
    tool_boundary,
    write_annotations,
)
from commerce_mcp.tools.confirmation import (
    NOT_ASKED,
    Approval,
    ConfirmationBook,
    NotAsked,
    client_can_elicit,
)
from commerce_mcp.tools.inputs import country_problem, require_plain
from commerce_mcp.tools.paging import (
    Cursor,
    Limit,
    ResponseFormat,
    decode_cursor,
    encode_cursor,
    next_position,
)
from commerce_mcp.tools.text import clean_text

if TYPE_CHECKING:  # the client module is imported on first use, not at start-up
    from commerce_mcp.amazon.client import AmazonMcfClient

Speed = Literal["Standard", "Expedited", "Priority"]
ShippingSpeed = Annotated[
    Speed,
    Field(description="Standard (cheapest), Expedited or Priority; preview_mcf_order quotes each"),
]

# Inputs --------------------------------------------------------------------------------------------


class Recipient(ToolInput):
    """Where the parcel goes."""

    name: Annotated[str, Field(min_length=1, max_length=50)]
    address_line1: Annotated[str, Field(min_length=1, max_length=180)]
    address_line2: Annotated[str | None, Field(max_length=60)] = None
    city: Annotated[str, Field(min_length=1, max_length=50)]
    state_or_region: Annotated[str, Field(min_length=1, max_length=150)]
    postal_code: Annotated[str, Field(min_length=1, max_length=20)]
    country_code: Annotated[
        str,
        Field(max_length=2, pattern=r"^[A-Z]{2}$", description="ISO 3166-1 alpha-2, e.g. US"),
    ] = "US"
    phone: Annotated[str | None, Field(max_length=20)] = None

    # Every field goes to Amazon and comes back in previews and orders: refuse hidden characters here,
    # before any upstream call, rather than clean them on the way back.
    @field_validator(
        "name", "address_line1", "address_line2", "city", "state_or_region", "postal_code", "phone"
    )
    @classmethod
    def _plain(cls, value: str | None) -> str | None:
        return require_plain(value)

    @field_validator("country_code")
    @classmethod
    def _assigned_country(cls, value: str) -> str:
        problem = country_problem(value)
        if problem:
            raise ValueError(problem)
        return value


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
        description="sellerFulfillmentOrderId (letters, digits, '-' and '_'; at most 40)",
    ),
]
ConfirmationToken = Annotated[
    str | None,
    Field(
        max_length=256,
        description="Token from this tool's preview. Omit it to get the preview; pass it back"
        " unchanged, with identical arguments, to execute.",
    ),
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


def _iso(value: datetime | None) -> str | None:
    return (
        value.astimezone(UTC).isoformat(timespec="minutes").replace("+00:00", "Z")
        if value
        else None
    )


def _cursor_start(anchor: str | None) -> datetime | None:
    """The query start a list_mcf_orders cursor carries (None on the first call)."""
    if anchor is None:
        return None
    try:
        return datetime.fromisoformat(anchor)
    except ValueError:
        raise InvalidRequest(
            "cursor is not a next_cursor issued by this tool",
            hint="pass the next_cursor value returned by list_mcf_orders exactly, or omit it",
        ) from None


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
        arrival = " to ".join(d for d in (_iso(first), _iso(last)) if d) or None
    return SpeedPreview(
        shipping_speed=clean_text(str(preview.shipping_speed_category or "?"), 40) or "?",
        fulfillable=preview.is_fulfillable,
        total_fees=sum((f.amount for f in fees), Decimal("0")) if fees else None,
        currency=fees[0].currency if fees else None,
        fees=fees,
        ship_by=_iso(shipments[0].latest_ship_date) if shipments else None,
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
        received=_iso(order.received_date),
        status_updated=_iso(order.status_updated_date),
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
                shipped=_iso(shipment.shipping_date),
                estimated_arrival=_iso(shipment.estimated_arrival_date),
                packages=[
                    McfPackage(
                        package_number=package.package_number,
                        carrier=clean_text(package.carrier_code, 60),
                        tracking_number=clean_text(package.tracking_number, 60),
                        estimated_arrival=_iso(package.estimated_arrival_date),
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


def to_address(recipient: Recipient) -> Address:
    return Address(**recipient.model_dump())


def derive_order_id(payload: dict[str, Any]) -> str:
    """A stable id for a payload, so the same request never creates two orders."""
    canonical = json.dumps(payload, sort_keys=True, separators=(",", ":"), default=str)
    return deterministic_order_id("cmcp", hashlib.sha256(canonical.encode()).hexdigest()[:20])


def _invalid(exc: ValidationError, what: str) -> InvalidRequest:
    problems = "; ".join(
        f"{'.'.join(str(p) for p in err['loc']) or what}: {err['msg']}" for err in exc.errors()
    )
    return InvalidRequest(
        f"{what} is not valid: {problems}", hint="fix those fields and call again"
    )


def build_create_request(
    *,
    order_id: str,
    items: list[Line],
    recipient: Recipient,
    shipping_speed: str,
    displayable_order_id: str | None,
    comment: str,
    order_date: datetime,
) -> CreateFulfillmentOrderRequest:
    try:
        return CreateFulfillmentOrderRequest(
            seller_fulfillment_order_id=order_id,
            displayable_order_id=displayable_order_id or order_id,
            displayable_order_date=order_date,
            displayable_order_comment=comment,
            shipping_speed_category=shipping_speed,
            destination_address=to_address(recipient),
            items=[
                OrderItem(
                    seller_sku=line.seller_sku,
                    seller_fulfillment_order_item_id=f"{order_id[: 40 - 4]}-{n}"[-50:],
                    quantity=line.quantity,
                )
                for n, line in enumerate(items, start=1)
            ],
            fulfillment_policy="FillOrKill",
        )
    except ValidationError as exc:
        raise _invalid(exc, "MCF order") from None


def build_preview_request(
    items: list[Line], recipient: Recipient, speeds: list[str] | None
) -> FulfillmentPreviewRequest:
    try:
        return FulfillmentPreviewRequest(
            address=to_address(recipient),
            items=[
                PreviewItem(
                    seller_sku=line.seller_sku,
                    seller_fulfillment_order_item_id=f"line-{n}",
                    quantity=line.quantity,
                )
                for n, line in enumerate(items, start=1)
            ],
            shipping_speed_categories=speeds,
        )
    except ValidationError as exc:
        raise _invalid(exc, "fulfillment preview") from None


def describe_create(items: list[Line], recipient: Recipient, shipping_speed: str) -> str:
    lines = ", ".join(f"{line.quantity} x {line.seller_sku}" for line in items)
    return (
        f"Create an Amazon MCF order ({shipping_speed}) shipping {lines} to {recipient.name},"
        f" {recipient.city} {recipient.state_or_region} {recipient.postal_code}"
        f" {recipient.country_code}? FBA will charge fulfillment fees."
    )


def _already_created(services: Services, order: McfOrder) -> CallToolResult:
    """The answer for a create whose order already exists: nothing new was (or will be) sent."""
    message = (
        f"MCF order {order.seller_fulfillment_order_id} already exists ({order.status});"
        " nothing new was created."
    )
    return respond(
        services,
        McfWriteResult(
            status="already_created",
            seller_fulfillment_order_id=order.seller_fulfillment_order_id,
            message=message,
            order=order,
        ),
        f"ALREADY CREATED: {message}\n{render_order(order)}",
    )


async def _preview_create(
    services: Services,
    book: ConfirmationBook,
    client: "AmazonMcfClient",
    request: CreateFulfillmentOrderRequest,
    items: list[Line],
    token_args: dict[str, Any],
) -> CallToolResult:
    """Ask Amazon for the preview of one speed and, when fulfillable, issue the token."""
    order_id = request.seller_fulfillment_order_id
    speed = str(request.shipping_speed_category)
    recipient = Recipient.model_validate(token_args["recipient"])
    preview_result = await client.get_fulfillment_preview(
        build_preview_request(items, recipient, [speed])
    )
    previews = [summarize_preview(p) for p in preview_result.fulfillment_previews]
    preview = next((p for p in previews if p.shipping_speed == speed), None)
    if preview is not None and not preview.fulfillable:
        return respond(
            services,
            McfWriteResult(
                status="preview",
                seller_fulfillment_order_id=order_id,
                message="FBA cannot fulfil this order; nothing was created.",
                preview=preview,
            ),
            "NOT fulfillable, nothing created.\n" + render_preview(preview),
        )
    token = book.issue("create_mcf_order", token_args)
    result = McfWriteResult(
        status="preview",
        seller_fulfillment_order_id=order_id,
        message="Nothing created yet. Call create_mcf_order again with the same arguments"
        " and this confirmation_token to create the order.",
        confirmation_token=token,
        token_expires_in_seconds=int(book.ttl),
        preview=preview,
    )
    text = (
        f"PREVIEW ONLY, order {order_id} not created.\n"
        + (render_preview(preview) if preview else "no preview for that speed")
        + "\nTo create it, call create_mcf_order with the same arguments and"
        f" confirmation_token={token}"
    )
    return respond(services, result, text)


# Registration --------------------------------------------------------------------------------------


def register(server: MCPServer[Services], services: Services, book: ConfirmationBook) -> None:
    """Register the Amazon MCF tools (write tools only when writes are enabled)."""

    @server.tool(name="preview_mcf_order", title="Preview an MCF order", annotations=READ)
    @tool_boundary(services)
    async def preview_mcf_order(
        items: Items,
        recipient: Recipient,
        shipping_speeds: Annotated[
            list[Speed] | None,
            Field(max_length=3, description="Speeds to quote; default all available"),
        ] = None,
    ) -> Annotated[CallToolResult, McfPreview]:
        """Ask Amazon whether FBA can ship these SKUs to this address, and at what cost and speed.

        Returns, per shipping speed: fulfillable or not (with the reason per SKU), estimated fees, the
        latest ship date and the arrival window. Nothing is created. Use it before create_mcf_order; to
        ship a TikTok Shop order, fulfill_tiktok_order_with_mcf does the preview for you.
        """
        request = build_preview_request(items, recipient, list(shipping_speeds or []) or None)
        client = await services.amazon()
        result = await client.get_fulfillment_preview(request)
        previews = [summarize_preview(p) for p in result.fulfillment_previews]
        text = "\n".join(render_preview(p) for p in previews) or "Amazon returned no preview."
        return respond(services, McfPreview(previews=previews), text)

    @server.tool(name="get_mcf_order", title="Get an MCF order", annotations=READ)
    @tool_boundary(services)
    async def get_mcf_order(
        seller_fulfillment_order_id: OrderId,
    ) -> Annotated[CallToolResult, McfOrderResult]:
        """Get one Multi-Channel Fulfillment order: status, lines, shipments, carriers and tracking.

        Use it to check an order created by create_mcf_order or fulfill_tiktok_order_with_mcf (also after
        an "outcome unknown" answer). For a package's delivery events call get_mcf_tracking with its
        package_number.
        """
        client = await services.amazon()
        order = order_view(await client.get_fulfillment_order(seller_fulfillment_order_id))
        return respond(services, McfOrderResult(order=order), render_order(order))

    @server.tool(name="list_mcf_orders", title="List MCF orders", annotations=READ)
    @tool_boundary(services)
    async def list_mcf_orders(
        updated_since_days: Annotated[
            int, Field(ge=1, le=365, description="Orders updated in the last N days")
        ] = 30,
        status: Annotated[
            str | None,
            Field(
                max_length=40, description="Only this status, e.g. Processing, Complete, Cancelled"
            ),
        ] = None,
        limit: Limit = 20,
        cursor: Cursor = None,
        response_format: ResponseFormat = "concise",
    ) -> Annotated[CallToolResult, McfOrderList]:
        """List Multi-Channel Fulfillment orders, newest activity first as Amazon returns them.

        Returns id, displayable (e.g. TikTok) order id, status, speed and destination per order, plus a
        next_cursor when there are more. Then: get_mcf_order for lines, shipments and tracking.
        """
        position = decode_cursor("list_mcf_orders", cursor)
        client = await services.amazon()
        # The listing's start is fixed by its first call and carried in the cursor.
        since = _cursor_start(position.anchor) or datetime.now(UTC) - timedelta(
            days=updated_since_days
        )
        page = await client.list_fulfillment_orders(
            query_start_date=since, next_token=position.token
        )
        position = replace(position, anchor=since.isoformat())
        orders = page.fulfillment_orders
        if status:
            orders = [o for o in orders if o.fulfillment_order_status.lower() == status.lower()]
        chosen = orders[position.offset : position.offset + limit]
        after = next_position(position, len(orders), limit, page.next_token)
        summaries = [summarize_order(o) for o in chosen]
        result = McfOrderList(
            orders=summaries,
            next_cursor=encode_cursor("list_mcf_orders", after) if after else None,
        )
        lines = [
            f"{o.seller_fulfillment_order_id} [{o.status}] {o.displayable_order_id or ''}"
            + (
                f" {o.shipping_speed} to {o.ship_to} updated {o.status_updated}"
                if response_format == "detailed"
                else f" {o.status_updated or ''}"
            )
            for o in summaries
        ]
        lines.append(
            f"more: call again with cursor={result.next_cursor}"
            if result.next_cursor
            else "end of list"
        )
        return respond(services, result, f"{len(summaries)} MCF order(s)\n" + "\n".join(lines))

    @server.tool(name="get_mcf_tracking", title="Track an MCF package", annotations=READ)
    @tool_boundary(services)
    async def get_mcf_tracking(
        package_number: Annotated[
            int, Field(ge=1, description="package_number from get_mcf_order's shipments")
        ],
    ) -> Annotated[CallToolResult, McfTracking]:
        """Carrier tracking for one MCF package: current status, estimated arrival and the event history.

        Get the package_number from get_mcf_order. To push tracking numbers to TikTok Shop use
        sync_mcf_tracking_to_tiktok.
        """
        client = await services.amazon()
        tracking: PackageTracking = await client.get_package_tracking(package_number)
        result = McfTracking(
            package_number=tracking.package_number,
            tracking_number=clean_text(tracking.tracking_number, 60),
            carrier=clean_text(tracking.carrier_code, 60),
            status=clean_text(tracking.current_status, 40),
            estimated_arrival=_iso(tracking.estimated_arrival_date),
            tracking_link=clean_text(tracking.customer_tracking_link, 300),
            events=[
                TrackingEventView(
                    time=_iso(event.event_date),
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
                    description=clean_text(event.event_description, 120),
                )
                for event in tracking.tracking_events
            ],
        )
        text = [
            f"package {result.package_number}: {result.carrier or '?'} {result.tracking_number or '-'}"
            f" [{result.status or 'unknown'}] eta {result.estimated_arrival or '?'}"
        ]
        text += [f"  {e.time} {e.code} {e.where or ''}" for e in result.events[-10:]]
        return respond(services, result, "\n".join(text))

    if not services.settings.writes_enabled:
        return

    async def approve_create(
        ctx: Context[Any, Any],
        items: Items,
        recipient: Recipient,
        shipping_speed: ShippingSpeed = "Standard",
    ) -> Approval | Elicit[Approval]:
        if not client_can_elicit(ctx):
            return NOT_ASKED
        return Elicit(describe_create(items, recipient, shipping_speed), Approval)

    @server.tool(
        name="create_mcf_order",
        title="Create an MCF order",
        annotations=write_annotations(idempotent=True),
    )
    @tool_boundary(services)
    async def create_mcf_order(
        items: Items,
        recipient: Recipient,
        approval: Annotated[Approval, Resolve(approve_create)],
        shipping_speed: ShippingSpeed = "Standard",
        displayable_order_id: Annotated[
            str | None, Field(max_length=40, description="Order id shown to the buyer")
        ] = None,
        comment: Annotated[
            str, Field(min_length=1, max_length=750, description="Shown on the packing slip")
        ] = "Thank you for your order!",
        seller_fulfillment_order_id: Annotated[
            str | None,
            Field(
                max_length=40,
                pattern=r"^[A-Za-z0-9_-]+$",
                description="Your own id; default derived from the request so repeats never"
                " create a second order",
            ),
        ] = None,
        confirmation_token: ConfirmationToken = None,
    ) -> Annotated[CallToolResult, McfWriteResult]:
        """Create an Amazon Multi-Channel Fulfillment order: FBA ships these SKUs to this address.

        This costs money. Call it first WITHOUT confirmation_token: you get a preview (fulfillable, fees,
        dates) and a confirmation_token valid for 5 minutes. Show the preview to the person; if they
        agree, call again with the same arguments plus that token. The order id is derived from the
        request, so repeating the call (even after a timeout) never creates a second order. To ship a
        TikTok Shop order, prefer fulfill_tiktok_order_with_mcf. Then: get_mcf_order.
        """
        payload = {
            "items": [line.model_dump() for line in items],
            "recipient": recipient.model_dump(),
            "shipping_speed": shipping_speed,
            "displayable_order_id": displayable_order_id,
            "comment": comment,
        }
        order_id = seller_fulfillment_order_id or derive_order_id(payload)
        request = build_create_request(
            order_id=order_id,
            items=items,
            recipient=recipient,
            shipping_speed=shipping_speed,
            displayable_order_id=displayable_order_id,
            comment=comment,
            order_date=datetime.fromtimestamp(services.clock.wall(), UTC),
        )
        token_args = {**payload, "seller_fulfillment_order_id": order_id}
        link_store = LinkStore(await services.store())
        await link_store.refuse_second_order(
            displayable_order_id=displayable_order_id, seller_fulfillment_order_id=order_id
        )
        client = await services.amazon()
        if isinstance(approval, NotAsked) and confirmation_token is None:
            existing = await client.existing_order(order_id)
            if existing is not None:
                return _already_created(services, order_view(existing))
            return await _preview_create(services, book, client, request, items, token_args)
        if isinstance(approval, NotAsked):
            await book.redeem("create_mcf_order", token_args, confirmation_token or "")
        elif not approval.approve:
            return respond(
                services,
                McfWriteResult(
                    status="declined",
                    seller_fulfillment_order_id=order_id,
                    message="The person did not approve; nothing was created.",
                ),
                "Not approved; nothing created.",
            )
        if displayable_order_id:
            await link_store.note_direct_order(displayable_order_id, order_id)
        outcome = await client.create_fulfillment_order(request)
        order = order_view(await client.get_fulfillment_order(outcome.seller_fulfillment_order_id))
        if not outcome.created_now:
            return _already_created(services, order)
        return respond(
            services,
            McfWriteResult(
                status="created",
                seller_fulfillment_order_id=order.seller_fulfillment_order_id,
                message=f"MCF order {order.seller_fulfillment_order_id} created.",
                order=order,
            ),
            f"CREATED\n{render_order(order)}",
        )

    async def approve_cancel(
        ctx: Context[Any, Any], seller_fulfillment_order_id: OrderId
    ) -> Approval | Elicit[Approval]:
        if not client_can_elicit(ctx):
            return NOT_ASKED
        return Elicit(f"Cancel Amazon MCF order {seller_fulfillment_order_id}?", Approval)

    @server.tool(
        name="cancel_mcf_order",
        title="Cancel an MCF order",
        annotations=write_annotations(idempotent=True),
    )
    @tool_boundary(services)
    async def cancel_mcf_order(
        seller_fulfillment_order_id: OrderId,
        approval: Annotated[Approval, Resolve(approve_cancel)],
        confirmation_token: ConfirmationToken = None,
    ) -> Annotated[CallToolResult, McfWriteResult]:
        """Cancel a Multi-Channel Fulfillment order that has not started shipping.

        Only orders still Received or Planning can be cancelled; later ones answer with Amazon's reason.
        Call first without confirmation_token to see the order and get a token, then again with it.
        """
        client = await services.amazon()
        args = {"seller_fulfillment_order_id": seller_fulfillment_order_id}
        if isinstance(approval, NotAsked) and confirmation_token is None:
            detail = await client.get_fulfillment_order(seller_fulfillment_order_id)
            order = order_view(detail)
            if order.status == "Cancelled":
                return respond(
                    services,
                    McfWriteResult(
                        status="cancelled",
                        seller_fulfillment_order_id=seller_fulfillment_order_id,
                        message="Already cancelled; nothing to do.",
                        order=order,
                    ),
                    f"ALREADY CANCELLED; nothing to do.\n{render_order(order)}",
                )
            if not detail.fulfillment_order.cancellable:
                raise InvalidRequest(
                    f"MCF order {seller_fulfillment_order_id} is {order.status} and can no longer"
                    " be cancelled: Amazon cancels only orders still New, Received or Planning",
                    code="NotCancellable",
                    hint="if it has shipped, handle it as a return; get_mcf_order shows its"
                    " shipments and tracking",
                )
            token = book.issue("cancel_mcf_order", args)
            return respond(
                services,
                McfWriteResult(
                    status="preview",
                    seller_fulfillment_order_id=seller_fulfillment_order_id,
                    message="Not cancelled yet. Call cancel_mcf_order again with this token.",
                    confirmation_token=token,
                    token_expires_in_seconds=int(book.ttl),
                    order=order,
                ),
                f"PREVIEW ONLY, would cancel:\n{render_order(order)}\n"
                f"To cancel, call cancel_mcf_order with confirmation_token={token}",
            )
        if isinstance(approval, NotAsked):
            await book.redeem("cancel_mcf_order", args, confirmation_token or "")
        elif not approval.approve:
            return respond(
                services,
                McfWriteResult(
                    status="declined",
                    seller_fulfillment_order_id=seller_fulfillment_order_id,
                    message="The person did not approve; nothing was cancelled.",
                ),
                "Not approved; nothing cancelled.",
            )
        await client.cancel_fulfillment_order(seller_fulfillment_order_id)
        order = order_view(await client.get_fulfillment_order(seller_fulfillment_order_id))
        return respond(
            services,
            McfWriteResult(
                status="cancelled",
                seller_fulfillment_order_id=seller_fulfillment_order_id,
                message=f"Cancellation requested; status now {order.status}.",
                order=order,
            ),
            f"CANCELLED\n{render_order(order)}",
        )
