"""The long-lived things every tool shares: settings, state store, platform clients, the sandbox.

Everything is created on first use, not at start-up: an MCP client spawns the server per session and waits
for ``tools/list``, so start-up must not pay for sp_api, uvicorn or a sandbox it may never touch. A channel
whose configuration is incomplete does not stop the server; asking for its client raises
:class:`~commerce_mcp.errors.NotConfigured` naming the variables to set. Whether a channel is
configured is decided once, by :meth:`Services.readiness`.
"""

from __future__ import annotations

import asyncio
import logging
import tempfile
from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from commerce_mcp.config import ConfigProblem, Settings, load_settings
from commerce_mcp.errors import StateStoreUnavailable, for_the_log
from commerce_mcp.readiness import Channel, ChannelReadiness, amazon_readiness, tiktok_readiness
from commerce_mcp.resilience.clock import Clock, SystemClock
from commerce_mcp.resilience.deadline import deadline_scope

if TYPE_CHECKING:
    from commerce_mcp.amazon.client import AmazonMcfClient
    from commerce_mcp.resilience.limiter import RateLimiter
    from commerce_mcp.resilience.singleflight import AccessToken, CrossProcessFlight
    from commerce_mcp.sandbox.runner import SandboxServers
    from commerce_mcp.store.base import StateStore
    from commerce_mcp.tiktok.client import TikTokShopClient

log = logging.getLogger(__name__)


class _SandboxClock(SystemClock):
    """Real monotonic time and sleeps, wall time from the sandbox's simulated clock."""

    def __init__(self, wall: Callable[[], float]) -> None:
        self._wall = wall

    def wall(self) -> float:
        return self._wall()


@dataclass
class Services:
    """Lazily built shared state. One per server process (stdio) or per HTTP app."""

    settings: Settings
    problems: list[ConfigProblem] = field(default_factory=list)
    clock: Clock = field(default_factory=SystemClock)
    #: A sandbox already running (tests share one across servers); otherwise started on demand.
    sandbox: SandboxServers | None = None
    _owns_sandbox: bool = False
    _store: StateStore | None = None
    _tiktok: TikTokShopClient | None = None
    _amazon: AmazonMcfClient | None = None
    _lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    _tempdir: tempfile.TemporaryDirectory[str] | None = None
    #: Services this one borrows from (their store), closed with it.
    closing_too: Services | None = None
    #: Work a tool call started and a later call may wait for (a stock snapshot), by key.
    _background: dict[str, asyncio.Task[Any]] = field(default_factory=dict)

    @classmethod
    def from_env(cls, *, sandbox: bool = False, **overrides: Any) -> Services:
        """Load settings from the environment (and ``.env``); ``sandbox=True`` forces sandbox mode."""
        if sandbox:
            overrides["commerce_mcp_sandbox"] = True
        settings, problems = load_settings(**overrides)
        return cls(settings=settings, problems=problems)

    # Sandbox ----------------------------------------------------------------------------------

    async def ensure_sandbox(self) -> SandboxServers | None:
        """Start the fake platforms (once) when in sandbox mode and point the settings at them."""
        if not self.settings.sandbox:
            return None
        if self.sandbox is None:
            from commerce_mcp.sandbox.runner import start_sandbox

            self.sandbox = await asyncio.to_thread(start_sandbox)
            self._owns_sandbox = True
        if type(self.clock) is SystemClock:
            # The fakes judge request timestamps and token expiry by simulated time, so clients
            # must stamp simulated time too; deadlines and sleeps stay real. A clock set by the
            # caller (a test's virtual time) is kept.
            self.clock = _SandboxClock(self.sandbox.clock.now)
        if self.settings.tiktok_api_base_url != self.sandbox.tiktok_url:
            # Re-validate (not model_copy) so secrets become SecretStr like any loaded value.
            merged = {**self.settings.model_dump(), **self.sandbox.settings_overrides()}
            self.settings = Settings(**merged)
        return self.sandbox

    # Background work --------------------------------------------------------------------------

    def start_background(self, key: str, work: Coroutine[Any, Any, Any], *, within: float) -> None:
        """Run ``work`` after the current call returns; :meth:`background` finds it until it ends.

        It gets a deadline of its own, ``within`` seconds, not the rest of the caller's (which ends
        with the call); closing the services cancels it. A failure is logged: whoever needs the
        result does the work again.
        """

        async def bounded() -> Any:
            async with deadline_scope(self.clock, within, operation=key, detached=True):
                return await work

        task = asyncio.ensure_future(bounded())
        self._background[key] = task

        def finished(done: asyncio.Task[Any]) -> None:
            if self._background.get(key) is done:
                del self._background[key]
            error = None if done.cancelled() else done.exception()
            if error is not None:
                log.warning("background work %s failed: %s", key, for_the_log(error))

        task.add_done_callback(finished)

    def background(self, key: str) -> asyncio.Task[Any] | None:
        """The unfinished background work started under ``key``, if this process runs it."""
        return self._background.get(key)

    # Store ------------------------------------------------------------------------------------

    def use_store(self, store: StateStore) -> None:
        """Use ``store`` instead of the SQLite file (hosted mode: one tenant's view of the shared store)."""
        self._store = store

    async def store(self) -> StateStore:
        """The state store, opened on first use: Redis when ``COMMERCE_MCP_STATE_URL`` is set
        (shared by replicas), otherwise SQLite in :meth:`state_dir`."""
        async with self._lock:
            if self._store is None and self.settings.state_url is not None:
                from commerce_mcp.store.redis import RedisStore

                redis_store = RedisStore.from_url(self.settings.state_url)
                try:
                    await redis_store.ping()  # fail here, clearly, rather than mid-call
                except StateStoreUnavailable:
                    await redis_store.close()
                    raise
                self._store = redis_store
            if self._store is None:
                import sqlite3

                from commerce_mcp.store.sqlite import SqliteStore

                path = self._database_path()
                try:
                    self._store = SqliteStore.open(path)
                except (OSError, sqlite3.Error) as exc:
                    # An error that says where and what to do, not a "bug in commerce-mcp".
                    raise StateStoreUnavailable(
                        f"the state store {path} cannot be opened ({_reason(exc)})",
                        hint="make that directory writable, or set COMMERCE_MCP_STATE_DIR to a "
                        "directory you can write; `commerce-mcp doctor` checks it",
                    ) from exc
            return self._store

    def _database_path(self) -> Path:
        from commerce_mcp.store.paths import DATABASE_NAME

        return self.state_dir() / DATABASE_NAME

    def state_dir(self) -> Path:
        """Where state lives: ``COMMERCE_MCP_STATE_DIR``, the per-user data directory, or (sandbox)
        a temporary directory removed at exit."""
        if self.settings.sandbox:
            # Sandbox data is reseeded every run; persisting links to orders that no longer exist would lie.
            if self._tempdir is None:
                self._tempdir = tempfile.TemporaryDirectory(prefix="commerce-mcp-sandbox-")
            return Path(self._tempdir.name)
        from commerce_mcp.store.paths import default_state_dir

        return default_state_dir(self.settings)

    # Clients ----------------------------------------------------------------------------------

    async def readiness(self, channel: Channel) -> ChannelReadiness:
        """Whether ``channel`` can make calls: the one answer clients, status, doctor and CLI use.

        For TikTok Shop this looks in the state store when the environment has no token, since
        `commerce-mcp tiktok authorize` saves the seller's tokens there.
        """
        await self.ensure_sandbox()
        if channel == "amazon":
            return amazon_readiness(self.settings)
        settings = self.settings
        stored, note = False, None
        if not settings.tiktok_app_missing() and not settings.tiktok_token_in_env:
            try:
                stored = await self.has_saved_tiktok_tokens()
            except StateStoreUnavailable as exc:
                # Say why instead of failing the status check; doctor reports the state dir itself.
                note = f"saved tokens could not be read: {exc.message}"
        return tiktok_readiness(settings, has_stored_tokens=stored, note=note)

    async def tiktok(self) -> TikTokShopClient:
        """The TikTok Shop client, or NotConfigured naming the missing settings."""
        await self.ensure_sandbox()
        if self._tiktok is None:
            readiness = await self.readiness("tiktok")
            readiness.require()
            from commerce_mcp.tiktok.client import TikTokShopClient

            store = await self.store()
            async with self._lock:
                if self._tiktok is None:
                    self._tiktok = TikTokShopClient.from_settings(
                        self.settings,
                        store=store,
                        clock=self.clock,
                        readiness=readiness,
                        limiter=self._shared_limiter(store, "tiktok"),
                        across_processes=self._token_flight(store),
                    )
        return self._tiktok

    async def has_saved_tiktok_tokens(self) -> bool:
        """True when `commerce-mcp tiktok authorize` stored tokens for the configured app."""
        if not self.settings.tiktok_app_key:
            return False
        if (
            self._store is None
            and not self.settings.sandbox
            and self.settings.state_url is None
            and not self._database_path().exists()
        ):
            # Nothing can be saved in a database that does not exist; don't create it just to ask.
            return False
        from commerce_mcp.store.tokens import TokenStore

        saved = await TokenStore(await self.store()).load("tiktok", self.settings.tiktok_app_key)
        return saved is not None

    async def amazon(self) -> AmazonMcfClient:
        """The Amazon MCF client, or NotConfigured naming the missing env vars."""
        await self.ensure_sandbox()
        if self._amazon is None:
            (await self.readiness("amazon")).require()
            from commerce_mcp.amazon.client import AmazonMcfClient

            store = await self.store()
            async with self._lock:
                if self._amazon is None:
                    self._amazon = AmazonMcfClient.from_settings(
                        self.settings,
                        store=store,
                        clock=self.clock,
                        limiter=self._shared_limiter(store, "amazon"),
                        across_processes=self._token_flight(store),
                    )
        return self._amazon

    def _token_flight(self, store: StateStore) -> CrossProcessFlight | None:
        """One TikTok or LWA token refresh among all replicas when state is in Redis; None:
        in-process only."""
        from commerce_mcp.store.redis import RedisStore

        shared = getattr(store, "inner", store)
        if not isinstance(shared, RedisStore):
            return None
        from commerce_mcp.resilience.redis_lock import ReplicaSingleFlight

        flight = ReplicaSingleFlight.on(shared, clock=self.clock)
        # Tenants may share a TikTok app but never its tokens: the lock name carries the view.
        scope = getattr(store, "prefix", "")

        async def run(
            name: str,
            read: Callable[[], Awaitable[AccessToken | None]],
            refresh: Callable[[], Awaitable[AccessToken]],
        ) -> AccessToken:
            return await flight.run(f"{scope}{name}", read, lambda _lease: refresh())

        return run

    def _shared_limiter(self, store: StateStore, channel: Channel) -> RateLimiter | None:
        """Token buckets shared by every replica when state is in Redis; None: the client's own."""
        from commerce_mcp.store.redis import RedisStore

        # A tenant's view wraps the shared store; buckets are per platform account, not per tenant.
        store = getattr(store, "inner", store)
        if not isinstance(store, RedisStore):
            return None
        from commerce_mcp.resilience.shared_limiter import SharedBuckets, SharedRateLimiter

        buckets = SharedBuckets.on(store)
        if channel == "amazon":
            from commerce_mcp.amazon.client import DEFAULT_PLAN
            from commerce_mcp.resilience.limiter import SPAPI_PLANS

            return SharedRateLimiter(self.clock, SPAPI_PLANS, DEFAULT_PLAN, buckets=buckets)
        from commerce_mcp.resilience.limiter import TIKTOK_DEFAULT_PLAN

        return SharedRateLimiter(self.clock, {}, TIKTOK_DEFAULT_PLAN, buckets=buckets)

    async def aclose(self) -> None:
        """Close clients and the store; stop a sandbox this object started (and ``closing_too``)."""
        pending = list(self._background.values())
        for task in pending:
            task.cancel()
        await asyncio.gather(*pending, return_exceptions=True)
        for closer in (self._tiktok, self._amazon, self._store):
            if closer is not None:
                try:
                    await closer.aclose() if hasattr(closer, "aclose") else await closer.close()
                except Exception:  # closing must never take the server down
                    log.exception("error while closing %s", type(closer).__name__)
        self._tiktok = self._amazon = self._store = None
        if self._owns_sandbox and self.sandbox is not None:
            await asyncio.to_thread(self.sandbox.stop)
            self.sandbox = None
        if self._tempdir is not None:
            self._tempdir.cleanup()
            self._tempdir = None
        if self.closing_too is not None:
            await self.closing_too.aclose()
            self.closing_too = None


def _reason(exc: BaseException) -> str:
    return getattr(exc, "strerror", None) or str(exc) or type(exc).__name__
