"""Deadlines: remaining time, per-attempt timeouts, the context variable, and real-time enforcement."""

from __future__ import annotations

import asyncio

import httpx
import pytest
from resilience_support import Drip

from commerce_mcp.errors import DeadlineExceeded
from commerce_mcp.resilience.deadline import (
    Deadline,
    current_deadline,
    deadline_extended,
    deadline_scope,
)
from commerce_mcp.resilience.limiter import RateLimiter, RatePlan
from commerce_mcp.resilience.testing import VirtualClock


def test_remaining_counts_down_and_never_goes_negative() -> None:
    clock = VirtualClock()
    deadline = Deadline.after(clock, 10)
    clock.advance(4)
    assert deadline.remaining() == 6
    assert not deadline.expired()
    clock.advance(10)
    assert deadline.remaining() == 0
    assert deadline.expired()


def test_attempt_timeout_is_the_cap_clamped_to_the_time_left() -> None:
    clock = VirtualClock()
    deadline = Deadline.after(clock, 45)
    assert deadline.attempt_timeout() == 20
    clock.advance(40)
    assert deadline.attempt_timeout() == 5
    assert deadline.attempt_timeout(cap=2) == 2


def test_current_deadline_outside_a_scope_is_a_fresh_default() -> None:
    clock = VirtualClock()
    assert current_deadline(clock).remaining() == 45
    assert current_deadline(clock, default_seconds=7).remaining() == 7


@pytest.mark.anyio
async def test_scope_publishes_its_deadline_and_nested_scopes_keep_the_tighter_one() -> None:
    clock = VirtualClock()
    async with deadline_scope(clock, 30) as outer:
        assert current_deadline(clock) is outer
        async with deadline_scope(clock, 60) as inner:
            assert inner is outer
            assert current_deadline(clock).remaining() == 30
        async with deadline_scope(clock, 5) as tighter:
            assert current_deadline(clock) is tighter
            assert tighter.remaining() == 5
        assert current_deadline(clock) is outer
    assert current_deadline(clock).remaining() == 45


@pytest.mark.anyio
async def test_a_timeout_raised_by_the_body_itself_is_not_reported_as_the_deadline() -> None:
    clock = VirtualClock()
    with pytest.raises(TimeoutError):
        async with deadline_scope(clock, 30):
            raise TimeoutError("from the body")


@pytest.mark.anyio
async def test_slow_drip_body_is_cut_off_by_the_deadline() -> None:
    """Matrix #12: a body trickling in byte by byte never trips httpx's per-read timeout, so the tool
    deadline (asyncio.timeout, real time, 0.2 s here) must cut it off with a clear error; the limiter
    token spent on the attempt is not refunded."""
    clock = VirtualClock()
    limiter = RateLimiter(clock, {}, RatePlan(rate=1, burst=1), start_tokens=1, send_jitter=0)

    async def tick() -> None:
        await asyncio.sleep(0.01)

    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, stream=Drip([b"x"] * 10_000, pause=tick))

    async def tool_call(client: httpx.AsyncClient) -> bytes:
        async with deadline_scope(clock, 0.2, operation="getFulfillmentOrder") as deadline:
            await limiter.acquire("seller", "getFulfillmentOrder", deadline)
            response = await client.get("https://sp.example/orders/1", timeout=1.0)
            return await response.aread()

    async with httpx.AsyncClient(transport=httpx.MockTransport(handler)) as client:
        with pytest.raises(DeadlineExceeded) as caught:
            await tool_call(client)
    assert "deadline" in str(caught.value)
    assert "getFulfillmentOrder" in str(caught.value)
    assert limiter.tokens("seller", "getFulfillmentOrder") == 0


@pytest.mark.anyio
async def test_an_extended_deadline_moves_the_enclosing_one_for_its_body_only() -> None:
    clock = VirtualClock()
    with deadline_extended(5):  # no enclosing scope: each call still gets a fresh default
        assert current_deadline(clock, 45).at == 45
    async with deadline_scope(clock, 10) as call:
        with deadline_extended(5):
            assert current_deadline(clock).at == call.at + 5
        assert current_deadline(clock) is call
