"""Token buckets shared through Redis: the atomic script's law, and the limiter on top of it.

Two ``SharedRateLimiter`` objects (each with its own connection pool) on one real Redis stand for
two replicas; a single VirtualClock supplies the time argument, so the tests run in virtual time.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from resilience_support import ServerBucket
from tests.support.redis_server import RedisServer, fresh_prefix

from commerce_mcp.errors import RateLimited, StateStoreUnavailable
from commerce_mcp.resilience.deadline import Deadline
from commerce_mcp.resilience.limiter import RateLimiter, RatePlan
from commerce_mcp.resilience.shared_limiter import SharedBuckets, SharedRateLimiter
from commerce_mcp.resilience.testing import VirtualClock
from commerce_mcp.store.redis import RedisStore

FAR = 10**9
HEALTH = [HealthCheck.function_scoped_fixture, HealthCheck.too_slow]


def far(clock: VirtualClock) -> Deadline:
    return Deadline.after(clock, FAR)


class HeldBuckets(SharedBuckets):
    """Shared buckets whose Redis round trips take no virtual time (see VirtualClock.real_io)."""

    def __init__(self, clock: VirtualClock, store: RedisStore) -> None:
        super().__init__(store.client, where=store.where, prefix=store.prefix)
        self.clock = clock

    async def run(self, *args: Any, **kwargs: Any) -> Any:
        async with self.clock.real_io():
            return await super().run(*args, **kwargs)


class Replicas:
    """N limiters sharing one Redis prefix, each on its own connection pool."""

    def __init__(self, url: str, clock: VirtualClock, plan: RatePlan, n: int, **kw: Any) -> None:
        prefix = fresh_prefix("bucket")
        self.stores = [RedisStore.from_url(url, prefix=prefix) for _ in range(n)]
        self.limiters = [
            SharedRateLimiter(clock, {}, plan, buckets=HeldBuckets(clock, store), **kw)
            for store in self.stores
        ]

    async def close(self) -> None:
        for store in self.stores:
            await store.close()


@pytest.fixture
async def two(redis_session: RedisServer) -> AsyncIterator[tuple[VirtualClock, Replicas]]:
    clock = VirtualClock()
    replicas = Replicas(redis_session.url, clock, RatePlan(1, 1), 2, start_tokens=0, send_jitter=0)
    yield clock, replicas
    await replicas.close()


def test_the_shared_limiter_is_a_rate_limiter_the_clients_accept() -> None:
    assert issubclass(SharedRateLimiter, RateLimiter)


# The script's law ------------------------------------------------------------------------------

_script_steps = st.lists(
    st.tuples(
        st.integers(0, 2),  # which replica asks
        st.one_of(st.just(0.0), st.floats(0, 3, allow_nan=False)),  # time since the last step
        st.sampled_from(["take", "take", "take", "take", "drain"]),
    ),
    min_size=1,
    max_size=60,
)


@settings(max_examples=60, deadline=None, suppress_health_check=HEALTH)
@given(
    rate=st.floats(0.1, 50, allow_nan=False),
    burst=st.integers(1, 30),
    steps=_script_steps,
)
def test_shared_bucket_never_grants_more_than_rate_times_t_plus_burst_across_replicas(
    redis_session: RedisServer, rate: float, burst: int, steps: list[tuple[int, float, str]]
) -> None:
    """Property: whatever three replicas ask and when, the grants in any window [a, b] number at
    most rate×(b−a)+burst (starting full, the worst case); and a refused take's reported wait is
    exact: asking again after it succeeds."""
    plan = RatePlan(rate, burst)

    async def run() -> None:
        prefix = fresh_prefix("law")
        stores = [RedisStore.from_url(redis_session.url, prefix=prefix) for _ in range(3)]
        buckets = [SharedBuckets.on(store) for store in stores]
        now, grants = 1_767_225_600.0, []
        try:
            for replica, gap, op in steps:
                now += gap
                bucket = buckets[replica]
                if op == "drain":
                    await bucket.drain("seller", "op", plan, now=now, start_tokens=burst)
                    continue
                state = await bucket.take("seller", "op", plan, now=now, start_tokens=burst)
                if state.granted:
                    grants.append(now)
                    continue
                assert state.wait > 0
                later = await buckets[(replica + 1) % 3].take(
                    "seller", "op", plan, now=now + state.wait, start_tokens=burst
                )
                assert later.granted, (state, later)
                now += state.wait
                grants.append(now)
        finally:
            for store in stores:
                await store.close()
        for i, start in enumerate(grants):
            for j in range(i, len(grants)):
                assert j - i + 1 <= rate * (grants[j] - start) + burst + 1e-6

    asyncio.run(run())


@pytest.mark.anyio
async def test_script_keeps_sub_millisecond_time_exactly(redis_session: RedisServer) -> None:
    """Wall-clock seconds have 10 integer digits; the stored time must not be rounded to 14
    significant digits (Lua's default number format)."""
    store = RedisStore.from_url(redis_session.url, prefix=fresh_prefix())
    buckets = SharedBuckets.on(store)
    plan = RatePlan(1000, 1)
    t = 1_767_225_600.000_123
    assert (await buckets.take("s", "op", plan, now=t, start_tokens=1)).granted
    refused = await buckets.take("s", "op", plan, now=t + 0.000_5, start_tokens=1)
    assert not refused.granted
    # Rounded to 14 digits the time would be 23 µs off (23 tokens' worth of error at this rate);
    # what remains is the float spacing of wall-clock seconds (~0.24 µs).
    assert refused.tokens == pytest.approx(0.5, abs=1e-3)
    assert refused.wait == pytest.approx(0.000_5, abs=2e-6)
    await store.close()


@pytest.mark.anyio
async def test_takes_keep_the_learned_rate_and_renew_the_expiry_once_half_has_run(
    redis_session: RedisServer,
) -> None:
    """A take writes only tokens and time; the expiry is renewed only past half its length."""
    store = RedisStore.from_url(redis_session.url, prefix=fresh_prefix())
    buckets = SharedBuckets.on(store)
    plan = RatePlan(10, 10)
    key = buckets.key("s", "op")
    t = 1_767_225_600.0
    await buckets.take("s", "op", plan, now=t, start_tokens=10)
    full = await store.client.pttl(key)
    assert full > 3_000_000  # BUCKET_TTL_SECONDS, in ms
    await buckets.set_rate("s", "op", plan, 2.0, now=t, start_tokens=10)
    await store.client.pexpire(key, full // 2 + 60_000)  # less than half has run
    state = await buckets.take("s", "op", plan, now=t + 1, start_tokens=10)
    assert (state.rate, state.pace) == (2.0, 2.0)  # the take kept what 'rate' stored
    assert await store.client.pttl(key) <= full // 2 + 60_000  # not renewed
    await store.client.pexpire(key, full // 2 - 60_000)  # more than half has run
    await buckets.take("s", "op", plan, now=t + 2, start_tokens=10)
    assert await store.client.pttl(key) > full - 60_000  # renewed
    await store.close()


# The limiter on top ----------------------------------------------------------------------------


@pytest.mark.anyio
async def test_two_replicas_share_one_bucket(two: tuple[VirtualClock, Replicas]) -> None:
    """Rate 1/s, burst 1, empty: ten calls spread over two replicas take ten seconds, not five."""
    clock, replicas = two
    admitted: list[float] = []

    async def call(limiter: SharedRateLimiter) -> None:
        await limiter.acquire("seller", "op", far(clock))
        admitted.append(clock.monotonic())

    await asyncio.gather(*(call(replicas.limiters[i % 2]) for i in range(10)))
    assert len(admitted) == 10
    assert max(admitted) >= 10.0 - 1e-6


@pytest.mark.anyio
async def test_waiters_within_a_replica_are_admitted_first_in_first_out(
    two: tuple[VirtualClock, Replicas],
) -> None:
    clock, replicas = two
    limiter = replicas.limiters[0]
    order: list[int] = []

    async def caller(index: int) -> None:
        await limiter.acquire("s", "op", far(clock))
        order.append(index)

    await asyncio.gather(*(caller(i) for i in range(15)))
    assert order == list(range(15))


@pytest.mark.anyio
async def test_a_429_on_one_replica_empties_the_bucket_for_all(redis_session: RedisServer) -> None:
    clock = VirtualClock()
    replicas = Replicas(redis_session.url, clock, RatePlan(1, 5), 2, start_tokens=5, send_jitter=0)
    a, b = replicas.limiters
    await a.acquire("s", "op", far(clock))  # 4 tokens left in the shared bucket
    a.on_throttled("s", "op")
    await asyncio.sleep(0)  # let the background drain start
    await a.acquire("s", "op", far(clock))  # waits for the drain, then for a fresh token
    assert clock.monotonic() == pytest.approx(1.0, abs=1e-4)
    await b.acquire("s", "op", far(clock))
    assert clock.monotonic() == pytest.approx(2.0, abs=1e-4)
    assert b.tokens("s", "op") == pytest.approx(0.0, abs=1e-3)
    await replicas.close()


@pytest.mark.anyio
async def test_a_rate_header_seen_by_one_replica_paces_the_others(
    redis_session: RedisServer,
) -> None:
    """x-amzn-RateLimit-Limit 0.5 on replica A: replica B's next waits are 2 s apart; garbage headers
    change nothing."""
    clock = VirtualClock()
    replicas = Replicas(redis_session.url, clock, RatePlan(2, 1), 2, start_tokens=0, send_jitter=0)
    a, b = replicas.limiters
    await a.acquire("s", "op", far(clock))
    assert clock.monotonic() == pytest.approx(0.5, abs=1e-4)
    a.on_rate_header("s", "op", "0.5")
    for garbage in ["abc", "0", "-1", "inf", "nan", "1e309", None]:
        a.on_rate_header("s", "op", garbage)
        b.on_rate_header("s", "op", garbage)
    await a.acquire("s", "op", far(clock))  # A's own update lands before its next take
    assert clock.monotonic() == pytest.approx(2.5, abs=1e-4)
    await b.acquire("s", "op", far(clock))
    assert clock.monotonic() == pytest.approx(4.5, abs=1e-4)
    assert b.plan("s", "op") == RatePlan(0.5, 1)
    await replicas.close()


@pytest.mark.anyio
async def test_a_wait_beyond_the_deadline_fails_at_once_and_takes_no_token(
    two: tuple[VirtualClock, Replicas],
) -> None:
    clock, replicas = two
    a, b = replicas.limiters
    with pytest.raises(RateLimited) as caught:
        await a.acquire("s", "op", Deadline.after(clock, 0.5))
    assert caught.value.retry_after == pytest.approx(1.0, abs=1e-4)
    assert clock.sleeps == []
    await b.acquire("s", "op", far(clock))
    assert clock.monotonic() == pytest.approx(
        1.0, abs=1e-4
    )  # the refused call left the token for B


@pytest.mark.anyio
async def test_a_queued_caller_fails_fast_when_the_queue_ahead_outlasts_its_deadline(
    two: tuple[VirtualClock, Replicas],
) -> None:
    clock, replicas = two
    limiter = replicas.limiters[0]
    await limiter.acquire("s", "op", far(clock))  # learn the bucket's state
    ahead = [asyncio.create_task(limiter.acquire("s", "op", far(clock))) for _ in range(5)]
    await asyncio.sleep(0)
    with pytest.raises(RateLimited) as caught:
        await limiter.acquire("s", "op", Deadline.after(clock, 3))
    assert caught.value.retry_after == pytest.approx(6.0, abs=1e-4)
    await asyncio.gather(*ahead)


async def _admissions(
    limiters: list[RateLimiter], clock: VirtualClock, gaps: list[float]
) -> list[float]:
    """When each caller (spread round-robin over ``limiters``) got its token, sorted."""
    admitted: list[float] = []
    arrivals, elapsed = [], 0.0
    for gap in gaps:
        elapsed += gap
        arrivals.append(elapsed)

    async def client(index: int, at: float) -> None:
        await clock.sleep(at)
        await limiters[index % len(limiters)].acquire("seller", "op", far(clock))
        admitted.append(clock.monotonic())

    await asyncio.gather(*(client(i, at) for i, at in enumerate(arrivals)))
    return sorted(admitted)


async def _shared_and_local(
    url: str, plan: RatePlan, gaps: list[float], n: int
) -> tuple[list[float], list[float]]:
    local_clock = VirtualClock()
    local = await _admissions([RateLimiter(local_clock, {}, plan)], local_clock, gaps)
    clock = VirtualClock()
    replicas = Replicas(url, clock, plan, n)
    try:
        shared = await _admissions(list(replicas.limiters), clock, gaps)
    finally:
        await replicas.close()
    return local, shared


@settings(max_examples=15, deadline=None, suppress_health_check=HEALTH)
@given(
    plan=st.builds(RatePlan, rate=st.floats(0.1, 20, allow_nan=False), burst=st.integers(1, 30)),
    gaps=st.lists(
        st.one_of(st.just(0.0), st.floats(0, 3, allow_nan=False)), min_size=1, max_size=25
    ),
    n=st.integers(1, 3),
)
def test_replicas_pace_exactly_as_one_in_process_limiter_with_its_jitter_reserve(
    redis_session: RedisServer, plan: RatePlan, gaps: list[float], n: int
) -> None:
    """Property: with the default ``send_jitter``, callers spread over 1–3 replicas get their tokens
    at the very instants one in-process limiter would give them: same empty start, same reserve
    held back for latency spread, same pace."""
    local, shared = asyncio.run(_shared_and_local(redis_session.url, plan, [0.0, *gaps], n))
    assert shared == pytest.approx(local, abs=1e-4)


async def _arrivals_on_replicas(
    url: str, plan: RatePlan, gaps: list[float], n: int
) -> ServerBucket:
    clock = VirtualClock()
    replicas = Replicas(url, clock, plan, n)
    server = ServerBucket(plan, clock)
    arrivals, elapsed = [], 0.0
    for gap in gaps:
        elapsed += gap
        arrivals.append(elapsed)

    async def client(index: int, at: float) -> None:
        await clock.sleep(at)
        await replicas.limiters[index % n].acquire("seller", "op", far(clock))
        server.admit()

    try:
        await asyncio.gather(*(client(i, at) for i, at in enumerate(arrivals)))
    finally:
        await replicas.close()
    return server


@settings(max_examples=30, deadline=None, suppress_health_check=HEALTH)
@given(
    plan=st.builds(RatePlan, rate=st.floats(0.1, 20, allow_nan=False), burst=st.integers(1, 30)),
    gaps=st.lists(
        st.one_of(st.just(0.0), st.floats(0, 3, allow_nan=False)), min_size=1, max_size=50
    ),
    n=st.integers(2, 4),
)
def test_replicas_sharing_a_bucket_are_never_rejected_by_the_platform(
    redis_session: RedisServer, plan: RatePlan, gaps: list[float], n: int
) -> None:
    """Property: callers spread round-robin over 2–4 replicas never exceed the platform's bucket
    (same plan, starting full): no 429, however the arrivals bunch."""
    server = asyncio.run(_arrivals_on_replicas(redis_session.url, plan, gaps, n))
    assert server.rejected == []
    assert len(server.accepted) == len(gaps)


@pytest.mark.anyio
async def test_redis_down_fails_the_acquire_clearly_before_anything_is_sent() -> None:
    clock = VirtualClock()
    store = RedisStore.from_url("redis://127.0.0.1:1/0", prefix=fresh_prefix())
    limiter = SharedRateLimiter(clock, {}, RatePlan(1, 1), buckets=SharedBuckets.on(store))
    with pytest.raises(StateStoreUnavailable) as caught:
        await limiter.acquire("s", "createFulfillmentOrder", far(clock))
    text = caught.value.describe()
    assert "state store unavailable" in text
    assert "nothing was sent" in text
    # A 429 or rate header while Redis is down is logged, never raised into the caller.
    limiter.on_throttled("s", "createFulfillmentOrder")
    limiter.on_rate_header("s", "createFulfillmentOrder", "0.5")
    await asyncio.sleep(0)
    with pytest.raises(StateStoreUnavailable):
        await limiter.acquire("s", "createFulfillmentOrder", far(clock))
    await store.close()
