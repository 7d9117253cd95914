"""Typed models for FBA Outbound 2020-07-01 (MCF) and FBA Inventory v1.

Field names follow Amazon's definitions: snake_case in Python, camelCase on the wire. Two regimes:

* **Requests** are validated strictly before anything is sent (Amazon's limits, enums, required fields),
  so a bad argument fails locally with the field named instead of costing a throttled round trip.
* **Responses** are parsed leniently: every field is optional, unknown keys are ignored, enum values are
  matched case-insensitively and unknown values are kept as strings -- Amazon's own examples stray from
  their schema (``PROCESSING`` for ``Processing``, missing ``marketplaceId``).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from enum import StrEnum
from typing import Annotated, Any

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StrictInt,
    field_validator,
    model_validator,
)
from pydantic.alias_generators import to_camel

from commerce_mcp.amazon.ids import order_id_problem
from commerce_mcp.countries import require_assigned

# Enums (request side) ----------------------------------------------------------------------------


class ShippingSpeedCategory(StrEnum):
    STANDARD = "Standard"
    EXPEDITED = "Expedited"
    PRIORITY = "Priority"
    SCHEDULED_DELIVERY = "ScheduledDelivery"


class FulfillmentAction(StrEnum):
    SHIP = "Ship"
    HOLD = "Hold"


class FulfillmentPolicy(StrEnum):
    FILL_OR_KILL = "FillOrKill"
    FILL_ALL = "FillAll"
    FILL_ALL_AVAILABLE = "FillAllAvailable"


FULFILLMENT_ORDER_STATUSES = (
    "New", "Received", "Planning", "Processing", "Cancelled", "Complete", "CompletePartialled",
    "Unfulfillable", "Invalid",
)  # fmt: skip
#: Statuses from which the seller may still cancel (per the FulfillmentOrderStatus enum descriptions).
CANCELLABLE_STATUSES = frozenset({"New", "Received", "Planning"})
SHIPMENT_STATUSES = ("PENDING", "SHIPPED", "CANCELLED_BY_FULFILLER", "CANCELLED_BY_SELLER")
TRACKING_STATUSES = (
    "IN_TRANSIT", "DELIVERED", "RETURNING", "RETURNED", "UNDELIVERABLE", "DELAYED",
    "AVAILABLE_FOR_PICKUP", "CUSTOMER_ACTION", "UNKNOWN", "OUT_FOR_DELIVERY", "DELIVERY_ATTEMPTED",
    "PICKUP_SUCCESSFUL", "PICKUP_CANCELLED", "PICKUP_ATTEMPTED", "PICKUP_SCHEDULED",
    "RETURN_REQUEST_ACCEPTED", "REFUND_ISSUED", "RETURN_RECEIVED_IN_FC",
)  # fmt: skip


def _canonical(known: Iterable[str]) -> BeforeValidator:
    """Map a string onto the documented spelling, ignoring case and ``_``; keep unknown values as is."""
    table = {name.replace("_", "").lower(): name for name in known}

    def normalise(value: Any) -> Any:
        if isinstance(value, str):
            return table.get(value.replace("_", "").lower(), value)
        return value

    return BeforeValidator(normalise)


def _lenient_datetime(value: Any) -> Any:
    """Amazon timestamps as datetimes; something unparseable becomes None rather than failing the page."""
    if value is None or isinstance(value, datetime):
        return value
    if isinstance(value, str):
        try:
            parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            return None
        return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
    return None


LenientDatetime = Annotated[datetime | None, BeforeValidator(_lenient_datetime)]
OrderStatus = Annotated[str, _canonical(FULFILLMENT_ORDER_STATUSES)]
SpeedName = Annotated[str, _canonical(ShippingSpeedCategory)]
PolicyName = Annotated[str, _canonical(FulfillmentPolicy)]
ActionName = Annotated[str, _canonical(FulfillmentAction)]
ShipmentStatus = Annotated[str, _canonical(SHIPMENT_STATUSES)]
TrackingStatus = Annotated[str, _canonical(TRACKING_STATUSES)]


class _Wire(BaseModel):
    """camelCase on the wire, snake_case in Python."""

    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True)

    def to_wire(self) -> dict[str, Any]:
        """The JSON body Amazon expects: camelCase keys, no nulls, Decimals as strings."""
        return self.model_dump(mode="json", by_alias=True, exclude_none=True)


class _Request(_Wire):
    model_config = ConfigDict(
        alias_generator=to_camel, populate_by_name=True, extra="forbid", str_strip_whitespace=False
    )


class _Response(_Wire):
    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, extra="ignore")


# Request models ----------------------------------------------------------------------------------


def _check_order_id(value: str) -> str:
    problem = order_id_problem(value)
    if problem:
        raise ValueError(f"sellerFulfillmentOrderId {problem}")
    return value


def _check_displayable_id(value: str) -> str:
    if "  " in value:
        raise ValueError("displayableOrderId must not contain double spaces")
    if value != value.strip():
        raise ValueError("displayableOrderId must not start or end with a space")
    try:
        value.encode("iso-8859-1")
    except UnicodeEncodeError:
        raise ValueError("displayableOrderId must be ISO-8859-1 text (no emoji)") from None
    # ISO-8859-1 still holds the C0/C1 controls (NUL, ESC, ...): printed on the packing slip and
    # echoed in every order listing, so they are refused before the request is sent.
    if any(ord(ch) < 0x20 or 0x7F <= ord(ch) <= 0x9F for ch in value):
        raise ValueError("displayableOrderId must not contain control characters")
    return value


def _utc(value: datetime) -> datetime:
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


SellerFulfillmentOrderId = Annotated[str, AfterValidator(_check_order_id)]
Quantity = Annotated[StrictInt, Field(gt=0, le=250)]
NonBlank = Annotated[str, Field(min_length=1)]


class Money(_Wire):
    """An amount in a currency; ``value`` is a Decimal and travels as a string."""

    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, extra="ignore")

    currency_code: Annotated[str, Field(pattern=r"^[A-Z]{3}$")]
    value: Decimal


class Address(_Request):
    """A destination address; required fields per Amazon's Address definition."""

    name: Annotated[str, Field(min_length=1, max_length=50)]
    address_line1: Annotated[str, Field(min_length=1, max_length=180)]
    address_line2: Annotated[str | None, Field(max_length=60)] = None
    address_line3: Annotated[str | None, Field(max_length=60)] = None
    city: Annotated[str | None, Field(min_length=1, max_length=50)] = None
    district_or_county: Annotated[str | None, Field(max_length=150)] = None
    state_or_region: Annotated[str | None, Field(min_length=1, max_length=150)] = None
    postal_code: Annotated[str, Field(min_length=1, max_length=20)]
    country_code: Annotated[str, Field(pattern=r"^[A-Z]{2}$"), AfterValidator(require_assigned)]
    phone: Annotated[str | None, Field(max_length=20)] = None

    @model_validator(mode="after")
    def _north_america_needs_state_and_city(self) -> Address:
        # The model leaves these optional, but US/CA/MX addresses without them are rejected upstream.
        if self.country_code in {"US", "CA", "MX"}:
            missing = [f for f in ("city", "state_or_region") if not getattr(self, f)]
            if missing:
                names = ", ".join(to_camel(f) for f in missing)
                raise ValueError(f"{names} required for {self.country_code} addresses")
        return self


class PreviewItem(_Request):
    seller_sku: Annotated[str, Field(min_length=1, max_length=50)]
    seller_fulfillment_order_item_id: Annotated[str, Field(min_length=1, max_length=50)]
    quantity: Quantity
    per_unit_declared_value: Money | None = None


class OrderItem(_Request):
    """One line of a fulfillment order (CreateFulfillmentOrderItem)."""

    seller_sku: Annotated[str, Field(min_length=1, max_length=50)]
    seller_fulfillment_order_item_id: Annotated[str, Field(min_length=1, max_length=50)]
    quantity: Quantity
    gift_message: Annotated[str | None, Field(max_length=512)] = None
    displayable_comment: Annotated[str | None, Field(max_length=250)] = None
    fulfillment_network_sku: str | None = None
    per_unit_declared_value: Money | None = None
    per_unit_price: Money | None = None
    per_unit_tax: Money | None = None


def _unique_line_ids(items: list[Any]) -> None:
    ids = [item.seller_fulfillment_order_item_id for item in items]
    if len(set(ids)) != len(ids):
        raise ValueError("sellerFulfillmentOrderItemId must be unique within the order")


class FulfillmentPreviewRequest(_Request):
    """GetFulfillmentPreviewRequest: can FBA ship these items to this address, how fast, for how much."""

    address: Address
    items: Annotated[list[PreviewItem], Field(min_length=1, max_length=100)]
    shipping_speed_categories: list[ShippingSpeedCategory] | None = None
    include_cod_fulfillment_preview: bool | None = Field(
        default=None, alias="includeCODFulfillmentPreview"
    )
    include_delivery_windows: bool | None = None
    marketplace_id: str | None = None

    @model_validator(mode="after")
    def _lines(self) -> FulfillmentPreviewRequest:
        _unique_line_ids(self.items)
        return self


class DeliveryWindow(_Request):
    start_date: datetime
    end_date: datetime

    @model_validator(mode="after")
    def _ordered(self) -> DeliveryWindow:
        self.start_date, self.end_date = _utc(self.start_date), _utc(self.end_date)
        if self.end_date <= self.start_date:
            raise ValueError("deliveryWindow.endDate must be after startDate")
        return self


class CreateFulfillmentOrderRequest(_Request):
    """CreateFulfillmentOrderRequest, validated against Amazon's limits before it is sent."""

    seller_fulfillment_order_id: SellerFulfillmentOrderId
    displayable_order_id: Annotated[
        str, Field(min_length=1, max_length=40), AfterValidator(_check_displayable_id)
    ]
    displayable_order_date: datetime
    displayable_order_comment: Annotated[str, Field(min_length=1, max_length=750)]
    shipping_speed_category: ShippingSpeedCategory
    destination_address: Address
    items: Annotated[list[OrderItem], Field(min_length=1, max_length=100)]
    fulfillment_action: FulfillmentAction | None = None
    fulfillment_policy: FulfillmentPolicy | None = None
    notification_emails: list[Annotated[str, Field(min_length=3, max_length=64)]] | None = None
    delivery_window: DeliveryWindow | None = None
    ship_from_country_code: Annotated[str | None, Field(pattern=r"^[A-Z]{2}$")] = None
    marketplace_id: str | None = None

    @field_validator("displayable_order_date")
    @classmethod
    def _as_utc(cls, value: datetime) -> datetime:
        return _utc(value)

    @model_validator(mode="after")
    def _order_rules(self) -> CreateFulfillmentOrderRequest:
        _unique_line_ids(self.items)
        if sum(item.quantity for item in self.items) > 250:
            raise ValueError("an order may hold at most 250 units in total")
        if (
            self.shipping_speed_category is ShippingSpeedCategory.SCHEDULED_DELIVERY
            and self.fulfillment_action is FulfillmentAction.HOLD
        ):
            raise ValueError("fulfillmentAction Hold is not allowed with ScheduledDelivery")
        return self

    def to_wire(self) -> dict[str, Any]:
        body = super().to_wire()
        body["displayableOrderDate"] = self.displayable_order_date.strftime("%Y-%m-%dT%H:%M:%SZ")
        return body

    def intent(self) -> dict[str, Any]:
        """What the seller asked for: the wire body without fields that change between repeats.

        ``displayableOrderDate`` is usually "now" when the order is built, so hashing it would
        make a repeat seconds later look like a different order (and be refused) instead of
        being recognised as the same one.
        """
        body = self.to_wire()
        body.pop("displayableOrderDate", None)
        return body


# Response models ---------------------------------------------------------------------------------


class ResponseAddress(_Response):
    name: str | None = None
    address_line1: str | None = None
    address_line2: str | None = None
    address_line3: str | None = None
    city: str | None = None
    district_or_county: str | None = None
    state_or_region: str | None = None
    postal_code: str | None = None
    country_code: str | None = None
    phone: str | None = None


class Weight(_Response):
    unit: str | None = None
    value: Decimal | None = None


class Fee(_Response):
    name: str | None = None
    amount: Money | None = None


class FulfillmentPreviewItem(_Response):
    seller_sku: str | None = None
    quantity: int | None = None
    seller_fulfillment_order_item_id: str | None = None
    estimated_shipping_weight: Weight | None = None
    shipping_weight_calculation_method: str | None = None


class FulfillmentPreviewShipment(_Response):
    earliest_ship_date: LenientDatetime = None
    latest_ship_date: LenientDatetime = None
    earliest_arrival_date: LenientDatetime = None
    latest_arrival_date: LenientDatetime = None
    shipping_notes: list[str] = Field(default_factory=list)
    fulfillment_preview_items: list[FulfillmentPreviewItem] = Field(default_factory=list)


class UnfulfillablePreviewItem(_Response):
    seller_sku: str | None = None
    quantity: int | None = None
    seller_fulfillment_order_item_id: str | None = None
    item_unfulfillable_reasons: list[str] = Field(default_factory=list)


class FulfillmentPreview(_Response):
    shipping_speed_category: SpeedName | None = None
    is_fulfillable: bool = False
    is_cod_capable: bool | None = Field(default=None, alias="isCODCapable")
    estimated_shipping_weight: Weight | None = None
    estimated_fees: list[Fee] = Field(default_factory=list)
    fulfillment_preview_shipments: list[FulfillmentPreviewShipment] = Field(default_factory=list)
    unfulfillable_preview_items: list[UnfulfillablePreviewItem] = Field(default_factory=list)
    order_unfulfillable_reasons: list[str] = Field(default_factory=list)
    marketplace_id: str | None = None

    @property
    def total_fees(self) -> Decimal:
        """Sum of the estimated fees (all in one currency in practice)."""
        return sum((fee.amount.value for fee in self.estimated_fees if fee.amount), Decimal(0))


class FulfillmentPreviewResult(_Response):
    fulfillment_previews: list[FulfillmentPreview] = Field(default_factory=list)


class FulfillmentOrder(_Response):
    seller_fulfillment_order_id: str
    marketplace_id: str | None = None
    displayable_order_id: str | None = None
    displayable_order_date: LenientDatetime = None
    displayable_order_comment: str | None = None
    shipping_speed_category: SpeedName | None = None
    destination_address: ResponseAddress | None = None
    fulfillment_action: ActionName | None = None
    fulfillment_policy: PolicyName | None = None
    received_date: LenientDatetime = None
    fulfillment_order_status: OrderStatus = "Unknown"
    status_updated_date: LenientDatetime = None
    notification_emails: list[str] = Field(default_factory=list)

    @property
    def cancellable(self) -> bool:
        return self.fulfillment_order_status in CANCELLABLE_STATUSES


class FulfillmentOrderItem(_Response):
    seller_sku: str | None = None
    seller_fulfillment_order_item_id: str | None = None
    quantity: int = 0
    gift_message: str | None = None
    displayable_comment: str | None = None
    fulfillment_network_sku: str | None = None
    order_item_disposition: str | None = None
    cancelled_quantity: int = 0
    unfulfillable_quantity: int = 0
    estimated_ship_date: LenientDatetime = None
    estimated_arrival_date: LenientDatetime = None
    per_unit_price: Money | None = None
    per_unit_tax: Money | None = None
    per_unit_declared_value: Money | None = None


class FulfillmentShipmentItem(_Response):
    seller_sku: str | None = None
    seller_fulfillment_order_item_id: str | None = None
    quantity: int = 0
    package_number: int | None = None
    serial_number: str | None = None


class FulfillmentShipmentPackage(_Response):
    package_number: int
    carrier_code: str | None = None
    tracking_number: str | None = None
    amazon_fulfillment_tracking_number: str | None = None
    estimated_arrival_date: LenientDatetime = None


class FulfillmentShipment(_Response):
    amazon_shipment_id: str | None = None
    fulfillment_center_id: str | None = None
    fulfillment_shipment_status: ShipmentStatus | None = None
    shipping_date: LenientDatetime = None
    estimated_arrival_date: LenientDatetime = None
    shipping_notes: list[str] = Field(default_factory=list)
    fulfillment_shipment_item: list[FulfillmentShipmentItem] = Field(default_factory=list)
    fulfillment_shipment_package: list[FulfillmentShipmentPackage] = Field(default_factory=list)


class FulfillmentOrderDetail(_Response):
    """GetFulfillmentOrderResult: the order, its lines, shipments and packages."""

    fulfillment_order: FulfillmentOrder
    fulfillment_order_items: list[FulfillmentOrderItem] = Field(default_factory=list)
    fulfillment_shipments: list[FulfillmentShipment] = Field(default_factory=list)
    return_items: list[dict[str, Any]] = Field(default_factory=list)
    return_authorizations: list[dict[str, Any]] = Field(default_factory=list)

    @property
    def packages(self) -> list[FulfillmentShipmentPackage]:
        return [p for s in self.fulfillment_shipments for p in s.fulfillment_shipment_package]


class FulfillmentOrderPage(_Response):
    """One page of listAllFulfillmentOrders, with the query start the listing was opened with."""

    fulfillment_orders: list[FulfillmentOrder] = Field(default_factory=list)
    next_token: str | None = None
    # Not on the wire: set by the client so that every page of one listing asks the same question.
    query_start_date: datetime | None = Field(default=None, exclude=True)


class TrackingAddress(_Response):
    city: str | None = None
    state: str | None = None
    country: str | None = None


class TrackingEvent(_Response):
    event_date: LenientDatetime = None
    event_address: TrackingAddress | None = None
    event_code: str | None = None
    event_description: str | None = None


class PackageTracking(_Response):
    """PackageTrackingDetails for one package number."""

    package_number: int
    tracking_number: str | None = None
    customer_tracking_link: str | None = None
    carrier_code: str | None = None
    carrier_phone_number: str | None = None
    carrier_url: str | None = Field(default=None, alias="carrierURL")
    ship_date: LenientDatetime = None
    estimated_arrival_date: LenientDatetime = None
    ship_to_address: TrackingAddress | None = None
    current_status: TrackingStatus | None = None
    current_status_description: str | None = None
    signed_for_by: str | None = None
    additional_location_info: str | None = None
    tracking_events: list[TrackingEvent] = Field(default_factory=list)


class ReservedQuantity(_Response):
    total_reserved_quantity: int = 0
    pending_customer_order_quantity: int = 0
    pending_transshipment_quantity: int = 0
    fc_processing_quantity: int = 0


class UnfulfillableQuantity(_Response):
    total_unfulfillable_quantity: int = 0
    customer_damaged_quantity: int = 0
    warehouse_damaged_quantity: int = 0
    distributor_damaged_quantity: int = 0
    carrier_damaged_quantity: int = 0
    defective_quantity: int = 0
    expired_quantity: int = 0


class ResearchingQuantity(_Response):
    total_researching_quantity: int = 0
    researching_quantity_breakdown: list[dict[str, Any]] = Field(default_factory=list)


class InventoryDetails(_Response):
    fulfillable_quantity: int = 0
    inbound_working_quantity: int = 0
    inbound_shipped_quantity: int = 0
    inbound_receiving_quantity: int = 0
    reserved_quantity: ReservedQuantity | None = None
    researching_quantity: ResearchingQuantity | None = None
    unfulfillable_quantity: UnfulfillableQuantity | None = None

    @property
    def inbound_quantity(self) -> int:
        return (
            self.inbound_working_quantity
            + self.inbound_shipped_quantity
            + self.inbound_receiving_quantity
        )


class InventorySummary(_Response):
    asin: str | None = None
    fn_sku: str | None = None
    seller_sku: str | None = None
    condition: str | None = None
    inventory_details: InventoryDetails | None = None
    last_updated_time: LenientDatetime = None
    product_name: str | None = None
    total_quantity: int = 0
    stores: list[str] = Field(default_factory=list)

    @property
    def fulfillable_quantity(self) -> int:
        """Units FBA can ship now (0 when details were not returned)."""
        return self.inventory_details.fulfillable_quantity if self.inventory_details else 0


class Granularity(_Response):
    granularity_type: str | None = None
    granularity_id: str | None = None


class InventoryPage(_Response):
    """One page of getInventorySummaries; ``next_token`` expires 30 s after it is issued."""

    granularity: Granularity | None = None
    inventory_summaries: list[InventorySummary] = Field(default_factory=list)
    next_token: str | None = None

    @property
    def items(self) -> list[InventorySummary]:
        """The summaries on this page (the name other page types in the project use)."""
        return self.inventory_summaries


@dataclass(frozen=True)
class CreateOrderOutcome:
    """What createFulfillmentOrder did: the order id is the handle (Amazon returns an empty body).

    ``created_now``: this call's request created the order; False means it already existed (an
    earlier call, a crashed process or another replica made it) and nothing new was created.
    ``reconciled``: the order was found by reading it back after a doubt.
    ``replayed``: this exact request had already been made; the stored outcome was returned.
    """

    seller_fulfillment_order_id: str
    created_now: bool
    reconciled: bool = False
    replayed: bool = False
