"""The fakes answer any date as the platforms would: an empty result or a parameter error, never a 500.

A crash in a fake reaches the client as HTTP 500, which the client rightly reports as a temporary
failure worth retrying: a misleading answer for a request that can never succeed.
"""

from __future__ import annotations

import functools
import json
from datetime import date, timedelta
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st
from starlette.testclient import TestClient

from commerce_mcp.sandbox import credentials
from commerce_mcp.sandbox.amazon_server import build_amazon_app
from commerce_mcp.sandbox.amazon_world import AmazonWorld
from commerce_mcp.sandbox.catalog import build_catalog
from commerce_mcp.sandbox.simclock import SimClock
from commerce_mcp.sandbox.tiktok_server import build_tiktok_app
from commerce_mcp.sandbox.tiktok_signature import expected_sign
from commerce_mcp.sandbox.tiktok_world import TikTokWorld

NOW = 1_790_000_000.0  # 2026-09-21
#: TikTok's documented "Invalid parameters" code.
INVALID_PARAMETERS = 21001001

ANALYTICS = (
    "/analytics/202405/shop/performance",
    "/analytics/202405/shop_products/performance",
    "/analytics/202405/shop_products/{product}/performance",
    "/analytics/202406/shop_skus/performance",
    "/analytics/202409/shop_videos/performance",
    "/analytics/202409/shop_videos/overview_performance",
    "/analytics/202409/shop_videos/{video}/performance",
    "/analytics/202409/shop_videos/{video}/products/performance",
    "/analytics/202508/shop_lives/performance",
    "/analytics/202508/shop_lives/overview_performance",
)


@functools.cache
def tiktok() -> tuple[TikTokWorld, TestClient]:
    """One fake for the module: the examples only read, and rate limits are lifted."""
    world = TikTokWorld(SimClock(lambda: NOW), build_catalog())
    world.config.qps = world.config.burst = 1e9
    return world, TestClient(build_tiktok_app(world), raise_server_exceptions=False)


def tiktok_call(
    method: str, path: str, params: dict[str, str], body: dict[str, Any] | None = None
) -> tuple[int, dict[str, Any]]:
    world, client = tiktok()
    shop = world.shops[0]
    path = path.format(product=next(iter(shop.products)), video=shop.videos[0]["id"])
    query = {
        "app_key": credentials.TIKTOK_APP_KEY,
        "timestamp": str(int(NOW)),
        "shop_cipher": shop.cipher,
        **params,
    }
    raw = json.dumps(body).encode() if body is not None else b""
    query["sign"] = expected_sign(
        credentials.TIKTOK_APP_SECRET, path, query, raw, "application/json"
    )
    response = client.request(
        method,
        path,
        params=query,
        content=raw,
        headers={
            "x-tts-access-token": credentials.TIKTOK_ACCESS_TOKEN,
            "content-type": "application/json",
        },
    )
    assert response.status_code != 500, f"{path} crashed for {params} {body}"
    return response.status_code, response.json()


def _metrics_complete(data: dict[str, Any]) -> None:
    for interval in data.get("performance", {}).get("intervals", []):
        assert "gmv" in interval and "start_date" in interval


@settings(max_examples=60, deadline=None)
@given(
    path=st.sampled_from(ANALYTICS),
    start=st.dates(),
    length=st.integers(min_value=-3, max_value=400),
    granularity=st.sampled_from(["ALL", "1D"]),
    comparison=st.booleans(),
)
def test_analytics_never_fail_for_any_window(
    path: str, start: date, length: int, granularity: str, comparison: bool
) -> None:
    try:
        end = start + timedelta(days=length)
    except OverflowError:
        end = date.max
    params = {
        "start_date_ge": start.isoformat(),
        "end_date_lt": end.isoformat(),
        "granularity": granularity,
        "with_comparison": str(comparison).lower(),
        "page_size": "10",
    }
    _, envelope = tiktok_call("GET", path, params)
    assert envelope["code"] in (0, INVALID_PARAMETERS), envelope
    if envelope["code"] == 0:
        _metrics_complete(envelope["data"])


@settings(max_examples=60, deadline=None)
@given(path=st.sampled_from(ANALYTICS), start=st.text(max_size=12), end=st.text(max_size=12))
def test_analytics_answer_a_parameter_error_for_any_malformed_date(
    path: str, start: str, end: str
) -> None:
    _, envelope = tiktok_call("GET", path, {"start_date_ge": start, "end_date_lt": end})
    assert envelope["code"] in (0, INVALID_PARAMETERS), envelope


def test_a_future_window_is_empty_not_a_crash() -> None:
    # Was a KeyError 'orders' (HTTP 500): no day of the window had data yet.
    status, envelope = tiktok_call(
        "GET",
        "/analytics/202405/shop/performance",
        {"start_date_ge": "2027-01-01", "end_date_lt": "2027-01-08"},
    )
    assert status == 200 and envelope["code"] == 0
    (interval,) = envelope["data"]["performance"]["intervals"]
    assert interval["orders"] == 0 and interval["gmv"]["amount"] == "0.00"
    assert interval["start_date"] == "2027-01-01" and interval["end_date"] == "2027-01-08"


def test_a_window_before_the_shop_existed_is_empty_not_a_crash() -> None:
    # Was a KeyError 'gmv_cents' (HTTP 500): every video was posted after the window.
    status, envelope = tiktok_call(
        "GET",
        "/analytics/202409/shop_videos/performance",
        {"start_date_ge": "1969-12-25", "end_date_lt": "1970-01-01", "page_size": "10"},
    )
    assert status == 200 and envelope["code"] == 0
    assert all(v["gmv"]["amount"] == "0.00" for v in envelope["data"]["videos"])
    _, shop = tiktok_call(
        "GET",
        "/analytics/202405/shop/performance",
        {"start_date_ge": "1969-12-25", "end_date_lt": "1970-01-01"},
    )
    assert shop["data"]["performance"]["intervals"][0]["orders"] == 0


def test_days_with_data_are_unchanged() -> None:
    world, _ = tiktok()
    yesterday = world.latest_available_date()
    _, envelope = tiktok_call(
        "GET",
        "/analytics/202405/shop/performance",
        {
            "start_date_ge": (yesterday - timedelta(days=6)).isoformat(),
            "end_date_lt": (yesterday + timedelta(days=1)).isoformat(),
        },
    )
    assert envelope["data"]["performance"]["intervals"][0]["orders"] > 0


time_values = st.one_of(
    st.integers(),
    st.text(max_size=12),
    st.floats(allow_nan=False, allow_infinity=False),
    st.booleans(),
    st.lists(st.integers(), max_size=2),
)


@settings(max_examples=80, deadline=None)
@given(
    search=st.sampled_from(
        [
            "/order/202309/orders/search",
            "/return_refund/202309/returns/search",
            "/return_refund/202309/cancellations/search",
            "/product/202309/products/search",
        ]
    ),
    field=st.sampled_from(["create_time_ge", "create_time_lt", "update_time_ge", "update_time_le"]),
    value=time_values,
)
def test_time_filters_of_any_value_never_crash_a_search(
    search: str, field: str, value: Any
) -> None:
    _, envelope = tiktok_call("POST", search, {"page_size": "20"}, {field: value})
    assert envelope["code"] in (0, INVALID_PARAMETERS), envelope


def test_a_non_numeric_time_filter_is_the_parameter_error() -> None:
    _, envelope = tiktok_call(
        "POST", "/order/202309/orders/search", {"page_size": "20"}, {"create_time_ge": "yesterday"}
    )
    assert envelope["code"] == INVALID_PARAMETERS and "create_time_ge" in envelope["message"]


# Amazon ------------------------------------------------------------------------------------------


@functools.cache
def amazon() -> tuple[AmazonWorld, TestClient, dict[str, str]]:
    world = AmazonWorld(SimClock(lambda: NOW), build_catalog())
    world.enforce_rate_limits = False
    client = TestClient(build_amazon_app(world), raise_server_exceptions=False)
    answer = client.post(
        "/auth/o2/token",
        data={
            "grant_type": "refresh_token",
            "client_id": credentials.AMAZON_CLIENT_ID,
            "client_secret": credentials.AMAZON_CLIENT_SECRET,
            "refresh_token": credentials.AMAZON_REFRESH_TOKEN,
        },
    )
    return world, client, {"x-amz-access-token": answer.json()["access_token"]}


timestamps = st.one_of(
    st.datetimes(timezones=st.timezones()).map(lambda d: d.isoformat()),
    st.dates().map(date.isoformat),
    st.text(max_size=25),
)


@settings(max_examples=100, deadline=None)
@given(value=timestamps)
def test_amazon_order_list_and_inventory_answer_any_start_date(value: str) -> None:
    world, client, auth = amazon()
    listed = client.get(
        "/fba/outbound/2020-07-01/fulfillmentOrders",
        params={"queryStartDate": value},
        headers=auth,
    )
    assert listed.status_code in (200, 400), listed.text
    summaries = client.get(
        "/fba/inventory/v1/summaries",
        params={
            "granularityType": "Marketplace",
            "granularityId": world.marketplace_id,
            "marketplaceIds": world.marketplace_id,
            "startDateTime": value,
        },
        headers=auth,
    )
    assert summaries.status_code in (200, 400), summaries.text


def test_amazon_lists_nothing_updated_after_a_future_date() -> None:
    _, client, auth = amazon()
    listed = client.get(
        "/fba/outbound/2020-07-01/fulfillmentOrders",
        params={"queryStartDate": "2999-01-01T00:00:00Z"},
        headers=auth,
    )
    assert listed.status_code == 200
    assert listed.json()["payload"]["fulfillmentOrders"] == []
