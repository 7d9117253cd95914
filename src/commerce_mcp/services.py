"""The long-lived things every tool shares: settings, state store, platform clients, the sandbox.

Everything is created on first use, not at start-up: an MCP client spawns the server per session and waits
for ``tools/list``, so start-up must not pay for sp_api, uvicorn or a sandbox it may never touch. A channel
whose configuration is incomplete does not stop the server; asking for its client raises
:class:`~commerce_mcp.errors.NotConfigured` naming the variables to set.
"""

from __future__ import annotations

import asyncio
import logging
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from commerce_mcp.config import ConfigProblem, Settings, load_settings
from commerce_mcp.errors import NotConfigured
from commerce_mcp.resilience.clock import Clock, SystemClock

if TYPE_CHECKING:
    from commerce_mcp.amazon.client import AmazonMcfClient
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
        if not isinstance(self.clock, _SandboxClock):
            # The fakes judge request timestamps and token expiry by simulated time, so clients
            # must stamp simulated time too; deadlines and sleeps stay real.
            self.clock = _SandboxClock(self.sandbox.clock.now)
        if self.settings.tiktok_api_base_url != self.sandbox.tiktok_url:
            # Re-validate (not model_copy) so secrets become SecretStr like any loaded value.
            merged = {**self.settings.model_dump(), **self.sandbox.settings_overrides()}
            self.settings = Settings(**merged)
        return self.sandbox

    # Store ------------------------------------------------------------------------------------

    async def store(self) -> StateStore:
        async with self._lock:
            if self._store is None:
                from commerce_mcp.store.sqlite import SqliteStore

                self._store = SqliteStore.open(self._state_dir() / "state.sqlite3")
            return self._store

    def _state_dir(self) -> Path:
        if self.settings.sandbox:
            # Sandbox data is reseeded every run; persisting links to orders that no longer exist would lie.
            if self._tempdir is None:
                self._tempdir = tempfile.TemporaryDirectory(prefix="commerce-mcp-sandbox-")
            return Path(self._tempdir.name)
        from commerce_mcp.store.paths import default_state_dir

        return default_state_dir(self.settings)

    # Clients ----------------------------------------------------------------------------------

    async def tiktok(self) -> TikTokShopClient:
        """The TikTok Shop client, or NotConfigured naming the missing env vars."""
        await self.ensure_sandbox()
        if self._tiktok is None:
            missing = self.settings.tiktok_missing()
            stored = False
            if missing == ["TIKTOK_ACCESS_TOKEN (or TIKTOK_REFRESH_TOKEN)"]:
                stored = await self.has_saved_tiktok_tokens()
            if missing and not stored:
                raise NotConfigured("TikTok Shop", missing)
            from commerce_mcp.tiktok.client import TikTokShopClient

            store = await self.store()
            async with self._lock:
                if self._tiktok is None:
                    self._tiktok = TikTokShopClient.from_settings(
                        self.settings, store=store, clock=self.clock, has_stored_tokens=stored
                    )
        return self._tiktok

    async def has_saved_tiktok_tokens(self) -> bool:
        """True when `commerce-mcp tiktok authorize` stored tokens for the configured app."""
        if not self.settings.tiktok_app_key:
            return False
        from commerce_mcp.store.tokens import TokenStore

        saved = await TokenStore(await self.store()).load("tiktok", self.settings.tiktok_app_key)
        return saved is not None

    async def amazon(self) -> AmazonMcfClient:
        """The Amazon MCF client, or NotConfigured naming the missing env vars."""
        await self.ensure_sandbox()
        if self._amazon is None:
            missing = self.settings.amazon_missing()
            if missing:
                raise NotConfigured("Amazon SP-API", missing)
            from commerce_mcp.amazon.client import AmazonMcfClient

            store = await self.store()
            async with self._lock:
                if self._amazon is None:
                    self._amazon = AmazonMcfClient.from_settings(
                        self.settings, store=store, clock=self.clock
                    )
        return self._amazon

    async def aclose(self) -> None:
        """Close clients and the store; stop a sandbox this object started."""
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
