"""Real HTTP servers on loopback for tests: uvicorn in a thread, and a local OAuth issuer."""

from __future__ import annotations

import asyncio
import json
import socket
import threading
import time
import uuid
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from typing import Any

import jwt
import uvicorn
from cryptography.hazmat.primitives.asymmetric import rsa


def jsonrpc_answer(response: Any) -> dict[str, Any]:
    """The JSON-RPC answer in a streamable-HTTP ``response``: a plain JSON body or the SSE event carrying it."""
    return jsonrpc_answer_in(response.headers.get("content-type", ""), response.text)


def jsonrpc_answer_in(content_type: str, text: str) -> dict[str, Any]:
    """The JSON-RPC answer in a streamable-HTTP body of ``content_type``: the JSON itself, or the SSE event carrying it.

    The server streams each call's answer as server-sent events (so progress notifications can precede
    it); the answer is the last event that carries a ``result`` or an ``error``.
    """
    if content_type.startswith("application/json"):
        return dict(json.loads(text))
    answers = [
        json.loads(line[len("data:") :])
        for line in text.splitlines()
        if line.startswith("data:") and line[len("data:") :].strip()
    ]
    final = [message for message in answers if "result" in message or "error" in message]
    if not final:
        raise AssertionError(f"no JSON-RPC answer in the event stream: {text[:200]!r}")
    return dict(final[-1])


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def serve_in_thread(make_app: Callable[[], Awaitable[Any]], port: int) -> Iterator[Any]:
    """Build an ASGI app inside a fresh event loop in a thread and serve it on ``port``.

    Yields what ``make_app`` returned (the app or an object carrying it in ``.app``).
    """
    built: list[Any] = []
    ready = threading.Event()
    servers: list[uvicorn.Server] = []
    failure: list[BaseException] = []

    async def main() -> None:
        try:
            made = await make_app()
        except BaseException as exc:
            failure.append(exc)
            ready.set()
            raise
        built.append(made)
        app = getattr(made, "app", made)
        server = uvicorn.Server(
            uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="on")
        )
        server.install_signal_handlers = lambda: None  # type: ignore[method-assign]
        servers.append(server)
        ready.set()
        await server.serve()

    thread = threading.Thread(target=lambda: asyncio.run(main()), daemon=True)
    thread.start()
    ready.wait(30)
    if failure:
        raise failure[0]
    deadline = time.monotonic() + 30
    while not servers[0].started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("the test HTTP server did not start")
        time.sleep(0.01)
    try:
        yield built[0]
    finally:
        servers[0].should_exit = True
        thread.join(30)


class LocalIssuer:
    """An OAuth issuer for tests: RSA signing keys, a JWKS document on loopback, tokens on demand."""

    def __init__(self) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.keys: dict[str, rsa.RSAPrivateKey] = {}
        self.jwks_requests = 0
        self.rotate()

    def rotate(self) -> str:
        """Add a new signing key (published from now on); returns its kid."""
        kid = uuid.uuid4().hex[:8]
        self.keys[kid] = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        self.current = kid
        return kid

    def jwks(self) -> dict[str, Any]:
        keys = []
        for kid, key in self.keys.items():
            public = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(key.public_key()))
            keys.append({**public, "kid": kid, "use": "sig", "alg": "RS256"})
        return {"keys": keys}

    def token(
        self,
        *,
        audience: str,
        subject: str = "tenant-a",
        scope: str = "commerce:read commerce:write",
        lifetime: float = 600,
        issuer: str | None = None,
        kid: str | None = None,
        key: rsa.RSAPrivateKey | None = None,
        **claims: Any,
    ) -> str:
        now = int(time.time())
        payload = {
            "iss": issuer or self.url,
            "sub": subject,
            "aud": audience,
            "iat": now,
            "exp": now + int(lifetime),
            "scope": scope,
            **claims,
        }
        kid = kid or self.current
        signing = key or self.keys[kid]
        return jwt.encode(payload, signing, algorithm="RS256", headers={"kid": kid})

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        self.jwks_requests += 1
        body = json.dumps(self.jwks()).encode()
        await send(
            {
                "type": "http.response.start",
                "status": 200,
                "headers": [(b"content-type", b"application/json")],
            }
        )
        await send({"type": "http.response.body", "body": body})

    @contextmanager
    def serving(self) -> Iterator[LocalIssuer]:
        async def make() -> LocalIssuer:
            return self

        with serve_in_thread(make, self.port):
            yield self
