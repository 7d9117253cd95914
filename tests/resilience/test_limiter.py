"""The client-side token buckets: plans, FIFO fairness, deadlines, cancellation, adaptation."""

from __future__ import annotations

import asyncio

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from resilience_support import ServerBucket

from commerce_mcp.errors import RateLimited
from commerce_mcp.resilience.deadline import Deadline
from commerce_mcp.resilience.limiter import (
    SPAPI_PLANS,
    TIKTOK_DEFAULT_PLAN,
    RateLimiter,
    RatePlan,
)
from commerce_mcp.resilience.testing import VirtualClock

FAR = 10**9


def far(clock: VirtualClock) -> Deadline:
    return Deadline.after(clock, FAR)


def test_published_plans_are_seeded() -> None:
    assert SPAPI_PLANS["createFulfillmentOrder"] == RatePlan(2, 30)
    assert SPAPI_PLANS["getFulfillmentOrder"] == RatePlan(2, 30)
    assert SPAPI_PLANS["getInventorySummaries"] == RatePlan(2, 2)
    assert RatePlan(50, 50) == TIKTOK_DEFAULT_PLAN


@pytest.mark.parametrize(("rate", "burst"), [(0, 1), (-1, 1), (float("inf"), 1), (1, 0)])
def test_impossible_plans_are_refused(rate: float, burst: int) -> None:
    with pytest.raises(ValueError, match="must be"):
        RatePlan(rate, burst)


def test_fresh_buckets_start_empty_and_fill_at_the_plan_rate_from_creation() -> None:
    """A new process cannot see the platform's bucket (another may just have drained it), so it
    assumes nothing: empty at creation, full once burst/rate seconds have passed, used or not."""
    clock = VirtualClock()
    limiter = RateLimiter(clock, SPAPI_PLANS, TIKTOK_DEFAULT_PLAN, send_jitter=0)
    assert limiter.tokens("s", "getInventorySummaries") == 0
    clock.advance(0.5)
    assert limiter.tokens("s", "createFulfillmentOrder") == pytest.approx(1.0)
    clock.advance(20)
    assert limiter.tokens("s", "createFulfillmentOrder") == pytest.approx(30)
    assert limiter.tokens("other-seller", "getInventorySummaries") == pytest.approx(2)
    full = RateLimiter(clock, SPAPI_PLANS, TIKTOK_DEFAULT_PLAN, start_tokens=30, send_jitter=0)
    assert full.tokens("s", "createFulfillmentOrder") == 30


def test_the_token_endpoint_bucket_starts_full_so_a_first_call_does_not_wait_for_it() -> None:
    """Nobody drains LWA (one token an hour per process); an empty start would only add a second
    to every fresh process's first SP-API call, and hold the already-taken operation token."""
    limiter = RateLimiter(VirtualClock(), SPAPI_PLANS, TIKTOK_DEFAULT_PLAN, send_jitter=0)
    assert limiter.tokens("s", "lwa.refreshToken") == 5
    assert limiter.tokens("s", "getFulfillmentOrder") == 0


def test_the_jitter_reserve_lowers_the_capacity_not_the_sustained_rate() -> None:
    clock = VirtualClock()
    limiter = RateLimiter(clock, SPAPI_PLANS, TIKTOK_DEFAULT_PLAN, send_jitter=0.1)
    clock.advance(100)
    assert limiter.tokens("s", "getInventorySummaries") == pytest.approx(2 - 2 * 0.1)
    assert limiter.tokens("s", "createFulfillmentOrder") == pytest.approx(30 - 2 * 0.1)
    assert limiter.plan("s", "getInventorySummaries") == RatePlan(2, 2)


@pytest.mark.parametrize("jitter", [-0.1, float("nan"), float("inf")])
def test_impossible_jitter_is_refused(jitter: float) -> None:
    with pytest.raises(ValueError, match="send_jitter"):
        RateLimiter(VirtualClock(), {}, TIKTOK_DEFAULT_PLAN, send_jitter=jitter)


@pytest.mark.anyio
async def test_no_wait_while_tokens_remain_then_one_token_per_interval() -> None:
    clock = VirtualClock()
    limiter = RateLimiter(clock, {}, RatePlan(2, 3), start_tokens=3, send_jitter=0)
    times = []
    for _ in range(5):
        await limiter.acquire("s", "op", far(clock))
        times.append(clock.monotonic())
    assert times == [0, 0, 0, 0.5, 1.0]


@pytest.mark.anyio
async def test_waiters_are_admitted_first_in_first_out() -> None:
    clock = VirtualClock()
    limiter = RateLimiter(clock, {}, RatePlan(1, 1), start_tokens=0, send_jitter=0)
    admitted: list[tuple[int, float]] = []

    async def caller(index: int) -> None:
        await limiter.acquire("s", "op", far(clock))
        admitted.append((index, clock.monotonic()))

    await asyncio.gather(*(caller(i) for i in range(20)))
    assert admitted == [(i, float(i + 1)) for i in range(20)]


@pytest.mark.anyio
async def test_accounts_and_operations_never_block_each_other() -> None:
    clock = VirtualClock()
    limiter = RateLimiter(clock, {}, RatePlan(1, 1), start_tokens=1, send_jitter=0)
    await limiter.acquire("seller-a", "op", far(clock))
    await limiter.acquire("seller-b", "op", far(clock))
    await limiter.acquire("seller-a", "other-op", far(clock))
    assert clock.monotonic() == 0


@pytest.mark.anyio
async def test_a_wait_beyond_the_deadline_fails_at_once_with_retry_after() -> None:
    clock = VirtualClock()
    limiter = RateLimiter(clock, {}, RatePlan(0.5, 1), start_tokens=0, send_jitter=0)
    with pytest.raises(RateLimited) as caught:
        await limiter.acquire("s", "op", Deadline.after(clock, 1))
    assert caught.value.retry_after == pytest.approx(2.0)
    assert clock.monotonic() == 0
    assert clock.sleeps == []


@pytest.mark.anyio
async def test_a_queued_caller_fails_fast_when_the_queue_ahead_outlasts_its_deadline() -> None:
    clock = VirtualClock()
    limiter = RateLimiter(clock, {}, RatePlan(1, 1), start_tokens=0, send_jitter=0)
    ahead = [asyncio.create_task(limiter.acquire("s", "op", far(clock))) for _ in range(5)]
    await asyncio.sleep(0)
    with pytest.raises(RateLimited) as caught:
        await limiter.acquire("s", "op", Deadline.after(clock, 3))
    assert caught.value.retry_after == pytest.approx(6.0)
    assert clock.monotonic() == 0
    await asyncio.gather(*ahead)


@pytest.mark.anyio
async def test_cancelled_waiter_consumes_no_token() -> None:
    """Matrix #18 (limiter half): a call cancelled while queued takes no token and sends nothing."""
    clock = VirtualClock()
    limiter = RateLimiter(clock, {}, RatePlan(1, 1), start_tokens=0, send_jitter=0)
    sent: list[str] = []

    async def call(name: str) -> None:
        await limiter.acquire("s", "op", far(clock))
        sent.append(name)

    first = asyncio.create_task(call("cancelled"))
    second = asyncio.create_task(call("kept"))
    await asyncio.sleep(0)
    first.cancel()
    await asyncio.gather(first, second, return_exceptions=True)
    assert sent == ["kept"]
    assert clock.monotonic() == 1.0
    assert limiter.tokens("s", "op") == pytest.approx(0.0)


@pytest.mark.anyio
async def test_rate_header_adapts_the_rate_and_garbage_is_ignored() -> None:
    """Matrix #16: x-amzn-RateLimit-Limit 0.5 slows spacing to 2 s; abc, 0, -1, inf, 1e309, nan and
    absurdly high values are ignored and never divide by zero."""
    clock = VirtualClock()
    limiter = RateLimiter(clock, SPAPI_PLANS, TIKTOK_DEFAULT_PLAN, start_tokens=0, send_jitter=0)
    limiter.on_rate_header("s", "getFulfillmentOrder", "0.5")
    assert limiter.plan("s", "getFulfillmentOrder") == RatePlan(0.5, 30)
    for garbage in ["abc", "0", "-1", "inf", "1e309", "nan", "", "  ", "5000", None]:
        limiter.on_rate_header("s", "getFulfillmentOrder", garbage)
    assert limiter.plan("s", "getFulfillmentOrder") == RatePlan(0.5, 30)
    times = []
    for _ in range(3):
        await limiter.acquire("s", "getFulfillmentOrder", far(clock))
        times.append(clock.monotonic())
    assert times == [2.0, 4.0, 6.0]
    assert limiter.plan("s", "createFulfillmentOrder") == RatePlan(2, 30)


@pytest.mark.anyio
async def test_rate_change_is_not_retroactive() -> None:
    clock = VirtualClock()
    limiter = RateLimiter(clock, {}, RatePlan(1, 10), start_tokens=0, send_jitter=0)
    assert limiter.tokens("s", "op") == 0
    clock.advance(2)
    limiter.on_rate_header("s", "op", "100")
    assert limiter.tokens("s", "op") == pytest.approx(2.0)


@pytest.mark.anyio
async def test_throttle_empties_the_bucket() -> None:
    clock = VirtualClock()
    limiter = RateLimiter(clock, {}, RatePlan(2, 30), start_tokens=30, send_jitter=0)
    limiter.on_throttled("s", "op")
    assert limiter.tokens("s", "op") == 0
    await limiter.acquire("s", "op", far(clock))
    assert clock.monotonic() == pytest.approx(0.5)


def ideal_schedule(plan: RatePlan, arrivals: list[float]) -> list[float]:
    """When a perfect FIFO client, starting with a full bucket, may send each request."""
    tokens, updated, previous, admits = float(plan.burst), 0.0, 0.0, []
    for arrival in arrivals:
        at = max(arrival, previous)
        tokens = min(float(plan.burst), tokens + (at - updated) * plan.rate)
        if tokens < 1.0:
            at += (1.0 - tokens) / plan.rate
            tokens = 1.0
        tokens -= 1.0
        updated = previous = at
        admits.append(at)
    return admits


async def run_arrivals(
    plan: RatePlan, gaps: list[float], start_tokens: int | None
) -> tuple[list[float], list[float], ServerBucket]:
    clock = VirtualClock()
    limiter = RateLimiter(clock, {}, plan, start_tokens=start_tokens, send_jitter=0)
    server = ServerBucket(plan, clock)
    arrivals = []
    elapsed = 0.0
    for gap in gaps:
        elapsed += gap
        arrivals.append(elapsed)
    admitted: dict[int, float] = {}

    async def client(index: int, at: float) -> None:
        await clock.sleep(at)
        await limiter.acquire("seller", "op", Deadline.after(clock, FAR))
        admitted[index] = clock.monotonic()
        assert server.admit(), f"server rejected request {index} at t={clock.monotonic()}"

    await asyncio.gather(*(client(i, at) for i, at in enumerate(arrivals)))
    return arrivals, [admitted[i] for i in range(len(arrivals))], server


plans = st.builds(
    RatePlan,
    rate=st.floats(min_value=0.05, max_value=20, allow_nan=False),
    burst=st.integers(min_value=1, max_value=40),
)
gap_lists = st.lists(
    st.one_of(st.just(0.0), st.floats(min_value=0, max_value=5, allow_nan=False)),
    min_size=1,
    max_size=80,
)


@settings(max_examples=150, deadline=None)
@given(plan=plans, gaps=gap_lists)
def test_limiter_matches_an_ideal_server_bucket(plan: RatePlan, gaps: list[float]) -> None:
    """Property: starting full, the limiter never sends what a server bucket with the same plan would
    reject, and never waits when a token is available (it admits exactly on the ideal schedule)."""
    arrivals, admitted, server = asyncio.run(run_arrivals(plan, gaps, start_tokens=plan.burst))
    assert server.rejected == []
    expected = ideal_schedule(plan, arrivals)
    assert admitted == pytest.approx(expected, rel=1e-6, abs=1e-6)


@settings(max_examples=75, deadline=None)
@given(plan=plans, gaps=gap_lists)
def test_limiter_with_cautious_start_is_never_rejected(plan: RatePlan, gaps: list[float]) -> None:
    """Property: with the cautious start-up level, the server still never rejects a request."""
    _, admitted, server = asyncio.run(run_arrivals(plan, gaps, start_tokens=None))
    assert server.rejected == []
    assert admitted == sorted(admitted)


async def run_jittered(
    plan: RatePlan, gaps: list[float], delays: list[float], jitter: float, server_full: bool
) -> ServerBucket:
    clock = VirtualClock()
    limiter = RateLimiter(clock, {}, plan, send_jitter=jitter)
    server = ServerBucket(plan, clock)
    if not server_full:
        server.tokens = 0.0  # another process drained it just as this one started
    elapsed = 0.0
    starts = []
    for gap in gaps:
        elapsed += gap
        starts.append(elapsed)

    async def client(index: int, at: float) -> None:
        await clock.sleep(at)
        await limiter.acquire("seller", "op", Deadline.after(clock, FAR))
        # The platform counts the request when it arrives, some latency after we took the token.
        await clock.sleep(delays[index % len(delays)])
        server.admit()

    await asyncio.gather(*(client(i, at) for i, at in enumerate(starts)))
    return server


@settings(max_examples=150, deadline=None)
@given(
    plan=plans,
    gaps=gap_lists,
    jitter=st.floats(min_value=0.0, max_value=0.5),
    fractions=st.lists(st.floats(min_value=0.0, max_value=1.0), min_size=1, max_size=80),
    server_full=st.booleans(),
)
def test_latency_within_the_jitter_allowance_never_earns_a_429(
    plan: RatePlan, gaps: list[float], jitter: float, fractions: list[float], server_full: bool
) -> None:
    """Property: requests that reach the platform any time up to ``send_jitter`` after their token
    was taken are never rejected, whether the platform's bucket was full or had just been drained
    when this limiter was created."""
    delays = [fraction * jitter for fraction in fractions]
    server = asyncio.run(run_jittered(plan, gaps, delays, jitter, server_full))
    assert server.rejected == []
