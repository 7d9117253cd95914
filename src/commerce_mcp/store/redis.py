"""The state store on Redis, for several replicas acting as one server.

Layout: one hash per namespace (``<prefix>:doc:<namespace>``), one field per key, the document as
canonical JSON (sorted keys, no spaces). Hash fields keep every conditional write to one key, so the
Lua scripts below are atomic on a cluster slot too, and ``list`` scans only its own namespace.

Atomicity across replicas:

* ``put_if_absent`` is one ``HSETNX`` (+ ``HGET`` of the winner) inside a script.
* ``compare_and_put`` compares documents in Python (so ``{"n": 1}`` equals ``{"n": 1.0}`` exactly as
  in the SQLite store) and then writes with a script that swaps only if the *stored text* is still
  the text it compared; if another replica wrote in between, it looks again. No lost update, and no
  watch on the whole namespace.

Failures: any Redis error (refused, timed out, loading, out of memory, read-only replica) becomes
:class:`~commerce_mcp.errors.StateStoreUnavailable` naming the server (never the password). The
client does not retry by itself: a conditional write whose reply was lost may have been applied, and
re-running it would report "someone else wrote this" for our own write. Reads and the idempotent
writes (``put``, ``delete``) are retried once, because a pooled connection that died with a restarted
server fails on first use.

Durability needs AOF: ``appendonly yes`` with ``appendfsync everysec`` (or ``always``). Redis writes
each command to the AOF before it replies, so a crashed Redis process loses nothing acknowledged;
``everysec`` bounds a machine crash to about a second of writes.
"""

from __future__ import annotations

import json
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING, Any, TypeVar
from urllib.parse import urlsplit

from commerce_mcp.errors import StateStoreUnavailable
from commerce_mcp.store.base import Document

if TYPE_CHECKING:
    from redis.asyncio import Redis

log = logging.getLogger(__name__)

T = TypeVar("T")

DEFAULT_PREFIX = "commerce-mcp"
SOCKET_TIMEOUT = 5.0
"""Seconds a command may take before the store reports itself unavailable."""
CONNECT_TIMEOUT = 2.0
MAX_CONNECTIONS = 64

# KEYS[1] hash, ARGV[1] field, ARGV[2] document. Returns nil when written, else the existing text.
_PUT_IF_ABSENT = """
if redis.call('HSETNX', KEYS[1], ARGV[1], ARGV[2]) == 1 then
  return false
end
return redis.call('HGET', KEYS[1], ARGV[1])
"""

# KEYS[1] hash, ARGV[1] field, ARGV[2] '1' if a document is expected, ARGV[3] its exact stored
# text, ARGV[4] the new document. Returns 1 when written.
_SWAP_IF_TEXT = """
local current = redis.call('HGET', KEYS[1], ARGV[1])
if ARGV[2] == '1' then
  if current ~= ARGV[3] then return 0 end
elseif current then
  return 0
end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[4])
return 1
"""

_GLOB_SPECIALS = "\\*?[]"


def encode(value: Document) -> str:
    """Canonical JSON: the same document always has the same text (the swap script relies on it)."""
    return json.dumps(value, separators=(",", ":"), sort_keys=True, allow_nan=False)


def _decode(raw: bytes | str) -> Document:
    value: Document = json.loads(raw)
    return value


def _text(raw: bytes | str) -> str:
    return raw if isinstance(raw, str) else raw.decode()


def _glob_escape(text: str) -> str:
    return "".join("\\" + ch if ch in _GLOB_SPECIALS else ch for ch in text)


def describe_url(url: str) -> str:
    """``host:port/db`` (or the socket path) from a Redis URL, without user name or password."""
    parts = urlsplit(url)
    if parts.scheme == "unix":
        return parts.path or "unix socket"
    host = parts.hostname or "localhost"
    port = parts.port or 6379
    db = parts.path.lstrip("/") or "0"
    return f"{host}:{port}/{db}"


def connect(url: str, *, max_connections: int = MAX_CONNECTIONS) -> Redis:
    """A pooled asyncio Redis client with timeouts and no automatic retries (see module doc)."""
    from redis.asyncio import Redis
    from redis.asyncio.retry import Retry
    from redis.backoff import NoBackoff

    client: Redis = Redis.from_url(
        url,
        socket_timeout=SOCKET_TIMEOUT,
        socket_connect_timeout=CONNECT_TIMEOUT,
        max_connections=max_connections,
        retry=Retry(NoBackoff(), 0),
        health_check_interval=30,
        client_name="commerce-mcp",
    )
    return client


def did_not_answer(where: str, exc: BaseException) -> str:
    """The first words of every "Redis is down" error: which Redis, and what the client saw."""
    # redis-py puts the address in its messages; the URL's password never is.
    reason = str(exc).strip() or type(exc).__name__
    return f"state store unavailable: Redis at {where} did not answer ({reason})"


async def once_more_if_dropped(call: Callable[[], Awaitable[T]]) -> T:
    """Run ``call``, and once more when Redis had dropped the pooled connection it went out on.

    After a Redis restart every connection the pool kept is dead, and the first command on each fails
    without reaching the new server; one more try takes a fresh connection. Only for commands that a
    second run cannot apply twice (reads, idempotent writes, a command that never arrived).
    """
    from redis.exceptions import ConnectionError as RedisConnectionError

    try:
        return await call()
    except RedisConnectionError:
        return await call()


class RedisStore:
    """A :class:`~commerce_mcp.store.base.StateStore` shared by every replica using one Redis."""

    def __init__(self, client: Redis, *, where: str, prefix: str = DEFAULT_PREFIX) -> None:
        self.client = client
        self.where = where
        self.prefix = prefix
        self._put_if_absent = client.register_script(_PUT_IF_ABSENT)
        self._swap_if_text = client.register_script(_SWAP_IF_TEXT)

    @classmethod
    def from_url(cls, url: str, *, prefix: str = DEFAULT_PREFIX) -> RedisStore:
        """A store on ``url`` (``redis://``, ``rediss://`` or ``unix://``); connects on first use."""
        return cls(connect(url), where=describe_url(url), prefix=prefix)

    def hash_key(self, namespace: str) -> str:
        """The Redis key holding ``namespace`` (other modules' fenced writes use the same layout)."""
        return f"{self.prefix}:doc:{namespace}"

    def unavailable(self, exc: BaseException) -> StateStoreUnavailable:
        """The error a store step raises when Redis cannot answer.

        It does not say whether anything reached a platform: the store cannot know. Steps that come
        before every platform request (a rate-limit token, a confirmation claim, an order intent)
        add "nothing was sent" (:func:`~commerce_mcp.errors.before_any_send`); the create path turns
        an outage after a send into "outcome unknown, check the order".
        """
        return StateStoreUnavailable(
            did_not_answer(self.where, exc),
            hint="check that Redis is running and reachable at COMMERCE_MCP_STATE_URL, then retry; "
            "`commerce-mcp doctor` checks it",
        )

    @asynccontextmanager
    async def _guard(self) -> AsyncIterator[None]:
        from redis.exceptions import RedisError

        try:
            yield
        except RedisError as exc:
            log.warning("state store: Redis at %s failed: %s", self.where, type(exc).__name__)
            raise self.unavailable(exc) from exc

    async def _idempotent(self, call: Callable[[], Awaitable[T]]) -> T:
        """Run a read or an idempotent write, once more after a dropped connection."""
        async with self._guard():
            return await once_more_if_dropped(call)

    async def ping(self) -> None:
        """Raise StateStoreUnavailable unless Redis answers (for readiness checks)."""

        async def call() -> Any:
            return await self.client.ping()

        await self._idempotent(call)

    async def get(self, namespace: str, key: str) -> Document | None:
        async def call() -> Any:
            return await self.client.hget(self.hash_key(namespace), key)

        raw = await self._idempotent(call)
        return _decode(raw) if raw is not None else None

    async def put(self, namespace: str, key: str, value: Document) -> None:
        text = encode(value)

        async def call() -> Any:
            return await self.client.hset(self.hash_key(namespace), key, text)

        await self._idempotent(call)

    async def put_if_absent(self, namespace: str, key: str, value: Document) -> Document | None:
        text = encode(value)
        async with self._guard():
            existing = await self._put_if_absent(keys=[self.hash_key(namespace)], args=[key, text])
        return _decode(existing) if existing is not None else None

    async def compare_and_put(
        self, namespace: str, key: str, expected: Document | None, value: Document
    ) -> bool:
        text = encode(value)
        hash_key = self.hash_key(namespace)
        # First guess: what is stored is the canonical text of ``expected`` (true unless the same
        # document was written with different number spellings). One round trip in the usual case.
        guess = None if expected is None else encode(expected)
        async with self._guard():
            while True:
                args = [key, "0", "", text] if guess is None else [key, "1", guess, text]
                if await self._swap_if_text(keys=[hash_key], args=args) == 1:
                    return True
                raw = await self.client.hget(hash_key, key)
                current = _decode(raw) if raw is not None else None
                if current != expected:
                    return False
                # Equal as documents but not as text, or changed and changed back: swap on the
                # text we just compared.
                guess = None if raw is None else _text(raw)

    async def delete(self, namespace: str, key: str) -> None:
        async def call() -> Any:
            return await self.client.hdel(self.hash_key(namespace), key)

        await self._idempotent(call)

    async def list(self, namespace: str, prefix: str = "") -> list[tuple[str, Document]]:
        hash_key = self.hash_key(namespace)

        async def call() -> list[tuple[str, Document]]:
            found: list[tuple[str, Document]] = []
            async for field, raw in self.client.hscan_iter(
                hash_key, match=_glob_escape(prefix) + "*", count=500
            ):
                name = _text(field)
                if name.startswith(prefix):  # the glob is a filter hint; this is the rule
                    found.append((name, _decode(raw)))
            return sorted(found)

        return await self._idempotent(call)

    async def close(self) -> None:
        """Close the connection pool."""
        await self.client.aclose()
