"""Login with Amazon: exchange the seller's refresh token for a one-hour access token.

The library's own token client caches in a module-global dict keyed only by the refresh token (shared by
every client in the process, whatever the account), has no timeout, lets a non-JSON error escape as a
raw ``JSONDecodeError`` and never invalidates on 403. We fetch here instead, behind a per-client
single-flight :class:`TokenProvider`, which :mod:`commerce_mcp.amazon.sp_api_adapter` hands to the
library through its ``auth_token_client_class`` option. With several replicas,
:class:`SharedAccessToken` makes one of them fetch and the others adopt its token.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from typing import Any

import httpx

from commerce_mcp import errors
from commerce_mcp.resilience.backoff import parse_retry_after
from commerce_mcp.resilience.clock import Clock
from commerce_mcp.resilience.singleflight import AccessToken, CrossProcessFlight
from commerce_mcp.store.tokens import TokenStore, fingerprint

PLATFORM = "amazon"

_REAUTHORIZE = (
    "re-authorize the seller and set AMAZON_SP_API_REFRESH_TOKEN, and check "
    "AMAZON_SP_API_CLIENT_ID / AMAZON_SP_API_CLIENT_SECRET (LWA secrets expire every 180 days)"
)
_FATAL = {"invalid_grant", "invalid_client", "unauthorized_client", "invalid_request"}


async def fetch_access_token(
    http: httpx.AsyncClient,
    url: str,
    *,
    client_id: str,
    client_secret: str,
    refresh_token: str,
    clock: Clock,
    request_timeout: float,
) -> AccessToken:
    """One refresh_token grant. Raises AuthError (re-authorize) or a retryable error."""
    form = {
        "grant_type": "refresh_token",
        "refresh_token": refresh_token,
        "client_id": client_id,
        "client_secret": client_secret,
    }
    common: dict[str, Any] = {"platform": "amazon", "operation": "lwa.refreshToken"}
    try:
        response = await http.post(url, data=form, timeout=request_timeout)
    except httpx.TransportError as exc:
        raise errors.TransientError(
            f"could not reach the Login with Amazon token endpoint ({type(exc).__name__})",
            hint="check the network or AMAZON_LWA_TOKEN_URL; retried automatically",
            **common,
        ) from exc
    common.update(http_status=response.status_code,
                  request_id=response.headers.get("x-amzn-RequestId"))  # fmt: skip
    try:
        body = json.loads(response.content or b"{}")
    except ValueError:
        body = None
    if not isinstance(body, dict):
        raise errors.TransientError(
            f"Login with Amazon answered HTTP {response.status_code} with a non-JSON body",
            hint="Amazon's token service looks unhealthy; retried automatically",
            **common,
        )
    if response.status_code == 200 and isinstance(body.get("access_token"), str):
        expires_in = body.get("expires_in")
        lifetime = float(expires_in) if isinstance(expires_in, int | float) else 3600.0
        return AccessToken(value=body["access_token"], expires_at=clock.wall() + lifetime)
    code = str(body.get("error") or "")
    description = str(body.get("error_description") or "no description")
    if code in _FATAL or response.status_code in (400, 401):
        raise errors.AuthError(
            f"Login with Amazon refused the credentials: {code or 'error'} ({description})",
            code=code or None,
            hint=_REAUTHORIZE,
            **common,
        )
    if response.status_code == 429:
        retry_after = parse_retry_after(response.headers.get("retry-after"), clock.wall())
        raise errors.RateLimited("Login with Amazon throttled the token request", code=code or None,
                                 retry_after=retry_after, **common)  # fmt: skip
    raise errors.TransientError(
        f"Login with Amazon failed: HTTP {response.status_code} {code} ({description})",
        code=code or None,
        hint="retried automatically",
        **common,
    )


class SharedAccessToken:
    """One LWA access token for every replica sharing the state store: one refresh, all adopt it.

    LWA does not rotate the refresh token, so two replicas refreshing at once would not lock the
    seller out as on TikTok; but N replicas each fetching their own token every hour spend N× the
    token endpoint's small allowance at the same instant. Through ``across`` (a Redis lease) one
    replica fetches and saves; the others read the saved token. A token the platform rejected is
    never adopted again, and a token saved for other credentials (a changed refresh token or app)
    never adopted at all: each is stamped with a fingerprint of the credentials that fetched it.
    """

    def __init__(
        self,
        fetch: Callable[[], Awaitable[AccessToken]],
        tokens: TokenStore,
        *,
        account: str,
        credentials: tuple[str, str],
        clock: Clock,
        across: CrossProcessFlight,
        refresh_ahead: float,
    ) -> None:
        """``credentials``: (LWA client id, refresh token), fingerprinted, never stored."""
        self._fetch = fetch
        self._tokens = tokens
        self._account = account
        self._fingerprint = fingerprint(*credentials)
        self._clock = clock
        self._across = across
        self._refresh_ahead = refresh_ahead
        self._rejected: set[str] = set()

    async def get(self) -> AccessToken:
        """The saved token if still good for ``refresh_ahead`` seconds, else one replica fetches."""
        return await self._across(f"amazon-token:{self._account}", self._adopt, self._refresh)

    def reject(self, value: str) -> None:
        """Amazon refused ``value`` (403 expired): never hand it out again, even if saved."""
        self._rejected.add(value)

    async def _adopt(self) -> AccessToken | None:
        doc = await self._tokens.load(PLATFORM, self._account)
        if not doc or doc.get("credentials") != self._fingerprint:
            return None
        value, expires_at = doc.get("access_token"), doc.get("expires_at")
        if not isinstance(value, str) or not isinstance(expires_at, int | float):
            return None
        if value in self._rejected or expires_at - self._refresh_ahead <= self._clock.wall():
            return None
        return AccessToken(value, float(expires_at))

    async def _refresh(self) -> AccessToken:
        token = await self._fetch()
        await self._tokens.save(
            PLATFORM,
            self._account,
            {
                "access_token": token.value,
                "expires_at": token.expires_at,
                "credentials": self._fingerprint,
            },
        )
        return token
