"""Amazon Multi-Channel Fulfillment tools: preview, create, get, list, cancel, track."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Annotated, Any

from mcp.server.mcpserver import Context, Elicit, Resolve
from pydantic import Field

from commerce_mcp.amazon.ids import derive_order_id
from commerce_mcp.amazon.models import CreateFulfillmentOrderRequest
from commerce_mcp.amazon.requests import create_request, preview_request
from commerce_mcp.crosschannel.links import LinkStore
from commerce_mcp.errors import InvalidRequest
from commerce_mcp.services import Services
from commerce_mcp.tools._common import Reply
from commerce_mcp.tools.amazon_views import (
    Items,
    Line,
    McfOrder,
    McfOrderList,
    McfOrderResult,
    McfPreview,
    McfTracking,
    McfWriteResult,
    OrderId,
    Recipient,
    ShippingSpeed,
    Speed,
    SpeedPreview,
    order_lines,
    order_view,
    preview_lines,
    render_order,
    render_order_list,
    render_preview,
    render_tracking,
    summarize_order,
    summarize_preview,
    to_address,
    tracking_view,
)
from commerce_mcp.tools.args import ConfirmationToken
from commerce_mcp.tools.confirmation import NOT_ASKED, Approval, WriteGate, ask
from commerce_mcp.tools.paging import (
    Cursor,
    Limit,
    ResponseFormat,
    decode_cursor,
    encode_cursor,
    next_position,
)
from commerce_mcp.tools.registry import ToolSpec, read_tool, write_tool

if TYPE_CHECKING:  # the client module is imported on first use, not at start-up
    from commerce_mcp.amazon.client import AmazonMcfClient

# Read tools ----------------------------------------------------------------------------------------


async def preview_mcf_order(
    services: Services,
    items: Items,
    recipient: Recipient,
    shipping_speeds: Annotated[
        list[Speed] | None,
        Field(max_length=3, description="Speeds to quote; default all"),
    ] = None,
) -> Reply[McfPreview]:
    """Ask Amazon whether FBA can ship these SKUs to this address, at what cost and speed.

    Creates nothing. Next: create_mcf_order (fulfill_tiktok_order_with_mcf previews TikTok
    orders itself).
    """
    request = preview_request(to_address(recipient), preview_lines(items), shipping_speeds)
    client = await services.amazon()
    result = await client.get_fulfillment_preview(request)
    previews = [summarize_preview(p) for p in result.fulfillment_previews]
    text = "\n".join(render_preview(p) for p in previews) or "Amazon returned no preview."
    return Reply(McfPreview(previews=previews), text)


async def get_mcf_order(
    services: Services, seller_fulfillment_order_id: OrderId
) -> Reply[McfOrderResult]:
    """Get one MCF order: status, lines, shipments, carriers and tracking numbers.

    Also the check after an "outcome unknown" answer. Next: get_mcf_tracking.
    """
    client = await services.amazon()
    order = order_view(await client.get_fulfillment_order(seller_fulfillment_order_id))
    return Reply(McfOrderResult(order=order), render_order(order))


async def list_mcf_orders(
    services: Services,
    updated_since_days: Annotated[
        int, Field(ge=1, le=365, description="Updated in the last N days")
    ] = 30,
    status: Annotated[
        str | None,
        Field(max_length=40, description="Only this status, e.g. Processing, Complete"),
    ] = None,
    limit: Limit = 20,
    cursor: Cursor = None,
    response_format: ResponseFormat = "concise",
) -> Reply[McfOrderList]:
    """List MCF orders updated in the last N days, with their TikTok (displayable) order ids.

    Next: get_mcf_order.
    """
    position = decode_cursor("list_mcf_orders", cursor)
    client = await services.amazon()
    # The listing's start is fixed by its first call and carried in the cursor.
    now = datetime.fromtimestamp(services.clock.wall(), UTC)
    since = cursor_start(position.anchor) or now - timedelta(days=updated_since_days)
    page = await client.list_fulfillment_orders(query_start_date=since, next_token=position.token)
    position = replace(position, anchor=since.isoformat())
    orders = page.fulfillment_orders
    if status:
        orders = [o for o in orders if o.fulfillment_order_status.lower() == status.lower()]
    chosen = orders[position.offset : position.offset + limit]
    after = next_position(position, len(orders), limit, page.next_token)
    result = McfOrderList(
        orders=[summarize_order(o) for o in chosen],
        next_cursor=encode_cursor("list_mcf_orders", after) if after else None,
    )
    return Reply(result, render_order_list(result, detailed=response_format == "detailed"))


async def get_mcf_tracking(
    services: Services,
    package_number: Annotated[int, Field(ge=1, description="From get_mcf_order's shipments")],
) -> Reply[McfTracking]:
    """Carrier tracking for one MCF package: status, estimated arrival, events newest first.

    To push tracking to TikTok: sync_mcf_tracking_to_tiktok.
    """
    client = await services.amazon()
    result = tracking_view(await client.get_package_tracking(package_number))
    return Reply(result, render_tracking(result))


def cursor_start(anchor: str | None) -> datetime | None:
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


# Request building ----------------------------------------------------------------------------------


def describe_create(items: list[Line], recipient: Recipient, shipping_speed: str) -> str:
    lines = ", ".join(f"{line.quantity} x {line.seller_sku}" for line in items)
    return (
        f"Create an Amazon MCF order ({shipping_speed}) shipping {lines} to {recipient.name},"
        f" {recipient.city} {recipient.state_or_region} {recipient.postal_code}"
        f" {recipient.country_code}? FBA will charge fulfillment fees."
    )


# Write tools ---------------------------------------------------------------------------------------


async def ask_create(
    ctx: Context[Any, Any],
    items: Items,
    recipient: Recipient,
    shipping_speed: ShippingSpeed = "Standard",
) -> Approval | Elicit[Approval]:
    return ask(ctx, describe_create(items, recipient, shipping_speed))


async def create_mcf_order(
    services: Services,
    gate: WriteGate,
    items: Items,
    recipient: Recipient,
    shipping_speed: ShippingSpeed = "Standard",
    displayable_order_id: Annotated[
        str | None, Field(max_length=40, description="Order id shown to the buyer")
    ] = None,
    comment: Annotated[
        str, Field(min_length=1, max_length=750, description="Packing slip text")
    ] = "Thank you for your order!",
    seller_fulfillment_order_id: Annotated[
        str | None,
        Field(
            max_length=40,
            pattern=r"^[A-Za-z0-9_-]+$",
            description="Your own id; default: derived from the request",
        ),
    ] = None,
    confirmation_token: ConfirmationToken = None,
    approval: Annotated[Approval, Resolve(ask_create)] = NOT_ASKED,
) -> Reply[McfWriteResult]:
    """Create an Amazon MCF order (costs money): FBA ships these SKUs to this address.

    Call without confirmation_token for a preview (fees, dates) and a 5-minute token; if the
    person agrees, call again with identical arguments and the token. A repeat never creates
    a second order. For a TikTok order use fulfill_tiktok_order_with_mcf. Next: get_mcf_order.
    """
    payload = {
        "items": [line.model_dump() for line in items],
        "recipient": recipient.model_dump(),
        "shipping_speed": shipping_speed,
        "displayable_order_id": displayable_order_id,
        "comment": comment,
    }
    order_id = seller_fulfillment_order_id or derive_order_id(payload)
    request = create_request(
        order_id=order_id,
        address=to_address(recipient),
        lines=order_lines(order_id, items),
        speed=shipping_speed,
        displayable_order_id=displayable_order_id or order_id,
        order_date=datetime.fromtimestamp(services.clock.wall(), UTC),
        comment=comment,
    )
    links = LinkStore(await services.store())
    await links.refuse_second_order(
        displayable_order_id=displayable_order_id, seller_fulfillment_order_id=order_id
    )
    client = await services.amazon()

    async def preview(issue: Callable[[], str]) -> Reply[McfWriteResult]:
        existing = await client.existing_order(order_id)
        if existing is not None:
            return already_created(order_view(existing))
        return await preview_create(gate, client, request, items, recipient, issue)

    async def execute() -> Reply[McfWriteResult]:
        if displayable_order_id:
            await links.note_direct_order(displayable_order_id, order_id)
        return await create(client, request)

    declined = McfWriteResult(
        status="declined",
        seller_fulfillment_order_id=order_id,
        message="The person did not approve; nothing was created.",
    )
    return await gate.run(
        bound={**payload, "seller_fulfillment_order_id": order_id},
        approval=approval,
        token=confirmation_token,
        preview=preview,
        declined=lambda: Reply(declined, "Not approved; nothing created."),
        execute=execute,
    )


async def create(
    client: AmazonMcfClient, request: CreateFulfillmentOrderRequest
) -> Reply[McfWriteResult]:
    """Send the create (the client reconciles an ambiguous failure) and say what Amazon now holds."""
    outcome = await client.create_fulfillment_order(request)
    order = order_view(await client.get_fulfillment_order(outcome.seller_fulfillment_order_id))
    if not outcome.created_now:
        return already_created(order)
    result = McfWriteResult(
        status="created",
        seller_fulfillment_order_id=order.seller_fulfillment_order_id,
        message=f"MCF order {order.seller_fulfillment_order_id} created.",
        order=order,
    )
    return Reply(result, f"CREATED\n{render_order(order)}")


def already_created(order: McfOrder) -> Reply[McfWriteResult]:
    """The answer for a create whose order already exists: nothing new was (or will be) sent."""
    message = (
        f"MCF order {order.seller_fulfillment_order_id} already exists ({order.status});"
        " nothing new was created."
    )
    result = McfWriteResult(
        status="already_created",
        seller_fulfillment_order_id=order.seller_fulfillment_order_id,
        message=message,
        order=order,
    )
    return Reply(result, f"ALREADY CREATED: {message}\n{render_order(order)}")


async def preview_create(
    gate: WriteGate,
    client: AmazonMcfClient,
    request: CreateFulfillmentOrderRequest,
    items: list[Line],
    recipient: Recipient,
    issue: Callable[[], str],
) -> Reply[McfWriteResult]:
    """Ask Amazon for the preview of one speed and, when fulfillable, issue the token."""
    order_id = request.seller_fulfillment_order_id
    speed = str(request.shipping_speed_category)
    answer = await client.get_fulfillment_preview(
        preview_request(to_address(recipient), preview_lines(items), [speed])
    )
    previews = [summarize_preview(p) for p in answer.fulfillment_previews]
    found: SpeedPreview | None = next((p for p in previews if p.shipping_speed == speed), None)
    if found is not None and not found.fulfillable:
        result = McfWriteResult(
            status="preview",
            seller_fulfillment_order_id=order_id,
            message="FBA cannot fulfil this order; nothing was created.",
            preview=found,
        )
        return Reply(result, "NOT fulfillable, nothing created.\n" + render_preview(found))
    token = issue()
    result = McfWriteResult(
        status="preview",
        seller_fulfillment_order_id=order_id,
        message="Nothing created yet. Call create_mcf_order again with the same arguments"
        " and this confirmation_token to create the order.",
        confirmation_token=token,
        token_expires_in_seconds=gate.ttl,
        preview=found,
    )
    text = (
        f"PREVIEW ONLY, order {order_id} not created.\n"
        + (render_preview(found) if found else "no preview for that speed")
        + "\nTo create it, call create_mcf_order with the same arguments and"
        f" confirmation_token={token}"
    )
    return Reply(result, text)


async def ask_cancel(
    ctx: Context[Any, Any], seller_fulfillment_order_id: OrderId
) -> Approval | Elicit[Approval]:
    return ask(ctx, f"Cancel Amazon MCF order {seller_fulfillment_order_id}?")


async def cancel_mcf_order(
    services: Services,
    gate: WriteGate,
    seller_fulfillment_order_id: OrderId,
    confirmation_token: ConfirmationToken = None,
    approval: Annotated[Approval, Resolve(ask_cancel)] = NOT_ASKED,
) -> Reply[McfWriteResult]:
    """Cancel an MCF order that has not started shipping (Received or Planning).

    Call without confirmation_token to see it and get a token, then again with the token.
    """
    order_id = seller_fulfillment_order_id
    client = await services.amazon()

    async def preview(issue: Callable[[], str]) -> Reply[McfWriteResult]:
        return await preview_cancel(client, order_id, gate.ttl, issue)

    async def execute() -> Reply[McfWriteResult]:
        await client.cancel_fulfillment_order(order_id)
        order = order_view(await client.get_fulfillment_order(order_id))
        result = McfWriteResult(
            status="cancelled",
            seller_fulfillment_order_id=order_id,
            message=f"Cancellation requested; status now {order.status}.",
            order=order,
        )
        return Reply(result, f"CANCELLED\n{render_order(order)}")

    declined = McfWriteResult(
        status="declined",
        seller_fulfillment_order_id=order_id,
        message="The person did not approve; nothing was cancelled.",
    )
    return await gate.run(
        bound={"seller_fulfillment_order_id": order_id},
        approval=approval,
        token=confirmation_token,
        preview=preview,
        declined=lambda: Reply(declined, "Not approved; nothing cancelled."),
        execute=execute,
    )


async def preview_cancel(
    client: AmazonMcfClient, order_id: str, ttl: int, issue: Callable[[], str]
) -> Reply[McfWriteResult]:
    """Show the order; refuse one Amazon can no longer cancel, and issue a token otherwise."""
    detail = await client.get_fulfillment_order(order_id)
    order = order_view(detail)
    if order.status == "Cancelled":
        result = McfWriteResult(
            status="cancelled",
            seller_fulfillment_order_id=order_id,
            message="Already cancelled; nothing to do.",
            order=order,
        )
        return Reply(result, f"ALREADY CANCELLED; nothing to do.\n{render_order(order)}")
    if not detail.fulfillment_order.cancellable:
        raise InvalidRequest(
            f"MCF order {order_id} is {order.status} and can no longer"
            " be cancelled: Amazon cancels only orders still New, Received or Planning",
            code="NotCancellable",
            hint="if it has shipped, handle it as a return; get_mcf_order shows its"
            " shipments and tracking",
        )
    token = issue()
    result = McfWriteResult(
        status="preview",
        seller_fulfillment_order_id=order_id,
        message="Not cancelled yet. Call cancel_mcf_order again with this token.",
        confirmation_token=token,
        token_expires_in_seconds=ttl,
        order=order,
    )
    return Reply(
        result,
        f"PREVIEW ONLY, would cancel:\n{render_order(order)}\n"
        f"To cancel, call cancel_mcf_order with confirmation_token={token}",
    )


TOOLS: tuple[ToolSpec, ...] = (
    read_tool(preview_mcf_order, title="Preview an MCF order", toolset="amazon"),
    read_tool(get_mcf_order, title="Get an MCF order", toolset="amazon"),
    read_tool(list_mcf_orders, title="List MCF orders", toolset="amazon"),
    read_tool(get_mcf_tracking, title="Track an MCF package", toolset="amazon"),
    write_tool(create_mcf_order, title="Create an MCF order", toolset="amazon", idempotent=True),
    write_tool(cancel_mcf_order, title="Cancel an MCF order", toolset="amazon", idempotent=True),
)
