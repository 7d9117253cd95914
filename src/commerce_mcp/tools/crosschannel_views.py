"""Arguments and result models of the cross-channel tools (no MCP, no HTTP: pure shapes)."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, Field

from commerce_mcp.tools._common import ToolResult
from commerce_mcp.tools.amazon_views import SpeedPreview

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
    #: Linked orders whose MCF create never settled and that Amazon does not have.
    pending: list[PackageSync] = Field(default_factory=list)
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
    outcome_unknown: list[str] = Field(
        default_factory=list,
        description="SKUs sent but unanswered when the call was interrupted; check with "
        "get_inventory",
    )
    cannot_write: dict[str, str] = Field(
        default_factory=dict,
        description="SKUs TikTok cannot be set to their FBA level, with why; they are not sent",
    )
    confirmation_token: str | None = None
    token_expires_in_seconds: int | None = None
    message: str
