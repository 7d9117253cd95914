"""Cross-channel tools: ship TikTok Shop orders from FBA, sync tracking back, keep TikTok stock honest."""

from typing import Annotated, Any, Literal

from mcp.server import MCPServer
from mcp.server.mcpserver import Context, Elicit, Resolve
from mcp.types import CallToolResult
from pydantic import BaseModel, Field

from commerce_mcp.crosschannel import fulfill, inventory_sync, tracking_sync
from commerce_mcp.crosschannel.carriers import CarrierMap
from commerce_mcp.crosschannel.links import LinkStore
from commerce_mcp.crosschannel.skumap import SkuMap
from commerce_mcp.services import Services
from commerce_mcp.tools._common import ToolResult, respond, tool_boundary, write_annotations
from commerce_mcp.tools.amazon import ShippingSpeed, SpeedPreview, render_preview, summarize_preview
from commerce_mcp.tools.confirmation import (
    NOT_ASKED,
    Approval,
    ConfirmationBook,
    NotAsked,
    client_can_elicit,
)
from commerce_mcp.tools.inputs import refuse_unsafe_text

ShopArg = Annotated[
    str | None,
    Field(max_length=100, description="TikTok shop id or name; default the only/configured shop"),
]
TokenArg = Annotated[
    str | None,
    Field(
        max_length=256,
        description="Token from this tool's preview/plan. Omit it first; pass it back unchanged,"
        " with identical arguments, to execute.",
    ),
]
TikTokOrderId = Annotated[
    str,
    Field(min_length=1, max_length=40, pattern=r"^[0-9A-Za-z_-]+$", description="TikTok order id"),
]


class FulfillLine(BaseModel):
    amazon_sku: str
    tiktok_sku: str
    quantity: int


class FulfillOutcome(ToolResult):
    status: Literal[
        "preview", "created", "already_created", "not_fulfillable", "blocked", "declined"
    ]
    tiktok_order_id: str
    mcf_order_id: str
    message: str
    lines: list[FulfillLine] = Field(default_factory=list)
    ship_to: str | None = None
    preview: SpeedPreview | None = None
    confirmation_token: str | None = None
    token_expires_in_seconds: int | None = None


class PackageSync(BaseModel):
    tiktok_order_id: str
    mcf_order_id: str
    package_number: int
    tracking_number: str | None
    carrier: str | None
    action: str
    detail: str = ""


class TrackingSyncResult(ToolResult):
    marked: list[PackageSync]
    waiting: list[PackageSync]
    failed: list[PackageSync]
    unknown_orders: list[str] = Field(default_factory=list)


class InventoryRow(BaseModel):
    seller_sku: str
    tiktok_now: int
    fba_fulfillable: int
    tiktok_after: int


class InventorySyncResult(ToolResult):
    status: Literal["plan", "applied", "partial", "declined", "nothing_to_do"]
    changes: list[InventoryRow]
    unchanged: int
    unmapped: list[str] = Field(default_factory=list)
    not_in_fba: list[str] = Field(default_factory=list)
    updated: list[str] = Field(default_factory=list)
    failed: dict[str, str] = Field(default_factory=dict)
    confirmation_token: str | None = None
    token_expires_in_seconds: int | None = None
    message: str


def _outcome_lines(plan: fulfill.FulfillmentPlan) -> list[FulfillLine]:
    return [
        FulfillLine(amazon_sku=line.amazon_sku, tiktok_sku=line.tiktok_sku, quantity=line.quantity)
        for line in plan.lines
    ]


def _ship_to(plan: fulfill.FulfillmentPlan) -> str | None:
    a = plan.address
    return ", ".join(x for x in (a.city, a.state_or_region, a.country_code) if x) if a else None


def _package_rows(items: list[tracking_sync.PackageOutcome]) -> list[PackageSync]:
    return [PackageSync(**vars(item)) for item in items]


def register(server: MCPServer[Services], services: Services, book: ConfirmationBook) -> None:
    """Register the cross-channel tools; all of them write, so only when writes are enabled."""
    if not services.settings.writes_enabled:
        return

    async def links() -> LinkStore:
        return LinkStore(await services.store())

    def skumap() -> SkuMap:
        return SkuMap.parse(services.settings.commerce_mcp_sku_map)

    async def approve_fulfill(
        ctx: Context[Any, Any], order_id: TikTokOrderId, shipping_speed: ShippingSpeed = "Standard"
    ) -> Approval | Elicit[Approval]:
        if not client_can_elicit(ctx):
            return NOT_ASKED
        return Elicit(
            f"Ship TikTok Shop order {order_id} from Amazon FBA ({shipping_speed}) as an MCF order?"
            " Amazon charges fulfillment fees.",
            Approval,
        )

    @server.tool(
        name="fulfill_tiktok_order_with_mcf",
        title="Ship a TikTok order from FBA",
        annotations=write_annotations(idempotent=True),
    )
    @tool_boundary(services)
    async def fulfill_tiktok_order_with_mcf(
        order_id: TikTokOrderId,
        approval: Annotated[Approval, Resolve(approve_fulfill)],
        shipping_speed: ShippingSpeed = "Standard",
        shop: ShopArg = None,
        confirmation_token: TokenArg = None,
    ) -> Annotated[CallToolResult, FulfillOutcome]:
        """Fulfil one TikTok Shop order from Amazon FBA stock through Multi-Channel Fulfillment.

        First call (no confirmation_token): checks the order is AWAITING_SHIPMENT (not on hold, not
        already linked), maps each line's seller SKU to an Amazon SKU, and asks Amazon for a preview:
        fulfillable or not (naming short/unmapped SKUs), fees, ship and arrival dates. Nothing is created;
        you get a confirmation_token. Show the preview; if the person agrees, call again with the same
        arguments and the token to create the MCF order. The MCF order id is tts-<TikTok order id>, so
        repeating the call (even after a timeout) never creates a second order. Then: get_order shows the
        link; sync_mcf_tracking_to_tiktok pushes tracking once Amazon ships.
        """
        tiktok = await services.tiktok()
        amazon = await services.amazon()
        link_store = await links()
        the_shop = await tiktok.resolve_shop(shop)
        prepared = await fulfill.prepare(
            tiktok=tiktok,
            amazon=amazon,
            links=link_store,
            skumap=skumap(),
            shop=the_shop,
            order_id=order_id,
            speed=shipping_speed,
        )
        plan = prepared.plan
        base: dict[str, Any] = {
            "tiktok_order_id": order_id,
            "mcf_order_id": plan.mcf_order_id,
            "lines": _outcome_lines(plan),
            "ship_to": _ship_to(plan),
            "preview": summarize_preview(prepared.preview) if prepared.preview else None,
        }
        summary = (
            f"TikTok order {order_id} -> MCF {plan.mcf_order_id}: {fulfill.line_summary(plan)}"
        )
        if prepared.status == "already_created":
            link = prepared.link
            message = (
                f"Already fulfilled by MCF order {plan.mcf_order_id}"
                f" ({link.status if link else 'created'}); nothing new was created."
            )
            return respond(
                services,
                FulfillOutcome(status="already_created", message=message, **base),
                f"ALREADY LINKED. {message} Check it with get_mcf_order.",
            )
        if prepared.status in ("blocked", "not_fulfillable"):
            message = f"Not sent to Amazon: {prepared.reason}."
            text = f"{prepared.status.upper()}: {summary}\n{message}"
            if base["preview"] is not None:
                text += "\n" + render_preview(base["preview"])
            return respond(
                services, FulfillOutcome(status=prepared.status, message=message, **base), text
            )
        token_args = {"order_id": order_id, "shipping_speed": shipping_speed, "shop": the_shop.id}
        if isinstance(approval, NotAsked) and confirmation_token is None:
            token = book.issue("fulfill_tiktok_order_with_mcf", token_args)
            message = (
                "Preview only; nothing created. Call again with the same arguments and this"
                " confirmation_token to create the MCF order."
            )
            text = (
                f"PREVIEW: {summary}, ship to {base['ship_to']}\n"
                f"{render_preview(base['preview'])}\n"
                f"To create it: fulfill_tiktok_order_with_mcf order_id={order_id}"
                f" shipping_speed={shipping_speed} confirmation_token={token}"
            )
            return respond(
                services,
                FulfillOutcome(
                    status="preview",
                    message=message,
                    confirmation_token=token,
                    token_expires_in_seconds=int(book.ttl),
                    **base,
                ),
                text,
            )
        if isinstance(approval, NotAsked):
            await book.redeem("fulfill_tiktok_order_with_mcf", token_args, confirmation_token or "")
        elif not approval.approve:
            return respond(
                services,
                FulfillOutcome(status="declined", message="Not approved; nothing created.", **base),
                "Not approved; nothing created.",
            )
        done = await fulfill.execute(
            amazon=amazon, links=link_store, plan=plan, speed=shipping_speed
        )
        message = (
            f"MCF order {plan.mcf_order_id} {'created' if done.status == 'created' else 'already existed'}"
            " for this TikTok order."
        )
        return respond(
            services,
            FulfillOutcome(status=done.status, message=message, **base),
            f"{done.status.upper()}: {summary}. Next: sync_mcf_tracking_to_tiktok once Amazon ships.",
        )

    @server.tool(
        name="sync_mcf_tracking_to_tiktok",
        title="Push MCF tracking to TikTok",
        annotations=write_annotations(idempotent=True, destructive=False),
    )
    @tool_boundary(services)
    async def sync_mcf_tracking_to_tiktok(
        order_ids: Annotated[
            list[TikTokOrderId] | None,
            Field(
                max_length=100,
                description="Only these TikTok order ids (default: every linked order)",
            ),
        ] = None,
        shop: ShopArg = None,
    ) -> Annotated[CallToolResult, TrackingSyncResult]:
        """Mark TikTok Shop orders shipped with the tracking numbers of their MCF shipments.

        For every TikTok order fulfilled through fulfill_tiktok_order_with_mcf whose Amazon packages now
        have tracking numbers: maps Amazon's carrier to the shop's TikTok shipping provider and marks the
        line items in each package shipped. Safe to run any time and repeatedly: a package is never marked
        twice, a failure is reported and retried on the next run. Returns what was marked, what is still
        waiting for Amazon, and what failed (with the reason, e.g. an unknown carrier and the providers
        to choose from via COMMERCE_MCP_CARRIER_MAP).
        """
        refuse_unsafe_text(order_ids=order_ids)
        tiktok = await services.tiktok()
        amazon = await services.amazon()
        shops = await tiktok.list_shops()
        if shop is not None:
            shops = [await tiktok.resolve_shop(shop)]
        report = await tracking_sync.sync_tracking(
            tiktok=tiktok,
            amazon=amazon,
            links=await links(),
            carriers=CarrierMap.parse(services.settings.commerce_mcp_carrier_map),
            shops={s.id: s for s in shops},
            order_ids=order_ids,
        )
        result = TrackingSyncResult(
            marked=_package_rows(report.marked),
            waiting=_package_rows(report.waiting),
            failed=_package_rows(report.failed),
            unknown_orders=report.skipped,
        )
        lines = [
            f"marked {len(result.marked)}, waiting {len(result.waiting)}, failed {len(result.failed)}"
        ]
        lines += [
            f"  marked {p.tiktok_order_id}: {p.carrier} {p.tracking_number} {p.detail}"
            for p in result.marked
        ]
        lines += [f"  waiting {p.tiktok_order_id}: {p.detail}" for p in result.waiting[:20]]
        lines += [f"  FAILED {p.tiktok_order_id}: {p.detail}" for p in result.failed]
        if result.unknown_orders:
            lines.append(
                "  not linked to MCF (nothing to sync): " + ", ".join(result.unknown_orders)
            )
        return respond(services, result, "\n".join(lines))

    async def approve_inventory(
        ctx: Context[Any, Any],
        skus: list[str] | None = None,
        buffer: int = 0,
    ) -> Approval | Elicit[Approval]:
        if not client_can_elicit(ctx) or skus == []:
            return NOT_ASKED  # an empty list is refused by the tool; nothing to ask about
        scope = f"{len(skus)} SKU(s)" if skus else "every mapped SKU"
        return Elicit(f"Set TikTok stock to FBA fulfillable minus {buffer} for {scope}?", Approval)

    @server.tool(
        name="sync_inventory_to_tiktok",
        title="Sync FBA stock to TikTok",
        annotations=write_annotations(idempotent=True),
    )
    @tool_boundary(services)
    async def sync_inventory_to_tiktok(
        ctx: Context[Any, Any],
        approval: Annotated[Approval, Resolve(approve_inventory)],
        skus: Annotated[
            list[Annotated[str, Field(min_length=1, max_length=60)]] | None,
            Field(
                max_length=500,
                description="TikTok seller SKUs to sync; omit for every mapped SKU (an empty list"
                " is an error, never 'all')",
            ),
        ] = None,
        buffer: Annotated[
            int, Field(ge=0, le=1000, description="Units to hold back from each SKU")
        ] = 0,
        shop: ShopArg = None,
        confirmation_token: TokenArg = None,
    ) -> Annotated[CallToolResult, InventorySyncResult]:
        """Set TikTok Shop available stock to what Amazon FBA can ship (minus a safety buffer).

        First call (no confirmation_token): returns the plan, one row per SKU that would change (SKU,
        TikTok now, FBA fulfillable, TikTok after), plus unmapped SKUs and SKUs FBA does not stock (left
        alone), and a confirmation_token. Call again with the same arguments and the token to apply.
        Updates go product by product within rate limits, with progress; a partial failure lists exactly
        which SKUs were updated and which were not. Omit skus to plan every mapped SKU; an empty
        list is refused (it usually means a filter matched nothing), so list the SKUs or leave the
        argument out. See get_inventory for the side-by-side view.
        """
        refuse_unsafe_text(skus=skus)
        inventory_sync.check_scope(skus)
        tiktok = await services.tiktok()
        amazon = await services.amazon()
        the_shop = await tiktok.resolve_shop(shop)
        plan = await inventory_sync.build_plan(
            tiktok=tiktok,
            amazon=amazon,
            shop=the_shop,
            skumap=skumap(),
            skus=skus,
            buffer=buffer,
        )
        rows = [
            InventoryRow(
                seller_sku=r.seller_sku,
                tiktok_now=r.tiktok_now,
                fba_fulfillable=r.fba_fulfillable,
                tiktok_after=r.tiktok_after,
            )
            for r in plan.changes
        ]
        common: dict[str, Any] = {
            "changes": rows,
            "unchanged": len(plan.rows) - len(rows),
            "unmapped": plan.unmapped,
            "not_in_fba": plan.not_in_fba,
        }
        table = [
            f"{r.seller_sku}: {r.tiktok_now} -> {r.tiktok_after} (FBA {r.fba_fulfillable})"
            for r in rows
        ]
        if not rows:
            return respond(
                services,
                InventorySyncResult(
                    status="nothing_to_do", message="TikTok already matches FBA.", **common
                ),
                f"Nothing to change; {common['unchanged']} SKU(s) already match FBA.",
            )
        token_args = {"skus": sorted(skus) if skus else None, "buffer": buffer, "shop": the_shop.id}
        if isinstance(approval, NotAsked) and confirmation_token is None:
            token = book.issue("sync_inventory_to_tiktok", token_args)
            text = "\n".join(
                [f"PLAN (nothing changed yet): {len(rows)} SKU(s) would change", *table[:200]]
                + ([f"... and {len(table) - 200} more"] if len(table) > 200 else [])
                + [f"To apply: call again with the same arguments and confirmation_token={token}"]
            )
            return respond(
                services,
                InventorySyncResult(
                    status="plan",
                    message="Plan only. Call again with this confirmation_token to apply it.",
                    confirmation_token=token,
                    token_expires_in_seconds=int(book.ttl),
                    **common,
                ),
                text,
            )
        if isinstance(approval, NotAsked):
            await book.redeem("sync_inventory_to_tiktok", token_args, confirmation_token or "")
        elif not approval.approve:
            return respond(
                services,
                InventorySyncResult(
                    status="declined", message="Not approved; nothing changed.", **common
                ),
                "Not approved; nothing changed.",
            )

        async def progress(done: float, total: float, message: str) -> None:
            await ctx.report_progress(done, total, message)

        report = await inventory_sync.apply_plan(
            tiktok=tiktok, shop=the_shop, plan=plan, progress=progress
        )
        status: Literal["applied", "partial"] = "partial" if report.failed else "applied"
        summary = [f"{status.upper()}: updated {len(report.updated)}, failed {len(report.failed)}"]
        summary += [f"  FAILED {sku}: {why}" for sku, why in report.failed.items()]
        if report.failed:
            summary.append("  Updated SKUs: " + (", ".join(report.updated) or "none"))
        return respond(
            services,
            InventorySyncResult(
                status=status,
                message=f"Updated {len(report.updated)} SKU(s); {len(report.failed)} failed.",
                updated=report.updated,
                failed=report.failed,
                **common,
            ),
            "\n".join(summary),
        )
