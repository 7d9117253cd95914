"""Envelope, HTTP status and transport failures map to the right shared error types (respx)."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
import respx
from tests.tiktok.tiktok_helpers import MOCKED_BASE, mocked_client

from commerce_mcp import errors
from commerce_mcp.resilience.testing import VirtualClock
from commerce_mcp.tiktok import classify
from commerce_mcp.tiktok.client import TikTokShopClient
from commerce_mcp.tiktok.models import Shop
from commerce_mcp.tiktok.signing import sign

pytestmark = pytest.mark.anyio

BASE = MOCKED_BASE
SHOP = Shop(id="1", name="S", cipher="ROW_c")
SEARCH = f"{BASE}/order/202309/orders/search"


def _env(code: int, message: str = "m", data: object = None) -> dict[str, object]:
    return {"code": code, "message": message, "data": data, "request_id": "RID1"}


@pytest.fixture
async def client() -> AsyncIterator[TikTokShopClient]:
    clock = VirtualClock()
    tiktok = mocked_client(clock)
    yield tiktok
    await tiktok.aclose()


@pytest.mark.parametrize(
    ("status", "body", "kind", "code"),
    [
        (429, _env(36009002, "Too many requests."), errors.RateLimited, "36009002"),
        (
            200,
            _env(36009004, "Invalid credentials. Invalid `app_key` query parameter."),
            errors.AuthError,
            "36009004",
        ),
        (
            401,
            _env(106001, "Invalid credentials. The `sign` query parameter is invalid."),
            errors.AuthError,
            "106001",
        ),
        (200, _env(105005, "Access denied."), errors.PermissionDenied, "105005"),
        (
            200,
            _env(36009033, "Access denied. Your IP address is not in the IP allow list"),
            errors.PermissionDenied,
            "36009033",
        ),
        (200, _env(106013, "Missing identifier."), errors.InvalidRequest, "106013"),
        (
            200,
            _env(
                36009004,
                "Unexpected identifier. The `shop_cipher` query parameter is not "
                "required for this request.",
            ),
            errors.InvalidRequest,
            "36009004",
        ),
        (
            200,
            _env(36009004, "Invalid credentials. The `x-tts-access-token` header is invalid."),
            errors.AuthError,
            "36009004",
        ),
        (200, _env(12052032, "The product does not exist."), errors.NotFound, "12052032"),
        (200, _env(12019109, "Invalid page size."), errors.InvalidRequest, "12019109"),
    ],
)
@respx.mock
async def test_permanent_errors_are_not_retried(
    client: TikTokShopClient,
    status: int,
    body: dict[str, object],
    kind: type[errors.CommerceError],
    code: str,
) -> None:
    headers = {"retry-after": "0"} if status == 429 else {}
    route = respx.post(SEARCH).mock(return_value=httpx.Response(status, json=body, headers=headers))
    with pytest.raises(kind) as caught:
        await client.search_orders(SHOP)
    error = caught.value
    assert error.platform == "tiktok"
    assert error.code == code
    assert error.request_id == "RID1"
    assert error.http_status == status
    assert error.operation == "search_orders"
    assert error.hint
    expected_calls = 5 if kind is errors.RateLimited else 1
    assert route.call_count == expected_calls


@respx.mock
async def test_app_key_error_names_the_env_vars(client: TikTokShopClient) -> None:
    respx.post(SEARCH).mock(
        return_value=httpx.Response(
            400, json=_env(36009004, "Invalid credentials. Invalid `app_key` query parameter.")
        )
    )
    with pytest.raises(errors.AuthError) as caught:
        await client.search_orders(SHOP)
    assert "TIKTOK_APP_KEY" in str(caught.value)


@respx.mock
async def test_scope_error_names_the_scope(client: TikTokShopClient) -> None:
    respx.post(SEARCH).mock(
        return_value=httpx.Response(
            200, json=_env(105005, "Access denied. ... do not contain seller.order.info.")
        )
    )
    with pytest.raises(errors.PermissionDenied, match=r"seller\.order\.info"):
        await client.search_orders(SHOP)


@pytest.mark.parametrize(
    "failure",
    [
        httpx.Response(200, json=_env(36009003, "Internal error.")),
        httpx.Response(200, json=_env(36009007, "Request timeout.")),
        httpx.Response(503, text="<html>busy</html>"),
        httpx.Response(502, json=_env(0)),
        httpx.Response(200, text='{"code": 0, "data": {"orders": ['),
        httpx.ConnectError("refused"),
        httpx.ReadTimeout("slow"),
        httpx.RemoteProtocolError("peer closed"),
    ],
)
@respx.mock
async def test_transient_failures_are_retried_then_succeed(
    client: TikTokShopClient, failure: httpx.Response | Exception
) -> None:
    route = respx.post(SEARCH).mock(
        side_effect=[
            failure,
            httpx.Response(
                200,
                json=_env(
                    0, "Success", {"orders": [{"id": "5"}], "total_count": 1, "next_page_token": ""}
                ),
            ),
        ]
    )
    page = await client.search_orders(SHOP)
    assert [o.id for o in page.items] == ["5"]
    assert page.next_page_token is None
    assert route.call_count == 2


@respx.mock
async def test_ambiguous_ship_is_not_retried(client: TikTokShopClient) -> None:
    route = respx.post(f"{BASE}/fulfillment/202309/orders/9/packages").mock(
        side_effect=httpx.ReadTimeout("slow")
    )
    with pytest.raises(errors.AmbiguousError):
        await client.mark_package_shipped(SHOP, "9", "TRK1", "77")
    assert route.call_count == 1


@respx.mock
async def test_malformed_body_twice_is_a_bad_response(client: TikTokShopClient) -> None:
    respx.post(SEARCH).mock(return_value=httpx.Response(200, text="<html>oops</html>"))
    with pytest.raises(errors.BadResponse, match="not a JSON envelope"):
        await client.search_orders(SHOP)


@respx.mock
async def test_timestamp_rejection_resigns_once_then_reports_skew(
    client: TikTokShopClient,
) -> None:
    skew = _env(
        36009004,
        "Invalid timestamp. The value of the `timestamp` query parameter must "
        "not be earlier than 5 minutes before the current time.",
    )
    route = respx.post(SEARCH).mock(return_value=httpx.Response(200, json=skew))
    with pytest.raises(errors.AuthError, match="clock") as caught:
        await client.search_orders(SHOP)
    assert route.call_count == 2
    assert "NTP" in str(caught.value)


@respx.mock
async def test_request_is_signed_and_body_bytes_are_exactly_what_was_signed(
    client: TikTokShopClient,
) -> None:
    route = respx.post(SEARCH).mock(return_value=httpx.Response(200, json=_env(0, "ok", {})))
    await client.search_orders(SHOP, status="AWAITING_SHIPMENT", page_token="a+b/c=")
    request = route.calls.last.request
    query = {
        k: v[0]
        for k, v in parse_qs(urlsplit(str(request.url)).query, keep_blank_values=True).items()
    }
    assert query["page_token"] == "a+b/c="
    assert query["shop_cipher"] == "ROW_c"
    assert request.headers["x-tts-access-token"] == "AT"
    assert request.content == b'{"order_status":"AWAITING_SHIPMENT"}'
    assert json.loads(request.content) == {"order_status": "AWAITING_SHIPMENT"}
    assert query["sign"] == sign(
        "secret", request.url.path, query, request.content, "application/json"
    )


@respx.mock
async def test_no_filters_means_no_body(client: TikTokShopClient) -> None:
    route = respx.post(SEARCH).mock(return_value=httpx.Response(200, json=_env(0, "ok", {})))
    await client.search_orders(SHOP)
    assert route.calls.last.request.content == b""


@respx.mock
async def test_shop_cipher_never_sent_to_authorization(client: TikTokShopClient) -> None:
    route = respx.get(f"{BASE}/authorization/202309/shops").mock(
        return_value=httpx.Response(
            200, json=_env(0, "ok", {"shops": [{"id": 1, "name": "A", "cipher": "c"}]})
        )
    )
    shops = await client.list_shops()
    assert shops[0].id == "1"
    assert "shop_cipher" not in str(route.calls.last.request.url)


@respx.mock
async def test_expired_token_refreshes_and_replays_once(client: TikTokShopClient) -> None:
    refresh = respx.get("https://auth.test/api/v2/token/refresh").mock(
        return_value=httpx.Response(
            200,
            json=_env(
                0,
                "success",
                {
                    "access_token": "AT2",
                    "access_token_expire_in": 1_900_000_000,
                    "refresh_token": "RT2",
                    "refresh_token_expire_in": 1_990_000_000,
                },
            ),
        )
    )
    route = respx.post(SEARCH).mock(
        side_effect=[
            httpx.Response(200, json=_env(105002, "Expired credentials.")),
            httpx.Response(200, json=_env(0, "ok", {"orders": []})),
        ]
    )
    await client.search_orders(SHOP)
    assert refresh.call_count == 1
    assert parse_qs(urlsplit(str(refresh.calls.last.request.url)).query)["refresh_token"] == ["RT"]
    assert route.calls.last.request.headers["x-tts-access-token"] == "AT2"


@respx.mock
async def test_inventory_item_errors_in_code_zero_response_raise(
    client: TikTokShopClient,
) -> None:
    respx.post(f"{BASE}/product/202309/products/P1/inventory/update").mock(
        return_value=httpx.Response(
            200,
            json=_env(
                0,
                "Success",
                {
                    "errors": [
                        {
                            "code": 12052990,
                            "message": "Check failed",
                            "detail": {
                                "sku_id": "S1",
                                "extra_errors": [
                                    {
                                        "warehouse_id": "W9",
                                        "code": 12052097,
                                        "message": "The warehouse does not exist",
                                    }
                                ],
                            },
                        }
                    ]
                },
            ),
        )
    )
    from commerce_mcp.tiktok.models import InventoryLevel, SkuInventoryUpdate

    update = SkuInventoryUpdate(
        sku_id="S1", inventory=[InventoryLevel(warehouse_id="W9", quantity=3)]
    )
    with pytest.raises(errors.InvalidRequest, match="SKU S1: The warehouse does not exist"):
        await client.update_inventory(SHOP, "P1", [update])


@pytest.mark.parametrize("code", sorted(classify.ALREADY_SHIPPED_CODES))
def test_already_shipped_is_typed_by_its_documented_codes(code: int) -> None:
    error = classify.from_envelope(
        code, "These orders are already shipped.", request_id="R", http_status=200, operation="op"
    )
    assert isinstance(error, errors.AlreadyShipped)
    assert error.code == str(code)


@pytest.mark.parametrize(
    ("code", "message"),
    [
        (21008042, "seller already print shipping label"),
        (21001001, "Invalid parameters. Duplicate shipped package."),
    ],
)
def test_words_alone_never_make_already_shipped(code: int, message: str) -> None:
    error = classify.from_envelope(code, message, request_id="R", http_status=200, operation="op")
    assert not isinstance(error, errors.AlreadyShipped)
