"""Two server "replicas" (two Services in one process) sharing Redis, end to end through MCP.

The real multi-process replica tests (HTTP, SIGKILL) come with hosted mode; these pin the wiring:
``COMMERCE_MCP_STATE_URL`` puts the order-intent ledger and the token buckets in Redis.
"""

from __future__ import annotations

import functools
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import anyio
import pytest
from tests.support.mcp import connect, ok
from tests.support.redis_server import RedisServer, redis_server
from tests.support.sandbox import plentiful_skus, private_sandbox, recipient, sandbox_services

from commerce_mcp.resilience.shared_limiter import SharedRateLimiter
from commerce_mcp.store.redis import RedisStore

pytestmark = pytest.mark.anyio

SECRET = "s" * 40  # every replica signs confirmation tokens with the same configured secret


@pytest.fixture
def redis(tmp_path: Path) -> Iterator[RedisServer]:
    """A Redis of its own: the ledger and buckets this test writes meet no other test's."""
    with redis_server(tmp_path / "redis") as server:
        yield server


@pytest.fixture
def fakes() -> Iterator[Any]:
    with private_sandbox() as servers:
        yield servers


async def test_a_create_confirmed_on_one_replica_is_already_created_on_the_other(
    fakes: Any, redis: RedisServer
) -> None:
    overrides = {
        "commerce_mcp_state_url": redis.url,
        "commerce_mcp_confirmation_secret": SECRET,
    }
    one, two = sandbox_services(fakes, **overrides), sandbox_services(fakes, **overrides)
    args = {
        "items": [{"seller_sku": plentiful_skus(fakes)[0], "quantity": 1}],
        "recipient": recipient("Replica Test"),
        "displayable_order_id": "REPLICA-1",
    }
    async with connect(fakes, services=one) as client:
        preview = ok(await client.call_tool("create_mcf_order", args))
        created = ok(
            await client.call_tool(
                "create_mcf_order", {**args, "confirmation_token": preview["confirmation_token"]}
            )
        )
    assert created["status"] == "created"
    assert isinstance(await one.store(), RedisStore)
    amazon = await one.amazon()
    assert isinstance(amazon._limiter, SharedRateLimiter)

    async with connect(fakes, services=two) as client:
        again = ok(await client.call_tool("create_mcf_order", args))
    assert again["status"] == "already_created"
    assert fakes.amazon.order_ids() == [created["seller_fulfillment_order_id"]]

    store = await two.store()
    assert isinstance(store, RedisStore)
    buckets = [key async for key in store.client.scan_iter(match="commerce-mcp:bucket:*")]
    assert buckets, "the Amazon calls took their tokens from shared buckets"
    await one.aclose()
    await two.aclose()


async def test_a_tenants_view_of_the_redis_store_still_shares_the_platform_buckets(
    redis_session: RedisServer,
) -> None:
    """Hosted mode hands each tenant a prefixed view; the buckets stay per platform account."""
    from commerce_mcp.config import load_settings
    from commerce_mcp.services import Services
    from commerce_mcp.store.prefixed import PrefixedStore

    shared = RedisStore.from_url(redis_session.url)
    services = Services(settings=load_settings()[0])
    services.use_store(PrefixedStore(shared, "tenant-a"))
    limiter = services._shared_limiter(await services.store(), "amazon")
    assert isinstance(limiter, SharedRateLimiter)
    plain = Services(settings=load_settings()[0])
    assert plain._shared_limiter(await plain.store(), "tiktok") is None
    await plain.aclose()
    await shared.close()


async def test_an_expired_tiktok_token_is_refreshed_by_exactly_one_replica(
    fakes: Any, redis: RedisServer
) -> None:
    """TikTok rotates refresh tokens: two replicas refreshing at once would burn the seller's."""
    replicas = [sandbox_services(fakes, commerce_mcp_state_url=redis.url) for _ in range(4)]
    await (await replicas[0].tiktok()).list_shops(refresh=True)  # the tokens are now in Redis
    fakes.tiktok.expire_access_tokens()  # the platform expires them early: every replica finds out
    clients = [await replica.tiktok() for replica in replicas]
    before = len(fakes.tiktok.token_requests)

    async with anyio.create_task_group() as group:
        for client in clients:
            for _ in range(5):
                group.start_soon(functools.partial(client.list_shops, refresh=True))
    assert fakes.tiktok.token_requests[before:] == ["refresh"]
    for replica in replicas:
        await replica.aclose()


async def test_an_expired_lwa_token_is_refreshed_by_exactly_one_replica(
    fakes: Any, redis: RedisServer
) -> None:
    """Four replicas meet Amazon's 403 "expired" at once: one fetches from LWA, all use its token."""
    replicas = [sandbox_services(fakes, commerce_mcp_state_url=redis.url) for _ in range(4)]
    clients = [await replica.amazon() for replica in replicas]
    sku = plentiful_skus(fakes)[0]
    await clients[0].get_inventory_summaries([sku])  # the first token is now in Redis
    assert fakes.amazon.token_requests == 1
    fakes.amazon.expire_access_tokens()

    async with anyio.create_task_group() as group:
        for client in clients:
            group.start_soon(client.get_inventory_summaries, [sku])
    assert fakes.amazon.token_requests == 2
    for replica in replicas:
        await replica.aclose()
