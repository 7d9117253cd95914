"""Typed views of TikTok Shop responses.

Parsing is lenient on purpose: the platform adds fields every version, so unknown fields are ignored and
almost everything is optional. IDs stay strings (they exceed 2**53, and some samples send them as
numbers), money is ``Decimal`` (never float), epoch times are ``int`` and analytics dates stay
``YYYY-MM-DD`` strings in the shop's timezone.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated, Any, Generic, TypeVar

from pydantic import BaseModel, ConfigDict, Field, GetCoreSchemaHandler, field_validator
from pydantic_core import CoreSchema, core_schema

T = TypeVar("T")


class TikTokModel(BaseModel):
    """Base for every response model: extra fields ignored, numbers accepted where strings live."""

    model_config = ConfigDict(extra="ignore", coerce_numbers_to_str=True, populate_by_name=True)


def _blank_to_none(value: object) -> object:
    return None if isinstance(value, str) and not value.strip() else value


class _BlankIsNone:
    """Annotated marker: a blank string the annotated type refuses validates to None instead.

    TikTok sends ``""`` for an absent amount. Done in pydantic-core rather than with a Python
    ``mode="before"`` validator, which ran ~11 times per order and cost a tenth of parsing one; the
    type is tried first, so the common case pays nothing. Blank means what ``str.strip()``
    removes: Unicode White_Space plus U+001C-U+001F, which Python counts as space and the regex
    engine does not.
    """

    @classmethod
    def __get_pydantic_core_schema__(cls, source: Any, handler: GetCoreSchemaHandler) -> CoreSchema:
        blank = core_schema.no_info_after_validator_function(
            lambda _: None,
            core_schema.str_schema(pattern=r"^[\s\x1c-\x1f]*$", strict=True),
        )
        return core_schema.union_schema([handler(source), blank], mode="left_to_right")


#: An optional amount of money; a blank string means none.
Amount = Annotated[Decimal | None, _BlankIsNone]


class Money(TikTokModel):
    amount: Amount = None
    currency: str | None = None


class Page(TikTokModel, Generic[T]):
    """One page of a cursor-paged list; ``next_page_token`` is None on the last page."""

    items: list[T] = Field(default_factory=list)
    next_page_token: str | None = None
    total_count: int | None = None
    latest_available_date: str | None = None

    @field_validator("next_page_token", mode="before")
    @classmethod
    def _empty_is_last(cls, value: object) -> object:
        return _blank_to_none(value)


# ------------------------------------------------------------------------------------ shops, tokens


class Shop(TikTokModel):
    """An authorized shop; ``cipher`` goes in ``shop_cipher`` on every shop-scoped call."""

    id: str
    name: str = ""
    region: str | None = None
    seller_type: str | None = None
    cipher: str = Field(default="", repr=False)
    code: str | None = None


class TokenGrant(TikTokModel):
    """The ``data`` of ``/api/v2/token/get`` and ``/api/v2/token/refresh``."""

    access_token: str = Field(repr=False)
    access_token_expire_in: int
    refresh_token: str = Field(repr=False)
    refresh_token_expire_in: int | None = None
    open_id: str | None = None
    seller_name: str | None = None
    seller_base_region: str | None = None
    user_type: int | None = None
    granted_scopes: list[str] = Field(default_factory=list)


# ------------------------------------------------------------------------------------ products


class Price(TikTokModel):
    currency: str | None = None
    sale_price: Amount = None
    tax_exclusive_price: Amount = None


class WarehouseQuantity(TikTokModel):
    warehouse_id: str
    quantity: int | None = None


class SalesAttribute(TikTokModel):
    id: str | None = None
    name: str | None = None
    value_id: str | None = None
    value_name: str | None = None


class ProductSku(TikTokModel):
    id: str
    seller_sku: str | None = None
    price: Price | None = None
    inventory: list[WarehouseQuantity] = Field(default_factory=list)
    sales_attributes: list[SalesAttribute] = Field(default_factory=list)


class Audit(TikTokModel):
    status: str | None = None


class Image(TikTokModel):
    uri: str | None = None
    urls: list[str] = Field(default_factory=list)
    width: int | None = None
    height: int | None = None


class Brand(TikTokModel):
    id: str | None = None
    name: str | None = None


class Category(TikTokModel):
    id: str | None = None
    local_name: str | None = None
    is_leaf: bool | None = None


class Product(TikTokModel):
    """A product from search (summary) or detail (with description, images, brand...)."""

    id: str
    title: str = ""
    status: str | None = None
    product_status: str | None = None
    create_time: int | None = None
    update_time: int | None = None
    sales_regions: list[str] = Field(default_factory=list)
    audit: Audit | None = None
    skus: list[ProductSku] = Field(default_factory=list)
    description: str | None = None
    brand: Brand | None = None
    category_chains: list[Category] = Field(default_factory=list)
    main_images: list[Image] = Field(default_factory=list)


class WarehouseInventory(TikTokModel):
    warehouse_id: str
    available_quantity: int = 0
    committed_quantity: int = 0


class InventorySku(TikTokModel):
    id: str
    seller_sku: str | None = None
    total_available_quantity: int = 0
    total_committed_quantity: int = 0
    warehouse_inventory: list[WarehouseInventory] = Field(default_factory=list)


class ProductInventory(TikTokModel):
    product_id: str
    skus: list[InventorySku] = Field(default_factory=list)


#: Update Inventory's documented quantity range, per warehouse: [1, 99,999].
MIN_STOCK_QUANTITY = 1
MAX_STOCK_QUANTITY = 99_999


class InventoryLevel(BaseModel):
    """One warehouse's new available quantity, as sent in an inventory update.

    0 is representable so a caller can plan it, but the endpoint accepts only 1-99,999 and the
    client refuses 0 with an explanation (client.check_stock_levels) rather than send it.
    """

    warehouse_id: str
    quantity: int = Field(ge=0, le=99_999)


class SkuInventoryUpdate(BaseModel):
    """A SKU's new stock; must name every warehouse the SKU is stocked in."""

    sku_id: str
    inventory: list[InventoryLevel] = Field(min_length=1)


class InventoryUpdateResult(TikTokModel):
    product_id: str
    sku_ids: list[str]


class ExtraError(TikTokModel):
    code: int | None = None
    message: str | None = None
    warehouse_id: str | None = None


class SkuErrorDetail(TikTokModel):
    sku_id: str | None = None
    extra_errors: list[ExtraError] = Field(default_factory=list)


class ItemError(TikTokModel):
    """A per-item failure reported inside a ``code: 0`` response."""

    code: int | None = None
    message: str | None = None
    detail: SkuErrorDetail | None = None


# ------------------------------------------------------------------------------------ orders


class Payment(TikTokModel):
    currency: str | None = None
    sub_total: Amount = None
    shipping_fee: Amount = None
    seller_discount: Amount = None
    platform_discount: Amount = None
    tax: Amount = None
    total_amount: Amount = None
    original_total_product_price: Amount = None
    original_shipping_fee: Amount = None


class DistrictInfo(TikTokModel):
    address_level_name: str | None = None
    address_name: str | None = None
    address_level: str | None = None


class RecipientAddress(TikTokModel):
    name: str | None = None
    first_name: str | None = None
    last_name: str | None = None
    phone_number: str | None = None
    full_address: str | None = None
    address_line1: str | None = None
    address_line2: str | None = None
    address_line3: str | None = None
    address_line4: str | None = None
    address_detail: str | None = None
    postal_code: str | None = None
    region_code: str | None = None
    post_town: str | None = None
    district_info: list[DistrictInfo] = Field(default_factory=list)

    def district(self, level_name: str) -> str | None:
        """The named level of ``district_info`` (``State``, ``City``, ...), if present."""
        for entry in self.district_info:
            if (entry.address_level_name or "").lower() == level_name.lower():
                return entry.address_name
        return None


class LineItem(TikTokModel):
    """One unit of one SKU (TikTok lists a quantity of 2 as two line items)."""

    id: str
    sku_id: str | None = None
    product_id: str | None = None
    product_name: str | None = None
    sku_name: str | None = None
    seller_sku: str | None = None
    sale_price: Amount = None
    original_price: Amount = None
    currency: str | None = None
    display_status: str | None = None
    package_id: str | None = None
    package_status: str | None = None
    tracking_number: str | None = None
    shipping_provider_id: str | None = None
    shipping_provider_name: str | None = None
    is_gift: bool | None = None


class PackageRef(TikTokModel):
    id: str


class Order(TikTokModel):
    """An order. Note the state field is ``status`` (not ``order_status``)."""

    id: str
    status: str | None = None
    create_time: int | None = None
    update_time: int | None = None
    paid_time: int | None = None
    user_id: str | None = None
    buyer_email: str | None = None
    buyer_message: str | None = None
    seller_note: str | None = None
    payment: Payment | None = None
    recipient_address: RecipientAddress | None = None
    line_items: list[LineItem] = Field(default_factory=list)
    packages: list[PackageRef] = Field(default_factory=list)
    tracking_number: str | None = None
    shipping_provider: str | None = None
    shipping_provider_id: str | None = None
    fulfillment_type: str | None = None
    shipping_type: str | None = None
    delivery_type: str | None = None
    delivery_option_id: str | None = None
    delivery_option_name: str | None = None
    warehouse_id: str | None = None
    is_on_hold_order: bool | None = None
    is_sample_order: bool | None = None
    is_buyer_request_cancel: bool | None = None
    cancel_reason: str | None = None
    rts_sla_time: int | None = None
    tts_sla_time: int | None = None


# ------------------------------------------------------------------------------------ after-sales


class RefundAmount(TikTokModel):
    currency: str | None = None
    refund_total: Amount = None
    refund_subtotal: Amount = None
    refund_shipping_fee: Amount = None
    refund_tax: Amount = None


class AfterSaleLineItem(TikTokModel):
    order_line_item_id: str | None = None
    sku_id: str | None = None
    seller_sku: str | None = None
    product_name: str | None = None
    sku_name: str | None = None
    refund_amount: RefundAmount | None = None


class ReturnRecord(TikTokModel):
    return_id: str
    order_id: str | None = None
    return_type: str | None = None
    return_status: str | None = None
    arbitration_status: str | None = None
    return_reason: str | None = None
    return_reason_text: str | None = None
    return_tracking_number: str | None = None
    return_provider_name: str | None = None
    refund_amount: RefundAmount | None = None
    return_line_items: list[AfterSaleLineItem] = Field(default_factory=list)
    create_time: int | None = None
    update_time: int | None = None


class Cancellation(TikTokModel):
    cancel_id: str
    order_id: str | None = None
    cancel_type: str | None = None
    cancel_status: str | None = None
    role: str | None = None
    cancel_reason: str | None = None
    cancel_reason_text: str | None = None
    refund_amount: RefundAmount | None = None
    cancel_line_items: list[AfterSaleLineItem] = Field(default_factory=list)
    create_time: int | None = None
    update_time: int | None = None


# ------------------------------------------------------------------------------------ fulfillment


class WarehouseAddress(TikTokModel):
    region: str | None = None
    state: str | None = None
    city: str | None = None
    postal_code: str | None = None
    full_address: str | None = None
    region_code: str | None = None


class Warehouse(TikTokModel):
    id: str
    name: str | None = None
    effect_status: str | None = None
    type: str | None = None
    sub_type: str | None = None
    is_default: bool | None = None
    address: WarehouseAddress | None = None


class DeliveryOption(TikTokModel):
    id: str
    name: str | None = None
    type: str | None = None
    description: str | None = None
    platform: list[str] = Field(default_factory=list)


class ShippingProvider(TikTokModel):
    id: str
    name: str


class ShipWarning(TikTokModel):
    message: str | None = None


class ShippedPackage(TikTokModel):
    """What mark-as-shipped returns."""

    order_id: str | None = None
    package_id: str | None = None
    order_line_item_ids: list[str] = Field(default_factory=list)
    warning: ShipWarning | None = None


class TrackingEvent(TikTokModel):
    description: str | None = None
    update_time_millis: int | None = None


# ------------------------------------------------------------------------------------ analytics


class Breakdown(TikTokModel):
    type: str | None = None
    amount: Decimal | None = None
    currency: str | None = None


class PerformanceInterval(TikTokModel):
    """One interval of a performance series; which metrics are present depends on the endpoint."""

    start_date: str | None = None
    end_date: str | None = None
    gmv: Money | None = None
    gmv_breakdowns: list[Breakdown] = Field(default_factory=list)
    orders: int | None = None
    sku_orders: int | None = None
    units_sold: int | None = None
    buyers: int | None = None
    customers: int | None = None
    avg_order_value: Money | None = None
    product_impressions: int | None = None
    product_page_views: int | None = None
    avg_product_page_visitors: int | None = None
    impressions: int | None = None
    page_views: int | None = None
    avg_page_visitors: int | None = None
    views: int | None = None
    refunds: Money | None = None
    cancellations_and_returns: int | None = None
    click_through_rate: str | None = None
    click_to_order_rate: str | None = None
    daily_avg_buyers: str | None = None


class Performance(TikTokModel):
    intervals: list[PerformanceInterval] = Field(default_factory=list)
    comparison_intervals: list[PerformanceInterval] = Field(default_factory=list)
    video_post_time: str | None = None


class EngagementData(TikTokModel):
    total_likes: int | None = None
    total_shares: int | None = None
    total_comments: int | None = None
    total_views: int | None = None


class PerformanceReport(TikTokModel):
    performance: Performance = Field(default_factory=Performance)
    latest_available_date: str | None = None
    engagement_data: EngagementData | None = None


class ProductPerformance(TikTokModel):
    id: str
    gmv: Money | None = None
    orders: int | None = None
    units_sold: int | None = None
    click_through_rate: str | None = None


class SkuPerformance(TikTokModel):
    id: str
    product_id: str | None = None
    gmv: Money | None = None
    sku_orders: int | None = None
    units_sold: int | None = None


class VideoProduct(TikTokModel):
    id: str
    name: str | None = None


class VideoPerformance(TikTokModel):
    id: str
    title: str | None = None
    username: str | None = None
    gmv: Money | None = None
    sku_orders: int | None = None
    units_sold: int | None = None
    views: int | None = None
    click_through_rate: str | None = None
    products: list[VideoProduct] = Field(default_factory=list)
    video_post_time: str | None = None


class VideoProductPerformance(TikTokModel):
    id: str
    name: str | None = None
    gmv: Money | None = None
    units_sold: int | None = None
    daily_avg_buyers: str | None = None


class LiveSales(TikTokModel):
    gmv: Money | None = None
    sku_orders: int | None = None
    unit_sold: int | None = None
    customers: int | None = None
    products_added: int | None = None
    different_products_sold: int | None = None
    avg_price: Money | None = None
    click_to_order_rate: str | None = None
    gmv_24h: Money | None = Field(default=None, alias="24h_live_gmv")


class LiveInteraction(TikTokModel):
    acu: int | None = None
    pcu: int | None = None
    viewers: int | None = None
    views: int | None = None
    likes: int | None = None
    comments: int | None = None
    shares: int | None = None
    new_followers: int | None = None
    product_impressions: int | None = None
    product_clicks: int | None = None
    click_through_rate: str | None = None


class LiveSession(TikTokModel):
    id: str
    title: str | None = None
    username: str | None = None
    start_time: int | None = None
    end_time: int | None = None
    sales_performance: LiveSales | None = None
    interaction_performance: LiveInteraction | None = None
