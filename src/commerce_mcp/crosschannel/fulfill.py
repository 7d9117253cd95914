"""Fulfil a TikTok Shop order through Amazon MCF: check, map, preview, then create exactly once.

The MCF order id is derived from the TikTok order id (``tts-<id>``), so whatever happens (a repeated
call, a timeout after Amazon committed, a lost link record) the same TikTok order can only ever map to
one MCF order: Amazon itself refuses a second create with the same id, and the Amazon client reconciles
ambiguous failures by reading the order back before any re-send.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Literal

from pydantic import ValidationError

from commerce_mcp.amazon import requests as amazon_requests
from commerce_mcp.amazon.ids import deterministic_order_id
from commerce_mcp.amazon.models import (
    Address,
    CreateFulfillmentOrderRequest,
    FulfillmentPreview,
    FulfillmentPreviewRequest,
)
from commerce_mcp.amazon.requests import RequestLine
from commerce_mcp.crosschannel.links import LinkStore, OrderLink
from commerce_mcp.crosschannel.mcf_address import to_mcf_address
from commerce_mcp.crosschannel.skumap import SkuMap
from commerce_mcp.errors import (
    Conflict,
    InvalidRequest,
    NotFound,
    StateStoreUnavailable,
    before_any_send,
)
from commerce_mcp.tiktok.models import Order, Shop

if TYPE_CHECKING:
    from commerce_mcp.amazon.client import AmazonMcfClient
    from commerce_mcp.tiktok.client import TikTokShopClient

MCF_ID_PREFIX = "tts"
#: Line items in these display states are not shipped (cancelled or refunded before fulfilment).
_DEAD_LINE_STATES = {"CANCELLED", "CANCELED"}

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class PlannedLine:
    amazon_sku: str
    tiktok_sku: str
    quantity: int
    line_item_ids: tuple[str, ...]


@dataclass
class FulfillmentPlan:
    """Everything decided about one TikTok order before Amazon is asked anything."""

    order: Order
    shop: Shop
    mcf_order_id: str
    lines: list[PlannedLine] = field(default_factory=list)
    unmapped: list[str] = field(default_factory=list)
    address: Address | None = None
    address_problem: str | None = None

    @property
    def blocked(self) -> str | None:
        """Why this order cannot go to MCF at all, or None."""
        if self.unmapped:
            return (
                "no Amazon SKU for TikTok SKU(s) "
                + ", ".join(self.unmapped)
                + " (set COMMERCE_MCP_SKU_MAP or fulfil these yourself)"
            )
        if self.address_problem:
            return f"the buyer address cannot be used for MCF: {self.address_problem}"
        if not self.lines:
            return "the order has no line items left to ship"
        return None


def mcf_order_id_for(tiktok_order_id: str) -> str:
    return deterministic_order_id(MCF_ID_PREFIX, tiktok_order_id)


async def load_order(tiktok: TikTokShopClient, shop: Shop, order_id: str) -> Order:
    orders = await tiktok.get_orders(shop, [order_id])
    for order in orders:
        if order.id == order_id:
            return order
    raise NotFound(
        f"TikTok Shop order {order_id} was not found in shop {shop.name}",
        platform="tiktok",
        hint="check the id with list_tiktok_orders, or pass shop= if the seller has several shops",
    )


def check_shippable(order: Order, link: OrderLink | None) -> None:
    """Raise a clear error when the order must not be sent to MCF."""
    if link is not None and link.status != "pending":
        raise Conflict(
            f"TikTok order {order.id} is already fulfilled by MCF order {link.mcf_order_id}"
            f" ({link.status})",
            hint=f"check it with get_mcf_order seller_fulfillment_order_id={link.mcf_order_id}",
        )
    if order.is_on_hold_order:
        raise InvalidRequest(
            f"TikTok order {order.id} is on hold (TikTok holds new orders briefly for buyer cancellation)",
            hint="try again after the hold ends; list_tiktok_orders shows ON_HOLD orders",
        )
    if order.status != "AWAITING_SHIPMENT":
        raise InvalidRequest(
            f"TikTok order {order.id} is {order.status}, not AWAITING_SHIPMENT",
            hint="only orders awaiting shipment can be fulfilled; list them with"
            " list_tiktok_orders status=AWAITING_SHIPMENT",
        )


def plan_fulfillment(order: Order, shop: Shop, skumap: SkuMap) -> FulfillmentPlan:
    """Map each live line item to an Amazon SKU and the buyer address to an MCF address."""
    plan = FulfillmentPlan(order=order, shop=shop, mcf_order_id=mcf_order_id_for(order.id))
    grouped: dict[tuple[str, str], list[str]] = {}
    for item in order.line_items:
        if (item.display_status or "").upper() in _DEAD_LINE_STATES:
            continue
        amazon_sku = skumap.to_amazon(item.seller_sku)
        if amazon_sku is None:
            plan.unmapped.append(item.seller_sku or f"(line {item.id} has no seller SKU)")
            continue
        grouped.setdefault((amazon_sku, item.seller_sku or amazon_sku), []).append(item.id)
    plan.unmapped = sorted(set(plan.unmapped))
    plan.lines = [
        PlannedLine(amazon, tiktok, len(ids), tuple(ids))
        for (amazon, tiktok), ids in grouped.items()
    ]
    try:
        plan.address = to_mcf_address(order.recipient_address, market=shop.region)
    except (ValueError, ValidationError) as exc:
        plan.address_problem = _first_error(exc)
    return plan


def _first_error(exc: Exception) -> str:
    if isinstance(exc, ValidationError):
        err = exc.errors()[0]
        where = ".".join(str(p) for p in err["loc"])
        return f"{where}: {err['msg']}" if where else str(err["msg"])
    return str(exc)


def _request_lines(plan: FulfillmentPlan, item_id: Callable[[int], str]) -> list[RequestLine]:
    return [
        RequestLine(line.amazon_sku, line.quantity, item_id(n))
        for n, line in enumerate(plan.lines, start=1)
    ]


def preview_request(plan: FulfillmentPlan, speed: str) -> FulfillmentPreviewRequest:
    """The Amazon preview of the planned lines at ``speed``."""
    assert plan.address is not None
    return amazon_requests.preview_request(
        plan.address, _request_lines(plan, lambda n: f"l{n}"), [speed]
    )


def create_request(plan: FulfillmentPlan, speed: str, now: float) -> CreateFulfillmentOrderRequest:
    """The MCF order for the plan; it shows the TikTok order's id and date (``now`` if it has none)."""
    assert plan.address is not None
    order = plan.order
    return amazon_requests.create_request(
        order_id=plan.mcf_order_id,
        address=plan.address,
        # The item ids are part of the payload the intent ledger hashes: this scheme must not change.
        lines=_request_lines(plan, lambda n: f"{plan.mcf_order_id}-{n}"[:50]),
        speed=speed,
        displayable_order_id=order.id[:40],
        order_date=datetime.fromtimestamp(order.create_time or now, UTC),
        comment=f"Thank you for your TikTok Shop order {order.id}!",
    )


@dataclass
class FulfillResult:
    """What one step decided. ``ready``: checked and mapped, not previewed (the caller confirmed a
    preview already); ``preview``: checked, mapped and fulfillable per Amazon's preview."""

    status: Literal["ready", "preview", "created", "already_created", "not_fulfillable", "blocked"]
    plan: FulfillmentPlan
    preview: FulfillmentPreview | None = None
    reason: str | None = None
    link: OrderLink | None = None


async def prepare(
    *,
    tiktok: TikTokShopClient,
    amazon: AmazonMcfClient,
    links: LinkStore,
    skumap: SkuMap,
    shop: Shop,
    order_id: str,
    speed: str,
    preview: bool = True,
) -> FulfillResult:
    """Fetch, check, map and (``preview``) preview. Nothing is created. An existing MCF order answers
    at once.

    A ``pending`` link means an earlier call (perhaps a process that died mid-create) was sending
    the order: Amazon is asked before anything else, so the answer is "it exists" when it does.
    The checks run on every call; the Amazon preview only when asked for (a call confirming a
    preview the person saw skips it: FillOrKill refuses an order FBA can no longer ship anyway).
    """
    link = await links.get(order_id)
    if (
        link is not None
        and link.status == "pending"
        and await amazon.existing_order(link.mcf_order_id)
    ):
        link.status = "created"
        await links.save(link)
    if link is not None and link.status != "pending":
        order = await load_order(tiktok, shop, order_id)
        plan = plan_fulfillment(order, shop, skumap)
        return FulfillResult(status="already_created", plan=plan, link=link)
    await _refuse_direct_order(links, amazon, order_id)
    order = await load_order(tiktok, shop, order_id)
    check_shippable(order, link)
    plan = plan_fulfillment(order, shop, skumap)
    if plan.blocked:
        return FulfillResult(status="blocked", plan=plan, reason=plan.blocked)
    if not preview:
        return FulfillResult(status="ready", plan=plan)
    return await _preview(amazon, plan, speed)


async def _preview(amazon: AmazonMcfClient, plan: FulfillmentPlan, speed: str) -> FulfillResult:
    """Ask Amazon whether FBA can ship the plan at ``speed``, naming what is short."""
    result = await amazon.get_fulfillment_preview(preview_request(plan, speed))
    preview = next(
        (p for p in result.fulfillment_previews if str(p.shipping_speed_category) == speed),
        result.fulfillment_previews[0] if result.fulfillment_previews else None,
    )
    if preview is None or not preview.is_fulfillable:
        short = [
            f"{item.seller_sku} ({', '.join(item.item_unfulfillable_reasons) or 'unfulfillable'})"
            for item in (preview.unfulfillable_preview_items if preview else [])
        ]
        reasons = list(preview.order_unfulfillable_reasons) if preview else []
        reason = "FBA cannot ship this order"
        if short:
            reason += ": short or missing " + ", ".join(short)
        if reasons:
            reason += f" [{', '.join(reasons)}]"
        return FulfillResult(status="not_fulfillable", plan=plan, preview=preview, reason=reason)
    return FulfillResult(status="preview", plan=plan, preview=preview)


async def _refuse_direct_order(links: LinkStore, amazon: AmazonMcfClient, order_id: str) -> None:
    """Refuse when create_mcf_order already shipped this TikTok order under its id."""
    mcf_order_id = await links.direct_order(order_id)
    if mcf_order_id is None:
        return
    existing = await amazon.existing_order(mcf_order_id)
    if existing is None or existing.fulfillment_order.fulfillment_order_status == "Cancelled":
        return
    raise Conflict(
        f"TikTok order {order_id} already has MCF order {mcf_order_id}"
        f" ({existing.fulfillment_order.fulfillment_order_status}), created with create_mcf_order;"
        " a second MCF order for it was refused",
        code="AlreadyFulfilled",
        hint=f"check it with get_mcf_order seller_fulfillment_order_id={mcf_order_id}; cancel it"
        " first (cancel_mcf_order) if this order should ship through the link instead",
    )


async def execute(
    *,
    amazon: AmazonMcfClient,
    links: LinkStore,
    plan: FulfillmentPlan,
    speed: str,
    now: float,
) -> FulfillResult:
    """Create the MCF order once: link first (pending), then create, then mark the link created.

    ``now`` (epoch seconds, from the services' clock) stamps the link and dates an order TikTok gave
    no creation time.
    """
    request = create_request(plan, speed, now)
    link = OrderLink(
        tiktok_order_id=plan.order.id,
        shop_id=plan.shop.id,
        mcf_order_id=plan.mcf_order_id,
        shipping_speed=speed,
        created_at=datetime.fromtimestamp(now, UTC).isoformat(),
        line_items={i: line.amazon_sku for line in plan.lines for i in line.line_item_ids},
    )
    with before_any_send():
        existing = await links.claim(link)
    if existing is not None and existing.status != "pending":
        return FulfillResult(status="already_created", plan=plan, link=existing)
    outcome = await amazon.create_fulfillment_order(request)
    link.status = "created"
    try:
        await links.save(link)
    except StateStoreUnavailable as exc:
        # The order exists, so the answer is still "created". The link stays pending until a
        # repeat of this tool or sync_mcf_tracking_to_tiktok finds the order at Amazon and
        # promotes it (the sync then pushes its tracking like any other).
        log.warning(
            "fulfil: MCF order %s created, link not saved: %s", link.mcf_order_id, exc.message
        )
    return FulfillResult(
        status="created" if outcome.created_now else "already_created", plan=plan, link=link
    )


def line_summary(plan: FulfillmentPlan) -> str:
    counts = Counter({line.amazon_sku: line.quantity for line in plan.lines})
    return ", ".join(f"{qty} x {sku}" for sku, qty in counts.items())
