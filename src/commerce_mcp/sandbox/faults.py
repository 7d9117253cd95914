"""Test-only fault injection for the fake platforms.

A test (or ``POST /_sandbox/faults``) arms a fault for the next N requests whose path matches a glob; the
ASGI middleware then answers those requests badly instead of (or after) running the real handler:

* ``status``       -- answer ``status`` with ``body`` (JSON when a dict, text otherwise) and ``headers``;
                      covers a bare 429, an HTML 500, a 503, or TikTok's HTTP-200 error envelopes.
* ``slow``         -- run the handler, then drip the body one byte every ``delay`` seconds.
* ``truncated``    -- run the handler, announce the full length, send a few bytes, close.
* ``malformed``    -- answer 200 with a body that is not JSON.
* ``drop``         -- close the connection without a usable response; the handler does not run.
* ``commit_then_drop`` / ``commit_then_500`` -- run the handler (its state change commits), then drop
                      the connection or answer 500: the "did my order go through?" case.
"""

from __future__ import annotations

import asyncio
import fnmatch
import json
import threading
from collections.abc import Awaitable, Callable, MutableMapping
from dataclasses import dataclass, field
from typing import Any, Literal

FaultKind = Literal[
    "status", "slow", "truncated", "malformed", "drop", "commit_then_drop", "commit_then_500"
]

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]


class DroppedConnection(Exception):
    """Raised inside the server after a partial response so uvicorn closes the socket."""


@dataclass
class Fault:
    path: str
    kind: FaultKind
    remaining: int = 1
    method: str | None = None
    status: int = 500
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.5


class FaultInjector:
    """Thread-safe list of armed faults; the first armed fault matching a request is consumed."""

    def __init__(self) -> None:
        self._faults: list[Fault] = []
        self._lock = threading.Lock()
        self.fired: list[tuple[str, str, FaultKind]] = []

    def inject(self, path: str, kind: FaultKind, count: int = 1, **options: Any) -> Fault:
        """Arm ``kind`` for the next ``count`` requests whose path matches the glob ``path``."""
        fault = Fault(path=path, kind=kind, remaining=count, **options)
        with self._lock:
            self._faults.append(fault)
        return fault

    def clear(self) -> None:
        with self._lock:
            self._faults.clear()

    def take(self, method: str, path: str) -> Fault | None:
        with self._lock:
            for fault in self._faults:
                if fault.method and fault.method.upper() != method.upper():
                    continue
                if not fnmatch.fnmatchcase(path, fault.path):
                    continue
                fault.remaining -= 1
                if fault.remaining <= 0:
                    self._faults.remove(fault)
                self.fired.append((method, path, fault.kind))
                return fault
        return None


class FaultMiddleware:
    """ASGI middleware that applies armed faults. Paths under ``/_sandbox`` are never faulted."""

    def __init__(self, app: ASGIApp, injector: FaultInjector) -> None:
        self.app = app
        self.injector = injector

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"].startswith("/_sandbox"):
            await self.app(scope, receive, send)
            return
        fault = self.injector.take(scope["method"], scope["path"])
        if fault is None:
            await self.app(scope, receive, send)
            return
        if fault.kind == "status":
            await _respond(send, fault.status, fault.body, fault.headers)
        elif fault.kind == "malformed":
            await _respond(send, 200, '{"code": 0, "data": {"orders": [', {})
        elif fault.kind == "drop":
            await _start(send, 200, {"content-length": "64", "content-type": "application/json"})
            raise DroppedConnection("fault injection: connection dropped")
        else:
            status, headers, body = await _capture(self.app, scope, receive)
            if fault.kind == "commit_then_500":
                await _respond(send, 500, "<html><body>Internal Server Error</body></html>", {})
            elif fault.kind == "slow":
                await _start(send, status, {**headers, "content-length": str(len(body))})
                for index in range(len(body)):
                    await send(
                        {
                            "type": "http.response.body",
                            "body": body[index : index + 1],
                            "more_body": True,
                        }
                    )
                    await asyncio.sleep(fault.delay)
                await send({"type": "http.response.body", "body": b"", "more_body": False})
            else:  # truncated, commit_then_drop
                await _start(send, status, {**headers, "content-length": str(len(body) + 100)})
                await send({"type": "http.response.body", "body": body[:9], "more_body": True})
                raise DroppedConnection("fault injection: body truncated")


async def _capture(
    app: ASGIApp, scope: Scope, receive: Receive
) -> tuple[int, dict[str, str], bytes]:
    status = 500
    headers: dict[str, str] = {}
    chunks: list[bytes] = []

    async def capture(message: Message) -> None:
        nonlocal status
        if message["type"] == "http.response.start":
            status = message["status"]
            headers.update(
                (k.decode("latin-1"), v.decode("latin-1"))
                for k, v in message.get("headers", [])
                if k.lower() != b"content-length"
            )
        elif message["type"] == "http.response.body":
            chunks.append(message.get("body", b""))

    await app(scope, receive, capture)
    return status, headers, b"".join(chunks)


async def _start(send: Send, status: int, headers: dict[str, str]) -> None:
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [(k.encode("latin-1"), v.encode("latin-1")) for k, v in headers.items()],
        }
    )


async def _respond(send: Send, status: int, body: Any, headers: dict[str, str]) -> None:
    if isinstance(body, dict | list):
        payload = json.dumps(body).encode()
        content_type = "application/json"
    else:
        payload = (body or "").encode() if isinstance(body, str) or body is None else bytes(body)
        content_type = "text/html" if payload.startswith(b"<") else "text/plain"
    await _start(
        send, status, {"content-type": content_type, "content-length": str(len(payload)), **headers}
    )
    await send({"type": "http.response.body", "body": payload, "more_body": False})
