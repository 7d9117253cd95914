"""The state behind the fake SP-API: FBA inventory and MCF orders that progress with simulated time.

Order status is a pure function of (creation time, now, cancellation), so advancing the :class:`SimClock`
is all it takes to move an order from Received to Complete with a carrier and a tracking number. Inventory
moves only on create (fulfillable -> reserved) and cancel (back); shipped units leave the reserve when the
order completes.

The world knows nothing of HTTP: :mod:`commerce_mcp.sandbox.amazon_server` validates requests and calls it.
Problems a caller can cause are raised as :class:`WorldError` with Amazon's code and message.
"""

from __future__ import annotations

import hashlib
import threading
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from commerce_mcp.sandbox import credentials
from commerce_mcp.sandbox.catalog import Catalog, FbaStock
from commerce_mcp.sandbox.simclock import SimClock

MINUTE = 60.0
HOUR = 3600.0
DAY = 86400.0

#: Seconds after creation at which an order enters each status (Ship orders).
PLANNING_AFTER = 2 * MINUTE
PROCESSING_AFTER = 15 * MINUTE
SHIPPED_AFTER = 3 * HOUR
#: Transit time per shipping speed, from shipping to delivery.
TRANSIT = {
    "Standard": 4 * DAY,
    "Expedited": 2 * DAY,
    "Priority": 1 * DAY,
    "ScheduledDelivery": 2 * DAY,
}
CARRIERS = ("UPS", "USPS", "AMZN_US", "FEDEX")
CANCELLABLE = frozenset({"Received", "Planning"})
PER_UNIT_FEE = {"Standard": Decimal("3.86"), "Expedited": Decimal("6.49"),
                "Priority": Decimal("9.75"), "ScheduledDelivery": Decimal("7.25")}  # fmt: skip
PER_ORDER_FEE = Decimal("1.00")
FIRST_PACKAGE_NUMBER = 212_790_001


class WorldError(Exception):
    """A request the fake Amazon rejects: HTTP status, Amazon error code and message."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message


def iso(ts: float) -> str:
    """Amazon's timestamp format (UTC, seconds, Z)."""
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass
class Stock:
    seller_sku: str
    title: str
    asin: str
    fnsku: str
    fulfillable: int
    inbound: int
    reserved: int
    unfulfillable: int
    updated_at: float


@dataclass
class Line:
    seller_sku: str
    item_id: str
    quantity: int
    allocated: int
    raw: dict[str, Any]


@dataclass
class Order:
    order_id: str
    body: dict[str, Any]
    lines: list[Line]
    created_at: float
    package_number: int
    unfulfillable: bool
    cancelled_at: float | None = None

    @property
    def speed(self) -> str:
        return str(self.body.get("shippingSpeedCategory", "Standard"))

    @property
    def held(self) -> bool:
        return self.body.get("fulfillmentAction") == "Hold"

    @property
    def partial(self) -> bool:
        return any(line.allocated < line.quantity for line in self.lines)


@dataclass
class _PageToken:
    kind: str
    offset: int
    issued_at: float
    query: dict[str, Any] = field(default_factory=dict)


class AmazonWorld:
    """FBA inventory and MCF orders for the sandbox seller."""

    INVENTORY_TOKEN_TTL = 30.0
    LIST_PAGE_SIZE = 25
    INVENTORY_PAGE_SIZE = 50

    def __init__(self, clock: SimClock, catalog: Catalog) -> None:
        self.clock = clock
        self.marketplace_id = credentials.AMAZON_MARKETPLACE_ID
        self._lock = threading.RLock()
        self._stock: dict[str, Stock] = {}
        self._orders: dict[str, Order] = {}
        self._packages: dict[int, str] = {}
        self._tokens: dict[str, _PageToken] = {}
        self._next_package = FIRST_PACKAGE_NUMBER
        self.create_calls = 0
        #: LWA token endpoint hits, and access tokens issued -> simulated expiry time.
        self.token_requests = 0
        self._access_tokens: dict[str, float] = {}
        #: Set False to switch off the per-operation usage plans (bulk tests).
        self.enforce_rate_limits = True
        #: Multiplies every usage plan's rate and burst (benchmarks scale plans up to run in seconds).
        self.rate_scale = 1.0
        self._buckets: dict[str, tuple[float, float]] = {}
        seeded = clock.now() - DAY
        for product in catalog.products:
            for sku in product.skus:
                if sku.fba is not None:
                    self._seed(sku.seller_sku, f"{product.title} ({sku.variant})", sku.fba, seeded)
        for extra in catalog.amazon_only:
            self._seed(extra.seller_sku, extra.title, extra.fba, seeded)

    def _seed(self, sku: str, title: str, fba: FbaStock, at: float) -> None:
        self._stock[sku] = Stock(sku, title, fba.asin, fba.fnsku, fba.fulfillable, fba.inbound,
                                 fba.reserved, fba.unfulfillable, at)  # fmt: skip

    # LWA and usage plans -----------------------------------------------------------------------

    ACCESS_TOKEN_TTL = 3600.0

    def issue_access_token(self) -> tuple[str, int]:
        """A fresh access token valid for one hour of simulated time."""
        with self._lock:
            self.token_requests += 1
            token = (
                f"Atza|sbx-{self.token_requests:06d}-"
                + hashlib.sha256(f"{self.token_requests}:{self.clock.now()}".encode()).hexdigest()[
                    :24
                ]
            )
            self._access_tokens[token] = self.clock.now() + self.ACCESS_TOKEN_TTL
            return token, int(self.ACCESS_TOKEN_TTL)

    def access_token_state(self, token: str | None) -> str:
        """``valid``, ``expired`` or ``unknown`` as of simulated now."""
        with self._lock:
            expiry = self._access_tokens.get(token or "")
            if expiry is None:
                return "unknown"
            return "valid" if self.clock.now() < expiry else "expired"

    def expire_access_tokens(self) -> None:
        """Test hook: every token issued so far is now expired."""
        with self._lock:
            now = self.clock.now()
            self._access_tokens = {
                token: min(exp, now) for token, exp in self._access_tokens.items()
            }

    def take_rate_token(self, operation: str, rate: float, burst: float) -> bool:
        """Spend one token from ``operation``'s bucket; False when the usage plan is exhausted."""
        if not self.enforce_rate_limits:
            return True
        with self._lock:
            now = self.clock.now()
            tokens, last = self._buckets.get(operation, (burst, now))
            # Simulated time follows the wall clock, which can step back; never un-earn tokens.
            tokens = min(burst, tokens + max(0.0, now - last) * rate)
            if tokens < 1.0:
                self._buckets[operation] = (tokens, now)
                return False
            self._buckets[operation] = (tokens - 1.0, now)
            return True

    # Inventory ----------------------------------------------------------------------------------

    def stock(self, seller_sku: str) -> Stock | None:
        """The FBA record for ``seller_sku`` (None when FBA does not hold it)."""
        with self._lock:
            return self._stock.get(seller_sku)

    def fulfillable(self, seller_sku: str) -> int:
        with self._lock:
            item = self._stock.get(seller_sku)
            return item.fulfillable if item else 0

    def inventory_page(
        self,
        *,
        seller_skus: list[str] | None,
        start: float | None,
        details: bool,
        next_token: str | None,
    ) -> tuple[list[dict[str, Any]], str | None]:
        """One page of inventory summaries and the token for the next (None on the last page)."""
        with self._lock:
            now = self.clock.now()
            offset = 0
            if next_token is not None:
                token = self._tokens.get(next_token)
                if token is None or token.kind != "inventory":
                    raise WorldError(400, "InvalidInput", "The nextToken is invalid.")
                if now - token.issued_at > self.INVENTORY_TOKEN_TTL:
                    raise WorldError(400, "InvalidInput", "The nextToken has expired.")
                offset = token.offset
            if seller_skus is not None:
                names = [sku for sku in seller_skus if sku in self._stock]
            else:
                names = sorted(self._stock)
            if start is not None:
                names = [sku for sku in names if self._stock[sku].updated_at >= start]
            window = names[offset : offset + self.INVENTORY_PAGE_SIZE]
            reserved = self._reserved_by_orders(now)
            summaries = [self._summary(self._stock[sku], reserved.get(sku, 0), details, now)
                         for sku in window]  # fmt: skip
            more = offset + self.INVENTORY_PAGE_SIZE < len(names)
            return summaries, (
                self._issue("inventory", offset + len(window), now) if more else None
            )

    def _summary(self, item: Stock, pending: int, details: bool, now: float) -> dict[str, Any]:
        reserved = item.reserved + pending
        total = item.fulfillable + reserved + item.unfulfillable + item.inbound
        summary: dict[str, Any] = {
            "asin": item.asin,
            "fnSku": item.fnsku,
            "sellerSku": item.seller_sku,
            "condition": "NewItem",
            "lastUpdatedTime": iso(item.updated_at),
            "productName": item.title,
            "totalQuantity": total,
            "stores": [],
        }
        if details:
            summary["inventoryDetails"] = {
                "fulfillableQuantity": item.fulfillable,
                "inboundWorkingQuantity": 0,
                "inboundShippedQuantity": item.inbound,
                "inboundReceivingQuantity": 0,
                "reservedQuantity": {
                    "totalReservedQuantity": reserved,
                    "pendingCustomerOrderQuantity": pending,
                    "pendingTransshipmentQuantity": 0,
                    "fcProcessingQuantity": item.reserved,
                },
                "researchingQuantity": {
                    "totalResearchingQuantity": 0,
                    "researchingQuantityBreakdown": [],
                },
                "unfulfillableQuantity": {
                    "totalUnfulfillableQuantity": item.unfulfillable,
                    "customerDamagedQuantity": 0,
                    "warehouseDamagedQuantity": item.unfulfillable,
                    "distributorDamagedQuantity": 0,
                    "carrierDamagedQuantity": 0,
                    "defectiveQuantity": 0,
                    "expiredQuantity": 0,
                },
            }
        return summary

    def _reserved_by_orders(self, now: float) -> dict[str, int]:
        pending: dict[str, int] = {}
        for order in self._orders.values():
            if self.status(order, now) in {"Received", "Planning", "Processing"}:
                for line in order.lines:
                    pending[line.seller_sku] = pending.get(line.seller_sku, 0) + line.allocated
        return pending

    # Preview ------------------------------------------------------------------------------------

    def preview(self, body: dict[str, Any]) -> list[dict[str, Any]]:
        """Fulfillability, fees and ship/arrival windows per requested shipping speed."""
        speeds = body.get("shippingSpeedCategories") or ["Standard", "Expedited", "Priority"]
        now = self.clock.now()
        with self._lock:
            unfulfillable = []
            for item in body["items"]:
                stock = self._stock.get(item["sellerSku"])
                reasons = []
                if stock is None:
                    reasons.append("InvalidSKU")
                elif stock.fulfillable < item["quantity"]:
                    reasons.append("InventoryUnavailable")
                if reasons:
                    unfulfillable.append(
                        {
                            "sellerSku": item["sellerSku"],
                            "quantity": item["quantity"],
                            "sellerFulfillmentOrderItemId": item["sellerFulfillmentOrderItemId"],
                            "itemUnfulfillableReasons": reasons,
                        }
                    )
        units = sum(int(item["quantity"]) for item in body["items"])
        previews = []
        for speed in speeds:
            fulfillable = not unfulfillable
            fee = PER_UNIT_FEE.get(speed, PER_UNIT_FEE["Standard"]) * units
            ship = now + (0.5 * DAY if speed == "Priority" else DAY)
            arrive = ship + TRANSIT.get(speed, TRANSIT["Standard"])
            preview: dict[str, Any] = {
                "shippingSpeedCategory": speed,
                "isFulfillable": fulfillable,
                "isCODCapable": False,
                "estimatedShippingWeight": {"unit": "POUNDS", "value": str(units)},
                "estimatedFees": [
                    {"name": "FBAPerUnitFulfillmentFee",
                     "amount": {"currencyCode": "USD", "value": f"{fee:.2f}"}},
                    {"name": "FBAPerOrderFulfillmentFee",
                     "amount": {"currencyCode": "USD", "value": f"{PER_ORDER_FEE:.2f}"}},
                ] if fulfillable else [],
                "fulfillmentPreviewShipments": [{
                    "earliestShipDate": iso(ship),
                    "latestShipDate": iso(ship + 0.5 * DAY),
                    "earliestArrivalDate": iso(arrive),
                    "latestArrivalDate": iso(arrive + DAY),
                    "fulfillmentPreviewItems": [
                        {"sellerSku": i["sellerSku"], "quantity": i["quantity"],
                         "sellerFulfillmentOrderItemId": i["sellerFulfillmentOrderItemId"],
                         "estimatedShippingWeight": {"unit": "POUNDS", "value": str(i["quantity"])},
                         "shippingWeightCalculationMethod": "Package"}
                        for i in body["items"]
                    ],
                }] if fulfillable else [],
                "unfulfillablePreviewItems": unfulfillable,
                "marketplaceId": self.marketplace_id,
            }  # fmt: skip
            if not fulfillable:
                preview["orderUnfulfillableReasons"] = ["One or more items are not fulfillable"]
            previews.append(preview)
        return previews

    # Orders -------------------------------------------------------------------------------------

    def create_order(self, body: dict[str, Any]) -> None:
        """Create an order (body already validated); duplicate ids and unknown SKUs are 400s."""
        order_id = body["sellerFulfillmentOrderId"]
        with self._lock:
            self.create_calls += 1
            if order_id in self._orders:
                raise WorldError(400, "InvalidInput",
                                 f"A create request already exists for MerchantFulfillmentOrderId : "
                                 f"{order_id}")  # fmt: skip
            for item in body["items"]:
                if item["sellerSku"] not in self._stock:
                    raise WorldError(400, "InvalidInput",
                                     f"Value {item['sellerSku']} for parameter SellerSKU is invalid. "
                                     "Reason: InvalidValue.")  # fmt: skip
            policy = body.get("fulfillmentPolicy", "FillOrKill")
            short = any(self._stock[i["sellerSku"]].fulfillable < i["quantity"]
                        for i in body["items"])  # fmt: skip
            lines = []
            for item in body["items"]:
                stock = self._stock[item["sellerSku"]]
                wanted = int(item["quantity"])
                allocated = (
                    0 if (short and policy == "FillOrKill") else min(wanted, stock.fulfillable)
                )
                lines.append(Line(item["sellerSku"], item["sellerFulfillmentOrderItemId"], wanted,
                                  allocated, dict(item)))  # fmt: skip
            now = self.clock.now()
            for line in lines:
                stock = self._stock[line.seller_sku]
                stock.fulfillable -= line.allocated
                stock.updated_at = now
            order = Order(order_id, dict(body), lines, now, self._next_package,
                          unfulfillable=all(line.allocated == 0 for line in lines))  # fmt: skip
            self._packages[self._next_package] = order_id
            self._next_package += 1
            self._orders[order_id] = order

    def cancel_order(self, order_id: str) -> None:
        """Cancel in Received/Planning; later (or twice) is the documented 400."""
        with self._lock:
            order = self._require(order_id)
            now = self.clock.now()
            status = self.status(order, now)
            if status == "Cancelled":
                raise WorldError(400, "InvalidInput",
                                 f"Value {order_id} for parameter SellerFulfillmentOrderId is invalid. "
                                 "Reason: DuplicateCancelRequest.")  # fmt: skip
            if status not in CANCELLABLE:
                raise WorldError(400, "InvalidInput",
                                 f"Value {order_id} for parameter SellerFulfillmentOrderId is invalid. "
                                 f"Reason: the order is {status} and can no longer be cancelled.")  # fmt: skip
            order.cancelled_at = now
            for line in order.lines:
                stock = self._stock[line.seller_sku]
                stock.fulfillable += line.allocated
                stock.updated_at = now

    def order_ids(self) -> list[str]:
        with self._lock:
            return list(self._orders)

    def _require(self, order_id: str) -> Order:
        order = self._orders.get(order_id)
        if order is None:
            raise WorldError(400, "InvalidInput", f"Requested order '{order_id}' not found")
        return order

    def status(self, order: Order, now: float) -> str:
        """The order's status at simulated time ``now``."""
        if order.cancelled_at is not None and now >= order.cancelled_at:
            return "Cancelled"
        if order.unfulfillable:
            return "Unfulfillable"
        age = now - order.created_at
        if age < PLANNING_AFTER or order.held:
            return "Received"
        if age < PROCESSING_AFTER:
            return "Planning"
        if age < SHIPPED_AFTER:
            return "Processing"
        return "CompletePartialled" if order.partial else "Complete"

    def _status_changed_at(self, order: Order, status: str) -> float:
        if status == "Cancelled" and order.cancelled_at is not None:
            return order.cancelled_at
        offsets = {"Planning": PLANNING_AFTER, "Processing": PROCESSING_AFTER,
                   "Complete": SHIPPED_AFTER, "CompletePartialled": SHIPPED_AFTER}  # fmt: skip
        return order.created_at + offsets.get(status, 0.0)

    def order_view(self, order_id: str) -> dict[str, Any]:
        """GetFulfillmentOrderResult for one order, as of now."""
        with self._lock:
            order = self._require(order_id)
            now = self.clock.now()
            status = self.status(order, now)
            shipments = self._shipments(order, status)
            items = []
            for line in order.lines:
                cancelled = line.quantity if status == "Cancelled" else 0
                unfulfillable = 0 if status == "Cancelled" else line.quantity - line.allocated
                item = {**line.raw, "quantity": line.quantity, "cancelledQuantity": cancelled,
                        "unfulfillableQuantity": unfulfillable,
                        "estimatedShipDate": iso(order.created_at + SHIPPED_AFTER),
                        "estimatedArrivalDate": iso(self._arrival(order))}  # fmt: skip
                items.append(item)
            return {
                "fulfillmentOrder": self._order_record(order, status),
                "fulfillmentOrderItems": items,
                "fulfillmentShipments": shipments,
                "returnItems": [],
                "returnAuthorizations": [],
            }

    def _order_record(self, order: Order, status: str) -> dict[str, Any]:
        body = order.body
        record: dict[str, Any] = {
            key: body[key]
            for key in ("sellerFulfillmentOrderId", "displayableOrderId", "displayableOrderDate",
                        "displayableOrderComment", "shippingSpeedCategory", "destinationAddress",
                        "deliveryWindow", "notificationEmails", "featureConstraints")
            if key in body
        }  # fmt: skip
        record.update(
            marketplaceId=body.get("marketplaceId", self.marketplace_id),
            fulfillmentAction=body.get("fulfillmentAction", "Ship"),
            fulfillmentPolicy=body.get("fulfillmentPolicy", "FillOrKill"),
            receivedDate=iso(order.created_at),
            fulfillmentOrderStatus=status,
            statusUpdatedDate=iso(self._status_changed_at(order, status)),
        )
        return record

    def _arrival(self, order: Order) -> float:
        return order.created_at + SHIPPED_AFTER + TRANSIT.get(order.speed, TRANSIT["Standard"])

    def _carrier(self, order: Order) -> tuple[str, str]:
        digest = hashlib.sha256(order.order_id.encode()).hexdigest()
        carrier = CARRIERS[int(digest[:2], 16) % len(CARRIERS)]
        digits = str(int(digest[2:20], 16)).zfill(22)
        number = {
            "UPS": f"1Z{digest[2:8].upper()}03{digits[:8]}",
            "USPS": f"9400{digits[:18]}",
            "AMZN_US": f"TBA{digits[:12]}",
            "FEDEX": digits[:12],
        }[carrier]
        return carrier, number

    def _shipments(self, order: Order, status: str) -> list[dict[str, Any]]:
        if status in {"Received", "Planning", "Unfulfillable", "Cancelled"}:
            return []
        shipped = status in {"Complete", "CompletePartialled"}
        carrier, tracking = self._carrier(order)
        shipped_lines = [line for line in order.lines if line.allocated]
        shipment: dict[str, Any] = {
            "amazonShipmentId": f"T{order.package_number:09d}"[-10:],
            "fulfillmentCenterId": "SBX1",
            "fulfillmentShipmentStatus": "SHIPPED" if shipped else "PENDING",
            "estimatedArrivalDate": iso(self._arrival(order)),
            "fulfillmentShipmentItem": [
                {"sellerSku": line.seller_sku, "sellerFulfillmentOrderItemId": line.item_id,
                 "quantity": line.allocated,
                 **({"packageNumber": order.package_number} if shipped else {})}
                for line in shipped_lines
            ],
        }  # fmt: skip
        if shipped:
            shipment["shippingDate"] = iso(order.created_at + SHIPPED_AFTER)
            shipment["fulfillmentShipmentPackage"] = [{
                "packageNumber": order.package_number,
                "carrierCode": carrier,
                "trackingNumber": tracking,
                "estimatedArrivalDate": iso(self._arrival(order)),
            }]  # fmt: skip
        return [shipment]

    def list_orders(
        self, *, query_start: float | None, next_token: str | None
    ) -> tuple[list[dict[str, Any]], str | None]:
        """Orders updated at or after ``query_start``, oldest first, a page at a time."""
        with self._lock:
            now = self.clock.now()
            offset = 0
            if next_token is not None:
                token = self._tokens.get(next_token)
                if token is None or token.kind != "orders":
                    raise WorldError(400, "InvalidInput", "The nextToken is invalid.")
                offset, query_start = token.offset, token.query.get("start")
            records = []
            for order in self._orders.values():
                status = self.status(order, now)
                if query_start is None or self._status_changed_at(order, status) >= query_start:
                    records.append(self._order_record(order, status))
            window = records[offset : offset + self.LIST_PAGE_SIZE]
            more = offset + self.LIST_PAGE_SIZE < len(records)
            token_out = (
                self._issue("orders", offset + len(window), now, {"start": query_start})
                if more
                else None
            )
            return window, token_out

    def tracking(self, package_number: int) -> dict[str, Any]:
        """PackageTrackingDetails; events appear as simulated time passes."""
        with self._lock:
            order_id = self._packages.get(package_number)
            order = self._orders.get(order_id) if order_id else None
            now = self.clock.now()
            if order is None or self.status(order, now) not in {"Complete", "CompletePartialled"}:
                raise WorldError(400, "InvalidInput",
                                 f"Value {package_number} for parameter PackageNumber is invalid.")  # fmt: skip
            carrier, tracking = self._carrier(order)
            address = order.body.get("destinationAddress", {})
            destination = {"city": address.get("city", ""), "state": address.get("stateOrRegion", ""),
                           "country": address.get("countryCode", "")}  # fmt: skip
            origin = {"city": "Sandbox Valley", "state": "CA", "country": "US"}
            shipped = order.created_at + SHIPPED_AFTER
            arrival = self._arrival(order)
            timeline = [
                (shipped, origin, "EVENT_101", "Carrier picked up the package.", "IN_TRANSIT"),
                (shipped + 6 * HOUR, origin, "EVENT_201", "Arrived at carrier facility.",
                 "IN_TRANSIT"),
                (arrival - 8 * HOUR, destination, "EVENT_302", "Out for delivery.",
                 "OUT_FOR_DELIVERY"),
                (arrival, destination, "EVENT_301", "Delivered.", "DELIVERED"),
            ]  # fmt: skip
            happened = [event for event in timeline if event[0] <= now]
            current = happened[-1][4] if happened else "IN_TRANSIT"
            return {
                "packageNumber": package_number,
                "trackingNumber": tracking,
                "customerTrackingLink": f"https://www.swiship.com/track?id={tracking}",
                "carrierCode": carrier,
                "shipDate": iso(shipped),
                "estimatedArrivalDate": iso(arrival),
                "shipToAddress": destination,
                "currentStatus": current,
                "currentStatusDescription": happened[-1][3] if happened else "Shipped.",
                "trackingEvents": [
                    {"eventDate": iso(at), "eventAddress": where, "eventCode": code,
                     "eventDescription": text}
                    for at, where, code, text, _ in reversed(happened)
                ],
            }  # fmt: skip

    def _issue(
        self, kind: str, offset: int, now: float, query: dict[str, Any] | None = None
    ) -> str:
        token = hashlib.sha256(f"{kind}:{offset}:{now}:{len(self._tokens)}".encode()).hexdigest()[
            :32
        ]
        self._tokens[token] = _PageToken(kind, offset, now, query or {})
        return token

    def shift_order(self, order_id: str, seconds: float) -> None:
        """Test hook: pretend an order was created ``seconds`` earlier (to reach a later status)."""
        with self._lock:
            self._require(order_id).created_at -= seconds


def parse_timestamp(value: str) -> float:
    """An ISO-8601 timestamp as epoch seconds; naive values are UTC. Raises ValueError."""
    parsed = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.timestamp()
