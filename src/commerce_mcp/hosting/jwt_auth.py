"""OAuth 2.1 access tokens: JWTs from the configured issuer, verified against its JWKS.

The key set is fetched once and cached; a token signed with a key id we have not seen triggers one
refresh (key rotation), at most every ``MIN_REFRESH_SECONDS``, so a flood of forged ``kid`` values
cannot turn into a flood of requests to the issuer. Only asymmetric algorithms are accepted (never
``none``, never an HMAC that a public key could be abused to forge).
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import Callable
from typing import Any

import httpx
import jwt

from commerce_mcp.hosting.principal import Principal

log = logging.getLogger(__name__)

ALGORITHMS = ("RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "EdDSA")
LEEWAY_SECONDS = 30
MIN_REFRESH_SECONDS = 30.0
JWKS_TIMEOUT = 10.0


class InvalidToken(Exception):
    """The bearer token is not acceptable; the message is safe to show (it never echoes the token)."""


class JwksCache:
    """The issuer's signing keys by ``kid``, refreshed when an unknown ``kid`` shows up."""

    def __init__(self, url: str, *, monotonic: Callable[[], float] = time.monotonic) -> None:
        self._url = url
        self._monotonic = monotonic
        self._keys: dict[str, jwt.PyJWK] = {}
        self._fetched_at: float | None = None
        self._lock = asyncio.Lock()
        self.fetches = 0

    async def key(self, kid: str) -> jwt.PyJWK:
        """The key for ``kid``, fetching the set when it is missing (rate-limited)."""
        if kid in self._keys:
            return self._keys[kid]
        async with self._lock:
            if kid not in self._keys and self._may_refresh():
                await self._fetch()
        if kid not in self._keys:
            raise InvalidToken("the token was signed with a key the issuer does not publish")
        return self._keys[kid]

    def _may_refresh(self) -> bool:
        return (
            self._fetched_at is None or self._monotonic() - self._fetched_at >= MIN_REFRESH_SECONDS
        )

    async def _fetch(self) -> None:
        self._fetched_at = self._monotonic()
        self.fetches += 1
        try:
            async with httpx.AsyncClient(timeout=JWKS_TIMEOUT) as http:
                response = await http.get(self._url)
                response.raise_for_status()
                document = response.json()
        except (httpx.HTTPError, json.JSONDecodeError) as exc:
            # Keep the keys we have: an issuer hiccup must not lock everyone out.
            log.warning("could not fetch the issuer's JWKS from %s: %s", self._url, exc)
            return
        keys: dict[str, jwt.PyJWK] = {}
        for entry in document.get("keys", []):
            if (
                not isinstance(entry, dict)
                or "kid" not in entry
                or entry.get("use", "sig") != "sig"
            ):
                continue
            try:
                keys[str(entry["kid"])] = jwt.PyJWK.from_dict(entry)
            except jwt.PyJWTError as exc:
                log.warning("ignoring an unusable JWKS key %s: %s", entry.get("kid"), exc)
        if keys:
            self._keys = keys


class JwtAuthenticator:
    """Turns a bearer JWT into a :class:`Principal`, or raises :class:`InvalidToken`."""

    def __init__(
        self, *, issuer: str, audience: str, keys: JwksCache, tenant_claim: str = "sub"
    ) -> None:
        self._issuer = issuer
        self._audience = audience
        self._keys = keys
        self._tenant_claim = tenant_claim

    async def authenticate(self, token: str) -> Principal:
        try:
            header = jwt.get_unverified_header(token)
        except jwt.PyJWTError:
            raise InvalidToken("the bearer token is not a well-formed JWT") from None
        algorithm = header.get("alg")
        if algorithm not in ALGORITHMS:
            raise InvalidToken(f"tokens signed with {str(algorithm)[:10]!r} are not accepted")
        kid = header.get("kid")
        if not isinstance(kid, str) or not kid:
            raise InvalidToken("the token names no signing key (kid)")
        key = await self._keys.key(kid)
        try:
            claims: dict[str, Any] = jwt.decode(
                token,
                key=key.key,
                algorithms=[algorithm],
                audience=self._audience,
                issuer=self._issuer,
                leeway=LEEWAY_SECONDS,
                options={"require": ["exp", "iss", "aud"]},
            )
        except jwt.ExpiredSignatureError:
            raise InvalidToken("the token has expired") from None
        except jwt.ImmatureSignatureError:
            raise InvalidToken("the token is not valid yet") from None
        except jwt.InvalidAudienceError:
            raise InvalidToken("the token was issued for another resource") from None
        except jwt.InvalidIssuerError:
            raise InvalidToken("the token comes from another issuer") from None
        except jwt.PyJWTError:
            raise InvalidToken("the token's signature or claims are not valid") from None
        tenant = claims.get(self._tenant_claim)
        if not isinstance(tenant, str) or not tenant:
            raise InvalidToken(f"the token carries no {self._tenant_claim!r} claim naming a tenant")
        return Principal(tenant=tenant, scopes=_scopes(claims), via="oauth")


def _scopes(claims: dict[str, Any]) -> frozenset[str]:
    """Scopes from ``scope`` (RFC 9068, space-separated) or ``scp`` (a list, common in IdPs)."""
    raw = claims.get("scope", claims.get("scp", ""))
    if isinstance(raw, str):
        return frozenset(raw.split())
    if isinstance(raw, list):
        return frozenset(str(item) for item in raw)
    return frozenset()
