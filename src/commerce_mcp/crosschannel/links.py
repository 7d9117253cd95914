"""The record that ties a TikTok Shop order to the MCF order fulfilling it.

One document per TikTok order in the ``links`` namespace. It is written *before* the MCF order is sent
(status ``pending``), so a crash between the two can never leave an order we do not know about, and it
remembers which Amazon packages were already marked shipped on TikTok, so a sync never marks twice.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel, Field

from commerce_mcp.errors import CommerceError, Conflict
from commerce_mcp.store.base import StateStore

#: MCF order ids derived from a TikTok order id start with this (see crosschannel.fulfill).
TIKTOK_PREFIX = "tts-"

if TYPE_CHECKING:
    from commerce_mcp.amazon.client import AmazonMcfClient

NAMESPACE = "crosschannel.links"
#: MCF orders created directly (create_mcf_order) under a displayable id, keyed by that id.
DIRECT_NAMESPACE = "crosschannel.direct_orders"
LinkStatus = Literal["pending", "created", "shipped"]


class MarkedPackage(BaseModel):
    tracking_number: str
    carrier: str | None = None
    provider: str | None = None
    tiktok_package_id: str | None = None
    line_item_ids: list[str] = Field(default_factory=list)
    marked_at: str


class OrderLink(BaseModel):
    tiktok_order_id: str
    shop_id: str
    mcf_order_id: str
    status: LinkStatus = "pending"
    shipping_speed: str
    #: When the link was written (ISO 8601, from the services' clock; fulfil always sets it).
    created_at: str = ""
    #: TikTok line item id -> Amazon seller SKU (what each line ships as).
    line_items: dict[str, str] = Field(default_factory=dict)
    #: Amazon package number (as text) -> what was pushed to TikTok.
    marked: dict[str, MarkedPackage] = Field(default_factory=dict)
    last_error: str | None = None


class LinkStore:
    def __init__(self, store: StateStore) -> None:
        self._store = store

    async def get(self, tiktok_order_id: str) -> OrderLink | None:
        doc = await self._store.get(NAMESPACE, tiktok_order_id)
        return OrderLink.model_validate(doc) if doc else None

    async def claim(self, link: OrderLink) -> OrderLink | None:
        """Write ``link`` unless one exists; returns the existing link (and writes nothing) if so."""
        existing = await self._store.put_if_absent(
            NAMESPACE, link.tiktok_order_id, link.model_dump(mode="json")
        )
        return OrderLink.model_validate(existing) if existing else None

    async def save(self, link: OrderLink) -> None:
        await self._store.put(NAMESPACE, link.tiktok_order_id, link.model_dump(mode="json"))

    async def all(self) -> list[OrderLink]:
        return [OrderLink.model_validate(doc) for _, doc in await self._store.list(NAMESPACE)]

    async def note_direct_order(self, displayable_order_id: str, mcf_order_id: str) -> None:
        """Remember that a direct create names ``displayable_order_id`` (first one wins)."""
        await self._store.put_if_absent(
            DIRECT_NAMESPACE,
            displayable_order_id,
            {"displayable_order_id": displayable_order_id, "mcf_order_id": mcf_order_id},
        )

    async def direct_order(self, displayable_order_id: str) -> str | None:
        """The MCF order id a direct create recorded under ``displayable_order_id``, if any."""
        doc = await self._store.get(DIRECT_NAMESPACE, displayable_order_id)
        return str(doc["mcf_order_id"]) if doc else None

    async def refuse_second_order(
        self, *, displayable_order_id: str | None, seller_fulfillment_order_id: str | None
    ) -> None:
        """Raise Conflict when a direct create names a TikTok order that already has an MCF order.

        One TikTok order ships as one MCF order: ``fulfill_tiktok_order_with_mcf`` links them, and
        a later ``create_mcf_order`` whose displayable id or order id names that TikTok order (also
        as ``tts-<id>``) would otherwise ship the parcel twice.
        """
        candidates = [displayable_order_id, seller_fulfillment_order_id]
        if seller_fulfillment_order_id and seller_fulfillment_order_id.startswith(TIKTOK_PREFIX):
            candidates.append(seller_fulfillment_order_id.removeprefix(TIKTOK_PREFIX))
        for candidate in dict.fromkeys(c for c in candidates if c):
            link = await self.get(candidate)
            if link is None:
                continue
            raise Conflict(
                f"TikTok order {link.tiktok_order_id} is already fulfilled by MCF order"
                f" {link.mcf_order_id} ({link.status}); a second MCF order for it was refused",
                code="AlreadyFulfilled",
                hint=f"check it with get_mcf_order seller_fulfillment_order_id={link.mcf_order_id}."
                " To send a deliberate replacement parcel, use a distinct displayable_order_id"
                f" (e.g. {link.tiktok_order_id}-R1) and say why in comment",
            )


def now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


class PackageSummary(BaseModel):
    """One Amazon package of a linked MCF order."""

    package_number: int
    carrier: str | None = None
    tracking: str | None = None


class FulfillmentSummary(BaseModel):
    """The MCF side of a linked TikTok order, as stored and (when Amazon answered) as it is now."""

    mcf_order_id: str
    link_status: LinkStatus
    shipping_speed: str
    tracking_pushed_to_tiktok: list[str] = Field(default_factory=list)
    #: Why Amazon could not be asked; the stored part above is still true.
    mcf_error: str | None = None
    mcf_status: str | None = None
    #: None when Amazon was not asked (or failed), [] when it has no packages yet.
    packages: list[PackageSummary] | None = None

    def as_view(self) -> dict[str, Any]:
        """Plain data for a tool result: the fields Amazon did not answer are left out, not null."""
        view = self.model_dump(mode="json", exclude={"mcf_error", "mcf_status", "packages"})
        if self.mcf_error is not None:
            view["mcf_error"] = self.mcf_error
        if self.mcf_status is not None:
            view["mcf_status"] = self.mcf_status
        if self.packages is not None:
            view["packages"] = [p.model_dump(mode="json") for p in self.packages]
        return view


async def fulfillment_summary(
    links: LinkStore, amazon: AmazonMcfClient | None, tiktok_order_id: str
) -> FulfillmentSummary | None:
    """The MCF side of a linked TikTok order: its MCF order, status, packages and what was synced.

    Amazon being unreachable does not hide the link: the stored part is returned with the error.
    """
    link = await links.get(tiktok_order_id)
    if link is None:
        return None
    summary = FulfillmentSummary(
        mcf_order_id=link.mcf_order_id,
        link_status=link.status,
        shipping_speed=link.shipping_speed,
        tracking_pushed_to_tiktok=[m.tracking_number for m in link.marked.values()],
    )
    if amazon is None:
        return summary
    try:
        detail = await amazon.get_fulfillment_order(link.mcf_order_id)
    except CommerceError as exc:
        summary.mcf_error = exc.describe()
        return summary
    summary.mcf_status = detail.fulfillment_order.fulfillment_order_status
    summary.packages = [
        PackageSummary(
            package_number=p.package_number, carrier=p.carrier_code, tracking=p.tracking_number
        )
        for p in detail.packages
    ]
    return summary
