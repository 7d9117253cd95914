"""The hosted ASGI app: health, metadata, authentication, scopes, then the tenant's MCP handler.

Every request to ``/mcp`` is authenticated before anything else runs (an API key or an OAuth access
token), resolved to a tenant, checked for scope, and only then handed to that tenant's MCP app. A
read-only token gets neither a view of the write tools (the registry's ``visible`` hook hides them
from ``tools/list``, see ``apps.scope_allows``) nor a way to call them (403 ``insufficient_scope``
here, before the request reaches the server). Nothing from the client's token is ever sent upstream:
the tenant's own platform credentials are used.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from typing import Any

import anyio
from starlette.types import Message, Receive, Scope, Send

from commerce_mcp.errors import StateStoreUnavailable
from commerce_mcp.hosting.api_keys import KEY_PREFIX, ApiKeys
from commerce_mcp.hosting.apps import TenantApps
from commerce_mcp.hosting.jwt_auth import InvalidToken, JwtAuthenticator
from commerce_mcp.hosting.principal import Principal, current_principal
from commerce_mcp.hosting.settings import READ_SCOPE, WRITE_SCOPE
from commerce_mcp.store.base import StateStore

log = logging.getLogger(__name__)
#: JSON-RPC implementation-defined server error (-32000 to -32099): the server cannot serve now.
_SERVER_UNAVAILABLE = -32000


MCP_PATH = "/mcp"
METADATA_PATH = "/.well-known/oauth-protected-resource"
#: The tenant an unauthenticated loopback sandbox server acts for.
LOCAL_TENANT = "local"


@dataclass(frozen=True)
class AuthConfig:
    """How callers prove who they are. ``None`` everywhere means: no authentication (loopback only)."""

    resource_url: str | None
    issuer: str | None
    jwt: JwtAuthenticator | None
    api_keys: ApiKeys | None

    @property
    def required(self) -> bool:
        return self.jwt is not None or self.api_keys is not None


class HostedApp:
    """ASGI entry point for ``commerce-mcp serve --transport http``."""

    def __init__(
        self, *, auth: AuthConfig, apps: TenantApps, store: StateStore, max_body_bytes: int
    ) -> None:
        self._auth = auth
        self._apps = apps
        self._store = store
        self._max_body = max_body_bytes
        self.draining = False

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await self._lifespan(receive, send)
            return
        if scope["type"] != "http":
            return
        path = scope["path"]
        if path == "/healthz":
            await _json(send, 200, {"status": "ok"})
        elif path == "/readyz":
            await self._ready(send)
        elif path == METADATA_PATH or path == METADATA_PATH + MCP_PATH:
            await self._metadata(send)
        elif path.rstrip("/") == MCP_PATH:
            await self._mcp(scope, receive, send)
        else:
            await _json(send, 404, {"error": "not_found", "error_description": "try /mcp"})

    async def _lifespan(self, receive: Receive, send: Send) -> None:
        # The tenants' apps run in this task group for the whole life of the server; shutdown is
        # reported complete only once every app has stopped (and closed its clients).
        async with anyio.create_task_group() as group:
            self._apps.attach(group)
            message = await receive()
            if message["type"] != "lifespan.startup":
                return
            await send({"type": "lifespan.startup.complete"})
            await receive()  # lifespan.shutdown
            self.draining = True
            self._apps.stop_all()
        await send({"type": "lifespan.shutdown.complete"})

    async def _ready(self, send: Send) -> None:
        if self.draining:
            await _json(send, 503, {"status": "draining"})
            return
        try:
            with anyio.fail_after(5):
                await self._store.get("hosting.readiness", "probe")
        except Exception as exc:
            log.warning("readiness: state store unreachable: %s", exc)
            await _json(send, 503, {"status": "state store unreachable"})
            return
        await _json(send, 200, {"status": "ready"})

    async def _metadata(self, send: Send) -> None:
        if self._auth.resource_url is None:
            await _json(send, 404, {"error": "not_found", "error_description": "OAuth is off"})
            return
        document: dict[str, Any] = {
            "resource": self._auth.resource_url,
            "scopes_supported": [READ_SCOPE, WRITE_SCOPE],
            "bearer_methods_supported": ["header"],
            "resource_name": "commerce-mcp",
        }
        if self._auth.issuer:
            document["authorization_servers"] = [self._auth.issuer]
        await _json(send, 200, document)

    async def _mcp(self, scope: Scope, receive: Receive, send: Send) -> None:
        try:
            principal = await self._authenticate(scope, send)
        except StateStoreUnavailable as exc:
            await _unavailable(send, exc)
            return
        if principal is None:
            return
        if READ_SCOPE not in principal.scopes:
            await self._refuse(send, 403, "insufficient_scope", "needs commerce:read", READ_SCOPE)
            return
        body = await _read_body(scope, receive, self._max_body)
        if body is None:
            await _json(send, 413, {"error": "request_too_large",
                                    "error_description": f"at most {self._max_body} bytes"})  # fmt: skip
            return
        try:
            app = await self._apps.get(principal.tenant)
        except StateStoreUnavailable as exc:
            await _unavailable(send, exc)
            return
        except Exception as exc:
            log.warning("tenant %s cannot be served: %s", principal.tenant, exc)
            await _json(send, 403, {"error": "unknown_tenant",
                                    "error_description": "this credential names no configured tenant"})  # fmt: skip
            return
        calls = _tool_calls(body)
        if not principal.can_write and calls & app.write_tools:
            await self._refuse(
                send, 403, "insufficient_scope", "write tools need commerce:write", WRITE_SCOPE
            )
            return
        # The tenant's server asks ``apps.scope_allows`` which tools this principal may list.
        token = current_principal.set(principal)
        try:
            await app.handle(scope, _replay(body), send)
        finally:
            current_principal.reset(token)

    async def _authenticate(self, scope: Scope, send: Send) -> Principal | None:
        if not self._auth.required:
            return Principal(LOCAL_TENANT, frozenset({READ_SCOPE, WRITE_SCOPE}), via="local")
        header = _header(scope, b"authorization")
        if not header.lower().startswith("bearer "):
            await self._refuse(send, 401, None, "authentication required", None)
            return None
        token = header[7:].strip()
        principal: Principal | None = None
        if token.startswith(KEY_PREFIX) and self._auth.api_keys is not None:
            principal = await self._auth.api_keys.authenticate(token)
            reason = "the API key is not valid or was revoked"
        elif self._auth.jwt is not None:
            try:
                principal = await self._auth.jwt.authenticate(token)
            except InvalidToken as exc:
                reason = str(exc)
        else:
            reason = "this server accepts API keys only"
        if principal is None:
            await self._refuse(send, 401, "invalid_token", reason, None)
        return principal

    async def _refuse(
        self, send: Send, status: int, error: str | None, description: str, scope: str | None
    ) -> None:
        parts = []
        if error:
            parts += [f'error="{error}"', f'error_description="{description}"']
        if self._auth.resource_url:
            parts.append(f'resource_metadata="{_metadata_url(self._auth.resource_url)}"')
        parts.append(f'scope="{scope or READ_SCOPE + " " + WRITE_SCOPE}"')
        await _json(
            send,
            status,
            {"error": error or "unauthorized", "error_description": description},
            [(b"www-authenticate", ("Bearer " + ", ".join(parts)).encode())],
        )


async def _unavailable(send: Send, exc: StateStoreUnavailable) -> None:
    """503 saying the state store is down (so nothing was done), with when to try again.

    The body is a JSON-RPC error (id null: the request was refused before it was read), which MCP
    clients surface as the call's error, so the caller reads why instead of a bare status code.
    """
    log.warning("state store unavailable: %s", exc.message)
    await _json(
        send,
        503,
        # Refused before any tool ran, so the request sent nothing anywhere.
        {
            "jsonrpc": "2.0",
            "id": None,
            "error": {"code": _SERVER_UNAVAILABLE, "message": exc.nothing_sent().describe()},
        },
        [(b"retry-after", b"5")],
    )


def _metadata_url(resource_url: str) -> str:
    """RFC 9728 §3.1: the well-known path goes between the host and the resource's path."""
    scheme, _, rest = resource_url.partition("://")
    host, _, path = rest.partition("/")
    suffix = f"/{path}".rstrip("/") if path else ""
    return f"{scheme}://{host}{METADATA_PATH}{suffix}"


def _header(scope: Scope, name: bytes) -> str:
    for key, value in scope.get("headers", []):
        if key.lower() == name:
            return bytes(value).decode("latin-1")
    return ""


async def _read_body(scope: Scope, receive: Receive, limit: int) -> bytes | None:
    """The whole request body, or None past ``limit`` bytes (checked before and while reading)."""
    declared = _header(scope, b"content-length")
    if declared.isdigit() and int(declared) > limit:
        return None
    chunks, size = [], 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            break
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            return None
        chunks.append(chunk)
        if not message.get("more_body"):
            break
    return b"".join(chunks)


def _replay(body: bytes) -> Receive:
    sent = False

    async def receive() -> Message:
        nonlocal sent
        if sent:
            await anyio.sleep_forever()
        sent = True
        return {"type": "http.request", "body": body, "more_body": False}

    return receive


def _messages(body: bytes) -> list[dict[str, Any]]:
    try:
        parsed = json.loads(body) if body else None
    except ValueError:
        return []
    items = parsed if isinstance(parsed, list) else [parsed]
    return [item for item in items if isinstance(item, dict)]


def _tool_calls(body: bytes) -> set[str]:
    return {
        str((m.get("params") or {}).get("name"))
        for m in _messages(body)
        if m.get("method") == "tools/call" and isinstance(m.get("params"), dict)
    }


async def _json(
    send: Send,
    status: int,
    document: dict[str, Any],
    extra: list[tuple[bytes, bytes]] | None = None,
) -> None:
    body = json.dumps(document, separators=(",", ":")).encode()
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    await send(
        {"type": "http.response.start", "status": status, "headers": headers + (extra or [])}
    )
    await send({"type": "http.response.body", "body": body})
