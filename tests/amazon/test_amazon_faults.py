"""The Amazon rows of the fault matrix, end to end through the fake and its fault injection."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator

import pytest
from amazon_support import order_request, plentiful

from commerce_mcp import errors
from commerce_mcp.amazon.client import AmazonMcfClient
from commerce_mcp.config import Settings
from commerce_mcp.resilience.limiter import RateLimiter, RatePlan
from commerce_mcp.resilience.testing import VirtualClock
from commerce_mcp.sandbox.runner import SandboxServers, start_sandbox
from commerce_mcp.store.memory import MemoryStore

CREATE_PATH = "/fba/outbound/2020-07-01/fulfillmentOrders"
EXPIRED = {"errors": [{"code": "Unauthorized",
                       "message": "The security token included in the request is expired",
                       "details": ""}]}  # fmt: skip


@pytest.fixture(scope="module")
def sandbox() -> Iterator[SandboxServers]:
    servers = start_sandbox()
    servers.amazon.enforce_rate_limits = False
    yield servers
    servers.stop()


def make_client(sandbox: SandboxServers, **overrides: str) -> AmazonMcfClient:
    settings = Settings(**{**sandbox.settings_overrides(), **overrides})
    return AmazonMcfClient.from_settings(settings, store=MemoryStore(), clock=VirtualClock())


@pytest.fixture
async def client(sandbox: SandboxServers) -> AsyncIterator[AmazonMcfClient]:
    sandbox.amazon_faults.clear()
    amazon = make_client(sandbox)
    yield amazon
    sandbox.amazon_faults.clear()
    await amazon.aclose()


def orders_named(sandbox: SandboxServers, order_id: str) -> int:
    return sandbox.amazon.order_ids().count(order_id)


@pytest.mark.anyio
@pytest.mark.parametrize("kind", ["commit_then_drop", "commit_then_500"])
async def test_commit_then_lost_answer_is_reconciled_to_one_order(
    client: AmazonMcfClient, sandbox: SandboxServers, kind: str
) -> None:  # matrix rows 4 and 5
    order_id = f"fault-{kind.replace('_', '-')}"
    sandbox.amazon_faults.inject(CREATE_PATH, kind, 1, method="POST")  # type: ignore[arg-type]
    calls = sandbox.amazon.create_calls
    outcome = await client.create_fulfillment_order(order_request(order_id, plentiful(sandbox)))
    assert outcome.reconciled
    assert orders_named(sandbox, order_id) == 1
    assert sandbox.amazon.create_calls == calls + 1


@pytest.mark.anyio
async def test_dropped_before_processing_is_resent_with_the_same_id(
    client: AmazonMcfClient, sandbox: SandboxServers
) -> None:  # matrix row 6
    sandbox.amazon_faults.inject(CREATE_PATH, "drop", 1, method="POST")
    calls = sandbox.amazon.create_calls
    await client.create_fulfillment_order(order_request("fault-drop-1", plentiful(sandbox)))
    assert orders_named(sandbox, "fault-drop-1") == 1
    assert sandbox.amazon.create_calls == calls + 1  # the dropped request never reached the world


@pytest.mark.anyio
async def test_ambiguous_create_with_failing_lookup_is_outcome_unknown(
    client: AmazonMcfClient, sandbox: SandboxServers
) -> None:  # matrix row 7
    sandbox.amazon_faults.inject(CREATE_PATH, "commit_then_drop", 1, method="POST")
    sandbox.amazon_faults.inject(f"{CREATE_PATH}/fault-unknown-1", "status", 50, status=503,
                                 body="<html>unavailable</html>")  # fmt: skip
    calls = sandbox.amazon.create_calls
    with pytest.raises(errors.OutcomeUnknown) as raised:
        await client.create_fulfillment_order(order_request("fault-unknown-1", plentiful(sandbox)))
    assert raised.value.reference == "fault-unknown-1"
    assert sandbox.amazon.create_calls == calls + 1


@pytest.mark.anyio
async def test_same_id_same_payload_replays_and_different_payload_conflicts(
    client: AmazonMcfClient, sandbox: SandboxServers
) -> None:  # matrix row 8
    sku = plentiful(sandbox)
    await client.create_fulfillment_order(order_request("fault-replay-1", sku))
    calls = sandbox.amazon.create_calls
    again = await client.create_fulfillment_order(order_request("fault-replay-1", sku))
    assert again.replayed
    assert sandbox.amazon.create_calls == calls
    with pytest.raises(errors.Conflict):
        await client.create_fulfillment_order(order_request("fault-replay-1", sku, quantity=3))
    assert sandbox.amazon.create_calls == calls


@pytest.mark.anyio
async def test_html_body_on_200_is_a_bad_response_with_status(
    client: AmazonMcfClient, sandbox: SandboxServers
) -> None:  # matrix row 11
    sandbox.amazon_faults.inject(f"{CREATE_PATH}/*", "status", 5, status=200,
                                 body="<html><body>Sign in</body></html>")  # fmt: skip
    with pytest.raises(errors.BadResponse) as raised:
        await client.get_fulfillment_order("whatever-1")
    assert raised.value.http_status == 200
    assert "html" in raised.value.message


@pytest.mark.anyio
async def test_bare_429_is_retried_then_surfaces_with_status(
    client: AmazonMcfClient, sandbox: SandboxServers
) -> None:  # matrix row 13
    sku = plentiful(sandbox)
    await client.create_fulfillment_order(order_request("fault-429-1", sku))
    sandbox.amazon_faults.inject(f"{CREATE_PATH}/fault-429-1", "status", 1, status=429, body="")
    detail = await client.get_fulfillment_order("fault-429-1")
    assert detail.fulfillment_order.seller_fulfillment_order_id == "fault-429-1"
    sandbox.amazon_faults.inject(f"{CREATE_PATH}/fault-429-1", "status", 20, status=429, body="")
    with pytest.raises(errors.RateLimited) as raised:
        await client.get_fulfillment_order("fault-429-1")
    assert raised.value.http_status == 429


@pytest.mark.anyio
async def test_expired_token_under_load_refreshes_once(
    client: AmazonMcfClient, sandbox: SandboxServers
) -> None:  # matrix row 19
    sku = plentiful(sandbox)
    await client.create_fulfillment_order(order_request("fault-load-1", sku))
    sandbox.amazon.expire_access_tokens()
    clock = VirtualClock()
    # A generous local plan so that our own limiter does not serialise the burst past the deadline.
    limiter = RateLimiter(
        clock, {}, RatePlan(rate=1000.0, burst=1000), start_tokens=1000, send_jitter=0
    )
    settings = Settings(**sandbox.settings_overrides())
    client = AmazonMcfClient.from_settings(
        settings, store=MemoryStore(), clock=clock, limiter=limiter
    )
    await client.get_fulfillment_order("fault-load-1")  # caches the (now expired) token
    sandbox.amazon.expire_access_tokens()
    before = sandbox.amazon.token_requests
    results = await asyncio.gather(
        *(client.get_fulfillment_order("fault-load-1") for _ in range(100))
    )
    await client.aclose()
    assert len(results) == 100
    assert sandbox.amazon.token_requests == before + 1


@pytest.mark.anyio
async def test_lwa_500_is_retried(sandbox: SandboxServers) -> None:  # matrix row 20a
    sandbox.amazon_faults.clear()
    sandbox.amazon_faults.inject(
        "/auth/o2/token", "status", 1, status=500, body="<html>oops</html>"
    )
    amazon = make_client(sandbox)
    try:
        page = await amazon.list_fulfillment_orders()
    finally:
        await amazon.aclose()
    assert page is not None


@pytest.mark.anyio
async def test_lwa_invalid_grant_is_a_reauthorize_error(sandbox: SandboxServers) -> None:  # 20b
    sandbox.amazon_faults.clear()
    amazon = make_client(sandbox, amazon_sp_api_refresh_token="Atzr|revoked")
    before = sandbox.amazon.token_requests
    try:
        with pytest.raises(errors.AuthError) as raised:
            await amazon.list_fulfillment_orders()
    finally:
        await amazon.aclose()
    assert raised.value.code == "invalid_grant"
    assert "AMAZON_SP_API_REFRESH_TOKEN" in (raised.value.hint or "")
    assert "Atzr|revoked" not in str(raised.value)
    assert sandbox.amazon.token_requests == before  # rejected before a token was issued


@pytest.mark.anyio
async def test_token_expired_twice_replays_once_then_fails(
    client: AmazonMcfClient, sandbox: SandboxServers
) -> None:  # matrix row 21
    sandbox.amazon_faults.inject(f"{CREATE_PATH}/fault-exp-1", "status", 2, status=403,
                                 body=EXPIRED)  # fmt: skip
    fired = len(sandbox.amazon_faults.fired)
    with pytest.raises(errors.AuthError) as raised:
        await client.get_fulfillment_order("fault-exp-1")
    assert not isinstance(raised.value, errors.TokenExpired)
    assert len(sandbox.amazon_faults.fired) == fired + 2


@pytest.mark.anyio
@pytest.mark.parametrize(("header", "at_least", "at_most"), [("7", 7.0, None), ("inf", 0.0, 1.0),
                                                           ("1e12", 0.0, 1.0)])  # fmt: skip
async def test_429_retry_after_from_the_fake_is_honoured_or_ignored(
    sandbox: SandboxServers, header: str, at_least: float, at_most: float | None
) -> None:  # matrix row 15, over loopback
    sandbox.amazon_faults.clear()
    clock = VirtualClock()
    settings = Settings(**sandbox.settings_overrides())
    amazon = AmazonMcfClient.from_settings(settings, store=MemoryStore(), clock=clock)
    sandbox.amazon_faults.inject("/fba/inventory/v1/summaries", "status", 1, status=429,
                                 body={"errors": [{"code": "QuotaExceeded", "message": "slow"}]},
                                 headers={"retry-after": header})  # fmt: skip
    try:
        page = await amazon.get_inventory_summaries()
    finally:
        await amazon.aclose()
        sandbox.amazon_faults.clear()
    assert page.inventory_summaries
    assert clock.sleeps
    assert max(clock.sleeps) >= at_least
    assert at_most is None or max(clock.sleeps) <= at_most
