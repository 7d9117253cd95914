"""``get_connection_status``: what is configured, live or sandbox, and exactly what to set next."""

from __future__ import annotations

import asyncio
from typing import Annotated, Literal

from pydantic import BaseModel, Field

from commerce_mcp.config import TOOLSETS
from commerce_mcp.errors import CommerceError
from commerce_mcp.readiness import TIKTOK_TOKEN_SETTING
from commerce_mcp.services import Services
from commerce_mcp.tools._common import Reply, ToolResult
from commerce_mcp.tools.registry import ToolSpec, read_tool

#: A status check must stay snappy even when a platform is slow.
STATUS_PROBE_SECONDS = 8.0


class ChannelStatus(BaseModel):
    channel: Literal["tiktok", "amazon"]
    configured: bool = Field(description="All credentials needed for API calls are available.")
    readiness: Literal["ready", "ready_via_stored_tokens", "missing_settings"] = Field(
        description="Where the credentials come from: env settings, tokens saved by "
        "`commerce-mcp tiktok authorize`, or missing."
    )
    missing: list[str] = Field(default_factory=list, description="Env vars still to set.")
    mode: Literal["live", "sandbox", "amazon-sandbox"]
    account: str | None = Field(default=None, description="Seller id / default shop.")
    marketplace: str | None = None
    shops: list[str] = Field(default_factory=list, description="Authorized shops: 'name (id)'.")
    error: str | None = Field(default=None, description="Why the live check failed, if it did.")


class ConfigIssue(BaseModel):
    variable: str
    message: str


class ConnectionStatus(ToolResult):
    mode: Literal["live", "sandbox"]
    writes_enabled: bool
    writes_decided_by: str = Field(default="", description="The setting that turned writes on/off.")
    toolsets: list[str]
    channels: list[ChannelStatus]
    config_problems: list[ConfigIssue] = Field(default_factory=list)
    next_steps: list[str] = Field(default_factory=list)


async def get_connection_status(
    services: Services,
    check_shops: Annotated[
        bool,
        Field(description="Also ask TikTok which shops are authorized (one call)"),
    ] = True,
) -> Reply[ConnectionStatus]:
    """Show which channels are connected and what is missing.

    TikTok Shop and Amazon: configured or not (the env vars to set), live or sandbox, account,
    shops, writes on or off. Call it first, or when a tool says a channel is not configured.
    Next: list_tiktok_orders, get_inventory.
    """
    status = await build_status(services, check_shops=check_shops)
    return Reply(status, render_status(status))


async def build_status(services: Services, *, check_shops: bool) -> ConnectionStatus:
    """Assemble the status; a failing probe is reported in the result, never raised."""
    await services.ensure_sandbox()
    settings = services.settings
    tiktok_ready = await services.readiness("tiktok")
    amazon_ready = await services.readiness("amazon")
    tiktok = ChannelStatus(
        channel="tiktok",
        configured=tiktok_ready.ready,
        readiness=tiktok_ready.state.value,
        missing=list(tiktok_ready.missing),
        mode="sandbox" if settings.sandbox else "live",
        account=settings.tiktok_shop_id,
        error=tiktok_ready.note,
    )
    amazon = ChannelStatus(
        channel="amazon",
        configured=amazon_ready.ready,
        readiness=amazon_ready.state.value,
        missing=list(amazon_ready.missing),
        mode="sandbox"
        if settings.sandbox
        else ("amazon-sandbox" if settings.amazon_sp_api_sandbox else "live"),
        account=settings.amazon_seller_id,
        marketplace=f"{settings.marketplace_id} ({settings.amazon_sp_api_region.upper()})",
    )
    if check_shops and tiktok.configured:
        try:
            client = await services.tiktok()
            shops = await asyncio.wait_for(client.list_shops(), STATUS_PROBE_SECONDS)
            tiktok.shops = [f"{shop.name} ({shop.id})" for shop in shops]
        except (CommerceError, TimeoutError) as exc:
            tiktok.error = str(exc) or "timed out"
    next_steps = []
    for channel in (tiktok, amazon):
        if channel.missing:
            step = f"{channel.channel}: set {', '.join(channel.missing)}"
            if channel.channel == "tiktok" and TIKTOK_TOKEN_SETTING in channel.missing:
                step += " (or run `commerce-mcp tiktok authorize` to save the seller's tokens)"
            next_steps.append(step)
    if not settings.writes_enabled:
        next_steps.append(
            "writes are off: set COMMERCE_MCP_ALLOW_WRITES=true to enable shipping, inventory"
            " updates and MCF orders (each still previews and asks for confirmation)"
        )
    if settings.unknown_toolsets:
        next_steps.append(
            f"COMMERCE_MCP_TOOLSETS has unknown names {settings.unknown_toolsets};"
            f" valid: {', '.join(TOOLSETS)}"
        )
    problems = [ConfigIssue(variable=p.variable, message=p.message) for p in services.problems]
    next_steps.extend(f"fix {p.variable}: {p.message} (using the default)" for p in problems)
    return ConnectionStatus(
        mode="sandbox" if settings.sandbox else "live",
        writes_enabled=settings.writes_enabled,
        writes_decided_by=settings.writes_decided_by,
        toolsets=sorted(settings.toolsets),
        channels=[tiktok, amazon],
        config_problems=problems,
        next_steps=next_steps,
    )


def render_status(status: ConnectionStatus) -> str:
    lines = [
        f"mode: {status.mode}; writes: {'enabled' if status.writes_enabled else 'disabled'}"
        f" ({status.writes_decided_by});"
        f" toolsets: {','.join(status.toolsets) or 'none'}"
    ]
    for ch in status.channels:
        if not ch.configured:
            state = f"NOT configured (missing {', '.join(ch.missing)})"
        elif ch.readiness == "ready_via_stored_tokens":
            state = "configured (saved seller tokens)"
        else:
            state = "configured"
        parts = [f"{ch.channel}: {state}", f"mode {ch.mode}"]
        if ch.account:
            parts.append(f"account {ch.account}")
        if ch.marketplace:
            parts.append(f"marketplace {ch.marketplace}")
        if ch.shops:
            parts.append(f"shops {'; '.join(ch.shops)}")
        if ch.error:
            parts.append(f"check failed: {ch.error}")
        lines.append(" | ".join(parts))
    lines.extend(f"next: {step}" for step in status.next_steps)
    return "\n".join(lines)


TOOLS: tuple[ToolSpec, ...] = (
    read_tool(get_connection_status, title="Connection status", toolset=None),
)
