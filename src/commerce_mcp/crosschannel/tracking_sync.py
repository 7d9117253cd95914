"""Push MCF tracking numbers back to TikTok Shop: each Amazon package marks its TikTok line items shipped.

Idempotent by construction: a package is recorded on the link only after TikTok accepted it, and a
package TikTok reports as already shipped is recorded rather than retried. A failure is reported and
left for the next sync.

A link still ``pending`` (its create was in flight when the process died, or the state store failed
right after Amazon took the order) is settled here too: Amazon is asked for the order, and if it has
it the link becomes ``created`` and syncs like any other; if not, the order is reported as pending
with what to do, never skipped in silence.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from commerce_mcp.crosschannel.carriers import CarrierMap
from commerce_mcp.crosschannel.links import LinkStore, MarkedPackage, OrderLink, now_iso
from commerce_mcp.errors import AlreadyShipped, CommerceError, StateStoreUnavailable
from commerce_mcp.progress import Progress
from commerce_mcp.tiktok.shipping import shipping_providers

if TYPE_CHECKING:
    from commerce_mcp.amazon.client import AmazonMcfClient
    from commerce_mcp.amazon.models import FulfillmentOrderDetail
    from commerce_mcp.tiktok.client import TikTokShopClient
    from commerce_mcp.tiktok.models import Order, Shop

log = logging.getLogger(__name__)

#: ``(done, total, message)``: how far a sync has got (the MCP tool forwards it as progress).


@dataclass
class PackageOutcome:
    tiktok_order_id: str
    mcf_order_id: str
    package_number: int
    tracking_number: str | None
    carrier: str | None
    action: str  # marked | already_marked | waiting | failed | pending
    detail: str = ""


@dataclass
class SyncReport:
    marked: list[PackageOutcome] = field(default_factory=list)
    waiting: list[PackageOutcome] = field(default_factory=list)
    failed: list[PackageOutcome] = field(default_factory=list)
    pending: list[PackageOutcome] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)


def assign_line_items(
    link: OrderLink, detail: FulfillmentOrderDetail, order: Order
) -> dict[int, list[str]]:
    """Which TikTok line item ids each Amazon package carries (split shipments per line)."""
    free: dict[str, list[str]] = {}
    for item in order.line_items:
        sku = link.line_items.get(item.id)
        already = any(item.id in m.line_item_ids for m in link.marked.values())
        if sku and not already:
            free.setdefault(sku, []).append(item.id)
    item_sku = {
        i.seller_fulfillment_order_item_id: i.seller_sku for i in detail.fulfillment_order_items
    }
    assigned: dict[int, list[str]] = {}
    for shipment in detail.fulfillment_shipments:
        for shipped in shipment.fulfillment_shipment_item:
            if shipped.package_number is None:
                continue
            sku = shipped.seller_sku or item_sku.get(shipped.seller_fulfillment_order_item_id)
            pool = free.get(sku or "", [])
            take, free[sku or ""] = pool[: shipped.quantity], pool[shipped.quantity :]
            assigned.setdefault(shipped.package_number, []).extend(take)
    return assigned


async def _providers(tiktok: TikTokShopClient, shop: Shop, order: Order) -> list[Any]:
    """Every carrier the shop ships this order with: Amazon, not the seller, picked the carrier."""
    return await shipping_providers(tiktok, shop, order, whole_warehouse=True)


async def sync_tracking(
    *,
    tiktok: TikTokShopClient,
    amazon: AmazonMcfClient,
    links: LinkStore,
    carriers: CarrierMap,
    shops: dict[str, Shop],
    order_ids: list[str] | None = None,
    progress: Progress | None = None,
) -> SyncReport:
    """Mark every newly shipped MCF package on its TikTok order; report what is still waiting.

    ``progress`` hears ``(orders done, orders in total, message)`` after each linked order.
    """
    report = SyncReport()
    candidates = await links.all()
    if order_ids is not None:
        wanted = set(order_ids)
        candidates = [link for link in candidates if link.tiktok_order_id in wanted]
        report.skipped = sorted(wanted - {link.tiktok_order_id for link in candidates})
    sync = _LinkSync(tiktok, amazon, links, carriers, shops, report)
    for done, link in enumerate(candidates, start=1):
        await sync.one(link)
        if progress is not None:
            await progress(done, len(candidates), f"checked {done} of {len(candidates)} order(s)")
    return report


@dataclass
class _LinkSync:
    """One sync run's clients and report; :meth:`one` brings one linked order up to date."""

    tiktok: TikTokShopClient
    amazon: AmazonMcfClient
    links: LinkStore
    carriers: CarrierMap
    shops: dict[str, Shop]
    report: SyncReport

    async def one(self, link: OrderLink) -> None:
        tiktok, report = self.tiktok, self.report
        if link.shop_id not in self.shops:
            return
        shop = self.shops[link.shop_id]
        try:
            detail = await self._detail(link)
            if detail is None:
                return
            orders = await tiktok.get_orders(shop, [link.tiktok_order_id])
        except CommerceError as exc:
            report.failed.append(
                PackageOutcome(
                    link.tiktok_order_id, link.mcf_order_id, 0, None, None, "failed", exc.describe()
                )
            )
            return
        if not orders:
            return
        order = orders[0]
        await self._sync_packages(link, shop, order, detail)

    async def _detail(self, link: OrderLink) -> FulfillmentOrderDetail | None:
        """The MCF order of ``link``; for a pending link, None (and reported) unless Amazon has it."""
        if link.status != "pending":
            return await self.amazon.get_fulfillment_order(link.mcf_order_id)
        detail = await self.amazon.existing_order(link.mcf_order_id)
        if detail is None:
            self.report.pending.append(
                PackageOutcome(
                    link.tiktok_order_id,
                    link.mcf_order_id,
                    0,
                    None,
                    None,
                    "pending",
                    f"Amazon has no MCF order {link.mcf_order_id}: re-run "
                    f"fulfill_tiktok_order_with_mcf for {link.tiktok_order_id}",
                )
            )
            return None
        # Amazon took the order but the link was never marked created (see fulfill.execute).
        link.status = "created"
        await self._save(link)
        return detail

    async def _sync_packages(
        self, link: OrderLink, shop: Shop, order: Order, detail: FulfillmentOrderDetail
    ) -> None:
        tiktok, report = self.tiktok, self.report
        assignment = assign_line_items(link, detail, order)
        packages = detail.packages
        if not packages:
            report.waiting.append(
                PackageOutcome(
                    link.tiktok_order_id,
                    link.mcf_order_id,
                    0,
                    None,
                    None,
                    "waiting",
                    f"MCF status {detail.fulfillment_order.fulfillment_order_status}",
                )
            )
            return
        providers = None
        for package in packages:
            key = str(package.package_number)
            outcome = PackageOutcome(
                link.tiktok_order_id,
                link.mcf_order_id,
                package.package_number,
                package.tracking_number,
                package.carrier_code,
                "waiting",
            )
            if key in link.marked:
                continue
            if not package.tracking_number:
                outcome.detail = "no tracking number yet"
                report.waiting.append(outcome)
                continue
            line_ids = assignment.get(package.package_number, [])
            try:
                if providers is None:
                    providers = await _providers(tiktok, shop, order)
                provider = self.carriers.resolve(package.carrier_code, providers)
                try:
                    shipped = await tiktok.mark_package_shipped(
                        shop,
                        order_id=order.id,
                        tracking_number=package.tracking_number,
                        shipping_provider_id=provider.id,
                        order_line_item_ids=line_ids or None,
                    )
                    outcome.action, package_id = "marked", shipped.package_id
                except AlreadyShipped:
                    outcome.action, package_id = "already_marked", None
                outcome.detail = f"as {provider.name}"
                link.marked[key] = MarkedPackage(
                    tracking_number=package.tracking_number,
                    carrier=package.carrier_code,
                    provider=provider.name,
                    tiktok_package_id=package_id,
                    line_item_ids=line_ids,
                    marked_at=now_iso(),
                )
                report.marked.append(outcome)
            except CommerceError as exc:
                outcome.action, outcome.detail = "failed", exc.describe()
                link.last_error = outcome.detail
                report.failed.append(outcome)
        if packages and all(str(p.package_number) in link.marked for p in packages):
            link.status = "shipped"
        await self._save(link)

    async def _save(self, link: OrderLink) -> None:
        try:
            await self.links.save(link)
        except StateStoreUnavailable as exc:
            # What happened is in the report; the next sync finds it again at the platforms.
            log.warning("tracking sync: link %s not saved: %s", link.tiktok_order_id, exc.message)
