"""``commerce-mcp serve --transport http``: build the hosted app from settings and run it.

Start-up refuses, with a message saying how to fix it, to serve a non-loopback address without
authentication: the tools move money. On loopback in sandbox mode authentication may be off, so the
Inspector and local tools work out of the box; everywhere else an API key or OAuth is required.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from mcp.server.transport_security import TransportSecuritySettings

from commerce_mcp.hosting.api_keys import ApiKeys
from commerce_mcp.hosting.app import LOCAL_TENANT, MCP_PATH, AuthConfig, HostedApp
from commerce_mcp.hosting.apps import TenantApps
from commerce_mcp.hosting.jwt_auth import JwksCache, JwtAuthenticator
from commerce_mcp.hosting.settings import HostingSettings
from commerce_mcp.hosting.tenants import TenantDirectory, tenant_services
from commerce_mcp.services import Services

if TYPE_CHECKING:
    import uvicorn

log = logging.getLogger(__name__)


class StartupRefused(Exception):
    """The configuration is unsafe or incomplete; the message says what to set."""


@dataclass
class Hosted:
    """The app and what it was built from (tests reach the parts through this)."""

    app: HostedApp
    settings: HostingSettings
    control: Services
    public_url: str


async def build_hosted(
    hosting: HostingSettings, control: Services, *, auth_off: bool = False
) -> Hosted:
    """Assemble the hosted app. ``auth_off`` asks for no authentication (loopback sandbox only)."""
    host, port = hosting.commerce_mcp_http_host, hosting.commerce_mcp_http_port
    public_url = hosting.commerce_mcp_http_public_url or f"http://{host}:{port}{MCP_PATH}"
    store = await control.store()
    if auth_off:
        if not (hosting.loopback and control.settings.sandbox):
            raise StartupRefused(
                "authentication can be off only on a loopback address in sandbox mode"
                f" (asked for {host}); configure API keys (`commerce-mcp tenants add NAME`) or"
                " OAuth (COMMERCE_MCP_OAUTH_ISSUER and COMMERCE_MCP_HTTP_PUBLIC_URL)"
            )
        auth = AuthConfig(resource_url=None, issuer=None, jwt=None, api_keys=None)
    else:
        auth = _auth(hosting, public_url, store, control)
    directory = TenantDirectory(store, hosting.commerce_mcp_encryption_key)

    async def services_for(tenant: str) -> Services:
        if tenant == LOCAL_TENANT and auth_off:
            return Services.from_env(sandbox=control.settings.sandbox)
        return tenant_services(await directory.require(tenant), control.settings, store)

    security = TransportSecuritySettings(
        enable_dns_rebinding_protection=True,
        allowed_hosts=hosting.allowed_hosts(),
        allowed_origins=hosting.allowed_origins(),
    )
    apps = TenantApps(
        build_services=services_for,
        security=security,
        max_body_bytes=hosting.commerce_mcp_http_max_body_bytes,
        max_apps=hosting.commerce_mcp_max_tenants,
    )
    app = HostedApp(
        auth=auth, apps=apps, store=store, max_body_bytes=hosting.commerce_mcp_http_max_body_bytes
    )
    return Hosted(app=app, settings=hosting, control=control, public_url=public_url)


def _auth(
    hosting: HostingSettings, public_url: str, store: object, control: Services
) -> AuthConfig:
    jwt_auth = None
    if hosting.oauth:
        if not hosting.commerce_mcp_http_public_url:
            raise StartupRefused(
                "OAuth needs COMMERCE_MCP_HTTP_PUBLIC_URL: the URL clients use for /mcp, which"
                " access tokens must name as their audience"
            )
        jwt_auth = JwtAuthenticator(
            issuer=str(hosting.commerce_mcp_oauth_issuer),
            audience=public_url,
            # The control services' clock, so tests can step past the refresh interval.
            keys=JwksCache(hosting.jwks_url(), monotonic=lambda: control.clock.monotonic()),
            tenant_claim=hosting.commerce_mcp_oauth_tenant_claim,
        )
    api_keys = ApiKeys(store) if hosting.commerce_mcp_api_keys else None  # type: ignore[arg-type]
    if jwt_auth is None and api_keys is None:
        raise StartupRefused(
            "no authentication is configured: enable API keys (COMMERCE_MCP_API_KEYS=true) or"
            " set COMMERCE_MCP_OAUTH_ISSUER"
        )
    return AuthConfig(
        resource_url=public_url if jwt_auth else None,
        issuer=str(hosting.commerce_mcp_oauth_issuer) if jwt_auth else None,
        jwt=jwt_auth,
        api_keys=api_keys,
    )


def run_http(*, sandbox: bool, host: str | None, port: int | None) -> int:
    """Serve until SIGTERM/SIGINT; in-flight calls get the drain period to finish."""
    import asyncio
    import sys

    from commerce_mcp.server import configure_logging

    overrides: dict[str, object] = {}
    if host is not None:
        overrides["commerce_mcp_http_host"] = host
    if port is not None:
        overrides["commerce_mcp_http_port"] = port
    hosting = HostingSettings(**overrides)  # type: ignore[arg-type]
    control = Services.from_env(sandbox=sandbox)
    configure_logging(control.settings.commerce_mcp_log_level)
    try:
        # The sandbox on loopback needs no credentials (fake data, this machine only).
        no_auth = sandbox and hosting.loopback and not hosting.oauth
        asyncio.run(_serve(hosting, control, no_auth))
    except StartupRefused as exc:
        sys.stderr.write(f"commerce-mcp: not starting: {exc}\n")
        return 2
    return 0


async def _serve(hosting: HostingSettings, control: Services, no_auth: bool) -> None:
    import uvicorn

    from commerce_mcp import startup

    hosted = await build_hosted(hosting, control, auth_off=no_auth)
    config = uvicorn_config(hosted.app, hosting, control.settings.commerce_mcp_log_level)
    startup.settle()
    try:
        await uvicorn.Server(config).serve()
    finally:
        await control.aclose()


def uvicorn_config(app: Any, hosting: HostingSettings, log_level: str) -> uvicorn.Config:
    """How uvicorn serves ``app``. Its log records go to our stderr handler (``log_config=None``:
    uvicorn installs no handlers of its own), whose tracebacks carry no exception messages; uvicorn's
    own formatter would print "Exception in ASGI application" with every message in full. No access
    log: request URLs can carry identifiers, and uvicorn sets its access logger to ``log_level``,
    undoing the WARNING floor ``configure_logging`` gives it."""
    import uvicorn

    return uvicorn.Config(
        app,
        host=hosting.commerce_mcp_http_host,
        port=hosting.commerce_mcp_http_port,
        log_level=log_level.lower(),
        log_config=None,
        access_log=False,
        # uvicorn stops accepting on SIGTERM and gives in-flight requests this long to finish.
        timeout_graceful_shutdown=int(hosting.commerce_mcp_http_drain_seconds),
        lifespan="on",
    )
