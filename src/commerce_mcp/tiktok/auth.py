"""TikTok Shop OAuth: the consent link, the loopback callback, code exchange, refresh and token custody.

Token calls are plain GETs on the auth host and are not signed. ``access_token_expire_in`` and
``refresh_token_expire_in`` are absolute Unix timestamps (a peer library reads them as durations; we
accept both, since a small number can only be a duration). Refresh tokens may rotate, so every grant is
saved whole, in one write, before the new access token is used.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import httpx

from commerce_mcp import errors
from commerce_mcp.resilience.clock import Clock
from commerce_mcp.resilience.singleflight import AccessToken, CrossProcessFlight, TokenProvider
from commerce_mcp.store.tokens import TokenStore
from commerce_mcp.tiktok import classify
from commerce_mcp.tiktok.models import TokenGrant
from commerce_mcp.tiktok.transport import parse_envelope

log = logging.getLogger(__name__)

PLATFORM: errors.Platform = "tiktok"
CONSENT_BASE_URLS = {
    "row": "https://services.tiktokshop.com/open/authorize",
    "us": "https://services.tiktokshops.us/open/authorize",
}
#: A seeded access token's expiry is unknown; assume the documented default lifetime.
DEFAULT_ACCESS_TOKEN_LIFETIME = 7 * 86_400.0
_EPOCH_THRESHOLD = 1_000_000_000


def consent_url(
    service_id: str,
    *,
    region: str = "row",
    consent_base_url: str | None = None,
    state: str | None = None,
    redirect_uri: str | None = None,
) -> str:
    """The link a seller opens to authorize the app (v202407 flow).

    The US host differs between documentation versions, so ``consent_base_url`` (from
    TIKTOK_CONSENT_BASE_URL, or Partner Center's "Copy authorization link") wins over the default.
    """
    base = consent_base_url or CONSENT_BASE_URLS.get(region.lower(), CONSENT_BASE_URLS["row"])
    params = {"service_id": service_id}
    if state:
        params["state"] = state
    if redirect_uri:
        params["redirect_uri"] = redirect_uri
    joiner = "&" if "?" in base else "?"
    return f"{base}{joiner}{urlencode(params)}"


def parse_redirect(url_or_code: str, *, expected_state: str | None = None) -> str:
    """The authorization code from a pasted redirect URL, query string or bare code."""
    text = url_or_code.strip()
    if not text:
        raise errors.InvalidRequest(
            "no authorization code given", hint="paste the full redirect URL or the code"
        )
    if "code=" not in text and "error=" not in text:
        return text
    query = urlsplit(text).query if "://" in text or text.startswith("/") else text.lstrip("?")
    values = parse_qs(query, keep_blank_values=True)
    if values.get("error"):
        raise errors.AuthError(
            f"the seller did not authorize the app ({values['error'][0]})",
            platform=PLATFORM,
            hint="open the consent link again and approve access",
        )
    code = (values.get("code") or [""])[0]
    if not code or code == "null":
        raise errors.InvalidRequest(
            "the redirect URL carries no authorization code",
            platform=PLATFORM,
            hint="paste the whole redirect URL",
        )
    if expected_state is not None and (values.get("state") or [""])[0] != expected_state:
        raise errors.AuthError(
            "the redirect's state does not match this authorization attempt",
            platform=PLATFORM,
            hint="start `commerce-mcp tiktok authorize` again and use its newest link",
        )
    return code


async def wait_for_callback(host: str, port: int, state: str | None, timeout: float) -> str:  # noqa: ASYNC109
    """Serve one loopback redirect (``GET /...?code=..&state=..``) and return its code.

    Requests without a code (a browser's favicon fetch) are answered 404 and waited past.
    """
    loop = asyncio.get_running_loop()
    result: asyncio.Future[str] = loop.create_future()

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            head = await reader.readuntil(b"\r\n\r\n")
            target = head.split(b" ", 2)[1].decode("latin-1")
            if "code=" not in target and "error=" not in target:
                _reply(writer, 404, "Not the authorization callback.")
                return
            try:
                code = parse_redirect(target, expected_state=state)
            except errors.CommerceError as error:
                _reply(writer, 400, error.message)
                if not result.done():
                    result.set_exception(error)
                return
            _reply(writer, 200, "TikTok Shop authorized. You can close this tab.")
            if not result.done():
                result.set_result(code)
        except (asyncio.IncompleteReadError, asyncio.LimitOverrunError, IndexError):
            _reply(writer, 400, "Bad request.")
        finally:
            await writer.drain()
            writer.close()

    server = await asyncio.start_server(handle, host, port)
    try:
        async with server:
            return await asyncio.wait_for(result, timeout)
    except TimeoutError:
        raise errors.AuthError(
            f"no authorization arrived on http://{host}:{port} within {timeout:.0f}s",
            platform=PLATFORM,
            hint="open the consent link, or paste the redirect URL instead",
        ) from None


def _reply(writer: asyncio.StreamWriter, status: int, text: str) -> None:
    body = f"<html><body><p>{text}</p></body></html>".encode()
    reason = {200: "OK", 400: "Bad Request", 404: "Not Found"}[status]
    writer.write(
        f"HTTP/1.1 {status} {reason}\r\ncontent-type: text/html; charset=utf-8\r\n"
        f"content-length: {len(body)}\r\nconnection: close\r\n\r\n".encode()
        + body
    )


def expiry_epoch(value: float | int | None, now: float) -> float | None:
    """Absolute expiry from a token field: epochs stay, small numbers are durations from ``now``."""
    if value is None:
        return None
    return float(value) if value > _EPOCH_THRESHOLD else now + float(value)


class AuthClient:
    """The auth host's two calls (plain GET, unsigned)."""

    def __init__(
        self, http: httpx.AsyncClient, auth_base_url: str, app_key: str, app_secret: str
    ) -> None:
        self._http = http
        self._base = auth_base_url.rstrip("/")
        self._app_key = app_key
        self._secret = app_secret

    async def exchange_code(self, code: str) -> TokenGrant:
        """Exchange an authorization code (single use, valid 30 minutes) for tokens."""
        return await self._call(
            "/api/v2/token/get",
            "exchange_tiktok_auth_code",
            {"auth_code": code, "grant_type": "authorized_code"},
        )

    async def refresh(self, refresh_token: str) -> TokenGrant:
        """A new access token (and possibly a rotated refresh token)."""
        return await self._call(
            "/api/v2/token/refresh",
            "refresh_tiktok_token",
            {"refresh_token": refresh_token, "grant_type": "refresh_token"},
        )

    async def _call(self, path: str, operation: str, extra: dict[str, str]) -> TokenGrant:
        params = {"app_key": self._app_key, "app_secret": self._secret, **extra}
        try:
            response = await self._http.get(f"{self._base}{path}", params=params, timeout=20.0)
        except httpx.HTTPError as error:
            raise classify.from_transport(error, operation) from error
        try:
            data = parse_envelope(response, operation)
        except (errors.TransientError, errors.RateLimited):
            raise
        except errors.CommerceError as error:
            raise errors.AuthError(
                f"TikTok Shop refused the token request: {error.message}",
                platform=PLATFORM,
                code=error.code,
                request_id=error.request_id,
                http_status=error.http_status,
                operation=operation,
                hint="re-authorize with `commerce-mcp tiktok authorize` (codes are single use "
                "and expire after 30 minutes), and check TIKTOK_APP_KEY/TIKTOK_APP_SECRET",
            ) from error
        try:
            return TokenGrant.model_validate(data)
        except ValueError:
            raise errors.BadResponse(
                "TikTok Shop's token response lacks the tokens",
                platform=PLATFORM,
                operation=operation,
            ) from None


@dataclass
class StoredTokens:
    """What is persisted per app: both tokens, their absolute expiries, and the env seed they came
    from (so a newly pasted env token replaces a stale stored one, and an old env token does not
    overwrite a newer rotation)."""

    access_token: str | None
    access_expires_at: float
    refresh_token: str | None
    refresh_expires_at: float | None
    seed: str | None

    def to_document(self) -> dict[str, Any]:
        return {
            "access_token": self.access_token,
            "access_expires_at": self.access_expires_at,
            "refresh_token": self.refresh_token,
            "refresh_expires_at": self.refresh_expires_at,
            "seed": self.seed,
        }

    @classmethod
    def from_document(cls, doc: dict[str, Any]) -> StoredTokens:
        return cls(
            access_token=doc.get("access_token"),
            access_expires_at=float(doc.get("access_expires_at") or 0.0),
            refresh_token=doc.get("refresh_token"),
            refresh_expires_at=doc.get("refresh_expires_at"),
            seed=doc.get("seed"),
        )

    @classmethod
    def from_grant(cls, grant: TokenGrant, now: float, seed: str | None) -> StoredTokens:
        return cls(
            access_token=grant.access_token,
            access_expires_at=expiry_epoch(grant.access_token_expire_in, now) or now,
            refresh_token=grant.refresh_token,
            refresh_expires_at=expiry_epoch(grant.refresh_token_expire_in, now),
            seed=seed,
        )


def seed_fingerprint(access_token: str | None, refresh_token: str | None) -> str | None:
    """A non-reversible tag for the env tokens (never the tokens themselves)."""
    if not access_token and not refresh_token:
        return None
    joined = f"{access_token or ''}\n{refresh_token or ''}".encode()
    return hashlib.sha256(joined).hexdigest()[:16]


class TokenManager:
    """Custody of one app's tokens: load or seed, hand out fresh access tokens, refresh once."""

    def __init__(
        self,
        auth: AuthClient,
        tokens: TokenStore,
        app_key: str,
        clock: Clock,
        *,
        env_access_token: str | None = None,
        env_refresh_token: str | None = None,
        refresh_ahead: float = 300.0,
        across_processes: CrossProcessFlight | None = None,
    ) -> None:
        self._auth = auth
        self._across = across_processes
        self._tokens = tokens
        self._app_key = app_key
        self._clock = clock
        self._env_access = env_access_token
        self._env_refresh = env_refresh_token
        self._refresh_ahead = refresh_ahead
        self._provider: TokenProvider | None = None
        self._init_lock = asyncio.Lock()
        self._rejected: set[str] = set()
        self.refresh_requests = 0

    async def access_token(self) -> str:
        """A token good for at least ``refresh_ahead`` seconds (refreshing first if needed)."""
        provider = await self._ensure_provider()
        return await provider.get()

    def expired_callback(self, rejected: Callable[[], str | None]) -> Callable[[], Awaitable[None]]:
        """For the retry loop: after a 105002, drop the rejected token and get a fresh one."""

        async def refresh() -> None:
            provider = await self._ensure_provider()
            value = rejected()
            if value is not None:
                self._rejected.add(value)
                provider.invalidate(value)
            await provider.get()

        return refresh

    async def save_grant(self, grant: TokenGrant) -> StoredTokens:
        """Persist a grant from a code exchange or refresh (both tokens in one write)."""
        record = StoredTokens.from_grant(grant, self._clock.wall(), self._seed())
        await self._tokens.save(PLATFORM, self._app_key, record.to_document())
        if self._provider is not None:
            self._provider = self._new_provider(record)
        return record

    async def _ensure_provider(self) -> TokenProvider:
        if self._provider is not None:
            return self._provider
        async with self._init_lock:
            if self._provider is None:
                self._provider = self._new_provider(await self._load_or_seed())
            return self._provider

    def _new_provider(self, record: StoredTokens) -> TokenProvider:
        initial = (
            AccessToken(record.access_token, record.access_expires_at)
            if record.access_token
            else None
        )
        return TokenProvider(
            self._fetch, self._clock, refresh_ahead=self._refresh_ahead, initial=initial
        )

    def _seed(self) -> str | None:
        return seed_fingerprint(self._env_access, self._env_refresh)

    async def _load_or_seed(self) -> StoredTokens:
        doc = await self._tokens.load(PLATFORM, self._app_key)
        seed = self._seed()
        if doc is not None:
            stored = StoredTokens.from_document(doc)
            # Same env seed (or none): the store is newer, e.g. after a rotation. A different seed
            # means the operator pasted new tokens, which win.
            if seed is None or stored.seed == seed:
                return stored
        if seed is None:
            raise errors.AuthError(
                "no TikTok Shop tokens are stored for this app",
                platform=PLATFORM,
                hint="run `commerce-mcp tiktok authorize`, or set TIKTOK_ACCESS_TOKEN and "
                "TIKTOK_REFRESH_TOKEN",
            )
        now = self._clock.wall()
        record = StoredTokens(
            access_token=self._env_access,
            access_expires_at=now + DEFAULT_ACCESS_TOKEN_LIFETIME if self._env_access else 0.0,
            refresh_token=self._env_refresh,
            refresh_expires_at=None,
            seed=seed,
        )
        await self._tokens.save(PLATFORM, self._app_key, record.to_document())
        return record

    async def _fetch(self) -> AccessToken:
        if self._across is None:
            return await self._adopt_stored() or await self._refresh()
        # TikTok rotates refresh tokens: two replicas refreshing at once could each spend the same
        # refresh token, and the loser's stored token would be dead. One refreshes, others adopt.
        return await self._across(
            f"tiktok-token:{self._app_key}", self._adopt_stored, self._refresh
        )

    async def _adopt_stored(self) -> AccessToken | None:
        """The stored access token when it is still good (another replica may have refreshed)."""
        doc = await self._tokens.load(PLATFORM, self._app_key)
        record = StoredTokens.from_document(doc) if doc else None
        if (
            record is not None
            and record.access_token
            and record.access_token not in self._rejected
            and record.access_expires_at - self._refresh_ahead > self._clock.wall()
        ):
            return AccessToken(record.access_token, record.access_expires_at)
        return None

    async def _refresh(self) -> AccessToken:
        doc = await self._tokens.load(PLATFORM, self._app_key)
        record = StoredTokens.from_document(doc) if doc else None
        refresh_token = (record.refresh_token if record else None) or self._env_refresh
        if not refresh_token:
            raise errors.AuthError(
                "the TikTok Shop access token expired and no refresh token is available",
                platform=PLATFORM,
                hint="set TIKTOK_REFRESH_TOKEN or run `commerce-mcp tiktok authorize`",
            )
        self.refresh_requests += 1
        grant = await self._auth.refresh(refresh_token)
        fresh = StoredTokens.from_grant(grant, self._clock.wall(), record.seed if record else None)
        try:
            await self._tokens.save(PLATFORM, self._app_key, fresh.to_document())
        except errors.StateStoreUnavailable as exc:
            # The refresh reached TikTok, which may have rotated the refresh token we hold.
            raise errors.StateStoreUnavailable(
                f"{exc.message}; TikTok refreshed the token but the new one could not be saved",
                hint="retry once the state store answers; if TikTok then refuses the refresh "
                "token, run `commerce-mcp tiktok authorize` again",
            ) from exc
        log.info("tiktok: access token refreshed (expires at %.0f)", fresh.access_expires_at)
        return AccessToken(grant.access_token, fresh.access_expires_at)
