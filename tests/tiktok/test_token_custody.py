"""Token custody when the state store fails between a refresh and its save.

TikTok may retire a refresh token once it is spent. The fake token endpoint here does exactly that,
so a process that refreshes from the stale stored token is refused, as the seller would be. Time is
a VirtualClock: token lifetimes and background retries pass without waiting.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Any

import pytest

from commerce_mcp import errors
from commerce_mcp.resilience.singleflight import AccessToken
from commerce_mcp.resilience.testing import VirtualClock
from commerce_mcp.store.memory import MemoryStore
from commerce_mcp.store.tokens import TokenStore
from commerce_mcp.tiktok.auth import (
    DEFAULT_ACCESS_TOKEN_LIFETIME,
    SPENT_MARKER_HOLD,
    TokenManager,
)
from commerce_mcp.tiktok.models import TokenGrant

pytestmark = pytest.mark.anyio

DAY = 86_400.0


class FlakyStore(MemoryStore):
    """A store whose writes fail on cue (Redis gone for a while); reads keep working."""

    writes_fail = False

    def _check(self) -> None:
        if self.writes_fail:
            raise errors.StateStoreUnavailable("state store unavailable: Redis did not answer")

    async def put(self, namespace: str, key: str, value: dict[str, Any]) -> None:
        self._check()
        await super().put(namespace, key, value)

    async def compare_and_put(
        self, namespace: str, key: str, expected: dict[str, Any] | None, value: dict[str, Any]
    ) -> bool:
        self._check()
        return await super().compare_and_put(namespace, key, expected, value)


class RotatingAuth:
    """TikTok's refresh with strict rotation: each refresh token works once.

    ``then`` runs after TikTok has issued the grant, before the caller sees it (the store dies in
    that window).
    """

    def __init__(self, clock: VirtualClock) -> None:
        self.clock = clock
        self.live = {"RT0"}
        self.issued = 0
        self.refused: list[str] = []
        self.then: Callable[[], None] | None = None

    async def refresh(self, refresh_token: str) -> TokenGrant:
        if refresh_token not in self.live:
            self.refused.append(refresh_token)
            raise errors.AuthError(
                "TikTok Shop refused the token request: can not find related auth record",
                platform="tiktok",
                code="36004005",
            )
        self.live.discard(refresh_token)
        self.issued += 1
        self.live.add(f"RT{self.issued}")
        if self.then is not None:
            self.then()
        return TokenGrant(
            access_token=f"AT{self.issued}",
            access_token_expire_in=int(self.clock.wall() + 7 * DAY),
            refresh_token=f"RT{self.issued}",
            refresh_token_expire_in=int(self.clock.wall() + 365 * DAY),
        )


def manager(
    auth: RotatingAuth,
    store: MemoryStore,
    clock: VirtualClock,
    across: Callable[..., Awaitable[AccessToken]] | None = None,
) -> TokenManager:
    return TokenManager(
        auth,  # type: ignore[arg-type]
        TokenStore(store),
        "key",
        clock,
        env_access_token="AT0",
        env_refresh_token="RT0",
        across_processes=across,
    )


def one_flight() -> Callable[..., Awaitable[AccessToken]]:
    """The cross-replica flight's contract in one process: read, else refresh under one lock."""
    lock = asyncio.Lock()

    async def run(
        name: str,
        read: Callable[[], Awaitable[AccessToken | None]],
        refresh: Callable[[], Awaitable[AccessToken]],
    ) -> AccessToken:
        if (current := await read()) is not None:
            return current
        async with lock:
            return await read() or await refresh()

    return run


async def saved(store: MemoryStore) -> dict[str, Any]:
    doc = await TokenStore(store).load("tiktok", "key")
    assert doc is not None
    return doc


def dies_after_refresh(store: FlakyStore) -> Callable[[], None]:
    def die() -> None:
        store.writes_fail = True

    return die


async def test_a_grant_the_store_cannot_take_is_used_held_and_saved_later(
    caplog: pytest.LogCaptureFixture,
) -> None:
    clock, store = VirtualClock(), FlakyStore()
    auth = RotatingAuth(clock)
    tokens = manager(auth, store, clock)
    assert await tokens.access_token() == "AT0"
    clock.advance(DEFAULT_ACCESS_TOKEN_LIFETIME)
    auth.then = dies_after_refresh(store)
    with caplog.at_level(logging.INFO, logger="commerce_mcp"):
        # The refresh went through and the store died before the save: the new token is used.
        assert await tokens.access_token() == "AT1"
        assert tokens.holding_unsaved
        auth.then = None
        # A week on, the store still down: the next refresh spends the held RT1, not the stored
        # (dead) RT0.
        clock.advance(7 * DAY)
        assert await tokens.access_token() == "AT2"
        assert auth.refused == []
        # The store answers again: the next call saves before anything else.
        store.writes_fail = False
        assert await tokens.access_token() == "AT2"
    assert not tokens.holding_unsaved
    doc = await saved(store)
    assert (doc["access_token"], doc["refresh_token"]) == ("AT2", "RT2")
    assert "spending" not in doc
    held = [r for r in caplog.records if "holding them in this process" in r.getMessage()]
    assert len(held) == 1 and held[0].levelno == logging.WARNING
    logged = "\n".join(r.getMessage() for r in caplog.records)
    for value in ("AT1", "RT1", "AT2", "RT2", "RT0"):
        assert value not in logged
    # A new process (same env seed) finds the live tokens.
    again = manager(auth, store, clock)
    clock.advance(7 * DAY)
    assert await again.access_token() == "AT3"
    assert auth.refused == []
    await tokens.aclose()


async def test_a_quiet_process_saves_its_held_grant_in_the_background() -> None:
    clock, store = VirtualClock(), FlakyStore()
    auth = RotatingAuth(clock)
    tokens = manager(auth, store, clock)
    assert await tokens.access_token() == "AT0"
    clock.advance(DEFAULT_ACCESS_TOKEN_LIFETIME)
    auth.then = dies_after_refresh(store)
    assert await tokens.access_token() == "AT1"
    store.writes_fail = False
    await clock.sleep(60)  # nobody calls; the background save gets through
    assert not tokens.holding_unsaved
    assert (await saved(store))["refresh_token"] == "RT1"
    await tokens.aclose()


async def test_another_replica_never_spends_the_refresh_token_a_holder_replaced() -> None:
    """Replica A refreshes and cannot save; the store comes back before A's save does. Replica B
    must not refresh from the stale stored record (TikTok retired RT0): it waits, then adopts A's
    token once A's background save lands."""
    clock, store = VirtualClock(), FlakyStore()
    auth = RotatingAuth(clock)
    flight = one_flight()
    a, b = manager(auth, store, clock, flight), manager(auth, store, clock, flight)
    assert await a.access_token() == await b.access_token() == "AT0"
    clock.advance(DEFAULT_ACCESS_TOKEN_LIFETIME)
    auth.then = dies_after_refresh(store)
    assert await a.access_token() == "AT1"
    auth.then = None
    store.writes_fail = False
    with pytest.raises(errors.TransientError, match="has not saved the new one yet"):
        await b.access_token()
    assert auth.refused == [] and auth.issued == 1
    await clock.sleep(5)  # A's background save lands
    assert await b.access_token() == "AT1"
    assert auth.issued == 1 and auth.refused == []
    await a.aclose()


async def test_a_marker_from_a_process_that_died_holds_others_back_only_for_a_while() -> None:
    clock, store = VirtualClock(), FlakyStore()
    auth = RotatingAuth(clock)
    a, b = manager(auth, store, clock), manager(auth, store, clock)
    assert await a.access_token() == await b.access_token() == "AT0"
    clock.advance(DEFAULT_ACCESS_TOKEN_LIFETIME)
    auth.then = dies_after_refresh(store)
    assert await a.access_token() == "AT1"
    auth.then = None
    await a.aclose()  # A dies with RT1; the store recovers too late for it
    store.writes_fail = False
    with pytest.raises(errors.TransientError):
        await b.access_token()
    clock.advance(SPENT_MARKER_HOLD)
    # Now B tries the stored refresh token: TikTok retired it, so only a re-authorization helps.
    with pytest.raises(errors.AuthError, match="refused"):
        await b.access_token()
    assert auth.refused == ["RT0"]
    assert "spending" not in await saved(store)  # a refusal leaves no marker behind


async def test_a_held_grant_never_overwrites_a_newer_authorization() -> None:
    clock, store = VirtualClock(), FlakyStore()
    auth = RotatingAuth(clock)
    tokens = manager(auth, store, clock)
    assert await tokens.access_token() == "AT0"
    clock.advance(DEFAULT_ACCESS_TOKEN_LIFETIME)
    auth.then = dies_after_refresh(store)
    assert await tokens.access_token() == "AT1"
    auth.then = None
    store.writes_fail = False
    # The seller re-authorizes from another process before this one's save gets through.
    cli = manager(auth, store, clock)
    reauthorized = TokenGrant(
        access_token="AT-new",
        access_token_expire_in=int(clock.wall() + 7 * DAY),
        refresh_token="RT-new",
    )
    await cli.save_grant(reauthorized)
    assert await tokens.access_token() == "AT1"  # still good; the save attempt stood down
    assert not tokens.holding_unsaved
    assert (await saved(store))["refresh_token"] == "RT-new"
    await tokens.aclose()


async def test_a_store_outage_before_the_refresh_says_nothing_was_sent() -> None:
    clock, store = VirtualClock(), FlakyStore()
    auth = RotatingAuth(clock)
    tokens = manager(auth, store, clock)
    assert await tokens.access_token() == "AT0"
    clock.advance(DEFAULT_ACCESS_TOKEN_LIFETIME)
    store.writes_fail = True  # the marker cannot be written: TikTok is never asked
    with pytest.raises(errors.StateStoreUnavailable, match="nothing was sent"):
        await tokens.access_token()
    assert auth.issued == 0 and not tokens.holding_unsaved


async def test_a_refresh_cut_off_at_shutdown_leaves_no_marker_to_wait_for() -> None:
    """The server closes while TikTok has not answered a refresh (the refresh runs in a task of its
    own, which asyncio cancels at exit): no grant is held anywhere, so the next process must be
    able to refresh at once, not be told for ten minutes that another one has not saved yet."""
    clock, store = VirtualClock(), FlakyStore()
    auth = RotatingAuth(clock)
    tokens = manager(auth, store, clock)
    assert await tokens.access_token() == "AT0"
    clock.advance(DEFAULT_ACCESS_TOKEN_LIFETIME)
    asked = asyncio.Event()

    class Unanswered:
        async def refresh(self, refresh_token: str) -> TokenGrant:
            asked.set()
            await asyncio.Event().wait()
            raise AssertionError("never answered")

    tokens._auth = Unanswered()  # type: ignore[assignment]
    before = asyncio.all_tasks()
    caller = asyncio.ensure_future(tokens.access_token())
    await asked.wait()
    # What asyncio.run does with the tasks still running when the server's main task ends.
    left = asyncio.all_tasks() - before
    for task in left:
        task.cancel()
    await asyncio.gather(*left, return_exceptions=True)
    assert caller.cancelled()
    assert "spending" not in await saved(store)
    again = manager(auth, store, clock)  # the next process, same store
    assert await again.access_token() == "AT1"
    assert auth.refused == []


async def test_without_a_refresh_token_every_process_is_told_so_and_no_marker_is_left() -> None:
    """Only an access token was given (TIKTOK_ACCESS_TOKEN alone) and it expired: there is nothing
    to refresh, so no process may be told to wait for another one's refresh."""
    clock, store = VirtualClock(), FlakyStore()
    auth = RotatingAuth(clock)

    def access_only() -> TokenManager:
        return TokenManager(
            auth,  # type: ignore[arg-type]
            TokenStore(store),
            "key",
            clock,
            env_access_token="AT0",
        )

    a, b = access_only(), access_only()
    assert await a.access_token() == await b.access_token() == "AT0"
    clock.advance(DEFAULT_ACCESS_TOKEN_LIFETIME)
    for tokens in (a, b):
        with pytest.raises(errors.AuthError, match="no refresh token is available"):
            await tokens.access_token()
    assert "spending" not in await saved(store)
    assert auth.issued == 0
