"""Building MCF preview and create requests: the one place both direct and TikTok-driven orders use.

Callers name each line's ``seller_fulfillment_order_item_id`` themselves: the ids are part of the payload
the intent ledger hashes, so each caller keeps the scheme its earlier orders were created with.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from pydantic import ValidationError

from commerce_mcp.amazon.models import (
    Address,
    CreateFulfillmentOrderRequest,
    FulfillmentPreviewRequest,
    OrderItem,
    PreviewItem,
)
from commerce_mcp.errors import InvalidRequest


@dataclass(frozen=True)
class RequestLine:
    """One order line: which SKU, how many, and the line's id within the request."""

    seller_sku: str
    quantity: int
    item_id: str


def preview_request(
    address: Address, lines: Sequence[RequestLine], speeds: Sequence[str] | None
) -> FulfillmentPreviewRequest:
    """A getFulfillmentPreview request; ``speeds`` None asks for every speed."""
    try:
        return FulfillmentPreviewRequest(
            address=address,
            items=[
                PreviewItem(
                    seller_sku=line.seller_sku,
                    seller_fulfillment_order_item_id=line.item_id,
                    quantity=line.quantity,
                )
                for line in lines
            ],
            shipping_speed_categories=list(speeds) if speeds else None,
        )
    except ValidationError as exc:
        raise invalid(exc, "fulfillment preview") from None


def create_request(
    *,
    order_id: str,
    address: Address,
    lines: Sequence[RequestLine],
    speed: str,
    displayable_order_id: str,
    order_date: datetime,
    comment: str,
) -> CreateFulfillmentOrderRequest:
    """A createFulfillmentOrder request, all or nothing (FillOrKill): FBA ships every line or none."""
    try:
        return CreateFulfillmentOrderRequest(
            seller_fulfillment_order_id=order_id,
            displayable_order_id=displayable_order_id,
            displayable_order_date=order_date,
            displayable_order_comment=comment,
            shipping_speed_category=speed,
            destination_address=address,
            items=[
                OrderItem(
                    seller_sku=line.seller_sku,
                    seller_fulfillment_order_item_id=line.item_id,
                    quantity=line.quantity,
                )
                for line in lines
            ],
            fulfillment_policy="FillOrKill",
        )
    except ValidationError as exc:
        raise invalid(exc, "MCF order") from None


def invalid(exc: ValidationError, what: str) -> InvalidRequest:
    """A request model's validation failure as an error naming the fields to fix."""
    problems = "; ".join(
        f"{'.'.join(str(p) for p in err['loc']) or what}: {err['msg']}" for err in exc.errors()
    )
    return InvalidRequest(
        f"{what} is not valid: {problems}", hint="fix those fields and call again"
    )
