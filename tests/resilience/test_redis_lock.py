"""Single flight across replicas: exactly one refresher, expiry after a dead holder, fenced writes.

Each "replica" is its own RedisStore (own connection pool) and ReplicaSingleFlight on one real Redis;
a VirtualClock supplies the lease times, so a 60 s lease expires without waiting 60 s.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import pytest
from tests.support.redis_server import RedisServer, fresh_prefix

from commerce_mcp.errors import StateStoreUnavailable
from commerce_mcp.resilience.redis_lock import Lease, RedisLock, ReplicaSingleFlight
from commerce_mcp.resilience.testing import VirtualClock
from commerce_mcp.store.redis import RedisStore

TTL = 60.0
HOUR = 3600.0


class TokenService:
    """A token endpoint that rotates on every refresh (as TikTok does) and counts the calls."""

    def __init__(self, clock: VirtualClock) -> None:
        self.clock = clock
        self.refreshes: list[int] = []  # the fence of each refresh
        self.fail_next: Exception | None = None
        self.started = asyncio.Event()

    async def refresh(self, fence: int) -> dict[str, Any]:
        self.refreshes.append(fence)
        self.started.set()
        await self.clock.sleep(1)  # the round trip to the platform
        if self.fail_next is not None:
            error, self.fail_next = self.fail_next, None
            raise error
        return {"access": f"token-{len(self.refreshes)}", "expires_at": self.clock.wall() + HOUR}


class Replica:
    """One replica's token custody: read the shared token, or refresh it under the shared lease."""

    def __init__(self, url: str, prefix: str, clock: VirtualClock, service: TokenService) -> None:
        self.store = RedisStore.from_url(url, prefix=prefix)
        self.flight = ReplicaSingleFlight.on(self.store, clock=clock, ttl=TTL)
        self.clock = clock
        self.service = service

    async def read(self) -> str | None:
        doc = await self.store.get("oauth_tokens", "tiktok:app")
        if doc is not None and doc["expires_at"] > self.clock.wall():
            return str(doc["access"])
        return None

    async def refresh(self, lease: Lease) -> str:
        doc = await self.service.refresh(lease.fence)
        lock = self.flight.lock(lease.name)
        if not await lock.put_if_held(lease, self.store, "oauth_tokens", "tiktok:app", doc):
            raise RuntimeError("overtaken")
        return str(doc["access"])

    async def token(self) -> str:
        return await self.flight.run("tiktok-token", self.read, self.refresh)


@pytest.fixture
async def world(redis_session: RedisServer) -> AsyncIterator[tuple[VirtualClock, list[Replica]]]:
    clock = VirtualClock()
    service = TokenService(clock)
    prefix = fresh_prefix("lock")
    replicas = [Replica(redis_session.url, prefix, clock, service) for _ in range(6)]
    yield clock, replicas
    for replica in replicas:
        await replica.store.close()


@pytest.mark.anyio
async def test_exactly_one_replica_refreshes_and_all_read_its_token(
    world: tuple[VirtualClock, list[Replica]],
) -> None:
    """Six replicas, five concurrent callers each, token missing: one refresh, thirty callers with
    the same new token."""
    _, replicas = world
    tokens = await asyncio.gather(*(replica.token() for replica in replicas for _ in range(5)))
    assert set(tokens) == {"token-1"}
    assert len(replicas[0].service.refreshes) == 1


@pytest.mark.anyio
async def test_an_expired_token_is_refreshed_once_more(
    world: tuple[VirtualClock, list[Replica]],
) -> None:
    clock, replicas = world
    assert await replicas[0].token() == "token-1"
    clock.advance(HOUR + 1)
    tokens = await asyncio.gather(*(replica.token() for replica in replicas))
    assert set(tokens) == {"token-2"}
    assert len(replicas[0].service.refreshes) == 2


@pytest.mark.anyio
async def test_a_dead_holder_blocks_refreshes_only_until_its_lease_expires(
    world: tuple[VirtualClock, list[Replica]],
) -> None:
    """Replica 0 takes the lease and dies (never releases). Replica 1 refreshes once the lease has
    expired, with a higher fence; the dead holder's late write is refused."""
    clock, replicas = world
    dead_lock = replicas[0].flight.lock("tiktok-token")
    dead = await dead_lock.try_acquire()
    assert dead is not None
    started = clock.monotonic()
    assert await replicas[1].token() == "token-1"
    assert clock.monotonic() - started >= TTL
    assert clock.monotonic() - started <= TTL + 2  # promptly after expiry (plus the 1 s refresh)
    assert replicas[1].service.refreshes == [dead.fence + 1]
    late = {"access": "stale", "expires_at": clock.wall() + HOUR}
    assert not await dead_lock.put_if_held(
        dead, replicas[0].store, "oauth_tokens", "tiktok:app", late
    )
    assert await replicas[2].read() == "token-1"
    assert not await dead_lock.release(dead)  # an overtaken lease releases nothing


@pytest.mark.anyio
async def test_a_holder_past_its_expiry_cannot_write_even_if_nobody_took_over(
    world: tuple[VirtualClock, list[Replica]],
) -> None:
    clock, replicas = world
    lock = replicas[0].flight.lock("tiktok-token")
    lease = await lock.try_acquire()
    assert lease is not None
    assert await lock.held(lease)
    doc = {"access": "x", "expires_at": clock.wall() + HOUR}
    clock.advance(TTL)
    assert not await lock.held(lease)
    assert not await lock.put_if_held(lease, replicas[0].store, "oauth_tokens", "tiktok:app", doc)
    assert await replicas[0].read() is None


@pytest.mark.anyio
async def test_fences_only_grow(world: tuple[VirtualClock, list[Replica]]) -> None:
    clock, replicas = world
    fences = []
    for replica in replicas:
        lock = replica.flight.lock("tiktok-token")
        lease = await lock.try_acquire()
        assert lease is not None
        assert await lock.try_acquire() is None  # held: a second taker is refused
        fences.append(lease.fence)
        if len(fences) % 2:
            await lock.release(lease)
        else:
            clock.advance(TTL)  # let it expire instead
    assert fences == sorted(set(fences))


@pytest.mark.anyio
async def test_a_failed_refresh_frees_the_lease_for_the_next_caller(
    world: tuple[VirtualClock, list[Replica]],
) -> None:
    clock, replicas = world
    replicas[0].service.fail_next = RuntimeError("token endpoint down")
    with pytest.raises(RuntimeError, match="token endpoint down"):
        await replicas[0].token()
    started = clock.monotonic()
    assert await replicas[1].token() == "token-2"
    assert clock.monotonic() - started == pytest.approx(1.0)  # no wait for an expiry


@pytest.mark.anyio
async def test_a_cancelled_holder_frees_the_lease(
    world: tuple[VirtualClock, list[Replica]],
) -> None:
    clock, replicas = world
    holder = asyncio.create_task(replicas[0].token())
    await replicas[0].service.started.wait()
    holder.cancel()
    with pytest.raises(asyncio.CancelledError):
        await holder
    started = clock.monotonic()
    assert await replicas[1].token() == "token-2"
    assert clock.monotonic() - started < TTL


@pytest.mark.anyio
async def test_redis_down_is_a_clear_state_store_error() -> None:
    store = RedisStore.from_url("redis://127.0.0.1:1/0", prefix=fresh_prefix())
    lock = RedisLock(store.client, "tiktok-token", clock=VirtualClock(), where=store.where)
    with pytest.raises(StateStoreUnavailable, match="state store unavailable"):
        await lock.try_acquire()
    await store.close()
