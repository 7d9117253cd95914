"""The fake Login-with-Amazon token endpoint and SP-API (FBA Outbound 2020-07-01 + FBA Inventory v1).

Behaves like the real service where a client can tell the difference: ``x-amz-access-token`` is checked
(unknown -> 403 Unauthorized, expired -> 403 with Amazon's expired-token message), each operation's usage
plan is a token bucket (-> 429 with only ``x-amzn-RequestId``), ``x-amzn-RateLimit-Limit`` rides on
2xx/400/404, request bodies are validated here (never with the client's models), and errors use the
official ``{"errors": [{code, message, details}]}`` shape. GETs whose parameters are all in the query
refuse a query parameter their Swagger model does not declare, and listAllFulfillmentOrders refuses a
``nextToken`` sent with anything else, as Amazon's paged operations do.
"""

from __future__ import annotations

import itertools
import json
import re
from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import parse_qs

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from commerce_mcp.sandbox import credentials
from commerce_mcp.sandbox.amazon_world import AmazonWorld, WorldError, parse_timestamp

OUTBOUND = "/fba/outbound/2020-07-01"
#: Published usage plans: operation -> (requests per second, burst).
USAGE_PLANS: dict[str, tuple[float, float]] = {
    "getFulfillmentPreview": (2.0, 30.0),
    "listAllFulfillmentOrders": (2.0, 30.0),
    "createFulfillmentOrder": (2.0, 30.0),
    "getFulfillmentOrder": (2.0, 30.0),
    "cancelFulfillmentOrder": (2.0, 30.0),
    "getPackageTrackingDetails": (2.0, 30.0),
    "getInventorySummaries": (2.0, 2.0),
}
#: The query parameters each GET operation declares in Amazon's Swagger model
#: (fulfillmentOutbound_2020-07-01.json); tests/sandbox/test_amazon_server.py checks this table against
#: the model. Anything else in the query is refused.
DECLARED_QUERY: dict[str, frozenset[str]] = {
    "listAllFulfillmentOrders": frozenset({"queryStartDate", "nextToken"}),
    "getFulfillmentOrder": frozenset(),
    "getPackageTrackingDetails": frozenset({"packageNumber"}),
}
NEXT_TOKEN_ALONE_MESSAGE = "NextToken cannot be specified with other input parameters."
EXPIRED_TOKEN_MESSAGE = "The security token included in the request is expired"
INVALID_TOKEN_MESSAGE = "Access to requested resource is denied."
ORDER_ID = re.compile(r"^[A-Za-z0-9_-]{1,40}$")
SPEEDS = ("Standard", "Expedited", "Priority", "ScheduledDelivery")
POLICIES = ("FillOrKill", "FillAll", "FillAllAvailable")
ACTIONS = ("Ship", "Hold")

Handler = Callable[[Request, AmazonWorld], Awaitable[tuple[int, Any]]]


class _Invalid(Exception):
    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def _errors(code: str, message: str) -> dict[str, Any]:
    return {"errors": [{"code": code, "message": message, "details": ""}]}


def build_amazon_app(world: AmazonWorld) -> Starlette:
    """The fake LWA + SP-API over ``world``."""
    request_ids = itertools.count(1)

    def request_id() -> str:
        return f"sbx-{next(request_ids):08d}-amzn"

    async def token(request: Request) -> Response:
        rid = {"x-amzn-RequestId": request_id()}
        form = await _token_form(request)
        if form.get("grant_type") != "refresh_token":
            return JSONResponse({"error": "unsupported_grant_type",
                                 "error_description": "Only refresh_token is supported here"},
                                status_code=400, headers=rid)  # fmt: skip
        if (form.get("client_id") != credentials.AMAZON_CLIENT_ID
                or form.get("client_secret") != credentials.AMAZON_CLIENT_SECRET):  # fmt: skip
            return JSONResponse({"error": "invalid_client",
                                 "error_description": "Client authentication failed"},
                                status_code=401, headers=rid)  # fmt: skip
        if form.get("refresh_token") != credentials.AMAZON_REFRESH_TOKEN:
            return JSONResponse({"error": "invalid_grant",
                                 "error_description": "The request has an invalid grant parameter : "
                                                      "refresh_token"},
                                status_code=400, headers=rid)  # fmt: skip
        access, expires_in = world.issue_access_token()
        return JSONResponse({"access_token": access, "token_type": "bearer",
                             "expires_in": expires_in,
                             "refresh_token": credentials.AMAZON_REFRESH_TOKEN}, headers=rid)  # fmt: skip

    def operation(name: str, handler: Handler) -> Callable[[Request], Awaitable[Response]]:
        plan_rate, plan_burst = USAGE_PLANS[name]

        async def endpoint(request: Request) -> Response:
            rate, burst = plan_rate * world.rate_scale, plan_burst * world.rate_scale
            rid = request_id()
            state = world.access_token_state(request.headers.get("x-amz-access-token"))
            if state != "valid":
                message = EXPIRED_TOKEN_MESSAGE if state == "expired" else INVALID_TOKEN_MESSAGE
                return JSONResponse(_errors("Unauthorized", message), status_code=403,
                                    headers={"x-amzn-RequestId": rid,
                                             "x-amzn-ErrorType": "AccessDeniedException"})  # fmt: skip
            if not world.take_rate_token(name, rate, burst):
                return Response(status_code=429, headers={"x-amzn-RequestId": rid})
            headers = {"x-amzn-RequestId": rid, "x-amzn-RateLimit-Limit": f"{rate:g}"}
            try:
                _check_declared_query(name, request)
                status, payload = await handler(request, world)
            except _Invalid as exc:
                return JSONResponse(_errors("InvalidInput", exc.message), status_code=400,
                                    headers={**headers, "x-amzn-ErrorType": "ValidationException"})  # fmt: skip
            except WorldError as exc:
                return JSONResponse(_errors(exc.code, exc.message), status_code=exc.status,
                                    headers=headers)  # fmt: skip
            return JSONResponse(payload, status_code=status, headers=headers)

        return endpoint

    async def not_found(request: Request) -> Response:
        return JSONResponse(_errors("NotFound", f"Resource {request.url.path} is not found."),
                            status_code=404, headers={"x-amzn-RequestId": request_id()})  # fmt: skip

    routes = [
        Route("/auth/o2/token", token, methods=["POST"]),
        Route(f"{OUTBOUND}/fulfillmentOrders/preview",
              operation("getFulfillmentPreview", _preview), methods=["POST"]),
        Route(f"{OUTBOUND}/fulfillmentOrders",
              operation("createFulfillmentOrder", _create), methods=["POST"]),
        Route(f"{OUTBOUND}/fulfillmentOrders",
              operation("listAllFulfillmentOrders", _list), methods=["GET"]),
        Route(f"{OUTBOUND}/fulfillmentOrders/{{order_id}}/cancel",
              operation("cancelFulfillmentOrder", _cancel), methods=["PUT"]),
        Route(f"{OUTBOUND}/fulfillmentOrders/{{order_id}}",
              operation("getFulfillmentOrder", _get), methods=["GET"]),
        Route(f"{OUTBOUND}/tracking",
              operation("getPackageTrackingDetails", _tracking), methods=["GET"]),
        Route("/fba/inventory/v1/summaries",
              operation("getInventorySummaries", _inventory), methods=["GET"]),
        Route("/{path:path}", not_found, methods=["GET", "POST", "PUT", "DELETE", "PATCH"]),
    ]  # fmt: skip
    return Starlette(routes=routes)


async def _token_form(request: Request) -> dict[str, str]:
    """LWA accepts a form body (python-amazon-sp-api) or JSON (Amazon's Java client)."""
    raw = await request.body()
    if request.headers.get("content-type", "").startswith("application/json"):
        try:
            data = json.loads(raw or b"{}")
        except ValueError:
            return {}
        return {str(k): str(v) for k, v in data.items()} if isinstance(data, dict) else {}
    return {k: v[0] for k, v in parse_qs(raw.decode("utf-8", "replace")).items()}


async def _json_body(request: Request) -> dict[str, Any]:
    raw = await request.body()
    try:
        body = json.loads(raw or b"{}")
    except ValueError:
        raise _Invalid("The request body is not valid JSON.") from None
    if not isinstance(body, dict):
        raise _Invalid("The request body must be a JSON object.")
    return body


# Validation (independent of the client's models on purpose) --------------------------------------


def _need(body: dict[str, Any], name: str, prefix: str = "") -> Any:
    value = body.get(name)
    if value is None or value == "" or value == []:
        raise _Invalid(
            f"The request must contain the parameter {prefix}{name[0].upper()}{name[1:]}."
        )
    return value


def _bad(name: str, value: Any) -> _Invalid:
    return _Invalid(f"Value {value} for parameter {name} is invalid. Reason: InvalidValue.")


def _string(body: dict[str, Any], name: str, max_length: int, *, required: bool = True) -> None:
    value = _need(body, name) if required else body.get(name)
    if value is None:
        return
    if not isinstance(value, str) or len(value) > max_length:
        raise _bad(name, value)


def _check_address(address: Any, prefix: str = "Address.") -> None:
    if not isinstance(address, dict):
        raise _Invalid(f"The request must contain the parameter {prefix[:-1]}.")
    for name in ("name", "addressLine1", "postalCode", "countryCode"):
        _need(address, name, prefix)
    country = address["countryCode"]
    if not (isinstance(country, str) and re.fullmatch(r"[A-Z]{2}", country)):
        raise _Invalid(
            f"Value {country} for parameter CountryCode is invalid. Reason: InvalidValue."
        )
    if country == "US":
        _need(address, "stateOrRegion", prefix)


def _check_items(items: Any, *, create: bool) -> None:
    if not isinstance(items, list) or not items:
        raise _Invalid("The request must contain the parameter Items.")
    if len(items) > 100:
        raise _bad("Items", f"{len(items)} lines")
    seen: set[str] = set()
    for item in items:
        if not isinstance(item, dict):
            raise _bad("Items", item)
        _string(item, "sellerSku", 50)
        _string(item, "sellerFulfillmentOrderItemId", 50)
        quantity = _need(item, "quantity", "Items.")
        if isinstance(quantity, bool) or not isinstance(quantity, int) or quantity <= 0:
            raise _bad("Items.Quantity", quantity)
        line = item["sellerFulfillmentOrderItemId"]
        if line in seen:
            raise _bad("Items.SellerFulfillmentOrderItemId", f"{line} (duplicate)")
        seen.add(line)
    if create and sum(item["quantity"] for item in items) > 250:
        raise _bad("Items.Quantity", "total above 250 units")


def _check_create(body: dict[str, Any]) -> None:
    order_id = _need(body, "sellerFulfillmentOrderId")
    if not isinstance(order_id, str) or not ORDER_ID.fullmatch(order_id):
        raise _bad("SellerFulfillmentOrderId", order_id)
    shown = _need(body, "displayableOrderId")
    if not isinstance(shown, str) or len(shown) > 40 or "  " in shown:
        raise _bad("DisplayableOrderId", shown)
    try:
        parse_timestamp(str(_need(body, "displayableOrderDate")))
    except ValueError:
        raise _Invalid("timestamp must follow ISO8601") from None
    _string(body, "displayableOrderComment", 750)
    if _need(body, "shippingSpeedCategory") not in SPEEDS:
        raise _bad("ShippingSpeedCategory", body["shippingSpeedCategory"])
    if body.get("fulfillmentPolicy", "FillOrKill") not in POLICIES:
        raise _bad("FulfillmentPolicy", body["fulfillmentPolicy"])
    if body.get("fulfillmentAction", "Ship") not in ACTIONS:
        raise _bad("FulfillmentAction", body["fulfillmentAction"])
    _check_address(body.get("destinationAddress"), "DestinationAddress.")
    _check_items(body.get("items"), create=True)


def _check_declared_query(operation: str, request: Request) -> None:
    declared = DECLARED_QUERY.get(operation)
    if declared is None:
        return
    undeclared = sorted(set(request.query_params.keys()) - declared)
    if undeclared:
        raise _Invalid(
            f"The request has parameters {operation} does not accept: {', '.join(undeclared)}."
        )


# Handlers ------------------------------------------------------------------------------------------


async def _preview(request: Request, world: AmazonWorld) -> tuple[int, Any]:
    body = await _json_body(request)
    _check_address(body.get("address"))
    _check_items(body.get("items"), create=False)
    for speed in body.get("shippingSpeedCategories") or []:
        if speed not in SPEEDS:
            raise _bad("ShippingSpeedCategories", speed)
    return 200, {"payload": {"fulfillmentPreviews": world.preview(body)}}


async def _create(request: Request, world: AmazonWorld) -> tuple[int, Any]:
    body = await _json_body(request)
    _check_create(body)
    world.create_order(body)
    return 200, {}


async def _get(request: Request, world: AmazonWorld) -> tuple[int, Any]:
    return 200, {"payload": world.order_view(request.path_params["order_id"])}


async def _cancel(request: Request, world: AmazonWorld) -> tuple[int, Any]:
    world.cancel_order(request.path_params["order_id"])
    return 200, {}


async def _list(request: Request, world: AmazonWorld) -> tuple[int, Any]:
    if "nextToken" in request.query_params and len(request.query_params.multi_items()) > 1:
        raise _Invalid(NEXT_TOKEN_ALONE_MESSAGE)
    start_raw = request.query_params.get("queryStartDate")
    start = None
    if start_raw:
        try:
            start = parse_timestamp(start_raw)
        except ValueError:
            raise _Invalid("timestamp must follow ISO8601") from None
    orders, token = world.list_orders(query_start=start,
                                      next_token=request.query_params.get("nextToken"))  # fmt: skip
    payload: dict[str, Any] = {"fulfillmentOrders": orders}
    if token:
        payload["nextToken"] = token
    return 200, {"payload": payload}


async def _tracking(request: Request, world: AmazonWorld) -> tuple[int, Any]:
    raw = request.query_params.get("packageNumber")
    if not raw:
        raise _Invalid("The request must contain the parameter PackageNumber.")
    try:
        number = int(raw)
    except ValueError:
        raise _bad("PackageNumber", raw) from None
    return 200, {"payload": world.tracking(number)}


async def _inventory(request: Request, world: AmazonWorld) -> tuple[int, Any]:
    query = request.query_params
    if query.get("granularityType") != "Marketplace":
        raise _bad("granularityType", query.get("granularityType"))
    granularity_id = query.get("granularityId")
    if granularity_id != world.marketplace_id:
        raise _bad("granularityId", granularity_id)
    marketplaces = [m for value in query.getlist("marketplaceIds") for m in value.split(",") if m]
    if marketplaces != [world.marketplace_id]:
        raise _Invalid("The request must contain exactly one valid marketplaceIds value.")
    skus_raw = query.get("sellerSkus")
    skus = [sku for sku in skus_raw.split(",") if sku] if skus_raw else None
    if skus is not None and len(skus) > 50:
        raise _bad("sellerSkus", f"{len(skus)} SKUs (at most 50)")
    if skus is None and query.get("sellerSku"):
        skus = [query["sellerSku"]]  # sellerSkus, when given, wins over sellerSku
    start = None
    if query.get("startDateTime"):
        try:
            start = parse_timestamp(query["startDateTime"])
        except ValueError:
            raise _Invalid("startDateTime must follow ISO8601") from None
        skus = None  # Amazon's model: with startDateTime, sellerSkus and sellerSku are ignored
    details = query.get("details", "false").lower() == "true"
    summaries, token = world.inventory_page(seller_skus=skus, start=start, details=details,
                                            next_token=query.get("nextToken"))  # fmt: skip
    answer: dict[str, Any] = {
        "payload": {
            "granularity": {"granularityType": "Marketplace", "granularityId": granularity_id},
            "inventorySummaries": summaries,
        }
    }
    if token:
        answer["pagination"] = {"nextToken": token}
    return 200, answer
