"""The one place commerce-mcp reaches past python-amazon-sp-api's public surface (written for 2.1.35).

The rest of :mod:`commerce_mcp.amazon` uses the library as documented: the ``FulfillmentOutbound`` and
``Inventories`` operation methods, the constructor options ``credentials``, ``credential_providers``
and ``auth_token_client_class``, and ``ApiResponse.payload`` / ``.next_token`` / ``.rate_limit``.
Four needs go beyond that surface. Each is met here and nowhere else, and
``tests/amazon/test_sp_api_adapter.py`` fails loudly if the library moves under one of them:

1. **No parameters the models do not declare.** Every operation method calls ``Client._request`` with
   ``add_marketplace=True`` hard-wired, which adds ``MarketplaceId``, ``MarketplaceIds``,
   ``marketplace_ids`` and ``marketplaceIds`` to GET queries, ``marketplaceIds``/``MarketplaceIds``
   to POST bodies and all four as a JSON body to the bodiless cancel PUT. Our subclasses forward
   ``_request`` with ``add_marketplace=False``; the client sends each operation's declared
   marketplace parameter itself.
2. **Answers judged before the library parses them.** The library turns a non-JSON error body (a bare
   429, an HTML 500) into an empty success without its status, and its asyncio transport passes
   ``timeout=None`` to httpx on every request, so no timeout applies whatever the constructor was
   given. The library's own transport (``Client._transport``) is wrapped in
   :class:`~commerce_mcp.amazon.transport.JudgingTransport`, which sets the timeout, turns every
   unusable answer into a :mod:`commerce_mcp.errors` type and drops the ``Host`` header the library
   derives as ``endpoint[8:]`` (wrong for the sandbox's ``http://`` loopback endpoint).
3. **Any endpoint, our marketplace.** There is no endpoint option, and ``SP_API_DEFAULT_MARKETPLACE``
   overrides the marketplace argument. A duck-typed marketplace (``endpoint``, ``marketplace_id``,
   ``region``) is passed, and the same values are set again on the client's public attributes.
4. **Our tokens, our pools closed.** ``auth_token_client_class`` gets :class:`ProviderTokenClient`,
   whose ``get_auth`` serves the client's single-flight ``TokenProvider`` (LWA is fetched by
   :mod:`commerce_mcp.amazon.lwa`) instead of the library's process-global cache keyed by refresh
   token alone. The library's ``aclose`` never closes the token client's HTTP pool, so we do.

Importing this module imports ``sp_api`` (about 0.35 s): only the client's first call does it.
"""

from __future__ import annotations

from collections.abc import Callable
from types import SimpleNamespace
from typing import Any

from commerce_mcp import errors
from commerce_mcp.amazon.transport import JudgingTransport
from commerce_mcp.resilience.clock import Clock
from commerce_mcp.resilience.singleflight import TokenProvider


def _bad_default_marketplace() -> errors.NotConfigured:
    return errors.NotConfigured(
        "Amazon SP-API",
        ["a valid SP_API_DEFAULT_MARKETPLACE (or unset it)"],
        hint="unset SP_API_DEFAULT_MARKETPLACE; commerce-mcp uses AMAZON_MARKETPLACE_ID",
    )


try:
    # sp_api.asyncio.api first: importing sp_api.asyncio.auth first is a circular ImportError.
    # The library evaluates Marketplaces[SP_API_DEFAULT_MARKETPLACE] at import: KeyError if invalid.
    from sp_api.asyncio.api import FulfillmentOutbound, Inventories
    from sp_api.asyncio.auth import AccessTokenClient, AccessTokenResponse
    from sp_api.base.credential_provider import FromCodeCredentialProvider
except KeyError as exc:
    raise _bad_default_marketplace() from exc

LIBRARY_VERSION = "2.1.35"
"""The python-amazon-sp-api release this adapter was written and tested against."""


class ProviderTokenClient(AccessTokenClient):  # type: ignore[misc]
    """The library's token client, serving access tokens from our :class:`TokenProvider`."""

    def __init__(self, token_provider: TokenProvider, **library_options: Any) -> None:
        super().__init__(**library_options)
        self.token_provider = token_provider

    async def get_auth(self) -> Any:
        """The provider's current token, in the shape the library puts in ``x-amz-access-token``."""
        return AccessTokenResponse(
            access_token=await self.token_provider.get(), token_type="bearer"
        )


class _DeclaredParametersOnly:
    """Mixin: send exactly the parameters the caller passed (need 1 in the module docstring)."""

    async def _request(self, path: str, **kwargs: Any) -> Any:
        kwargs["add_marketplace"] = False
        return await super()._request(path, **kwargs)  # type: ignore[misc]


class Outbound(_DeclaredParametersOnly, FulfillmentOutbound):  # type: ignore[misc]
    """FBA Outbound 2020-07-01 (MCF), sending only declared parameters."""


class InventoryApi(_DeclaredParametersOnly, Inventories):  # type: ignore[misc]
    """FBA Inventory v1, sending only declared parameters."""


class SpApi:
    """The library's clients for one seller account, built on first use and closed together."""

    def __init__(
        self,
        *,
        endpoint: str,
        marketplace_id: str,
        aws_region: str,
        credentials: dict[str, str],
        tokens: TokenProvider,
        attempt_timeout: float,
        connect_timeout: float,
        clock: Clock,
    ) -> None:
        self._marketplace = SimpleNamespace(
            endpoint=endpoint, marketplace_id=marketplace_id, region=aws_region
        )
        self._credentials = credentials
        self._tokens = tokens
        self._attempt_timeout = attempt_timeout
        self._connect_timeout = connect_timeout
        self._clock = clock
        self._token_client: ProviderTokenClient | None = None
        self._outbound: Any = None
        self._inventories: Any = None

    @property
    def outbound(self) -> Any:
        """The configured ``FulfillmentOutbound`` client."""
        if self._outbound is None:
            self._outbound = self._build(Outbound)
        return self._outbound

    @property
    def inventories(self) -> Any:
        """The configured ``Inventories`` client."""
        if self._inventories is None:
            self._inventories = self._build(InventoryApi)
        return self._inventories

    def _token_client_for(self, **library_options: Any) -> ProviderTokenClient:
        # Both library clients share one token client: it holds no token of its own, only the
        # provider, and each instance costs an HTTP pool that is never used.
        if self._token_client is None:
            self._token_client = ProviderTokenClient(self._tokens, **library_options)
        return self._token_client

    def _build(self, factory: Callable[..., Any]) -> Any:
        try:
            client = factory(
                self._marketplace,
                credentials=dict(self._credentials),
                credential_providers=[FromCodeCredentialProvider],  # no env, file or AWS fallback
                auth_token_client_class=self._token_client_for,
            )
        except KeyError as exc:  # SP_API_DEFAULT_MARKETPLACE set to an unknown code after import
            raise _bad_default_marketplace() from exc
        # The constructor prefers SP_API_DEFAULT_MARKETPLACE to its argument (need 3).
        client.endpoint = self._marketplace.endpoint
        client.marketplace_id = self._marketplace.marketplace_id
        client.region = self._marketplace.region
        client._transport = JudgingTransport(  # need 2
            client._transport,
            attempt_timeout=self._attempt_timeout,
            connect_timeout=self._connect_timeout,
            clock=self._clock,
        )
        return client

    async def aclose(self) -> None:
        """Close the library's HTTP pools (its own ``aclose`` leaves the token client's open)."""
        for client in (self._outbound, self._inventories):
            if client is not None:
                await client.aclose()
        if self._token_client is not None:
            await self._token_client.aclose()
        self._outbound = self._inventories = self._token_client = None
