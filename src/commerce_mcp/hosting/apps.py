"""One running MCP app per tenant, started on first use and stopped when idle or over the bound.

Each app is the SDK's streamable HTTP session manager around a server built for that tenant's services:
stateless (any replica answers any request), with each call's answer streamed as server-sent events so
the progress a long tool reports reaches the client before the result. Stopping it exits the server's lifespan, which closes the tenant's clients.
What one request may see of that server is the registry's ``visible`` hook, asked per request: a
caller without ``commerce:write`` is shown no write tool.
"""

from __future__ import annotations

import logging
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

import anyio
from anyio.abc import TaskGroup
from mcp.server.transport_security import TransportSecuritySettings
from starlette.types import Receive, Scope, Send

from commerce_mcp.hosting.principal import current_principal
from commerce_mcp.server import build_server
from commerce_mcp.services import Services
from commerce_mcp.tools.manifest import published_tools
from commerce_mcp.tools.registry import ToolCard, enabled

log = logging.getLogger(__name__)


@dataclass
class TenantApp:
    """A tenant's MCP server, its session manager, and which of its tools write."""

    tenant: str
    services: Services
    write_tools: frozenset[str]
    handle: Callable[[Scope, Receive, Send], Awaitable[None]]
    stop: anyio.Event = field(default_factory=anyio.Event)
    used: float = field(default_factory=time.monotonic)


def scope_allows(spec: ToolCard) -> bool:
    """Whether the caller of the request being handled may see ``spec``: write tools need write scope.

    Fails closed: outside an authenticated request (no principal) nothing is visible.
    """
    principal = current_principal.get()
    return principal is not None and (principal.can_write or not spec.writes)


class TenantApps:
    """Running apps by tenant (LRU, bounded, idle ones stopped)."""

    def __init__(
        self,
        *,
        build_services: Callable[[str], Awaitable[Services]],
        security: TransportSecuritySettings,
        max_body_bytes: int,
        max_apps: int,
        idle_seconds: float = 900.0,
    ) -> None:
        self._build_services = build_services
        self._security = security
        self._max_body = max_body_bytes
        self._max = max_apps
        self._idle = idle_seconds
        self._apps: OrderedDict[str, TenantApp] = OrderedDict()
        self._lock = anyio.Lock()
        self._group: TaskGroup | None = None

    def attach(self, group: TaskGroup) -> None:
        """The task group apps run in (the HTTP app's lifespan owns it)."""
        self._group = group

    async def get(self, tenant: str) -> TenantApp:
        async with self._lock:
            app = self._apps.pop(tenant, None)
            if app is None:
                app = await self._start(tenant)
            app.used = time.monotonic()
            self._apps[tenant] = app
            self._evict()
        return app

    async def _start(self, tenant: str) -> TenantApp:
        if self._group is None:
            raise RuntimeError("the HTTP app has not started")
        services = await self._build_services(tenant)
        server = build_server(services, visible=scope_allows)
        server.streamable_http_app(
            stateless_http=True,
            json_response=False,
            transport_security=self._security,
            max_request_body_size=self._max_body,
        )
        manager = server.session_manager
        write_tools = frozenset(
            spec.name for spec in enabled(published_tools(), services.settings) if spec.writes
        )
        app = TenantApp(tenant, services, write_tools, manager.handle_request)
        ready = anyio.Event()

        async def run() -> None:
            async with manager.run():
                ready.set()
                await app.stop.wait()

        self._group.start_soon(run)
        await ready.wait()
        log.info("started the MCP app for tenant %s", tenant)
        return app

    def _evict(self) -> None:
        now = time.monotonic()
        while len(self._apps) > self._max:
            self._apps.popitem(last=False)[1].stop.set()
        for name, app in list(self._apps.items()):
            if now - app.used > self._idle:
                app.stop.set()
                del self._apps[name]

    async def forget(self, tenant: str) -> None:
        async with self._lock:
            app = self._apps.pop(tenant, None)
        if app is not None:
            app.stop.set()

    def stop_all(self) -> None:
        for app in self._apps.values():
            app.stop.set()
        self._apps.clear()
