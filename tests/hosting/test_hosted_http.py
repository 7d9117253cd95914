"""Hosted mode over real HTTP: authentication, scopes, tenants, limits, both protocol eras.

Every server here is a real uvicorn on loopback; tokens come from a local issuer serving its JWKS on
loopback; the MCP client is the SDK's own streamable HTTP client.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import anyio
import httpx
import httpx2
import jwt
import pytest
from cryptography.fernet import Fernet
from cryptography.hazmat.primitives.asymmetric import rsa
from mcp import Client
from mcp.client.streamable_http import streamable_http_client
from pydantic import SecretStr

from commerce_mcp.config import load_settings
from commerce_mcp.hosting.api_keys import ApiKeys
from commerce_mcp.hosting.serve import Hosted, StartupRefused, build_hosted
from commerce_mcp.hosting.settings import HostingSettings
from commerce_mcp.hosting.tenants import TenantConfig, TenantDirectory
from commerce_mcp.resilience.clock import SystemClock
from commerce_mcp.services import Services
from tests.support.http import LocalIssuer, free_port, serve_in_thread
from tests.support.sandbox import private_sandbox, recipient

WRITE_TOOLS = {"create_mcf_order", "cancel_mcf_order", "fulfill_tiktok_order_with_mcf"}
ENCRYPTION_KEY = Fernet.generate_key().decode()


def _tenant_values(fakes: Any) -> dict[str, str]:
    return {k: str(v) for k, v in fakes.settings_overrides().items()}


@pytest.fixture(scope="module")
def issuer() -> Iterator[LocalIssuer]:
    with LocalIssuer().serving() as running:
        yield running


@pytest.fixture(scope="module")
def two_sellers() -> Iterator[tuple[Any, Any]]:
    with private_sandbox() as a, private_sandbox() as b:
        yield a, b


@pytest.fixture
def hosted(tmp_path: Path, issuer: LocalIssuer, two_sellers: tuple[Any, Any]) -> Iterator[Hosted]:
    """A hosted server with OAuth + API keys and two tenants, each its own seller's fakes."""
    port = free_port()
    hosting = HostingSettings(
        commerce_mcp_http_port=port,
        commerce_mcp_http_public_url=f"http://127.0.0.1:{port}/mcp",
        commerce_mcp_oauth_issuer=issuer.url,
        commerce_mcp_encryption_key=SecretStr(ENCRYPTION_KEY),
    )

    async def make() -> Hosted:
        settings, _ = load_settings(commerce_mcp_state_dir=tmp_path / "state")
        control = Services(settings=settings)
        directory = TenantDirectory(await control.store(), hosting.commerce_mcp_encryption_key)
        for name, fakes in zip(("tenant-a", "tenant-b"), two_sellers, strict=True):
            await directory.save(TenantConfig(name, _tenant_values(fakes), allow_writes=True))
        return await build_hosted(hosting, control)

    with serve_in_thread(make, port) as running:
        yield running


def _client(hosted: Hosted, token: str, **options: Any) -> Client:
    http = httpx2.AsyncClient(headers={"Authorization": f"Bearer {token}"}, timeout=60)
    return Client(streamable_http_client(hosted.public_url, http_client=http), **options)


def _post(hosted: Hosted, body: Any, **headers: str) -> httpx.Response:
    return httpx.post(
        hosted.public_url,
        content=body if isinstance(body, bytes) else json.dumps(body),
        headers={
            "content-type": "application/json",
            "accept": "application/json, text/event-stream",
            **headers,
        },
        timeout=30,
    )


LIST = {"jsonrpc": "2.0", "id": 1, "method": "tools/list", "params": {}}


def test_unauthenticated_requests_get_401_with_the_metadata_and_scopes(hosted: Hosted) -> None:
    answer = _post(hosted, LIST)
    assert answer.status_code == 401
    challenge = answer.headers["www-authenticate"]
    assert challenge.startswith("Bearer ")
    assert 'resource_metadata="http://127.0.0.1:' in challenge
    assert "/.well-known/oauth-protected-resource/mcp" in challenge
    assert 'scope="commerce:read commerce:write"' in challenge


def test_protected_resource_metadata_is_rfc_9728(hosted: Hosted, issuer: LocalIssuer) -> None:
    base = hosted.public_url.removesuffix("/mcp")
    document = httpx.get(f"{base}/.well-known/oauth-protected-resource/mcp").json()
    assert document["resource"] == hosted.public_url
    assert document["authorization_servers"] == [issuer.url]
    assert set(document["scopes_supported"]) == {"commerce:read", "commerce:write"}
    assert document["bearer_methods_supported"] == ["header"]


def _forged(issuer: LocalIssuer, audience: str) -> dict[str, str]:
    other = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    none_token = jwt.encode(
        {"iss": issuer.url, "sub": "tenant-a", "aud": audience, "exp": 2_000_000_000},
        key=None,
        algorithm="none",
        headers={"kid": issuer.current},
    )
    return {
        "expired": issuer.token(audience=audience, lifetime=-120),
        "not yet valid": issuer.token(audience=audience, nbf=4_000_000_000),
        "wrong issuer": issuer.token(audience=audience, issuer="https://evil.example"),
        "wrong audience": issuer.token(audience="https://elsewhere.example/mcp"),
        "bad signature": issuer.token(audience=audience, key=other),
        "alg none": none_token,
        "unknown kid": issuer.token(audience=audience, kid="nope", key=other),
        "garbage": "not-a-jwt",
    }


def test_every_kind_of_bad_token_is_refused(hosted: Hosted, issuer: LocalIssuer) -> None:
    for case, token in _forged(issuer, hosted.public_url).items():
        answer = _post(hosted, LIST, authorization=f"Bearer {token}")
        assert answer.status_code == 401, case
        assert 'error="invalid_token"' in answer.headers["www-authenticate"], case
        assert token not in answer.text


def test_a_rotated_key_is_fetched_once_and_then_cached(hosted: Hosted, issuer: LocalIssuer) -> None:
    good = issuer.token(audience=hosted.public_url)
    assert _post(hosted, LIST, authorization=f"Bearer {good}").status_code == 200
    issuer.rotate()
    rotated = issuer.token(audience=hosted.public_url)
    hosted.control.clock = _Later(hosted.control.clock, seconds=60)  # past the refresh interval
    before = issuer.jwks_requests
    for _ in range(5):
        assert _post(hosted, LIST, authorization=f"Bearer {rotated}").status_code == 200
    assert issuer.jwks_requests - before <= 1


@pytest.mark.anyio
@pytest.mark.parametrize("mode", ["auto", "legacy"])
async def test_both_protocol_eras_work_over_http(
    hosted: Hosted, issuer: LocalIssuer, mode: str
) -> None:
    token = issuer.token(audience=hosted.public_url)
    async with _client(hosted, token, mode=mode) as client:
        names = {tool.name for tool in (await client.list_tools()).tools}
        status = await client.call_tool("get_connection_status", {})
        typo = await client.call_tool("list_mcf_orders", {"stauts": "Complete"})
    assert names >= WRITE_TOOLS
    assert not status.is_error
    assert typo.is_error and "stauts" in typo.content[0].text  # same clear error as stdio


@pytest.mark.anyio
@pytest.mark.parametrize("mode", ["auto", "legacy"])
async def test_progress_notifications_reach_an_http_client(
    hosted: Hosted, issuer: LocalIssuer, two_sellers: tuple[Any, Any], mode: str
) -> None:
    # Each call's answer is streamed (SSE), so what the tool reports on the way arrives before it.
    updates: list[tuple[float, float | None]] = []

    async def progress(done: float, total: float | None, message: str | None) -> None:
        updates.append((done, total))

    token = issuer.token(audience=hosted.public_url)
    args = {"seller_skus": [_sku(two_sellers[0])], "response_format": "detailed"}
    async with _client(hosted, token, mode=mode) as client:
        result = await client.call_tool("get_inventory", args, progress_callback=progress)
    assert not result.is_error
    assert updates and updates[-1][0] == updates[-1][1]


@pytest.mark.anyio
async def test_a_read_only_token_sees_no_write_tool_and_cannot_call_one(
    hosted: Hosted, issuer: LocalIssuer
) -> None:
    token = issuer.token(audience=hosted.public_url, scope="commerce:read")
    async with _client(hosted, token) as client:
        names = {tool.name for tool in (await client.list_tools()).tools}
    assert "get_connection_status" in names and not names & WRITE_TOOLS
    call = {
        "jsonrpc": "2.0",
        "id": 2,
        "method": "tools/call",
        "params": {"name": "cancel_mcf_order", "arguments": {"seller_fulfillment_order_id": "x"}},
    }
    answer = _post(hosted, call, authorization=f"Bearer {token}")
    assert answer.status_code == 403
    assert 'error="insufficient_scope"' in answer.headers["www-authenticate"]
    assert 'scope="commerce:write"' in answer.headers["www-authenticate"]


@pytest.mark.anyio
async def test_api_keys_authenticate_until_revoked(hosted: Hosted) -> None:
    keys = ApiKeys(await hosted.control.store())
    key = await keys.issue("tenant-a")
    assert _post(hosted, LIST, authorization=f"Bearer {key}").status_code == 200
    assert await keys.revoke(key.split("_")[1])
    assert _post(hosted, LIST, authorization=f"Bearer {key}").status_code == 401
    assert _post(hosted, LIST, authorization=f"Bearer {key}x").status_code == 401


@pytest.mark.anyio
async def test_tenants_never_see_each_others_orders_or_confirmations(
    hosted: Hosted, issuer: LocalIssuer, two_sellers: tuple[Any, Any]
) -> None:
    seller_a, seller_b = two_sellers
    args = {"items": [{"seller_sku": _sku(seller_a), "quantity": 1}], "recipient": recipient("A")}
    token_a = issuer.token(audience=hosted.public_url, subject="tenant-a")
    token_b = issuer.token(audience=hosted.public_url, subject="tenant-b")
    async with _client(hosted, token_a) as a, _client(hosted, token_b) as b:
        preview = (await a.call_tool("create_mcf_order", args)).structured_content
        assert preview is not None
        stolen = await b.call_tool(
            "create_mcf_order", {**args, "confirmation_token": preview["confirmation_token"]}
        )
        created = await a.call_tool(
            "create_mcf_order", {**args, "confirmation_token": preview["confirmation_token"]}
        )
        order_id = (created.structured_content or {})["seller_fulfillment_order_id"]
        seen_by_b = await b.call_tool("get_mcf_order", {"seller_fulfillment_order_id": order_id})
        listed_by_b = await b.call_tool("list_mcf_orders", {"limit": 100})
    assert stolen.is_error and "another server instance" in stolen.content[0].text
    assert not created.is_error
    # Other tests in this module may have created orders: only this one matters here.
    assert order_id in seller_a.amazon.order_ids()
    assert order_id not in seller_b.amazon.order_ids()
    assert seen_by_b.is_error
    assert order_id not in json.dumps(listed_by_b.structured_content)


class _Later(SystemClock):
    """Monotonic time moved on, so a key refresh is allowed without waiting for real."""

    def __init__(self, clock: Any, seconds: float) -> None:
        self._clock, self._seconds = clock, seconds

    def monotonic(self) -> float:
        return float(self._clock.monotonic()) + self._seconds


def _sku(fakes: Any) -> str:
    from tests.support.sandbox import plentiful_skus

    return plentiful_skus(fakes)[0]


def test_health_readiness_body_limit_and_host_check(hosted: Hosted, issuer: LocalIssuer) -> None:
    base = hosted.public_url.removesuffix("/mcp")
    assert httpx.get(f"{base}/healthz").json() == {"status": "ok"}
    assert httpx.get(f"{base}/readyz").status_code == 200
    token = issuer.token(audience=hosted.public_url)
    huge = b'{"jsonrpc":"2.0","id":1,"method":"tools/list","params":{"pad":"' + b"x" * 10_000_000
    assert _post(hosted, huge + b'"}}', authorization=f"Bearer {token}").status_code == 413
    wrong_host = _post(hosted, LIST, authorization=f"Bearer {token}", host="evil.example")
    assert wrong_host.status_code in (400, 403, 421)


@pytest.mark.anyio
async def test_a_public_address_without_authentication_refuses_to_start(tmp_path: Path) -> None:
    settings, _ = load_settings(commerce_mcp_sandbox=True, commerce_mcp_state_dir=tmp_path)
    control = Services(settings=settings)
    for hosting, auth_off in (
        (HostingSettings(commerce_mcp_http_host="0.0.0.0"), True),
        (HostingSettings(commerce_mcp_http_host="0.0.0.0", commerce_mcp_api_keys=False), False),
        (HostingSettings(commerce_mcp_oauth_issuer="https://id.example"), False),
    ):
        with pytest.raises(StartupRefused) as refused:
            await build_hosted(hosting, control, auth_off=auth_off)
        assert "COMMERCE_MCP_" in str(refused.value)
    await control.aclose()


@pytest.mark.anyio
async def test_a_tiktok_order_fulfilled_by_one_tenant_shows_no_link_to_another(
    hosted: Hosted, issuer: LocalIssuer, two_sellers: tuple[Any, Any]
) -> None:
    from tests.support.sandbox import shippable_tiktok_orders

    order = shippable_tiktok_orders(two_sellers[0])[1]
    token_a = issuer.token(audience=hosted.public_url, subject="tenant-a")
    token_b = issuer.token(audience=hosted.public_url, subject="tenant-b")
    async with _client(hosted, token_a) as a, _client(hosted, token_b) as b:
        preview = await a.call_tool("fulfill_tiktok_order_with_mcf", {"order_id": order})
        confirm = {
            "order_id": order,
            "confirmation_token": preview.structured_content["confirmation_token"],
        }  # type: ignore[index]
        linked = await a.call_tool("fulfill_tiktok_order_with_mcf", confirm)
        seen_by_a = await a.call_tool("get_order", {"order_id": order})
        seen_by_b = await b.call_tool("get_order", {"order_id": order})
    mcf_id = (linked.structured_content or {})["mcf_order_id"]
    assert mcf_id in json.dumps(seen_by_a.structured_content)
    assert mcf_id not in json.dumps(seen_by_b.structured_content)


@pytest.mark.anyio
async def test_a_slow_call_does_not_hold_up_other_clients(
    hosted: Hosted, issuer: LocalIssuer, two_sellers: tuple[Any, Any]
) -> None:
    seller_a = two_sellers[0]
    seller_a.amazon_faults.inject("/fba/outbound/2020-07-01/fulfillmentOrders", "slow", delay=0.05)
    token_a = issuer.token(audience=hosted.public_url, subject="tenant-a")
    token_b = issuer.token(audience=hosted.public_url, subject="tenant-b")
    slow_done = anyio.Event()

    async def slow() -> None:
        async with _client(hosted, token_a) as a:
            await a.call_tool("list_mcf_orders", {"limit": 5})
        slow_done.set()

    try:
        async with anyio.create_task_group() as group:
            group.start_soon(slow)
            async with _client(hosted, token_b) as b:
                for _ in range(3):
                    assert not (await b.call_tool("get_connection_status", {})).is_error
            assert not slow_done.is_set()  # B finished three calls while A's was still running
            group.cancel_scope.cancel()  # A's answer is still dripping in; no need to wait for it
    finally:
        seller_a.amazon_faults.clear()
