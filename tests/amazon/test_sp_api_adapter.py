"""The contract between sp_api_adapter and python-amazon-sp-api: fails loudly when the library moves.

The adapter relies on a handful of the library's internals (see its module docstring). Each is pinned
here twice: by shape (names and signatures) so the failure says what moved, and by behaviour (what
goes on the wire) so a change that keeps the names but not the meaning is caught too.
"""

from __future__ import annotations

import importlib.metadata
import inspect
import json
from collections.abc import AsyncIterator, Callable
from typing import Any

import httpx
import pytest
import respx

from commerce_mcp import errors
from commerce_mcp.amazon.sp_api_adapter import LIBRARY_VERSION, SpApi
from commerce_mcp.amazon.transport import JudgingTransport
from commerce_mcp.resilience.singleflight import AccessToken, TokenProvider
from commerce_mcp.resilience.testing import VirtualClock

pytestmark = pytest.mark.anyio

BASE = "http://127.0.0.1:9"  # a loopback http:// endpoint, as the sandbox uses
OUTBOUND = f"{BASE}/fba/outbound/2020-07-01"
MARKETPLACE = "ATVPDKIKX0DER"
#: The outbound GETs the client calls, with the public method and the arguments it passes.
GETS: list[tuple[str, str, str, tuple[Any, ...], dict[str, Any]]] = [
    ("getFulfillmentOrder", "get_fulfillment_order", "/fulfillmentOrders/o-1", ("o-1",), {}),
    ("listAllFulfillmentOrders", "list_all_fulfillment_orders", "/fulfillmentOrders", (),
     {"queryStartDate": "2026-01-01T00:00:00Z"}),
    ("listAllFulfillmentOrders", "list_all_fulfillment_orders", "/fulfillmentOrders", (),
     {"nextToken": "tok-2"}),
    ("getPackageTrackingDetails", "get_package_tracking_details", "/tracking", (),
     {"packageNumber": 7}),
]  # fmt: skip


def test_the_library_is_the_version_the_adapter_was_written_for() -> None:
    installed = importlib.metadata.version("python-amazon-sp-api")
    assert installed == LIBRARY_VERSION, (
        f"python-amazon-sp-api is {installed}, the adapter was written for {LIBRARY_VERSION}: "
        "re-check the four needs in commerce_mcp/amazon/sp_api_adapter.py against the new source "
        "(this module's other tests say which one moved), then update LIBRARY_VERSION"
    )


def test_the_internals_the_adapter_relies_on_keep_their_shape() -> None:
    from sp_api.asyncio.api import FulfillmentOutbound, Inventories
    from sp_api.asyncio.auth import AccessTokenClient
    from sp_api.asyncio.base import Client

    request = inspect.signature(Client._request)
    assert request.parameters["add_marketplace"].default is True  # need 1
    constructor = inspect.signature(Client.__init__).parameters
    for option in ("credentials", "credential_providers", "auth_token_client_class"):
        assert option in constructor, f"Client() lost its documented option {option}"
    token_constructor = inspect.signature(AccessTokenClient.__init__).parameters
    assert {"refresh_token", "credentials", "proxies", "verify"} <= set(token_constructor)
    assert inspect.iscoroutinefunction(AccessTokenClient.get_auth)  # need 4
    for cls, names in (
        (FulfillmentOutbound, ["get_fulfillment_preview", "create_fulfillment_order",
                               "get_fulfillment_order", "list_all_fulfillment_orders",
                               "cancel_fulfillment_order", "get_package_tracking_details"]),
        (Inventories, ["get_inventory_summary_marketplace"]),
    ):  # fmt: skip
        for name in names:
            method = inspect.unwrap(getattr(cls, name))  # under the library's @sp_endpoint
            assert inspect.iscoroutinefunction(method), f"{cls.__name__}.{name}"


class _Tokens(TokenProvider):
    """A provider with a fixed token: the adapter must ask it, never Login with Amazon."""

    def __init__(self, clock: VirtualClock) -> None:
        async def fetch() -> AccessToken:
            return AccessToken("Atza|ours", clock.wall() + 3600)

        super().__init__(fetch, clock)


@pytest.fixture
async def sp() -> AsyncIterator[SpApi]:
    clock = VirtualClock()
    adapter = SpApi(
        endpoint=BASE,
        marketplace_id=MARKETPLACE,
        aws_region="us-east-1",
        credentials={"refresh_token": "Atzr|r", "lwa_app_id": "app", "lwa_client_secret": "s"},
        tokens=_Tokens(clock),
        attempt_timeout=20.0,
        connect_timeout=5.0,
        clock=clock,
    )
    yield adapter
    await adapter.aclose()


@respx.mock
@pytest.mark.parametrize(("operation", "method", "path", "args", "kwargs"), GETS)
async def test_gets_send_exactly_the_arguments_given(
    sp: SpApi,
    reference: Callable[[str], Any],
    operation: str,
    method: str,
    path: str,
    args: tuple[Any, ...],
    kwargs: dict[str, Any],
) -> None:  # need 1, measured against Amazon's model
    route = respx.get(f"{OUTBOUND}{path}").mock(return_value=httpx.Response(200, json={}))
    await getattr(sp.outbound, method)(*args, **kwargs)
    sent = set(route.calls[0].request.url.params.keys())
    assert sent == set(kwargs)
    model = reference("fulfillmentOutbound_2020-07-01.json")
    [declared] = [
        {p["name"] for p in op.get("parameters", []) if p.get("in") == "query"}
        for item in model["paths"].values()
        for op in item.values()
        if isinstance(op, dict) and op.get("operationId") == operation
    ]
    assert sent <= declared


@respx.mock
async def test_bodies_carry_no_injected_marketplace_keys(sp: SpApi) -> None:  # need 1
    create = respx.post(f"{OUTBOUND}/fulfillmentOrders").mock(
        return_value=httpx.Response(200, json={})
    )
    cancel = respx.put(f"{OUTBOUND}/fulfillmentOrders/o-1/cancel").mock(
        return_value=httpx.Response(200, json={})
    )
    await sp.outbound.create_fulfillment_order(sellerFulfillmentOrderId="o-1", marketplaceId="M")
    await sp.outbound.cancel_fulfillment_order("o-1")
    assert json.loads(create.calls[0].request.content) == {
        "sellerFulfillmentOrderId": "o-1",
        "marketplaceId": "M",
    }
    assert cancel.calls[0].request.content == b""


@respx.mock
async def test_inventory_sends_its_declared_marketplace_once(sp: SpApi) -> None:
    route = respx.get(f"{BASE}/fba/inventory/v1/summaries").mock(
        return_value=httpx.Response(200, json={"payload": {}})
    )
    await sp.inventories.get_inventory_summary_marketplace(
        details="true", marketplaceIds=MARKETPLACE, sellerSkus=["A", "B"]
    )
    assert dict(route.calls[0].request.url.params) == {
        "details": "true",
        "marketplaceIds": MARKETPLACE,
        "sellerSkus": "A,B",
        "granularityType": "Marketplace",
        "granularityId": MARKETPLACE,
    }


@respx.mock
async def test_requests_use_our_endpoint_token_and_timeout_despite_the_env(
    sp: SpApi, monkeypatch: pytest.MonkeyPatch
) -> None:  # needs 2, 3 and 4
    monkeypatch.setenv("SP_API_DEFAULT_MARKETPLACE", "DE")
    route = respx.get(f"{OUTBOUND}/fulfillmentOrders/o-1").mock(
        return_value=httpx.Response(200, json={})
    )
    lwa = respx.post(url__regex=r".*/auth/o2/token").mock(return_value=httpx.Response(500))
    await sp.outbound.get_fulfillment_order("o-1")
    sent = route.calls[0].request
    assert sent.url.host == "127.0.0.1"  # not the EU endpoint SP_API_DEFAULT_MARKETPLACE=DE names
    assert sent.headers["host"] == "127.0.0.1:9"  # not endpoint[8:], "7.0.0.1:9"
    assert sent.headers["x-amz-access-token"] == "Atza|ours"
    timeout = sent.extensions["timeout"]
    assert timeout["read"] == 20.0
    assert timeout["connect"] == 5.0
    assert not lwa.called
    from sp_api.asyncio.auth import access_token_client

    assert len(access_token_client.cache) == 0  # the library's process-global token cache


@respx.mock
async def test_unusable_answers_are_judged_before_the_library_parses_them(sp: SpApi) -> None:
    assert isinstance(sp.outbound._transport, JudgingTransport)  # need 2
    respx.get(f"{OUTBOUND}/fulfillmentOrders/o-1").mock(
        return_value=httpx.Response(500, text="<html>oops</html>")
    )
    with pytest.raises(errors.AmbiguousError) as raised:
        await sp.outbound.get_fulfillment_order("o-1")
    assert raised.value.http_status == 500


async def test_aclose_closes_every_pool_the_library_opened(sp: SpApi) -> None:
    outbound, inventories = sp.outbound, sp.inventories
    pools = [
        outbound._transport._inner._client,
        inventories._transport._inner._client,
        outbound._auth._transport._client,  # the token client's, which the library leaves open
    ]
    assert outbound._auth is inventories._auth
    await sp.aclose()
    assert all(pool.is_closed for pool in pools)


def test_an_unknown_default_marketplace_is_a_configuration_error(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("SP_API_DEFAULT_MARKETPLACE", "XX")
    adapter = SpApi(
        endpoint=BASE,
        marketplace_id=MARKETPLACE,
        aws_region="us-east-1",
        credentials={"refresh_token": "r", "lwa_app_id": "app", "lwa_client_secret": "s"},
        tokens=_Tokens(VirtualClock()),
        attempt_timeout=20.0,
        connect_timeout=5.0,
        clock=VirtualClock(),
    )
    with pytest.raises(errors.NotConfigured, match="SP_API_DEFAULT_MARKETPLACE"):
        _ = adapter.outbound
