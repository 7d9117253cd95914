"""The fake LWA + SP-API on its own: tokens, usage plans, validation, order progression."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from tests.support.reference import REFERENCE, require

from commerce_mcp.sandbox import credentials
from commerce_mcp.sandbox.amazon_server import (
    DECLARED_QUERY,
    NEXT_TOKEN_ALONE_MESSAGE,
    build_amazon_app,
)
from commerce_mcp.sandbox.amazon_world import AmazonWorld
from commerce_mcp.sandbox.catalog import build_catalog
from commerce_mcp.sandbox.simclock import SimClock

ORDERS = "/fba/outbound/2020-07-01/fulfillmentOrders"
OUTBOUND_MODEL = REFERENCE / "amazon-sp-api" / "fulfillmentOutbound_2020-07-01.json"
#: What python-amazon-sp-api 2.1.35 adds to every GET unless told not to.
LIBRARY_MARKETPLACE_KEYS = ("MarketplaceId", "MarketplaceIds", "marketplace_ids", "marketplaceIds")


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


class Fixed:
    def __init__(self) -> None:
        self.now = 1_767_225_600.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def world() -> AmazonWorld:
    return AmazonWorld(SimClock(Fixed()), build_catalog())


@pytest.fixture
async def http(world: AmazonWorld) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=build_amazon_app(world))
    async with httpx.AsyncClient(transport=transport, base_url="http://fake") as client:
        yield client


async def token(http: httpx.AsyncClient) -> dict[str, str]:
    answer = await http.post("/auth/o2/token", data={
        "grant_type": "refresh_token", "client_id": credentials.AMAZON_CLIENT_ID,
        "client_secret": credentials.AMAZON_CLIENT_SECRET,
        "refresh_token": credentials.AMAZON_REFRESH_TOKEN,
    })  # fmt: skip
    assert answer.status_code == 200
    return {"x-amz-access-token": answer.json()["access_token"]}


def create_body(order_id: str, sku: str, quantity: Any = 1) -> dict[str, Any]:
    return {
        "sellerFulfillmentOrderId": order_id, "displayableOrderId": order_id,
        "displayableOrderDate": "2026-11-01T00:00:00Z", "displayableOrderComment": "thanks",
        "shippingSpeedCategory": "Standard",
        "destinationAddress": {"name": "A", "addressLine1": "1 Main", "city": "Seattle",
                               "stateOrRegion": "WA", "postalCode": "98101", "countryCode": "US"},
        "items": [{"sellerSku": sku, "sellerFulfillmentOrderItemId": "1", "quantity": quantity}],
    }  # fmt: skip


def stocked(world: AmazonWorld) -> str:
    return next(s for s in sorted(world._stock) if world.fulfillable(s) > 20)


@pytest.mark.anyio
async def test_lwa_rejects_bad_grant_and_bad_client(http: httpx.AsyncClient) -> None:
    base = {"grant_type": "refresh_token", "client_id": credentials.AMAZON_CLIENT_ID,
            "client_secret": credentials.AMAZON_CLIENT_SECRET}  # fmt: skip
    bad_grant = await http.post("/auth/o2/token", data={**base, "refresh_token": "nope"})
    assert (bad_grant.status_code, bad_grant.json()["error"]) == (400, "invalid_grant")
    bad_client = await http.post("/auth/o2/token", data={**base, "client_secret": "x",
                                                         "refresh_token": "y"})  # fmt: skip
    assert (bad_client.status_code, bad_client.json()["error"]) == (401, "invalid_client")


@pytest.mark.anyio
async def test_tokens_are_checked_and_expire_after_an_hour(
    http: httpx.AsyncClient, world: AmazonWorld
) -> None:
    missing = await http.get(f"{ORDERS}/x-1")
    assert missing.status_code == 403
    assert missing.headers["x-amzn-RequestId"]
    headers = await token(http)
    world.clock.advance(3601)
    expired = await http.get(f"{ORDERS}/x-1", headers=headers)
    assert expired.status_code == 403
    assert "expired" in expired.json()["errors"][0]["message"]


@pytest.mark.anyio
async def test_usage_plan_gives_bare_429(http: httpx.AsyncClient) -> None:
    headers = await token(http)
    statuses = []
    for _ in range(3):
        answer = await http.get("/fba/inventory/v1/summaries", headers=headers, params={
            "granularityType": "Marketplace", "granularityId": credentials.AMAZON_MARKETPLACE_ID,
            "marketplaceIds": credentials.AMAZON_MARKETPLACE_ID})  # fmt: skip
        statuses.append(answer.status_code)
    assert statuses == [200, 200, 429]
    assert answer.content == b""
    assert "x-amzn-RateLimit-Limit" not in answer.headers
    assert answer.headers["x-amzn-RequestId"]


@pytest.mark.anyio
async def test_create_validates_and_refuses_duplicates(
    http: httpx.AsyncClient, world: AmazonWorld
) -> None:
    headers = await token(http)
    sku = stocked(world)
    for bad in (create_body("a+b", sku), create_body("ok-1", sku, quantity="2"),
                create_body("ok-1", sku, quantity=0)):  # fmt: skip
        answer = await http.post(ORDERS, json=bad, headers=headers)
        assert answer.status_code == 400
        assert answer.json()["errors"][0]["code"] == "InvalidInput"
    first = await http.post(ORDERS, json=create_body("ok-1", sku), headers=headers)
    assert first.status_code == 200
    assert first.headers["x-amzn-RateLimit-Limit"] == "2"
    again = await http.post(ORDERS, json=create_body("ok-1", sku), headers=headers)
    assert again.status_code == 400
    assert "A create request already exists for MerchantFulfillmentOrderId : ok-1" in again.text


@pytest.mark.anyio
async def test_order_progresses_with_simulated_time(
    http: httpx.AsyncClient, world: AmazonWorld
) -> None:
    headers = await token(http)
    await http.post(ORDERS, json=create_body("prog-1", stocked(world)), headers=headers)
    seen = []
    for step in (0, 300, 1800, 3 * 3600):
        world.clock.advance(step)
        headers = await token(http)
        payload = (await http.get(f"{ORDERS}/prog-1", headers=headers)).json()["payload"]
        seen.append(payload["fulfillmentOrder"]["fulfillmentOrderStatus"])
    assert seen == ["Received", "Planning", "Processing", "Complete"]
    package = payload["fulfillmentShipments"][0]["fulfillmentShipmentPackage"][0]
    tracking = await http.get("/fba/outbound/2020-07-01/tracking", headers=headers,
                              params={"packageNumber": package["packageNumber"]})  # fmt: skip
    assert tracking.json()["payload"]["trackingNumber"] == package["trackingNumber"]
    cancel = await http.put(f"{ORDERS}/prog-1/cancel", headers=headers)
    assert cancel.status_code == 400


def test_declared_query_parameters_match_amazons_model() -> None:
    model = json.loads(require(OUTBOUND_MODEL).read_text())
    declared: dict[str, frozenset[str]] = {}
    for item in model["paths"].values():
        for method, operation in item.items():
            if method != "get":
                continue
            parameters = [*item.get("parameters", []), *operation.get("parameters", [])]
            declared[operation["operationId"]] = frozenset(
                p["name"] for p in parameters if p.get("in") == "query"
            )
    assert {name: declared[name] for name in DECLARED_QUERY} == DECLARED_QUERY


async def _seed_orders(http: httpx.AsyncClient, world: AmazonWorld, count: int) -> dict[str, str]:
    headers = await token(http)
    sku = stocked(world)
    for n in range(count):
        answer = await http.post(ORDERS, json=create_body(f"page-{n}", sku), headers=headers)
        assert answer.status_code == 200
    return headers


@pytest.mark.anyio
@pytest.mark.parametrize("extra", LIBRARY_MARKETPLACE_KEYS)
@pytest.mark.parametrize(
    ("path", "params"),
    [(ORDERS, {}), (f"{ORDERS}/page-0", {}),
     ("/fba/outbound/2020-07-01/tracking", {"packageNumber": "1"})],
)  # fmt: skip
async def test_undeclared_query_parameters_are_refused(
    http: httpx.AsyncClient, world: AmazonWorld, path: str, params: dict[str, str], extra: str
) -> None:
    headers = await _seed_orders(http, world, 1)
    answer = await http.get(path, headers=headers,
                            params={**params, extra: credentials.AMAZON_MARKETPLACE_ID})  # fmt: skip
    assert answer.status_code == 400
    error = answer.json()["errors"][0]
    assert error["code"] == "InvalidInput"
    assert extra in error["message"]


@pytest.mark.anyio
async def test_next_token_must_come_alone(http: httpx.AsyncClient, world: AmazonWorld) -> None:
    headers = await _seed_orders(http, world, world.LIST_PAGE_SIZE + 1)
    start = {"queryStartDate": "2020-01-01T00:00:00Z"}
    first = (await http.get(ORDERS, headers=headers, params=start)).json()["payload"]
    token_only = {"nextToken": first["nextToken"]}
    mixed = await http.get(ORDERS, headers=headers, params={**start, **token_only})
    assert mixed.status_code == 400
    assert mixed.json()["errors"][0]["message"] == NEXT_TOKEN_ALONE_MESSAGE
    second = await http.get(ORDERS, headers=headers, params=token_only)
    assert second.status_code == 200
    ids = [o["sellerFulfillmentOrderId"] for o in first["fulfillmentOrders"]]
    ids += [o["sellerFulfillmentOrderId"] for o in second.json()["payload"]["fulfillmentOrders"]]
    assert len(set(ids)) == world.LIST_PAGE_SIZE + 1


@pytest.mark.anyio
async def test_inventory_honours_the_sku_filters_as_amazons_model_describes(
    http: httpx.AsyncClient, world: AmazonWorld
) -> None:
    """sellerSkus (at most 50) wins over sellerSku; startDateTime makes both ignored."""
    world.enforce_rate_limits = False
    headers = await token(http)
    held = sorted(s.seller_sku for s in build_catalog().all_skus() if s.fba is not None)
    base = {"granularityType": "Marketplace", "marketplaceIds": credentials.AMAZON_MARKETPLACE_ID,
            "granularityId": credentials.AMAZON_MARKETPLACE_ID}  # fmt: skip

    async def skus(**params: str) -> list[str]:
        answer = await http.get("/fba/inventory/v1/summaries", headers=headers,
                                params={**base, **params})  # fmt: skip
        assert answer.status_code == 200, answer.text
        return [s["sellerSku"] for s in answer.json()["payload"]["inventorySummaries"]]

    assert await skus(sellerSkus=",".join(held[:50])) == held[:50]
    assert await skus(sellerSkus=f"{held[3]},NOT-HELD", sellerSku=held[4]) == [held[3]]
    assert await skus(sellerSku=held[4]) == [held[4]]
    changed = await skus(sellerSkus=held[3], startDateTime="2020-01-01T00:00:00Z")
    assert len(changed) == world.INVENTORY_PAGE_SIZE and changed != [held[3]]
    too_many = await http.get("/fba/inventory/v1/summaries", headers=headers,
                              params={**base, "sellerSkus": ",".join(held[:51])})  # fmt: skip
    assert too_many.status_code == 400
    assert "at most 50" in too_many.json()["errors"][0]["message"]
