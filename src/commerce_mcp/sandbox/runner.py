"""Start and stop the fake platforms on loopback ports, in a background thread with its own event loop.

Running them on their own loop keeps sandbox latency honest (the client's loop is not doing the server's
work) and lets synchronous callers (the CLI, pytest fixtures) start them without an event loop.

Each fake is an ASGI app behind the fault middleware, plus a small control surface under ``/_sandbox``:
``POST /_sandbox/advance {"seconds": N}`` moves simulated time, ``POST /_sandbox/faults {...}`` arms a
fault (see :mod:`commerce_mcp.sandbox.faults`), ``DELETE /_sandbox/faults`` clears them, and
``GET /_sandbox/traffic`` reports every answer the platform gave, by method, path and status (what a
platform's own dashboard shows: how often it was called and how often it said 429), which is how a
test or benchmark with several client processes sees their sum.
"""

from __future__ import annotations

import asyncio
import json
import logging
import socket
import threading
from collections import Counter, deque
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs

from commerce_mcp.sandbox import credentials
from commerce_mcp.sandbox.catalog import build_catalog
from commerce_mcp.sandbox.faults import (
    ASGIApp,
    FaultInjector,
    FaultMiddleware,
    Message,
    Receive,
    Scope,
    Send,
)
from commerce_mcp.sandbox.simclock import SimClock

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class SeenRequest:
    """One request a fake answered: method, path, its query parameters, and the status it got."""

    method: str
    path: str
    query: dict[str, list[str]]
    status: int


class Traffic:
    """Answers one fake gave, counted by (method, path, status), and the latest requests themselves
    with their query (what a tool call asked for). Thread-safe: read from tests."""

    #: Requests kept for :meth:`since`: a long sandbox session must not grow without bound.
    KEEP = 10_000

    def __init__(self) -> None:
        self._counts: Counter[tuple[str, str, int]] = Counter()
        self._recent: deque[tuple[int, SeenRequest]] = deque(maxlen=self.KEEP)
        self._answered = 0
        self._lock = threading.Lock()

    def record(
        self, method: str, path: str, status: int, query: dict[str, list[str]] | None = None
    ) -> None:
        with self._lock:
            self._counts[(method, path, status)] += 1
            self._recent.append((self._answered, SeenRequest(method, path, query or {}, status)))
            self._answered += 1

    def __len__(self) -> int:
        """Requests answered so far: a mark for :meth:`since`."""
        return self._answered

    def since(self, mark: int) -> list[SeenRequest]:
        """The requests answered after ``len()`` was ``mark`` (of the latest ``KEEP``), in order."""
        with self._lock:
            return [seen for number, seen in self._recent if number >= mark]

    def snapshot(self) -> dict[tuple[str, str, int], int]:
        """A copy of the counts so far."""
        with self._lock:
            return dict(self._counts)

    def rows(self) -> list[dict[str, Any]]:
        """The counts as JSON-ready rows (the control endpoint's answer)."""
        return [
            {"method": method, "path": path, "status": status, "count": count}
            for (method, path, status), count in sorted(self.snapshot().items())
        ]


def _counted(app: ASGIApp, traffic: Traffic) -> ASGIApp:
    """Record each answer's status as it starts (faults included: that is what the client saw)."""

    async def counted(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"].startswith("/_sandbox/"):
            await app(scope, receive, send)
            return

        async def watch(message: Message) -> None:
            if message["type"] == "http.response.start":
                query = parse_qs(scope.get("query_string", b"").decode("latin-1"))
                traffic.record(scope["method"], scope["path"], int(message["status"]), query)
            await send(message)

        await app(scope, receive, watch)

    return counted


@dataclass
class _Served:
    name: str
    app: ASGIApp
    faults: FaultInjector
    traffic: Traffic
    url: str = ""
    server: Any = None


@dataclass
class SandboxServers:
    """Handle on the running fakes: their URLs, their state, simulated time and fault injection."""

    clock: SimClock
    tiktok: Any  # TikTokWorld
    amazon: Any  # AmazonWorld
    tiktok_faults: FaultInjector
    amazon_faults: FaultInjector
    tiktok_traffic: Traffic = field(default_factory=Traffic)
    amazon_traffic: Traffic = field(default_factory=Traffic)
    tiktok_url: str = ""
    amazon_url: str = ""
    _thread: threading.Thread | None = field(default=None, repr=False)
    _loop: asyncio.AbstractEventLoop | None = field(default=None, repr=False)
    _servers: list[Any] = field(default_factory=list, repr=False)

    def advance(self, seconds: float) -> None:
        """Move simulated time forward on both platforms (orders progress, tokens age)."""
        self.clock.advance(seconds)

    def settings_overrides(self) -> dict[str, Any]:
        """Settings that point the real clients at these fakes with the sandbox credentials."""
        return {
            "tiktok_app_key": credentials.TIKTOK_APP_KEY,
            "tiktok_app_secret": credentials.TIKTOK_APP_SECRET,
            "tiktok_access_token": credentials.TIKTOK_ACCESS_TOKEN,
            "tiktok_refresh_token": credentials.TIKTOK_REFRESH_TOKEN,
            "tiktok_service_id": credentials.TIKTOK_SERVICE_ID,
            # The sandbox seller has two shops; default to the main one as a configured seller would.
            "tiktok_shop_id": self.tiktok.shops[0].id,
            "tiktok_api_base_url": self.tiktok_url,
            "tiktok_auth_base_url": self.tiktok_url,
            "tiktok_consent_base_url": f"{self.tiktok_url}/open/authorize",
            "amazon_sp_api_client_id": credentials.AMAZON_CLIENT_ID,
            "amazon_sp_api_client_secret": credentials.AMAZON_CLIENT_SECRET,
            "amazon_sp_api_refresh_token": credentials.AMAZON_REFRESH_TOKEN,
            "amazon_seller_id": credentials.AMAZON_SELLER_ID,
            "amazon_marketplace_id": credentials.AMAZON_MARKETPLACE_ID,
            "amazon_sp_api_region": "na",
            "amazon_sp_api_endpoint": self.amazon_url,
            "amazon_lwa_token_url": f"{self.amazon_url}/auth/o2/token",
        }

    def stop(self) -> None:
        """Stop both servers and the thread. Safe to call twice."""
        for server in self._servers:
            server.should_exit = True
        if self._thread is not None:
            self._thread.join(timeout=10)
            self._thread = None


def start_sandbox(
    clock: SimClock | None = None,
    *,
    products: int | None = None,
    tiktok_orders: tuple[int, int] | None = None,
    rate_scale: float = 1.0,
) -> SandboxServers:
    """Seed both fakes from the shared catalog and serve them on 127.0.0.1; return once both listen.

    The keywords size the world and scale both platforms' rate plans for benchmarks; left alone they
    give the default seed data every test relies on and the published plans.
    """
    from commerce_mcp.sandbox.amazon_server import build_amazon_app
    from commerce_mcp.sandbox.amazon_world import AmazonWorld
    from commerce_mcp.sandbox.tiktok_server import build_tiktok_app
    from commerce_mcp.sandbox.tiktok_world import TikTokWorld

    clock = clock or SimClock()
    catalog = build_catalog() if products is None else build_catalog(products_count=products)
    if tiktok_orders is None:
        tiktok_world = TikTokWorld(clock, catalog)
    else:
        tiktok_world = TikTokWorld(clock, catalog, order_counts=tiktok_orders)
    amazon_world = AmazonWorld(clock, catalog)
    tiktok_world.config.qps *= rate_scale
    tiktok_world.config.burst *= rate_scale
    amazon_world.rate_scale = rate_scale
    handle = SandboxServers(
        clock=clock,
        tiktok=tiktok_world,
        amazon=amazon_world,
        tiktok_faults=FaultInjector(),
        amazon_faults=FaultInjector(),
    )
    served = [
        _Served(
            "tiktok", build_tiktok_app(tiktok_world), handle.tiktok_faults, handle.tiktok_traffic
        ),
        _Served(
            "amazon", build_amazon_app(amazon_world), handle.amazon_faults, handle.amazon_traffic
        ),
    ]
    ready = threading.Event()
    failure: list[BaseException] = []

    def run() -> None:
        loop = asyncio.new_event_loop()
        handle._loop = loop
        try:
            loop.run_until_complete(_serve_all(served, clock, handle, ready))
        except BaseException as exc:  # surfaced to the starting thread
            failure.append(exc)
            ready.set()
        finally:
            loop.close()

    thread = threading.Thread(target=run, name="commerce-mcp-sandbox", daemon=True)
    handle._thread = thread
    thread.start()
    if not ready.wait(timeout=30) or failure:
        handle.stop()
        raise RuntimeError(
            f"sandbox servers failed to start: {failure[0] if failure else 'timeout'}"
        )
    handle.tiktok_url, handle.amazon_url = served[0].url, served[1].url
    log.info("sandbox: TikTok Shop at %s, Amazon at %s", handle.tiktok_url, handle.amazon_url)
    return handle


async def _serve_all(
    served: list[_Served], clock: SimClock, handle: SandboxServers, ready: threading.Event
) -> None:
    import uvicorn

    # Injected drops make uvicorn log "Exception in ASGI application"; that is the point, not news.
    logging.getLogger("uvicorn.error").setLevel(logging.CRITICAL)
    tasks = []
    for item in served:
        # proto=IPPROTO_TCP, not the default 0: asyncio only sets TCP_NODELAY on accepted sockets
        # whose proto says TCP, and without it every response (headers, then body) waited ~40 ms
        # for the client's delayed ACK.
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(("127.0.0.1", 0))
        item.url = f"http://127.0.0.1:{sock.getsockname()[1]}"
        app = _with_control(
            _counted(FaultMiddleware(item.app, item.faults), item.traffic),
            clock,
            item.faults,
            item.traffic,
        )
        config = uvicorn.Config(
            app, log_config=None, access_log=False, lifespan="off", timeout_graceful_shutdown=1
        )
        item.server = uvicorn.Server(config)
        handle._servers.append(item.server)
        tasks.append(asyncio.create_task(item.server.serve(sockets=[sock])))
    while not all(item.server.started for item in served):
        if any(task.done() for task in tasks):
            break
        await asyncio.sleep(0.005)
    ready.set()
    await asyncio.gather(*tasks)


def _with_control(
    app: ASGIApp, clock: SimClock, faults: FaultInjector, traffic: Traffic
) -> ASGIApp:
    async def control(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not scope["path"].startswith("/_sandbox/"):
            await app(scope, receive, send)
            return
        body = b""
        while True:
            message = await receive()
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        status, answer = _control(scope["method"], scope["path"], body, clock, faults, traffic)
        payload = json.dumps(answer).encode()
        await send(
            {
                "type": "http.response.start",
                "status": status,
                "headers": [(b"content-type", b"application/json")],
            }
        )
        await send({"type": "http.response.body", "body": payload})

    return control


def _control(
    method: str, path: str, body: bytes, clock: SimClock, faults: FaultInjector, traffic: Traffic
) -> tuple[int, dict[str, Any]]:
    try:
        data = json.loads(body or b"{}")
        if path == "/_sandbox/advance" and method == "POST":
            return 200, {"now": clock.advance(float(data.get("seconds", 0)))}
        if path == "/_sandbox/faults" and method == "POST":
            faults.inject(data.pop("path"), data.pop("kind"), int(data.pop("count", 1)), **data)
            return 200, {"armed": True}
        if path == "/_sandbox/traffic" and method == "GET":
            return 200, {"traffic": traffic.rows()}
        if path == "/_sandbox/faults" and method == "DELETE":
            faults.clear()
            return 200, {"cleared": True}
    except (ValueError, KeyError, TypeError) as exc:
        return 400, {"error": str(exc)}
    return 404, {"error": f"no control endpoint {method} {path}"}
