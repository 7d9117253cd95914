"""Cross-channel tools: ship TikTok Shop orders from FBA, sync tracking back, keep TikTok stock honest.

The rules live in :mod:`commerce_mcp.crosschannel`; each tool here checks its arguments, calls them and
renders what they decided. get_inventory, the read side of this toolset, is in ``tools.inventory``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any, Literal

from mcp.server.mcpserver import Context, Elicit, Resolve
from pydantic import Field

from commerce_mcp.crosschannel import fulfill, inventory_sync, tracking_sync
from commerce_mcp.crosschannel.carriers import CarrierMap
from commerce_mcp.crosschannel.links import LinkStore
from commerce_mcp.crosschannel.skumap import SkuMap
from commerce_mcp.progress import Progress, Stages, no_progress
from commerce_mcp.services import Services
from commerce_mcp.tools._common import Reply
from commerce_mcp.tools.amazon_views import ShippingSpeed, render_preview, summarize_preview
from commerce_mcp.tools.args import ConfirmationToken, ShopArg
from commerce_mcp.tools.confirmation import NOT_ASKED, Approval, WriteGate, ask
from commerce_mcp.tools.crosschannel_views import (
    FulfillLine,
    FulfillOutcome,
    InventoryRow,
    InventorySyncResult,
    PackageSync,
    TikTokOrderId,
    TrackingSyncResult,
)
from commerce_mcp.tools.inputs import refuse_unsafe_text
from commerce_mcp.tools.registry import ToolSpec, write_tool

# fulfill_tiktok_order_with_mcf ---------------------------------------------------------------------


async def ask_fulfill(
    ctx: Context[Any, Any], order_id: TikTokOrderId, shipping_speed: ShippingSpeed = "Standard"
) -> Approval | Elicit[Approval]:
    return ask(
        ctx,
        f"Ship TikTok Shop order {order_id} from Amazon FBA ({shipping_speed}) as an MCF order?"
        " Amazon charges fulfillment fees.",
    )


async def fulfill_tiktok_order_with_mcf(
    services: Services,
    gate: WriteGate,
    order_id: TikTokOrderId,
    shipping_speed: ShippingSpeed = "Standard",
    shop: ShopArg = None,
    confirmation_token: ConfirmationToken = None,
    approval: Annotated[Approval, Resolve(ask_fulfill)] = NOT_ASKED,
) -> Reply[FulfillOutcome]:
    """Fulfil one TikTok Shop order (AWAITING_SHIPMENT) from Amazon FBA stock through MCF.

    Without confirmation_token: maps SKUs and previews fees and dates, creating nothing; if
    the person agrees, call again with identical arguments and the token. A repeat never
    creates a second order. Next: sync_mcf_tracking_to_tiktok once Amazon ships.
    """
    tiktok = await services.tiktok()
    amazon = await services.amazon()
    links = LinkStore(await services.store())
    the_shop = await tiktok.resolve_shop(shop)
    prepared = await fulfill.prepare(
        tiktok=tiktok,
        amazon=amazon,
        links=links,
        skumap=SkuMap.parse(services.settings.commerce_mcp_sku_map),
        shop=the_shop,
        order_id=order_id,
        speed=shipping_speed,
        # A call confirming the preview the person saw does not ask Amazon for it again.
        preview=not gate.confirming(approval, confirmation_token),
    )
    early = _settled(prepared)
    if early is not None:
        return early
    plan, base = prepared.plan, _base(prepared)
    summary = f"TikTok order {order_id} -> MCF {plan.mcf_order_id}: {fulfill.line_summary(plan)}"

    async def preview(issue: Callable[[], str]) -> Reply[FulfillOutcome]:
        token = issue()
        text = (
            f"PREVIEW: {summary}, ship to {base['ship_to']}\n"
            f"{render_preview(base['preview'])}\n"
            f"To create it: fulfill_tiktok_order_with_mcf order_id={order_id}"
            f" shipping_speed={shipping_speed} confirmation_token={token}"
        )
        message = (
            "Preview only; nothing created. Call again with the same arguments and this"
            " confirmation_token to create the MCF order."
        )
        outcome = FulfillOutcome(
            status="preview",
            message=message,
            confirmation_token=token,
            token_expires_in_seconds=gate.ttl,
            **base,
        )
        return Reply(outcome, text)

    async def execute() -> Reply[FulfillOutcome]:
        done = await fulfill.execute(
            amazon=amazon, links=links, plan=plan, speed=shipping_speed, now=services.clock.wall()
        )
        created = "created" if done.status == "created" else "already existed"
        message = f"MCF order {plan.mcf_order_id} {created} for this TikTok order."
        text = f"{done.status.upper()}: {summary}. Next: sync_mcf_tracking_to_tiktok once Amazon ships."
        return Reply(FulfillOutcome(status=done.status, message=message, **base), text)

    declined = FulfillOutcome(status="declined", message="Not approved; nothing created.", **base)
    return await gate.run(
        bound={"order_id": order_id, "shipping_speed": shipping_speed, "shop": the_shop.id},
        approval=approval,
        token=confirmation_token,
        preview=preview,
        declined=lambda: Reply(declined, "Not approved; nothing created."),
        execute=execute,
    )


def _base(prepared: fulfill.FulfillResult) -> dict[str, Any]:
    """The fields every answer about this order carries."""
    plan = prepared.plan
    a = plan.address
    return {
        "tiktok_order_id": plan.order.id,
        "mcf_order_id": plan.mcf_order_id,
        "lines": [
            FulfillLine(amazon_sku=ln.amazon_sku, tiktok_sku=ln.tiktok_sku, quantity=ln.quantity)
            for ln in plan.lines
        ],
        "ship_to": ", ".join(x for x in (a.city, a.state_or_region, a.country_code) if x)
        if a
        else None,
        "preview": summarize_preview(prepared.preview) if prepared.preview else None,
    }


def _settled(prepared: fulfill.FulfillResult) -> Reply[FulfillOutcome] | None:
    """The answer when the order needs no confirmation: already linked, blocked, or not fulfillable."""
    plan, base = prepared.plan, _base(prepared)
    if prepared.status == "already_created":
        link = prepared.link
        message = (
            f"Already fulfilled by MCF order {plan.mcf_order_id}"
            f" ({link.status if link else 'created'}); nothing new was created."
        )
        return Reply(
            FulfillOutcome(status="already_created", message=message, **base),
            f"ALREADY LINKED. {message} Check it with get_mcf_order.",
        )
    if prepared.status in ("blocked", "not_fulfillable"):
        summary = (
            f"TikTok order {plan.order.id} -> MCF {plan.mcf_order_id}: {fulfill.line_summary(plan)}"
        )
        message = f"Not sent to Amazon: {prepared.reason}."
        text = f"{prepared.status.upper()}: {summary}\n{message}"
        if base["preview"] is not None:
            text += "\n" + render_preview(base["preview"])
        return Reply(FulfillOutcome(status=prepared.status, message=message, **base), text)
    return None


# sync_mcf_tracking_to_tiktok -----------------------------------------------------------------------


async def sync_mcf_tracking_to_tiktok(
    services: Services,
    order_ids: Annotated[
        list[TikTokOrderId] | None,
        Field(
            max_length=100,
            description="Only these TikTok orders; omit for every linked one",
        ),
    ] = None,
    shop: ShopArg = None,
    progress: Progress = no_progress,
) -> Reply[TrackingSyncResult]:
    """Mark TikTok orders shipped with the tracking numbers of their MCF shipments.

    Covers orders sent by fulfill_tiktok_order_with_mcf. Safe to repeat: a package is never
    marked twice; failures retry next run. Unknown carrier: set COMMERCE_MCP_CARRIER_MAP.
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
        links=LinkStore(await services.store()),
        carriers=CarrierMap.parse(services.settings.commerce_mcp_carrier_map),
        shops={s.id: s for s in shops},
        order_ids=order_ids,
        progress=progress,
    )
    result = TrackingSyncResult(
        marked=_package_rows(report.marked),
        waiting=_package_rows(report.waiting),
        failed=_package_rows(report.failed),
        pending=_package_rows(report.pending),
        unknown_orders=report.skipped,
    )
    lines = [
        f"marked {len(result.marked)}, waiting {len(result.waiting)}, failed {len(result.failed)}"
        + (f", pending {len(result.pending)}" if result.pending else "")
    ]
    lines += [
        f"  marked {p.tiktok_order_id}: {p.carrier} {p.tracking_number} {p.detail}"
        for p in result.marked
    ]
    lines += [f"  waiting {p.tiktok_order_id}: {p.detail}" for p in result.waiting[:20]]
    lines += [f"  FAILED {p.tiktok_order_id}: {p.detail}" for p in result.failed]
    lines += [f"  PENDING {p.tiktok_order_id}: {p.detail}" for p in result.pending]
    if result.unknown_orders:
        lines.append("  not linked to MCF (nothing to sync): " + ", ".join(result.unknown_orders))
    return Reply(result, "\n".join(lines))


def _package_rows(items: list[tracking_sync.PackageOutcome]) -> list[PackageSync]:
    return [PackageSync(**vars(item)) for item in items]


# sync_inventory_to_tiktok --------------------------------------------------------------------------


async def ask_inventory(
    ctx: Context[Any, Any], skus: list[str] | None = None, buffer: int = 0
) -> Approval | Elicit[Approval]:
    if skus == []:
        return NOT_ASKED  # an empty list is refused by the tool; nothing to ask about
    scope = f"{len(skus)} SKU(s)" if skus else "every mapped SKU"
    return ask(ctx, f"Set TikTok stock to FBA fulfillable minus {buffer} for {scope}?")


async def sync_inventory_to_tiktok(
    services: Services,
    gate: WriteGate,
    skus: Annotated[
        list[Annotated[str, Field(min_length=1, max_length=60)]] | None,
        Field(
            max_length=500,
            description="TikTok seller SKUs; omit for every mapped SKU (empty is refused)",
        ),
    ] = None,
    buffer: Annotated[int, Field(ge=0, le=1000, description="Units to hold back per SKU")] = 0,
    shop: ShopArg = None,
    confirmation_token: ConfirmationToken = None,
    approval: Annotated[Approval, Resolve(ask_inventory)] = NOT_ASKED,
    progress: Progress = no_progress,
) -> Reply[InventorySyncResult]:
    """Set TikTok Shop available stock to what Amazon FBA can ship (minus a buffer).

    Without confirmation_token: the plan per SKU and a token; call again with identical
    arguments and the token to apply (a partial failure lists what changed). Compare first:
    get_inventory.
    """
    refuse_unsafe_text(skus=skus)
    inventory_sync.check_scope(skus)
    tiktok = await services.tiktok()
    amazon = await services.amazon()
    the_shop = await tiktok.resolve_shop(shop)
    stages = Stages(progress)
    plan = await inventory_sync.build_plan(
        tiktok=tiktok,
        amazon=amazon,
        shop=the_shop,
        skumap=SkuMap.parse(services.settings.commerce_mcp_sku_map),
        skus=skus,
        buffer=buffer,
        progress=stages.report,
    )
    stages.next()
    common = _plan_fields(plan)
    if not common["changes"]:
        result = InventorySyncResult(
            status="nothing_to_do", message="TikTok already matches FBA.", **common
        )
        return Reply(result, f"Nothing to change; {common['unchanged']} SKU(s) already match FBA.")

    async def preview(issue: Callable[[], str]) -> Reply[InventorySyncResult]:
        return _plan_reply(common, issue(), gate.ttl)

    async def execute() -> Reply[InventorySyncResult]:
        report = await inventory_sync.apply_plan(
            tiktok=tiktok, shop=the_shop, plan=plan, clock=services.clock, progress=stages.report
        )
        return _applied_reply(report, common)

    declined = InventorySyncResult(
        status="declined", message="Not approved; nothing changed.", **common
    )
    return await gate.run(
        bound={"skus": sorted(skus) if skus else None, "buffer": buffer, "shop": the_shop.id},
        approval=approval,
        token=confirmation_token,
        preview=preview,
        declined=lambda: Reply(declined, "Not approved; nothing changed."),
        execute=execute,
    )


def _plan_fields(plan: inventory_sync.InventoryPlan) -> dict[str, Any]:
    """What every answer about this plan carries: the changing rows and what is left alone."""
    rows = [
        InventoryRow(
            seller_sku=r.seller_sku,
            tiktok_now=r.tiktok_now,
            fba_fulfillable=r.fba_fulfillable,
            tiktok_after=r.tiktok_after,
        )
        for r in plan.changes
    ]
    return {
        "changes": rows,
        "unchanged": len(plan.rows) - len(rows),
        "unmapped": plan.unmapped,
        "not_in_fba": plan.not_in_fba,
        "cannot_write": {r.seller_sku: r.unwritable for r in plan.changes if r.unwritable},
    }


def _plan_reply(common: dict[str, Any], token: str, ttl: int) -> Reply[InventorySyncResult]:
    rows: list[InventoryRow] = common["changes"]
    table = [
        f"{r.seller_sku}: {r.tiktok_now} -> {r.tiktok_after} (FBA {r.fba_fulfillable})"
        for r in rows
    ]
    text = "\n".join(
        [f"PLAN (nothing changed yet): {len(rows)} SKU(s) would change", *table[:200]]
        + ([f"... and {len(table) - 200} more"] if len(table) > 200 else [])
        + [f"  CANNOT WRITE {sku}: {why}" for sku, why in list(common["cannot_write"].items())[:50]]
        + [f"To apply: call again with the same arguments and confirmation_token={token}"]
    )
    result = InventorySyncResult(
        status="plan",
        message="Plan only. Call again with this confirmation_token to apply it.",
        confirmation_token=token,
        token_expires_in_seconds=ttl,
        **common,
    )
    return Reply(result, text)


def _applied_reply(
    report: inventory_sync.ApplyReport, common: dict[str, Any]
) -> Reply[InventorySyncResult]:
    incomplete = bool(report.failed or report.unknown)
    status: Literal["applied", "partial"] = "partial" if incomplete else "applied"
    head = f"{status.upper()}: updated {len(report.updated)}, failed {len(report.failed)}"
    lines = [head + (f", outcome unknown {len(report.unknown)}" if report.unknown else "")]
    if report.interrupted:
        lines.append(
            "  Interrupted (deadline or cancellation): no new writes started; writes in flight "
            f"had {inventory_sync.WRITE_GRACE:g} s to be answered"
        )
    lines += [f"  FAILED {sku}: {why}" for sku, why in report.failed.items()]
    if report.unknown:
        lines.append(
            f"  OUTCOME UNKNOWN {', '.join(report.unknown)}: sent, but TikTok had not answered "
            "when the call stopped; check them with get_inventory before syncing them again"
        )
    if incomplete:
        lines.append("  Updated SKUs: " + (", ".join(report.updated) or "none"))
    unknown = f", {len(report.unknown)} unknown" if report.unknown else ""
    result = InventorySyncResult(
        status=status,
        message=f"Updated {len(report.updated)} SKU(s); {len(report.failed)} failed{unknown}.",
        updated=report.updated,
        failed=report.failed,
        outcome_unknown=report.unknown,
        **common,
    )
    return Reply(result, "\n".join(lines))


TOOLS: tuple[ToolSpec, ...] = (
    write_tool(
        fulfill_tiktok_order_with_mcf,
        title="Ship a TikTok order from FBA",
        toolset="crosschannel",
        idempotent=True,
    ),
    write_tool(
        sync_mcf_tracking_to_tiktok,
        title="Push MCF tracking to TikTok",
        toolset="crosschannel",
        idempotent=True,
        destructive=False,
    ),
    write_tool(
        sync_inventory_to_tiktok,
        title="Sync FBA stock to TikTok",
        toolset="crosschannel",
        idempotent=True,
    ),
)
