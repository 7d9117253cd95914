"""The fake TikTok Shop checks requests in the documented order and keeps consistent state."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from commerce_mcp.sandbox import credentials
from commerce_mcp.sandbox.catalog import build_catalog
from commerce_mcp.sandbox.simclock import SimClock
from commerce_mcp.sandbox.tiktok_server import build_tiktok_app
from commerce_mcp.sandbox.tiktok_signature import expected_sign
from commerce_mcp.sandbox.tiktok_world import TikTokWorld

pytestmark = pytest.mark.anyio
NOW = 1_790_000_000.0


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture
def world() -> TikTokWorld:
    return TikTokWorld(SimClock(lambda: NOW), build_catalog())


@pytest.fixture
async def http(world: TikTokWorld) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=build_tiktok_app(world))
    async with httpx.AsyncClient(transport=transport, base_url="http://fake") as client:
        yield client


async def call(
    http: httpx.AsyncClient,
    method: str,
    path: str,
    *,
    body: dict[str, Any] | None = None,
    params: dict[str, str] | None = None,
    token: str = credentials.TIKTOK_ACCESS_TOKEN,
    secret: str = credentials.TIKTOK_APP_SECRET,
    timestamp: float = NOW,
    signed: bool = True,
) -> tuple[int, dict[str, Any]]:
    query = {
        "app_key": credentials.TIKTOK_APP_KEY,
        "timestamp": str(int(timestamp)),
        **(params or {}),
    }
    raw = json.dumps(body).encode() if body is not None else b""
    if signed:
        query["sign"] = expected_sign(secret, path, query, raw, "application/json")
    response = await http.request(
        method,
        path,
        params=query,
        content=raw,
        headers={"x-tts-access-token": token, "content-type": "application/json"},
    )
    return response.status_code, response.json()


def cipher(world: TikTokWorld, index: int = 0) -> dict[str, str]:
    return {"shop_cipher": world.shops[index].cipher}


async def test_valid_call_succeeds(http: httpx.AsyncClient) -> None:
    status, env = await call(http, "GET", "/authorization/202309/shops")
    assert status == 200
    assert env["code"] == 0
    assert len(env["data"]["shops"]) == 2
    assert env["request_id"]


@pytest.mark.parametrize(
    ("kwargs", "code", "fragment"),
    [
        ({"path": "/nope/202309/x"}, 36009009, "Invalid path"),
        ({"method": "POST"}, 36009010, "Invalid method"),
        ({"signed": False}, 36009004, "Missing credentials"),
        ({"timestamp": NOW - 301}, 36009004, "earlier than 5 minutes"),
        ({"timestamp": NOW + 31}, 36009004, "exceed the current time"),
        ({"secret": "wrong"}, 106001, "`sign`"),
        ({"token": "bogus"}, 36009004, "x-tts-access-token"),
        ({"params": {"shop_cipher": "x"}}, 36009004, "Unexpected identifier"),
    ],
)
async def test_rejections_in_documented_order(
    http: httpx.AsyncClient, kwargs: dict[str, Any], code: int, fragment: str
) -> None:
    method = kwargs.pop("method", "GET")
    path = kwargs.pop("path", "/authorization/202309/shops")
    _, env = await call(http, method, path, **kwargs)
    assert env["code"] == code
    assert fragment in env["message"]


async def test_bad_app_key_is_rejected_before_the_signature(http: httpx.AsyncClient) -> None:
    response = await http.get(
        "/authorization/202309/shops",
        params={"app_key": "other", "timestamp": str(int(NOW)), "sign": "x"},
    )
    assert response.json()["code"] == 36009004
    assert "app_key" in response.json()["message"]


async def test_signature_covers_the_raw_body(http: httpx.AsyncClient, world: TikTokWorld) -> None:
    path = "/order/202309/orders/search"
    query = {
        "app_key": credentials.TIKTOK_APP_KEY,
        "timestamp": str(int(NOW)),
        "page_size": "1",
        **cipher(world),
    }
    signed_body = b'{"order_status":"UNPAID"}'
    query["sign"] = expected_sign(credentials.TIKTOK_APP_SECRET, path, query, signed_body, "")
    response = await http.post(
        path,
        params=query,
        content=b'{"order_status": "UNPAID"}',
        headers={"x-tts-access-token": credentials.TIKTOK_ACCESS_TOKEN},
    )
    assert response.json()["code"] == 106001


async def test_expired_token_and_missing_cipher(
    http: httpx.AsyncClient, world: TikTokWorld
) -> None:
    _, env = await call(http, "POST", "/order/202309/orders/search", params={"page_size": "1"})
    assert env["code"] == 106013
    world.expire_access_tokens()
    _, env = await call(
        http, "POST", "/order/202309/orders/search", params={"page_size": "1", **cipher(world)}
    )
    assert env["code"] == 105002


async def test_scope_and_rate_limit(http: httpx.AsyncClient, world: TikTokWorld) -> None:
    world.granted_scopes.discard("seller.order.info")
    _, env = await call(
        http, "POST", "/order/202309/orders/search", params={"page_size": "1", **cipher(world)}
    )
    assert env["code"] == 105005
    world.granted_scopes.add("seller.order.info")
    world.config.burst = 3
    world.config.qps = 0.001
    codes = []
    for _ in range(4):
        status, env = await call(http, "GET", "/logistics/202309/warehouses", params=cipher(world))
        codes.append((status, env["code"]))
    assert codes[:3] == [(200, 0)] * 3
    assert codes[3] == (429, 36009002)
    # Buckets are per shop: the other shop is unaffected.
    _, env = await call(http, "GET", "/logistics/202309/warehouses", params=cipher(world, 1))
    assert env["code"] == 0


async def test_token_endpoints_and_rotation(http: httpx.AsyncClient, world: TikTokWorld) -> None:
    base = {"app_key": credentials.TIKTOK_APP_KEY, "app_secret": credentials.TIKTOK_APP_SECRET}
    bad = await http.get(
        "/api/v2/token/get", params={**base, "auth_code": "x", "grant_type": "authorization_code"}
    )
    assert bad.json()["code"] != 0
    got = await http.get(
        "/api/v2/token/get",
        params={**base, "auth_code": credentials.TIKTOK_AUTH_CODE, "grant_type": "authorized_code"},
    )
    data = got.json()["data"]
    assert data["access_token_expire_in"] == int(NOW) + 7 * 86_400
    refreshed = await http.get(
        "/api/v2/token/refresh",
        params={**base, "refresh_token": data["refresh_token"], "grant_type": "refresh_token"},
    )
    new = refreshed.json()["data"]
    assert new["refresh_token"] != data["refresh_token"]
    assert world.token_requests == ["get", "refresh"]


def test_world_seed_is_deterministic_and_rich(world: TikTokWorld) -> None:
    other = TikTokWorld(SimClock(lambda: NOW), build_catalog())
    assert list(world.shops[0].orders) == list(other.shops[0].orders)
    orders = list(world.shops[0].orders.values())
    statuses = {o["status"] for o in orders}
    assert len(orders) >= 1000
    assert {
        "UNPAID",
        "ON_HOLD",
        "AWAITING_SHIPMENT",
        "AWAITING_COLLECTION",
        "IN_TRANSIT",
        "DELIVERED",
        "COMPLETED",
        "CANCELLED",
        "PARTIALLY_SHIPPING",
    } <= statuses
    catalog = build_catalog()

    def fba_ok(order: dict[str, Any]) -> bool:
        skus = [catalog.by_seller_sku[i["seller_sku"]] for i in order["line_items"]]
        return all(s.fba is not None and s.fba.fulfillable > 3 for s in skus)

    waiting = [o for o in orders if o["status"] == "AWAITING_SHIPMENT"]
    assert sum(map(fba_ok, waiting)) > 100
    assert sum(not fba_ok(o) for o in waiting) > 50
    assert all(
        isinstance(o["id"], str) and isinstance(o["payment"]["total_amount"], str) for o in orders
    )
