"""The fake TikTok Shop: the auth host and the Partner API host as one Starlette app.

API requests are checked in the platform's documented order -- path and method, sign present, app_key,
timestamp window, signature over the raw received bytes, access token, shop_cipher rules, scope, then a
token bucket per (app, shop, endpoint) -- before a handler reads or changes the world.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
import secrets
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any
from urllib.parse import urlencode

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from starlette.routing import Route

from commerce_mcp.sandbox.tiktok_signature import decoded_query, expected_sign, signature_matches
from commerce_mcp.sandbox.tiktok_world import (
    METRIC_NAMES,
    SHIPPING_PROVIDER_IDS,
    OrderPage,
    Shop,
    TikTokWorld,
    WorldError,
)

Data = dict[str, Any]


@dataclass
class Call:
    """One verified API request, as a handler sees it."""

    world: TikTokWorld
    shop: Shop | None
    params: dict[str, str]
    path_args: dict[str, str]
    body: Data

    @property
    def the_shop(self) -> Shop:
        assert self.shop is not None  # guaranteed by the shop_cipher rule for shop endpoints
        return self.shop


Handler = Callable[[Call], Data]


@dataclass(frozen=True)
class Endpoint:
    """One documented operation: its route, handler and the scope(s) that grant it.

    ``scope`` is one scope key, or several when the reference lists several API packages for the
    endpoint (any one of them grants access).
    """

    method: str
    template: str
    handler: Handler
    scope: str | tuple[str, ...]
    shop_scoped: bool = True

    @property
    def scopes(self) -> tuple[str, ...]:
        return (self.scope,) if isinstance(self.scope, str) else self.scope

    @property
    def pattern(self) -> re.Pattern[str]:
        return re.compile("^" + re.sub(r"\{(\w+)\}", r"(?P<\1>[^/]+)", self.template) + "$")


class _Buckets:
    """Token buckets keyed by (app, shop, endpoint), refilled from the simulated clock."""

    def __init__(self) -> None:
        self._state: dict[tuple[str, str, str], tuple[float, float]] = {}

    def take(self, key: tuple[str, str, str], now: float, rate: float, burst: float) -> bool:
        tokens, last = self._state.get(key, (burst, now))
        tokens = min(burst, tokens + max(0.0, now - last) * rate)
        if tokens < 1.0:
            self._state[key] = (tokens, now)
            return False
        self._state[key] = (tokens - 1.0, now)
        return True


# ------------------------------------------------------------------------------------------ paging


def _page(
    call: Call,
    items: Sequence[Data],
    *,
    default_size: int,
    max_size: int,
    min_size: int = 1,
    required: bool = False,
    size_error: int = 12019109,
) -> tuple[list[Data], Data]:
    """One page of ``items`` for the request's page_size and page_token.

    The size bounds are each endpoint's documented valid range; ``size_error`` is the code its own
    domain answers a bad one with.
    """
    raw_size = call.params.get("page_size")
    if raw_size is None and required:
        raise WorldError(
            size_error, "Invalid page size. The page_size query parameter is required."
        )
    try:
        size = int(raw_size) if raw_size is not None else default_size
    except ValueError:
        raise WorldError(size_error, "Invalid page size. page_size must be an integer.") from None
    if not min_size <= size <= max_size:
        raise WorldError(
            size_error, f"Invalid page size. page_size must be in [{min_size}, {max_size}]."
        )
    fingerprint = hashlib.sha256(
        json.dumps(
            [
                call.body,
                sorted(
                    (k, v)
                    for k, v in call.params.items()
                    if k
                    in (
                        "sort_field",
                        "sort_order",
                        "start_date_ge",
                        "end_date_lt",
                        "product_id",
                        "account_type",
                    )
                ),
            ],
            sort_keys=True,
        ).encode()
    ).hexdigest()[:10]
    offset = 0
    token = call.params.get("page_token")
    if token:
        try:
            text = base64.b64decode(token, validate=True).decode()
            fields = dict(part.split("=", 1) for part in text.split("&"))
            offset = int(fields["offset"])
            if fields["q"] != fingerprint or offset < 0:
                raise ValueError("token belongs to another query")
        except (ValueError, KeyError, UnicodeDecodeError):
            raise WorldError(
                12019108, "Invalid page token. Start again without page_token."
            ) from None
    chunk = list(items[offset : offset + size])
    following = offset + size
    next_token = ""
    if following < len(items):
        # Standard base64 on purpose: real tokens carry '+', '/' and '=' that must be URL-encoded.
        raw = f"offset={following}&q={fingerprint}&pad={secrets.token_hex(1)}"
        next_token = base64.b64encode(raw.encode()).decode()
    return chunk, {"next_page_token": next_token, "total_count": len(items)}


def _ids(values: Any) -> set[str] | None:
    if values is None:
        return None
    if not isinstance(values, list):
        raise WorldError(21001001, "Invalid parameters. Expected a list of IDs.")
    return {str(value) for value in values}


def _in_range(value: int | None, body: Data, prefix: str, upper: str = "lt") -> bool:
    if value is None:
        return True
    low = _epoch(body, f"{prefix}_ge")
    high = _epoch(body, f"{prefix}_{upper}")
    if low is not None and value < low:
        return False
    if high is None:
        return True
    return value <= high if upper == "le" else value < high


def _epoch(body: Data, name: str) -> int | None:
    """A Unix-seconds filter from the body; anything else is the platform's parameter error."""
    raw = body.get(name)
    if raw is None:
        return None
    if isinstance(raw, bool) or not isinstance(raw, int | str):
        raise WorldError(21001001, f"Invalid parameters. {name} must be a Unix timestamp.")
    try:
        return int(raw)
    except ValueError:
        raise WorldError(
            21001001, f"Invalid parameters. {name} must be a Unix timestamp."
        ) from None


# ------------------------------------------------------------------------------------------ handlers


def _authorized_shops(call: Call) -> Data:
    return {
        "shops": [
            {
                "id": s.id,
                "name": s.name,
                "region": s.region,
                "seller_type": s.seller_type,
                "cipher": s.cipher,
                "code": s.code,
            }
            for s in call.world.shops
        ]
    }


def _active_shops(call: Call) -> Data:
    return {"shops": [{"id": s.id, "region": s.region} for s in call.world.shops]}


def _product_summary(call: Call, product: Data) -> Data:
    stock = call.the_shop.stock
    summary = {
        k: v
        for k, v in product.items()
        if k in ("id", "title", "status", "create_time", "update_time", "sales_regions", "audit")
    }
    summary["skus"] = [
        {
            "id": sku["id"],
            "seller_sku": sku["seller_sku"],
            "price": sku["price"],
            "inventory": [{"warehouse_id": w, "quantity": q} for w, q in stock[sku["id"]].items()],
        }
        for sku in product["skus"]
    ]
    return summary


def _search_products(call: Call) -> Data:
    body = call.body
    status = body.get("status", "ALL")
    seller_skus = _ids(body.get("seller_skus"))
    sku_ids = _ids(body.get("sku_ids"))
    if (seller_skus and len(seller_skus) > 10) or (sku_ids and len(sku_ids) > 10):
        raise WorldError(12052001, "Invalid parameters. At most 10 seller_skus or sku_ids.")
    shop = call.the_shop
    candidates: list[Data] = shop.products_newest_first()
    if seller_skus is not None or sku_ids is not None:
        # Read the few products the filter names off the indexes instead of scanning them all.
        ids: set[str] = set()
        for seller_sku in seller_skus or ():
            ids.update(shop.seller_sku_products.get(seller_sku, ()))
        for sku_id in sku_ids or ():
            if sku_id in shop.sku_product:
                ids.add(shop.sku_product[sku_id])
        if seller_skus is not None and sku_ids is not None:
            ids = {
                i
                for i in ids
                if any(s["seller_sku"] in seller_skus for s in shop.products[i]["skus"])
                and any(s["id"] in sku_ids for s in shop.products[i]["skus"])
            }
        candidates = sorted(
            (shop.products[i] for i in ids), key=lambda p: (-p["update_time"], p["id"])
        )
    filtered = status != "ALL" or any(
        key in body
        for key in ("create_time_ge", "create_time_le", "update_time_ge", "update_time_le")
    )
    found = candidates
    if filtered:
        found = [
            product
            for product in candidates
            if (status == "ALL" or product["status"] == status)
            and _in_range(product["create_time"], body, "create_time", "le")
            and _in_range(product["update_time"], body, "update_time", "le")
        ]
    chunk, paging = _page(call, found, default_size=20, max_size=100, required=True)
    return {"products": [_product_summary(call, p) for p in chunk], **paging}


def _get_product(call: Call) -> Data:
    product = call.the_shop.products.get(call.path_args["product_id"])
    if product is None:
        raise WorldError(12052032, "The product does not exist.", 404)
    # Get Product documents no sales_regions (only Search Products has it).
    detail = {k: v for k, v in product.items() if k != "sales_regions"}
    detail["product_status"] = product["status"]
    detail["skus"] = [
        {
            **sku,
            "inventory": [
                {"warehouse_id": w, "quantity": q}
                for w, q in call.the_shop.stock[sku["id"]].items()
            ],
        }
        for sku in product["skus"]
    ]
    return detail


def _inventory_entry(call: Call, product_id: str, sku_ids: set[str] | None) -> Data:
    shop = call.the_shop
    skus = []
    for sku in shop.products[product_id]["skus"]:
        if sku_ids is not None and sku["id"] not in sku_ids:
            continue
        levels = shop.stock[sku["id"]]
        committed = call.world.committed(shop, sku["id"])
        skus.append(
            {
                "id": sku["id"],
                "seller_sku": sku["seller_sku"],
                "total_available_quantity": sum(levels.values()),
                "total_committed_quantity": committed,
                "warehouse_inventory": [
                    {
                        "warehouse_id": w,
                        "available_quantity": q,
                        "committed_quantity": committed if i == 0 else 0,
                    }
                    for i, (w, q) in enumerate(levels.items())
                ],
            }
        )
    return {"product_id": product_id, "skus": skus}


def _search_inventory(call: Call) -> Data:
    shop = call.the_shop
    sku_ids = _ids(call.body.get("sku_ids"))
    product_ids = _ids(call.body.get("product_ids"))
    if sku_ids:
        if len(sku_ids) > 600:
            raise WorldError(12052001, "Invalid parameters. At most 600 sku_ids.")
        wanted = sorted({shop.sku_product[s] for s in sku_ids if s in shop.sku_product})
        return {"inventory": [_inventory_entry(call, p, sku_ids) for p in wanted]}
    if not product_ids:
        raise WorldError(12052001, "Invalid parameters. Give product_ids or sku_ids.")
    if len(product_ids) > 100:
        raise WorldError(12052001, "Invalid parameters. At most 100 product_ids.")
    wanted = sorted(p for p in product_ids if p in shop.products)
    return {"inventory": [_inventory_entry(call, p, None) for p in wanted]}


def _update_inventory(call: Call) -> Data:
    skus = call.body.get("skus")
    if not isinstance(skus, list) or not skus:
        raise WorldError(12052001, "Invalid parameters. skus is required.")
    errors = call.world.update_inventory(call.the_shop, call.path_args["product_id"], skus)
    return {"errors": errors} if errors else {}


_ORDER_FILTERS = ("order_status", "shipping_type", "buyer_user_id", "is_buyer_request_cancel")
_INDEXED_ORDER_FILTERS = frozenset({"order_status", "create_time_ge", "create_time_lt"})


def _search_orders(call: Call) -> Data:
    shop, body, world = call.the_shop, call.body, call.world
    sort_field = call.params.get("sort_field", "create_time")
    if sort_field not in ("create_time", "update_time"):
        raise WorldError(21001001, "Invalid parameters. sort_field is create_time or update_time.")
    warehouses = _ids(body.get("warehouse_ids"))
    descending = call.params.get("sort_order", "DESC") == "DESC"
    if sort_field == "create_time" and set(body) <= _INDEXED_ORDER_FILTERS:
        # The common searches (by status and creation window) come straight off the index.
        with world.lock:
            keys = world.settled_order_index(shop).select(
                body.get("order_status") or None,
                _epoch(body, "create_time_ge"),
                _epoch(body, "create_time_lt"),
            )
            page = OrderPage(world, shop, keys, descending)
            chunk, paging = _page(call, page, default_size=20, max_size=100, required=True)
        return {"orders": chunk, **paging}
    found = []
    with world.lock:
        for order in shop.orders.values():
            order = world.order_view(shop, order)
            if body.get("order_status") and order["status"] != body["order_status"]:
                continue
            if body.get("shipping_type") and order["shipping_type"] != body["shipping_type"]:
                continue
            if body.get("buyer_user_id") and order["user_id"] != body["buyer_user_id"]:
                continue
            if "is_buyer_request_cancel" in body and order["is_buyer_request_cancel"] != bool(
                body["is_buyer_request_cancel"]
            ):
                continue
            if warehouses is not None and order["warehouse_id"] not in warehouses:
                continue
            if not (
                _in_range(order["create_time"], body, "create_time")
                and _in_range(order["update_time"], body, "update_time")
            ):
                continue
            found.append(order)
    found.sort(key=lambda o: (o[sort_field], o["id"]), reverse=descending)
    chunk, paging = _page(call, found, default_size=20, max_size=100, required=True)
    return {"orders": chunk, **paging}


def _order_detail(call: Call) -> Data:
    raw = call.params.get("ids", "")
    ids = [part for part in raw.split(",") if part]
    if not ids:
        raise WorldError(21001001, "Invalid parameters. ids is required.")
    if len(ids) > 50:
        raise WorldError(21001001, "Invalid parameters. At most 50 ids per request.")
    shop, world = call.the_shop, call.world
    with world.lock:
        return {"orders": [world.order_view(shop, shop.orders[i]) for i in ids if i in shop.orders]}


#: Documented page_size ranges: Search Returns [10, 50], Search Cancellations [1, 50].
_AFTER_SALES_MIN_PAGE = {"returns": 10, "cancellations": 1}
#: The return_refund domain's "invalid request parameter" code.
_RETURN_REFUND_BAD_PARAMETER = 25001001


def _search_after_sales(kind: str) -> Handler:
    id_field, list_key = (
        ("return_id", "return_orders") if kind == "returns" else ("cancel_id", "cancellations")
    )
    type_field, status_field = (
        ("return_type", "return_status") if kind == "returns" else ("cancel_type", "cancel_status")
    )
    ids_key, types_key, status_key = (
        ("return_ids", "return_types", "return_status")
        if kind == "returns"
        else ("cancel_ids", "cancel_types", "cancel_status")
    )

    def handler(call: Call) -> Data:
        shop, body = call.the_shop, call.body
        records = shop.returns if kind == "returns" else shop.cancellations
        wanted_ids, orders = _ids(body.get(ids_key)), _ids(body.get("order_ids"))
        types, statuses = _ids(body.get(types_key)), _ids(body.get(status_key))
        found = [
            r
            for r in records
            if (wanted_ids is None or r[id_field] in wanted_ids)
            and (orders is None or r["order_id"] in orders)
            and (types is None or r[type_field] in types)
            and (statuses is None or r[status_field] in statuses)
            and _in_range(r["create_time"], body, "create_time")
            and _in_range(r["update_time"], body, "update_time")
        ]
        sort_field = call.params.get("sort_field", "create_time")
        if sort_field not in ("create_time", "update_time"):
            raise WorldError(25001001, "Invalid request parameter: sort_field.")
        found.sort(
            key=lambda r: (r[sort_field], r[id_field]),
            reverse=call.params.get("sort_order", "ASC") == "DESC",
        )
        chunk, paging = _page(
            call,
            found,
            default_size=10,
            min_size=_AFTER_SALES_MIN_PAGE[kind],
            max_size=50,
            size_error=_RETURN_REFUND_BAD_PARAMETER,
        )
        return {list_key: chunk, **paging}

    return handler


#: The state of each sandbox warehouse city (the names carry the city).
_WAREHOUSE_STATES = {"Los Angeles": "California", "Newark": "New Jersey", "Dallas": "Texas"}


def _warehouses(call: Call) -> Data:
    result = []
    for w in call.world.warehouses:
        city = w["name"].split("(")[-1].rstrip(")")
        result.append(
            {
                "id": w["id"],
                "name": w["name"],
                "effect_status": "ENABLED",
                "type": "RETURN_WAREHOUSE" if "Returns" in w["name"] else "SALES_WAREHOUSE",
                "sub_type": "DOMESTIC_WAREHOUSE",
                "is_default": w["is_default"],
                "address": {
                    "region": "United States",
                    "state": _WAREHOUSE_STATES.get(city, ""),
                    "city": city,
                    "region_code": "US",
                    "full_address": f"Sandbox Logistics Park, {city}, US",
                    "contact_person": "Sandbox Ops",
                    "postal_code": "90001",
                },
            }
        )
    return {"warehouses": result}


def _delivery_options(call: Call) -> Data:
    options = call.world.delivery_options.get(call.path_args["warehouse_id"])
    if options is None:
        raise WorldError(11005004, "warehouse not exist")
    return {
        "delivery_options": [
            {
                "id": o["id"],
                "name": o["name"],
                "type": o["type"],
                "description": f"{o['name']} via {', '.join(o['providers'])}",
                "dimension_limit": {
                    "max_height": 60,
                    "max_length": 60,
                    "max_width": 60,
                    "unit": "INCH",
                },
                "weight_limit": {"max_weight": 70, "min_weight": 0, "unit": "POUND"},
                "platform": ["TIKTOK_SHOP"],
            }
            for o in options
        ]
    }


def _shipping_providers(call: Call) -> Data:
    wanted = call.path_args["delivery_option_id"]
    for options in call.world.delivery_options.values():
        for option in options:
            if option["id"] == wanted:
                return {
                    "shipping_providers": [
                        {"id": SHIPPING_PROVIDER_IDS[name], "name": name}
                        for name in option["providers"]
                    ]
                }
    raise WorldError(21001001, "Invalid parameters. Unknown delivery_option_id.")


def _mark_shipped(call: Call) -> Data:
    body = call.body
    tracking = body.get("tracking_number")
    provider = body.get("shipping_provider_id")
    if not isinstance(tracking, str) or not isinstance(provider, str):
        raise WorldError(
            21001001, "Invalid parameters. tracking_number and shipping_provider_id required."
        )
    items = body.get("order_line_item_ids")
    return call.world.mark_shipped(
        call.the_shop,
        call.path_args["order_id"],
        tracking,
        provider,
        [str(i) for i in items] if items else None,
    )


def _tracking(call: Call) -> Data:
    order_id = call.path_args["order_id"]
    shop, world = call.the_shop, call.world
    with world.lock:
        if order_id not in shop.orders:
            raise WorldError(21001001, f"Invalid parameters. Order {order_id} does not exist.")
        world.order_view(shop, shop.orders[order_id])
        return {"tracking": world.tracking_events(shop, order_id)}


# ------------------------------------------------------------------------------------------ analytics


def _window(call: Call) -> tuple[date, date]:
    try:
        start = date.fromisoformat(call.params["start_date_ge"])
        end = date.fromisoformat(call.params["end_date_lt"])
    except (KeyError, ValueError):
        raise WorldError(
            21001001, "Invalid parameters. start_date_ge and end_date_lt are YYYY-MM-DD."
        ) from None
    if end <= start:
        raise WorldError(21001001, "Invalid parameters. end_date_lt must be after start_date_ge.")
    if (end - start).days > 365:
        raise WorldError(
            21001001, "The date range between start_date_ge and end_date_lt exceeds the limit."
        )
    # The window is answered as asked: days without data (future, or before the shop opened) are
    # zeros, like the platform's empty intervals, rather than dropped or an error.
    return start, end


def _days(start: date, end: date) -> list[date]:
    return [start + timedelta(days=i) for i in range(max(0, (end - start).days))]


def _money(cents: int) -> Data:
    return {"amount": f"{cents // 100}.{cents % 100:02d}", "currency": "USD"}


def _sum(world: TikTokWorld, key: str, days: list[date], scale: float = 1.0) -> dict[str, int]:
    # Start from zeros: a window with no data days (all in the future, or before a video was posted)
    # is an empty interval on the platform, never a missing field.
    total = dict.fromkeys(METRIC_NAMES, 0)
    for day in days:
        for name, value in world.daily_metrics(key, day, scale).items():
            total[name] = total.get(name, 0) + value
    return total


def _intervals(
    call: Call, key: str, shape: Callable[[dict[str, int]], Data], scale: float = 1.0
) -> Data:
    start, end = _window(call)
    world = call.world
    granularity = call.params.get("granularity", "ALL")
    spans = (
        [(d, d + timedelta(days=1)) for d in _days(start, end)]
        if granularity == "1D"
        else [(start, end)]
    )

    def build(pairs: list[tuple[date, date]]) -> list[Data]:
        return [
            {
                "start_date": a.isoformat(),
                "end_date": b.isoformat(),
                **shape(_sum(world, key, _days(a, b), scale)),
            }
            for a, b in pairs
        ]

    performance: Data = {"intervals": build(spans)}
    if call.params.get("with_comparison") == "true":
        shift = end - start
        try:
            earlier = [(a - shift, b - shift) for a, b in spans]
        except OverflowError:  # a comparison period before year 1 cannot even be written down
            raise WorldError(
                21001001, "Invalid parameters. start_date_ge is out of the supported range."
            ) from None
        performance["comparison_intervals"] = build(earlier)
    return {
        "performance": performance,
        "latest_available_date": world.latest_available_date().isoformat(),
    }


def _breakdown(total: int, money: bool = False) -> list[Data]:
    parts = {"LIVE": total * 3 // 10, "VIDEO": total * 5 // 10}
    parts["PRODUCT_CARD"] = total - parts["LIVE"] - parts["VIDEO"]
    if money:
        return [{"type": k, **_money(v)} for k, v in parts.items()]
    return [{"type": k, "amount": v} for k, v in parts.items()]


def _shop_shape(m: dict[str, int]) -> Data:
    orders = max(1, m["orders"])
    return {
        "gmv": _money(m["gmv_cents"]),
        "gmv_breakdowns": _breakdown(m["gmv_cents"], money=True),
        "orders": m["orders"],
        "sku_orders": m["sku_orders"],
        "units_sold": m["units_sold"],
        "buyers": m["buyers"],
        "buyer_breakdowns": _breakdown(m["buyers"]),
        "avg_order_value": _money(m["gmv_cents"] // orders),
        "product_impressions": m["impressions"],
        "product_impression_breakdowns": _breakdown(m["impressions"]),
        "product_page_views": m["page_views"],
        "product_page_view_breakdowns": _breakdown(m["page_views"]),
        "avg_product_page_visitors": m["visitors"],
        "refunds": _money(m["refund_cents"]),
        "cancellations_and_returns": m["returns"],
    }


def _ctr(m: dict[str, int]) -> str:
    return f"{(m['page_views'] / m['impressions']) if m['impressions'] else 0:.4f}"


def _shop_performance(call: Call) -> Data:
    return _intervals(call, f"shop:{call.the_shop.id}", _shop_shape, scale=6.0)


def _product_shape(m: dict[str, int]) -> Data:
    return {
        "gmv": _money(m["gmv_cents"]),
        "gmv_breakdowns": _breakdown(m["gmv_cents"], True),
        "orders": m["orders"],
        "units_sold": m["units_sold"],
        "impressions": m["impressions"],
        "page_views": m["page_views"],
        "avg_page_visitors": m["visitors"],
        "click_through_rate": _ctr(m),
    }


def _product_performance(call: Call) -> Data:
    product_id = call.path_args["product_id"]
    if product_id not in call.the_shop.products:
        raise WorldError(12052032, "The product does not exist.", 404)
    return _intervals(call, f"product:{product_id}", _product_shape, scale=0.05)


def _ranked(
    call: Call,
    rows: list[Data],
    sort_fields: dict[str, Callable[[Data], Any]],
    default: str,
    list_key: str,
) -> Data:
    sort_field = call.params.get("sort_field", default)
    if sort_field not in sort_fields:
        raise WorldError(
            21001001, f"Invalid parameters. sort_field must be one of {', '.join(sort_fields)}."
        )
    rows.sort(
        key=lambda r: (sort_fields[sort_field](r), r["id"]),
        reverse=call.params.get("sort_order", "DESC") == "DESC",
    )
    chunk, paging = _page(call, rows, default_size=10, max_size=100)
    return {
        list_key: chunk,
        **paging,
        "latest_available_date": call.world.latest_available_date().isoformat(),
    }


def _gmv(row: Data) -> float:
    return float(row["gmv"]["amount"])


def _product_performance_list(call: Call) -> Data:
    days = _days(*_window(call))
    rows = []
    for product_id, product in call.the_shop.products.items():
        if product["status"] != "ACTIVATE":
            continue
        m = _sum(call.world, f"product:{product_id}", days, 0.05)
        rows.append(
            {
                # Analytics ids are JSON integers in the official samples, unlike everywhere else.
                "id": int(product_id),
                "gmv": _money(m["gmv_cents"]),
                "orders": m["orders"],
                "units_sold": m["units_sold"],
                "click_through_rate": _ctr(m),
            }
        )
    return _ranked(
        call,
        rows,
        {
            "gmv": _gmv,
            "order_count": lambda r: r["orders"],
            "unit_sold_count": lambda r: r["units_sold"],
            "click_through_rate": lambda r: float(r["click_through_rate"]),
        },
        "gmv",
        "products",
    )


def _sku_performance_list(call: Call) -> Data:
    days = _days(*_window(call))
    only = call.params.get("product_id")
    rows = []
    for product_id, product in call.the_shop.products.items():
        if (only and product_id != only) or product["status"] != "ACTIVATE":
            continue
        for sku in product["skus"]:
            m = _sum(call.world, f"sku:{sku['id']}", days, 0.03)
            rows.append(
                {
                    "id": int(sku["id"]),
                    "product_id": int(product_id),
                    "gmv": _money(m["gmv_cents"]),
                    "sku_orders": m["sku_orders"],
                    "units_sold": m["units_sold"],
                }
            )
    return _ranked(
        call,
        rows,
        {
            "gmv": _gmv,
            "sku_orders": lambda r: r["sku_orders"],
            "units_sold": lambda r: r["units_sold"],
        },
        "gmv",
        "skus",
    )


def _find(rows: list[Data], item_id: str, what: str) -> Data:
    for row in rows:
        if row["id"] == item_id:
            return row
    raise WorldError(21001001, f"Invalid parameters. The {what} {item_id} does not exist.")


def _video_row(world: TikTokWorld, video: Data, days: list[date]) -> Data:
    m = _sum(world, f"video:{video['id']}", [d for d in days if d >= _post_day(video)], 0.2)
    return {
        "id": video["id"],
        "title": video["title"],
        "username": video["username"],
        "gmv": _money(m["gmv_cents"]),
        "sku_orders": m["sku_orders"],
        "units_sold": m["units_sold"],
        "views": m["impressions"],
        "click_through_rate": _ctr(m),
        "products": video["products"],
        "video_post_time": video["video_post_time"],
    }


def _post_day(video: Data) -> date:
    return date.fromisoformat(video["video_post_time"][:10])


def _video_list(call: Call) -> Data:
    days = _days(*_window(call))
    rows = [_video_row(call.world, v, days) for v in call.the_shop.videos]
    return _ranked(
        call,
        rows,
        {
            "gmv": _gmv,
            "sku_orders": lambda r: r["sku_orders"],
            "units_sold": lambda r: r["units_sold"],
            "views": lambda r: r["views"],
            "click_through_rate": lambda r: float(r["click_through_rate"]),
        },
        "gmv",
        "videos",
    )


def _video_shape(m: dict[str, int]) -> Data:
    return {
        "gmv": _money(m["gmv_cents"]),
        "click_through_rate": _ctr(m),
        "sku_orders": m["sku_orders"],
        "units_sold": m["units_sold"],
    }


def _video_overview(call: Call) -> Data:
    return _intervals(call, f"videos:{call.the_shop.id}", _video_shape, 2.0)


def _video_detail(call: Call) -> Data:
    video = _find(call.the_shop.videos, call.path_args["video_id"], "video")

    def shape(m: dict[str, int]) -> Data:
        return {
            "gmv": _money(m["gmv_cents"]),
            "click_through_rate": _ctr(m),
            "daily_avg_buyers": str(m["buyers"] // 7),
            "views": m["impressions"],
        }

    result = _intervals(call, f"video:{video['id']}", shape, 0.2)
    result["performance"]["video_post_time"] = video["video_post_time"]
    days = _days(*_window(call))
    m = _sum(call.world, f"video:{video['id']}", days, 0.2)
    result["engagement_data"] = {
        "total_likes": m["likes"],
        "total_shares": m["shares"],
        "total_comments": m["comments"],
        "total_views": m["impressions"],
    }
    return result


def _video_products(call: Call) -> Data:
    video = _find(call.the_shop.videos, call.path_args["video_id"], "video")
    days = _days(*_window(call))
    rows = []
    for product in video["products"]:
        m = _sum(call.world, f"video:{video['id']}:{product['id']}", days, 0.1)
        rows.append(
            {
                "id": product["id"],
                "name": product["name"],
                "gmv": _money(m["gmv_cents"]),
                "units_sold": m["units_sold"],
                "daily_avg_buyers": str(m["buyers"] // max(1, len(days))),
            }
        )
    return _ranked(
        call, rows, {"gmv": _gmv, "units_sold": lambda r: r["units_sold"]}, "gmv", "products"
    )


def _live_list(call: Call) -> Data:
    start, end = _window(call)
    rows = []
    for live in call.the_shop.lives:
        day = date.fromtimestamp(int(live["start_time"]))
        if not start <= day < end:
            continue
        m = call.world.daily_metrics(f"live:{live['id']}", day, 3.0)
        rows.append(
            {
                **live,
                "sales_performance": {
                    "gmv": _money(m["gmv_cents"]),
                    "sku_orders": m["sku_orders"],
                    "unit_sold": m["units_sold"],
                    "customers": m["buyers"],
                    "products_added": 5 + m["returns"],
                    "different_products_sold": 1 + m["returns"],
                    "created_sku_orders": m["sku_orders"] + 2,
                    "avg_price": _money(m["gmv_cents"] // max(1, m["units_sold"])),
                    "click_to_order_rate": f"{m['orders'] * 100 // max(1, m['page_views'])}%",
                    # Orders paid within 24 hours of watching: the LIVE's own GMV and a tail.
                    "24h_live_gmv": _money(m["gmv_cents"] * 6 // 5),
                },
                "interaction_performance": {
                    "acu": m["visitors"] // 20,
                    "pcu": m["visitors"] // 5,
                    "viewers": m["visitors"],
                    "views": m["page_views"],
                    "likes": m["likes"],
                    "comments": m["comments"],
                    "shares": m["shares"],
                    "new_followers": m["returns"] * 3,
                    "product_impressions": m["impressions"],
                    "product_clicks": m["page_views"] // 2,
                    "click_through_rate": f"{float(_ctr(m)) * 100:.2f}%",
                },
            }
        )
    return _ranked(
        call,
        rows,
        {
            "gmv": lambda r: float(r["sales_performance"]["gmv"]["amount"]),
            "sku_orders": lambda r: r["sales_performance"]["sku_orders"],
            "unit_sold": lambda r: r["sales_performance"]["unit_sold"],
            "customers": lambda r: r["sales_performance"]["customers"],
        },
        "gmv",
        "live_stream_sessions",
    )


def _live_overview(call: Call) -> Data:
    def shape(m: dict[str, int]) -> Data:
        return {
            "gmv": _money(m["gmv_cents"]),
            "sku_orders": m["sku_orders"],
            "customers": m["buyers"],
            "units_sold": m["units_sold"],
            "click_to_order_rate": f"{m['orders'] * 100 // max(1, m['page_views'])}%",
            "click_through_rate": f"{float(_ctr(m)) * 100:.2f}%",
        }

    return _intervals(call, f"lives:{call.the_shop.id}", shape, 1.5)


_ANALYTICS = "data.shop_analytics.public.read"
ENDPOINTS: tuple[Endpoint, ...] = (
    Endpoint(
        "GET",
        "/authorization/202309/shops",
        _authorized_shops,
        "seller.authorization.info",
        shop_scoped=False,
    ),
    Endpoint(
        "GET", "/seller/202309/shops", _active_shops, "seller.authorization.info", shop_scoped=False
    ),
    Endpoint("POST", "/product/202502/products/search", _search_products, "seller.product.basic"),
    Endpoint("POST", "/product/202309/products/search", _search_products, "seller.product.basic"),
    Endpoint("GET", "/product/202309/products/{product_id}", _get_product, "seller.product.basic"),
    Endpoint("POST", "/product/202309/inventory/search", _search_inventory, "seller.product.basic"),
    Endpoint(
        "POST",
        "/product/202309/products/{product_id}/inventory/update",
        _update_inventory,
        "seller.product.write",
    ),
    Endpoint("POST", "/order/202309/orders/search", _search_orders, "seller.order.info"),
    Endpoint("GET", "/order/202507/orders", _order_detail, "seller.order.info"),
    Endpoint("GET", "/order/202309/orders", _order_detail, "seller.order.info"),
    Endpoint(
        "POST",
        "/return_refund/202309/returns/search",
        _search_after_sales("returns"),
        "seller.return_refund.basic",
    ),
    Endpoint(
        "POST",
        "/return_refund/202309/cancellations/search",
        _search_after_sales("cancellations"),
        "seller.return_refund.basic",
    ),
    Endpoint("GET", "/logistics/202309/warehouses", _warehouses, "seller.logistics"),
    Endpoint(
        "GET",
        "/logistics/202309/warehouses/{warehouse_id}/delivery_options",
        _delivery_options,
        "seller.logistics",
    ),
    Endpoint(
        "GET",
        "/logistics/202309/delivery_options/{delivery_option_id}/shipping_providers",
        _shipping_providers,
        ("seller.fulfillment.basic", "seller.logistics"),
    ),
    Endpoint(
        "POST",
        "/fulfillment/202309/orders/{order_id}/packages",
        _mark_shipped,
        "seller.fulfillment.basic",
    ),
    Endpoint(
        "GET",
        "/fulfillment/202309/orders/{order_id}/tracking",
        _tracking,
        "seller.logistics",  # Get Tracking is in the "Logistics Basic" package, not Fulfillment
    ),
    Endpoint("GET", "/analytics/202405/shop/performance", _shop_performance, _ANALYTICS),
    Endpoint(
        "GET", "/analytics/202405/shop_products/performance", _product_performance_list, _ANALYTICS
    ),
    Endpoint(
        "GET",
        "/analytics/202405/shop_products/{product_id}/performance",
        _product_performance,
        _ANALYTICS,
    ),
    Endpoint("GET", "/analytics/202406/shop_skus/performance", _sku_performance_list, _ANALYTICS),
    Endpoint("GET", "/analytics/202409/shop_videos/performance", _video_list, _ANALYTICS),
    Endpoint(
        "GET", "/analytics/202409/shop_videos/overview_performance", _video_overview, _ANALYTICS
    ),
    Endpoint(
        "GET", "/analytics/202409/shop_videos/{video_id}/performance", _video_detail, _ANALYTICS
    ),
    Endpoint(
        "GET",
        "/analytics/202409/shop_videos/{video_id}/products/performance",
        _video_products,
        _ANALYTICS,
    ),
    Endpoint("GET", "/analytics/202508/shop_lives/performance", _live_list, _ANALYTICS),
    Endpoint(
        "GET", "/analytics/202508/shop_lives/overview_performance", _live_overview, _ANALYTICS
    ),
)

# ------------------------------------------------------------------------------------------ the app

_HTTP_STATUS = {
    36009009: 404,
    36009010: 405,
    106001: 401,
    105002: 401,
    36009004: 401,
    105005: 403,
    36009033: 403,
    106013: 400,
}


class _Api:
    def __init__(self, world: TikTokWorld) -> None:
        self.world = world
        self.buckets = _Buckets()
        self.compiled = [(endpoint, endpoint.pattern) for endpoint in ENDPOINTS]
        self._counter = 0

    def request_id(self) -> str:
        self._counter += 1
        stamp = date.fromtimestamp(self.world.now()).strftime("%Y%m%d")
        return f"{stamp}{self._counter:010d}{secrets.token_hex(6).upper()}"

    def envelope(self, code: int, message: str, data: Data | None, status: int = 200) -> Response:
        if code and self.world.config.error_http_status and status == 200:
            status = _HTTP_STATUS.get(code, 200)
        if code == 36009002:
            status = 429
        return JSONResponse(
            {"code": code, "message": message, "data": data, "request_id": self.request_id()},
            status_code=status,
        )

    async def __call__(self, request: Request) -> Response:
        try:
            return self.envelope(0, "Success", await self.handle(request))
        except WorldError as error:
            return self.envelope(error.code, error.message, None, error.http_status)

    async def handle(self, request: Request) -> Data:
        world = self.world
        path = request.url.path
        matches = [(e, m) for e, p in self.compiled if (m := p.match(path))]
        if not matches:
            raise WorldError(
                36009009, "Invalid path. The specified path does not match any available endpoint."
            )
        chosen = next(((e, m) for e, m in matches if e.method == request.method), None)
        if chosen is None:
            raise WorldError(
                36009010, "Invalid method. The request method is not supported for this endpoint."
            )
        endpoint, match = chosen
        params = decoded_query(request.scope.get("query_string", b""))
        raw_body = await request.body()
        if not params.get("sign"):
            raise WorldError(
                36009004,
                "Missing credentials. The request does not include a "
                "required signature in the query.",
            )
        if params.get("app_key") != world.app_key:
            raise WorldError(36009004, "Invalid credentials. Invalid `app_key` query parameter.")
        self.check_timestamp(params.get("timestamp", ""))
        content_type = request.headers.get("content-type", "")
        wanted = expected_sign(world.app_secret, path, params, raw_body, content_type)
        if not signature_matches(params["sign"], wanted):
            raise WorldError(106001, "Invalid credentials. The `sign` query parameter is invalid.")
        grant = world.grant_for(request.headers.get("x-tts-access-token", ""))
        if grant is None:
            raise WorldError(
                36009004, "Invalid credentials. The `x-tts-access-token` header is invalid."
            )
        if grant.access_expires_at <= world.now():
            raise WorldError(
                105002,
                "Expired credentials. The `access_token` or "
                "`x-tts-access-token` header has expired.",
            )
        cipher = params.get("shop_cipher")
        shop = None
        if endpoint.shop_scoped:
            if not cipher:
                raise WorldError(
                    106013,
                    "Missing identifier. The `shop_cipher` query parameter "
                    "is required to identify the target shop.",
                )
            shop = world.shop_by_cipher(cipher)
            if shop is None:
                raise WorldError(
                    101000,
                    "Invalid query or header. The `shop_cipher` query "
                    "parameter or `x-tts-access-token` header is invalid.",
                )
        elif cipher is not None:
            raise WorldError(
                36009004,
                "Unexpected identifier. The `shop_cipher` query parameter "
                "is not required for this request.",
            )
        if not any(s in grant.scopes and s in world.granted_scopes for s in endpoint.scopes):
            raise WorldError(
                105005,
                "Access denied. The app is not authorized to access the "
                "endpoint because the access scopes granted for the app or "
                f"the access token do not contain {' or '.join(endpoint.scopes)}.",
            )
        key = (world.app_key, shop.id if shop else "-", endpoint.template)
        if not self.buckets.take(key, world.clock.now(), world.config.qps, world.config.burst):
            raise WorldError(
                36009002,
                "Too many requests. You've made too many requests in a short period of time.",
                429,
            )
        body: Data = {}
        if raw_body:
            try:
                parsed = json.loads(raw_body)
            except ValueError:
                raise WorldError(
                    36009022, "Invalid request body format. The body must be JSON."
                ) from None
            if not isinstance(parsed, dict):
                raise WorldError(36009022, "Invalid request body format. Expected an object.")
            body = parsed
        call = Call(world, shop, params, match.groupdict(), body)
        with world.lock:
            return endpoint.handler(call)

    def check_timestamp(self, raw: str) -> None:
        try:
            stamp = int(raw)
        except ValueError:
            stamp = -1
        now = self.world.now()
        config = self.world.config
        if stamp < 0:
            raise WorldError(
                36009004,
                "Invalid timestamp. The value of the `timestamp` query "
                "parameter must be a positive Unix timestamp in seconds.",
            )
        if stamp < now - config.timestamp_past_window:
            raise WorldError(
                36009004,
                "Invalid timestamp. The value of the `timestamp` query "
                "parameter must not be earlier than 5 minutes before the "
                "current time.",
            )
        if stamp > now + config.timestamp_future_window:
            raise WorldError(
                36009004,
                "Invalid timestamp. The value of the `timestamp` query "
                "parameter must not exceed the current time by more than "
                "30 seconds.",
            )


def _token_payload(world: TikTokWorld, grant: Any) -> Data:
    return {
        "access_token": grant.access_token,
        "access_token_expire_in": grant.access_expires_at,
        "refresh_token": grant.refresh_token,
        "refresh_token_expire_in": grant.refresh_expires_at,
        "open_id": "7010736057180325637",
        "seller_name": world.shops[0].name,
        "seller_base_region": "US",
        "user_type": 0,
        "granted_scopes": list(grant.scopes),
    }


def build_tiktok_app(world: TikTokWorld) -> Starlette:
    """The fake TikTok Shop (auth host, consent page and API host) over ``world``."""
    api = _Api(world)

    async def token_get(request: Request) -> Response:
        q = request.query_params
        try:
            grant = world.exchange_code(
                q.get("app_key", ""),
                q.get("app_secret", ""),
                q.get("auth_code", ""),
                q.get("grant_type", ""),
            )
        except WorldError as error:
            return api.envelope(error.code, error.message, None)
        return api.envelope(0, "success", _token_payload(world, grant))

    async def token_refresh(request: Request) -> Response:
        q = request.query_params
        try:
            grant = world.refresh(
                q.get("app_key", ""),
                q.get("app_secret", ""),
                q.get("refresh_token", ""),
                q.get("grant_type", ""),
            )
        except WorldError as error:
            return api.envelope(error.code, error.message, None)
        return api.envelope(0, "success", _token_payload(world, grant))

    async def api_call(request: Request) -> Response:
        return await api(request)

    async def consent(request: Request) -> Response:
        q = request.query_params
        code = world.new_auth_code()
        redirect = q.get("redirect_uri")
        if redirect:
            extra = {"code": code, **({"state": q["state"]} if "state" in q else {})}
            joiner = "&" if "?" in redirect else "?"
            return RedirectResponse(f"{redirect}{joiner}{urlencode(extra)}", status_code=302)
        return HTMLResponse(
            f"<html><body><h1>Sandbox TikTok Shop</h1><p>Authorized. Your code: "
            f"<code>{code}</code></p></body></html>"
        )

    routes = [
        Route("/api/v2/token/get", token_get, methods=["GET"]),
        Route("/api/v2/token/refresh", token_refresh, methods=["GET"]),
        Route("/open/authorize", consent, methods=["GET"]),
        Route("/{path:path}", api_call, methods=["GET", "POST", "PUT", "DELETE", "PATCH"]),
    ]
    return Starlette(routes=routes)
