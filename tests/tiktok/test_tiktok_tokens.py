"""OAuth against the fake auth host: exchange, refresh single-flight, rotation, replay-once."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import httpx
import pytest
from tiktok_helpers import SandboxClock

from commerce_mcp import errors
from commerce_mcp.config import Settings
from commerce_mcp.sandbox import credentials
from commerce_mcp.sandbox.runner import SandboxServers, start_sandbox
from commerce_mcp.store.memory import MemoryStore
from commerce_mcp.store.tokens import TokenStore
from commerce_mcp.tiktok.auth import (
    AuthClient,
    consent_url,
    expiry_epoch,
    parse_redirect,
    wait_for_callback,
)
from commerce_mcp.tiktok.client import TikTokShopClient

pytestmark = pytest.mark.anyio


@pytest.fixture
def sandbox() -> Iterator[SandboxServers]:
    # A private sandbox per test: these tests expire tokens and count refreshes.
    servers = start_sandbox()
    yield servers
    servers.stop()


def _client(sandbox: SandboxServers, store: MemoryStore) -> TikTokShopClient:
    settings = Settings(**sandbox.settings_overrides())
    return TikTokShopClient.from_settings(settings, store=store, clock=SandboxClock(sandbox))


async def test_hundred_concurrent_calls_with_expired_token_refresh_once(
    sandbox: SandboxServers,
) -> None:
    store = MemoryStore()
    client = _client(sandbox, store)
    try:
        shop = (await client.list_shops())[0]
        sandbox.tiktok.expire_access_tokens()
        before = len(sandbox.tiktok.token_requests)
        results = await asyncio.gather(
            *(client.search_orders(shop, page_size=1) for _ in range(100))
        )
        assert all(page.items for page in results)
        assert sandbox.tiktok.token_requests[before:] == ["refresh"]
        assert client.tokens.refresh_requests == 1
    finally:
        await client.aclose()


async def test_refresh_rotates_and_persists_both_tokens(sandbox: SandboxServers) -> None:
    store = MemoryStore()
    client = _client(sandbox, store)
    try:
        await client.list_shops(refresh=True)
        sandbox.tiktok.expire_access_tokens()
        await client.list_shops(refresh=True)
        saved = await TokenStore(store).load("tiktok", credentials.TIKTOK_APP_KEY)
        assert saved is not None
        assert saved["refresh_token"] != credentials.TIKTOK_REFRESH_TOKEN
        assert saved["access_token"] != credentials.TIKTOK_ACCESS_TOKEN
        grant = sandbox.tiktok.grant_for(saved["access_token"])
        assert grant is not None
        assert grant.refresh_token == saved["refresh_token"]
        assert saved["access_expires_at"] == grant.access_expires_at
    finally:
        await client.aclose()
    # A new process with the same env seed keeps the rotated tokens instead of the stale env ones.
    again = _client(sandbox, store)
    try:
        await again.list_shops()
        assert again.tokens.refresh_requests == 0
    finally:
        await again.aclose()


async def test_expired_token_replays_once_then_gives_up(sandbox: SandboxServers) -> None:
    sandbox.tiktok.config.access_token_ttl = -10  # every token the fake issues is born expired
    client = _client(sandbox, MemoryStore())
    try:
        sandbox.tiktok.expire_access_tokens()
        with pytest.raises(errors.AuthError, match="refreshed"):
            await client.list_shops()
        # One refresh because the stored token looked stale, one after the 105002 -- then stop.
        assert sandbox.tiktok.token_requests.count("refresh") == 2
    finally:
        await client.aclose()


async def test_exchange_code_and_bad_code(sandbox: SandboxServers) -> None:
    async with httpx.AsyncClient() as http:
        auth = AuthClient(
            http, sandbox.tiktok_url, credentials.TIKTOK_APP_KEY, credentials.TIKTOK_APP_SECRET
        )
        grant = await auth.exchange_code(credentials.TIKTOK_AUTH_CODE)
        assert grant.access_token
        assert grant.access_token_expire_in > 1_000_000_000
        with pytest.raises(errors.AuthError, match="re-authorize") as caught:
            await auth.exchange_code("wrong")
        assert caught.value.code == "36004005"


async def test_consent_page_redirects_to_callback_with_state(sandbox: SandboxServers) -> None:
    url = consent_url(
        credentials.TIKTOK_SERVICE_ID,
        consent_base_url=f"{sandbox.tiktok_url}/open/authorize",
        state="xyz",
        redirect_uri="http://127.0.0.1:9/callback",
    )
    async with httpx.AsyncClient() as http:
        response = await http.get(url)
    assert response.status_code == 302
    code = parse_redirect(response.headers["location"], expected_state="xyz")
    async with httpx.AsyncClient() as http:
        auth = AuthClient(
            http, sandbox.tiktok_url, credentials.TIKTOK_APP_KEY, credentials.TIKTOK_APP_SECRET
        )
        assert (await auth.exchange_code(code)).refresh_token


async def test_loopback_callback_receives_the_code() -> None:
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    waiter = asyncio.create_task(wait_for_callback("127.0.0.1", port, "s1", timeout=30))
    async with httpx.AsyncClient() as http:
        for _ in range(200):
            try:
                favicon = await http.get(f"http://127.0.0.1:{port}/favicon.ico")
                break
            except httpx.ConnectError:
                await asyncio.sleep(0.01)
        assert favicon.status_code == 404
        ok = await http.get(f"http://127.0.0.1:{port}/callback?code=abc&state=s1")
    assert ok.status_code == 200
    assert await waiter == "abc"


def test_parse_redirect_forms() -> None:
    assert parse_redirect("  abc123 ") == "abc123"
    assert parse_redirect("https://x.test/cb?code=c1&state=s") == "c1"
    assert parse_redirect("?code=c2") == "c2"
    with pytest.raises(errors.AuthError, match="did not authorize"):
        parse_redirect("https://x.test/cb?code=null&error=auth_denied")
    with pytest.raises(errors.AuthError, match="state"):
        parse_redirect("https://x.test/cb?code=c1&state=other", expected_state="mine")


def test_consent_url_defaults_by_region() -> None:
    assert consent_url("7300").startswith("https://services.tiktokshop.com/open/authorize?")
    assert consent_url("7300", region="us").startswith("https://services.tiktokshops.us/")
    assert "state=abc" in consent_url("7300", state="abc")


def test_expiry_epoch_accepts_epochs_and_durations() -> None:
    assert expiry_epoch(1_660_556_783, now=5.0) == 1_660_556_783
    assert expiry_epoch(604_800, now=1_700_000_000.0) == 1_700_604_800
    assert expiry_epoch(None, now=1.0) is None


class _WritesFail(MemoryStore):
    """A store that stops taking writes on cue (Redis gone)."""

    writes_fail = False

    def _check(self) -> None:
        if self.writes_fail:
            raise errors.StateStoreUnavailable("state store unavailable: Redis did not answer")

    async def put(self, namespace: str, key: str, value: dict[str, object]) -> None:
        self._check()
        await super().put(namespace, key, value)

    async def compare_and_put(
        self,
        namespace: str,
        key: str,
        expected: dict[str, object] | None,
        value: dict[str, object],
    ) -> bool:
        self._check()
        return await super().compare_and_put(namespace, key, expected, value)


async def test_a_refresh_the_store_cannot_mark_is_never_sent(sandbox: SandboxServers) -> None:
    """The refresh marker is written before TikTok is asked: a store that refuses it means the
    refresh token was not spent, and the person is told nothing was sent. (A store that fails
    after the refresh: tests/tiktok/test_token_custody.py.)"""
    store = _WritesFail()
    client = _client(sandbox, store)
    try:
        await client.list_shops(refresh=True)
        sandbox.tiktok.expire_access_tokens()
        store.writes_fail = True
        with pytest.raises(errors.StateStoreUnavailable) as caught:
            await client.list_shops(refresh=True)
        assert "nothing was sent" in caught.value.describe()
        assert sandbox.tiktok.token_requests.count("refresh") == 0
        store.writes_fail = False
        await client.list_shops(refresh=True)
        assert sandbox.tiktok.token_requests.count("refresh") == 1
    finally:
        await client.aclose()
