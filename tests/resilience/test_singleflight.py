"""Single-flight calls and the token provider built on them."""

from __future__ import annotations

import asyncio

import pytest

from commerce_mcp.errors import AuthError
from commerce_mcp.resilience.singleflight import AccessToken, SingleFlight, TokenProvider
from commerce_mcp.resilience.testing import VirtualClock

HOUR = 3600.0


class TokenEndpoint:
    """A fake LWA token endpoint: takes a second to answer, can be told to fail."""

    def __init__(self, clock: VirtualClock) -> None:
        self.clock = clock
        self.calls = 0
        self.failure: Exception | None = None

    async def fetch(self) -> AccessToken:
        self.calls += 1
        await self.clock.sleep(1)
        if self.failure is not None:
            raise self.failure
        return AccessToken(f"token-{self.calls}", expires_at=self.clock.wall() + HOUR)


@pytest.mark.anyio
async def test_hundred_concurrent_callers_with_an_expired_token_cause_one_refresh() -> None:
    """Matrix #19: 100 concurrent calls with an expired token -> exactly 1 token-endpoint call, and
    every caller proceeds with the new token."""
    clock = VirtualClock()
    endpoint = TokenEndpoint(clock)
    stale = AccessToken("stale", expires_at=clock.wall() - 1)
    provider = TokenProvider(endpoint.fetch, clock, initial=stale)
    tokens = await asyncio.gather(*(provider.get() for _ in range(100)))
    assert endpoint.calls == 1
    assert set(tokens) == {"token-1"}


@pytest.mark.anyio
async def test_token_is_cached_and_refreshed_ahead_of_expiry() -> None:
    clock = VirtualClock()
    endpoint = TokenEndpoint(clock)
    provider = TokenProvider(endpoint.fetch, clock)
    assert await provider.get() == "token-1"
    clock.advance(HOUR - 301 - 1)
    assert await provider.get() == "token-1"
    clock.advance(2)
    assert await provider.get() == "token-2"
    assert endpoint.calls == 2


@pytest.mark.anyio
async def test_failed_refresh_fails_all_waiters_alike_and_the_next_call_retries() -> None:
    """Matrix #20: the token endpoint fails during a refresh -> all current waiters get the same
    AuthError; the next call tries the refresh again and succeeds."""
    clock = VirtualClock()
    endpoint = TokenEndpoint(clock)
    endpoint.failure = AuthError("token endpoint answered 500", platform="amazon", http_status=500)
    provider = TokenProvider(endpoint.fetch, clock)
    results = await asyncio.gather(*(provider.get() for _ in range(10)), return_exceptions=True)
    assert endpoint.calls == 1
    assert all(result is endpoint.failure for result in results)
    endpoint.failure = None
    assert await provider.get() == "token-2"


@pytest.mark.anyio
async def test_invalid_grant_is_a_reauthorize_error_for_every_waiter() -> None:
    """Matrix #20 variant: invalid_grant surfaces as the same non-retryable AuthError to all."""
    clock = VirtualClock()
    endpoint = TokenEndpoint(clock)
    endpoint.failure = AuthError("invalid_grant", hint="re-authorize the seller account")
    provider = TokenProvider(endpoint.fetch, clock)
    results = await asyncio.gather(provider.get(), provider.get(), return_exceptions=True)
    assert results[0] is results[1] is endpoint.failure
    assert "re-authorize" in str(results[0])


@pytest.mark.anyio
async def test_a_cancelled_caller_does_not_cancel_the_shared_refresh() -> None:
    clock = VirtualClock()
    endpoint = TokenEndpoint(clock)
    provider = TokenProvider(endpoint.fetch, clock)
    impatient = asyncio.create_task(provider.get())
    patient = asyncio.create_task(provider.get())
    await asyncio.sleep(0)
    impatient.cancel()
    assert await patient == "token-1"
    assert impatient.cancelled()
    assert endpoint.calls == 1


@pytest.mark.anyio
async def test_refresh_survives_even_when_every_caller_gives_up() -> None:
    clock = VirtualClock()
    endpoint = TokenEndpoint(clock)
    provider = TokenProvider(endpoint.fetch, clock)
    caller = asyncio.create_task(provider.get())
    await asyncio.sleep(0)
    caller.cancel()
    await clock.sleep(5)
    assert endpoint.calls == 1
    assert await provider.get() == "token-1"
    assert endpoint.calls == 1


@pytest.mark.anyio
async def test_invalidate_drops_only_the_rejected_token() -> None:
    clock = VirtualClock()
    endpoint = TokenEndpoint(clock)
    provider = TokenProvider(endpoint.fetch, clock)
    assert await provider.get() == "token-1"
    provider.invalidate("some-older-token")
    assert await provider.get() == "token-1"
    provider.invalidate("token-1")
    assert await provider.get() == "token-2"


def test_access_token_repr_hides_the_value() -> None:
    token = AccessToken("Atza|very-secret", expires_at=1.0)
    assert "very-secret" not in repr(token)
    assert "expires_at" in repr(token)


@pytest.mark.anyio
async def test_single_flight_keys_are_independent_and_restart_after_completion() -> None:
    clock = VirtualClock()
    flight: SingleFlight[str] = SingleFlight()
    calls: list[str] = []

    def work(key: str) -> object:
        async def run() -> str:
            calls.append(key)
            await clock.sleep(1)
            return key

        return run

    results = await asyncio.gather(
        flight.run("a", work("a")),  # type: ignore[arg-type]
        flight.run("a", work("a")),  # type: ignore[arg-type]
        flight.run("b", work("b")),  # type: ignore[arg-type]
    )
    assert results == ["a", "a", "b"]
    assert calls == ["a", "b"]
    assert not flight.in_flight("a")
    await flight.run("a", work("a"))  # type: ignore[arg-type]
    assert calls == ["a", "b", "a"]
