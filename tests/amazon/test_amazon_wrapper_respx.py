"""The wrapper's edges against python-amazon-sp-api, with respx standing in for Amazon."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
import respx
from amazon_support import order_request

from commerce_mcp import errors
from commerce_mcp.amazon.client import AmazonMcfClient
from commerce_mcp.resilience.limiter import SPAPI_PLANS, RateLimiter, RatePlan
from commerce_mcp.resilience.testing import VirtualClock
from commerce_mcp.store.memory import MemoryStore

BASE = "https://sp.example.test"
LWA = "https://lwa.example.test/auth/o2/token"
ORDER = f"{BASE}/fba/outbound/2020-07-01/fulfillmentOrders/abc-1"
DETAIL = {"payload": {"fulfillmentOrder": {"sellerFulfillmentOrderId": "abc-1",
                                           "fulfillmentOrderStatus": "PLANNING"}}}  # fmt: skip
EXPIRED = {"errors": [{"code": "Unauthorized",
                       "message": "The security token included in the request is expired"}]}  # fmt: skip


def token_response(n: int) -> httpx.Response:
    return httpx.Response(200, json={"access_token": f"Atza|t{n}", "expires_in": 3600})


@pytest.fixture
async def parts() -> AsyncIterator[tuple[AmazonMcfClient, RateLimiter]]:
    clock = VirtualClock()
    limiter = RateLimiter(
        clock, SPAPI_PLANS, RatePlan(rate=1.0, burst=5), start_tokens=5, send_jitter=0
    )
    client = AmazonMcfClient(
        client_id="amzn1.application-oa2-client.test",
        client_secret="secret-value-123",
        refresh_token="Atzr|refresh-value",
        seller_id="A1TEST",
        marketplace_id="ATVPDKIKX0DER",
        region="na",
        endpoint=BASE,
        lwa_token_url=LWA,
        store=MemoryStore(),
        clock=clock,
        limiter=limiter,
    )
    yield client, limiter
    await client.aclose()


@pytest.mark.anyio
@respx.mock
async def test_credentials_are_explicit_and_env_is_ignored(
    parts: tuple[AmazonMcfClient, RateLimiter],
    monkeypatch: pytest.MonkeyPatch,
    capfd: pytest.CaptureFixture[str],
) -> None:
    for name, value in {"SP_API_REFRESH_TOKEN": "Atzr|env", "LWA_APP_ID": "env-app",
                        "LWA_CLIENT_SECRET": "env-secret", "SP_API_AWS_SECRET_ID": "arn:x",
                        "SP_API_DEFAULT_MARKETPLACE": "DE"}.items():  # fmt: skip
        monkeypatch.setenv(name, value)
    client, _ = parts
    lwa = respx.post(LWA).mock(return_value=token_response(1))
    api = respx.get(ORDER).mock(return_value=httpx.Response(200, json=DETAIL))
    detail = await client.get_fulfillment_order("abc-1")
    assert detail.fulfillment_order.fulfillment_order_status == "Planning"
    form = dict(x.split("=", 1) for x in lwa.calls[0].request.content.decode().split("&"))
    assert form["client_id"] == "amzn1.application-oa2-client.test"
    assert form["refresh_token"] == "Atzr%7Crefresh-value"
    sent = api.calls[0].request
    assert sent.url.host == "sp.example.test"  # not the EU endpoint SP_API_DEFAULT_MARKETPLACE=DE
    assert dict(sent.url.params) == {}  # getFulfillmentOrder declares no query parameter
    assert sent.headers["x-amz-access-token"] == "Atza|t1"
    out, _ = capfd.readouterr()
    assert out == ""


@pytest.mark.anyio
@respx.mock
async def test_rate_header_reaches_the_limiter(parts: tuple[AmazonMcfClient, RateLimiter]) -> None:
    client, limiter = parts
    respx.post(LWA).mock(return_value=token_response(1))
    respx.get(ORDER).mock(
        return_value=httpx.Response(200, json=DETAIL, headers={"x-amzn-RateLimit-Limit": "0.5"})
    )
    await client.get_fulfillment_order("abc-1")
    assert limiter.plan(client.account, "getFulfillmentOrder").rate == 0.5


@pytest.mark.anyio
@respx.mock
@pytest.mark.parametrize(
    ("status", "body", "error"),
    [
        (500, "<html><body>Internal Server Error</body></html>", errors.AmbiguousError),
        (429, "", errors.RateLimited),
        (503, "Service Unavailable", errors.TransientError),
    ],
)
async def test_non_json_error_bodies_keep_their_status(
    parts: tuple[AmazonMcfClient, RateLimiter], status: int, body: str, error: type[Exception]
) -> None:
    client, _ = parts
    respx.post(LWA).mock(return_value=token_response(1))
    respx.get(ORDER).mock(
        return_value=httpx.Response(status, text=body, headers={"x-amzn-RequestId": "rid-1"})
    )
    with pytest.raises(error) as raised:  # type: ignore[var-annotated]
        await client.get_fulfillment_order("abc-1")
    assert raised.value.http_status == status
    assert raised.value.request_id == "rid-1"


@pytest.mark.anyio
@respx.mock
async def test_expired_token_is_refreshed_and_replayed_once(
    parts: tuple[AmazonMcfClient, RateLimiter],
) -> None:
    client, _ = parts
    lwa = respx.post(LWA).mock(side_effect=[token_response(1), token_response(2)])
    api = respx.get(ORDER).mock(
        side_effect=[httpx.Response(403, json=EXPIRED), httpx.Response(200, json=DETAIL)]
    )
    await client.get_fulfillment_order("abc-1")
    assert lwa.call_count == 2
    assert [c.request.headers["x-amz-access-token"] for c in api.calls] == ["Atza|t1", "Atza|t2"]


@pytest.mark.anyio
@respx.mock
async def test_create_body_has_no_injected_marketplace_keys(
    parts: tuple[AmazonMcfClient, RateLimiter],
) -> None:
    client, _ = parts
    respx.post(LWA).mock(return_value=token_response(1))
    create = respx.post(f"{BASE}/fba/outbound/2020-07-01/fulfillmentOrders").mock(
        return_value=httpx.Response(200, json={})
    )
    await client.create_fulfillment_order(order_request("abc-2", "SKU-1"))
    body = json.loads(create.calls[0].request.content)
    assert body["marketplaceId"] == "ATVPDKIKX0DER"
    assert "marketplaceIds" not in body
    assert "MarketplaceIds" not in body


@pytest.mark.anyio
@respx.mock
async def test_cancel_sends_no_body(parts: tuple[AmazonMcfClient, RateLimiter]) -> None:
    client, _ = parts
    respx.post(LWA).mock(return_value=token_response(1))
    cancel = respx.put(f"{ORDER}/cancel").mock(return_value=httpx.Response(200, json={}))
    await client.cancel_fulfillment_order("abc-1")
    assert cancel.calls[0].request.content == b""


@pytest.mark.anyio
@respx.mock
@pytest.mark.parametrize("bad_id", ["A+B", "A  B", "x" * 41, "order-😀", ""])
async def test_bad_ids_fail_locally_without_network(
    parts: tuple[AmazonMcfClient, RateLimiter], bad_id: str
) -> None:  # matrix row 23
    client, _ = parts
    with pytest.raises(errors.InvalidRequest):
        await client.get_fulfillment_order(bad_id)
    with pytest.raises(errors.InvalidRequest):
        await client.cancel_fulfillment_order(bad_id)
    assert respx.calls.call_count == 0


@pytest.mark.anyio
@respx.mock
async def test_lwa_invalid_client_is_not_retried(
    parts: tuple[AmazonMcfClient, RateLimiter],
) -> None:
    client, _ = parts
    lwa = respx.post(LWA).mock(return_value=httpx.Response(
        401, json={"error": "invalid_client", "error_description": "Client authentication failed"}
    ))  # fmt: skip
    with pytest.raises(errors.AuthError) as raised:
        await client.list_fulfillment_orders()
    assert lwa.call_count == 1
    assert "AMAZON_SP_API_CLIENT_SECRET" in (raised.value.hint or "")
    assert "secret-value-123" not in str(raised.value)
    assert "secret-value-123" not in repr(client)


def test_importing_the_client_does_not_import_sp_api() -> None:
    import subprocess
    import sys

    code = "import sys, commerce_mcp.amazon.client; print('sp_api' in sys.modules)"
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == "False"


@pytest.mark.anyio
@respx.mock
async def test_listing_sends_the_start_then_the_token_alone_and_echoes_the_start(
    parts: tuple[AmazonMcfClient, RateLimiter],
) -> None:
    client, _ = parts
    respx.post(LWA).mock(return_value=token_response(1))
    listing = respx.get(f"{BASE}/fba/outbound/2020-07-01/fulfillmentOrders").mock(
        side_effect=[
            httpx.Response(200, json={"payload": {"fulfillmentOrders": [], "nextToken": "p2"}}),
            httpx.Response(200, json={"payload": {"fulfillmentOrders": []}}),
        ]
    )
    start = datetime(2026, 10, 1, 12, 30, tzinfo=UTC)
    first = await client.list_fulfillment_orders(query_start_date=start)
    second = await client.list_fulfillment_orders(query_start_date=start, next_token="p2")
    sent = [dict(call.request.url.params) for call in listing.calls]
    assert sent == [{"queryStartDate": "2026-10-01T12:30:00Z"}, {"nextToken": "p2"}]
    assert first.next_token == "p2"
    assert first.query_start_date == second.query_start_date == start
    assert second.next_token is None


@pytest.mark.anyio
@respx.mock
@pytest.mark.parametrize(
    ("failure", "error"),
    [(httpx.ConnectError("refused"), errors.TransientError),
     (httpx.ReadTimeout("slow"), errors.AmbiguousError),
     (httpx.Response(404, json={"errors": [{"code": "NotFound", "message": "gone"}]}),
      errors.NotFound)],
)  # fmt: skip
async def test_transport_failures_name_the_operation(
    parts: tuple[AmazonMcfClient, RateLimiter], failure: Any, error: type[errors.CommerceError]
) -> None:
    client, _ = parts
    respx.post(LWA).mock(return_value=token_response(1))
    route = respx.get(ORDER)
    if isinstance(failure, httpx.Response):
        route.mock(return_value=failure)
    else:
        route.mock(side_effect=failure)
    with pytest.raises(error) as raised:
        await client.get_fulfillment_order("abc-1")
    assert raised.value.operation == "getFulfillmentOrder"
    assert raised.value.describe().startswith("getFulfillmentOrder: ")
