"""Single flight across replicas: a Redis lease with expiry and a fencing check.

TikTok rotates refresh tokens, so two replicas refreshing the same token at once can lock a seller
out. :class:`ReplicaSingleFlight` lets exactly one replica run the refresh; the others wait, then read
the result the holder saved. The in-process :class:`~commerce_mcp.resilience.singleflight.SingleFlight`
still merges callers inside one replica first, so at most one request per replica reaches Redis.

The lease:

* **Expiry.** A lease lasts ``ttl`` seconds of the callers' clock (an argument to the scripts, as for
  the shared buckets, so tests run in virtual time) and, as a backstop, Redis deletes the key after
  the same ``ttl`` of its own time. A holder that dies blocks nobody for longer than that.
* **Fencing.** Each grant carries a fence number, one higher than any before it for that name. A
  holder may save its result only through :meth:`RedisLock.put_if_held`, which writes atomically *only
  if* the lease is still its own and unexpired; a holder that stalled past its expiry (and so may have
  been overtaken) cannot overwrite a newer result.
* ``ttl`` must exceed the work's own deadline (a token refresh is bounded by its call deadline), so a
  live holder finishes well inside its lease.

The lock key and the document hash live in one Redis; on Redis Cluster give them one hash tag.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeVar

from commerce_mcp.errors import DeadlineExceeded, StateStoreUnavailable, before_any_send
from commerce_mcp.resilience.clock import Clock
from commerce_mcp.resilience.deadline import Deadline
from commerce_mcp.store.base import Document

if TYPE_CHECKING:
    from redis.asyncio import Redis

    from commerce_mcp.store.redis import RedisStore

log = logging.getLogger(__name__)

T = TypeVar("T")

DEFAULT_TTL = 60.0
"""Longer than any token refresh may take (its deadline is 45 s)."""
FIRST_POLL = 0.05
MAX_POLL = 1.0

# KEYS[1] lock hash, KEYS[2] fence counter. ARGV: owner, now, ttl (s), ttl (ms).
# Returns {1, fence, expires} when granted, {0, 0, expires-of-the-holder} when held by another.
_ACQUIRE = """
local held = redis.call('HMGET', KEYS[1], 'owner', 'expires')
if held[1] and tonumber(held[2]) > tonumber(ARGV[2]) then
  return {0, '0', held[2]}
end
local fence = redis.call('INCR', KEYS[2])
local expires = string.format('%.17g', tonumber(ARGV[2]) + tonumber(ARGV[3]))
redis.call('HSET', KEYS[1], 'owner', ARGV[1], 'fence', fence, 'expires', expires)
redis.call('PEXPIRE', KEYS[1], ARGV[4])
return {1, tostring(fence), expires}
"""

# The fencing check, shared by the scripts below: is the lease in KEYS[1] still (owner, fence)
# and unexpired at ARGV[3]?
_HELD = """
local held = redis.call('HMGET', KEYS[1], 'owner', 'fence', 'expires')
local ours = held[1] == ARGV[1] and held[2] == ARGV[2] and tonumber(held[3]) > tonumber(ARGV[3])
"""

# KEYS[1] lock. ARGV: owner, fence, now. Deletes the lock only if it is still ours.
_RELEASE = (
    _HELD
    + """
if held[1] == ARGV[1] and held[2] == ARGV[2] then
  redis.call('DEL', KEYS[1])
  return 1
end
return 0
"""
)

# KEYS[1] lock, KEYS[2] document hash. ARGV: owner, fence, now, field, document.
_PUT_IF_HELD = (
    _HELD
    + """
if not ours then return 0 end
redis.call('HSET', KEYS[2], ARGV[4], ARGV[5])
return 1
"""
)

# KEYS[1] lock. ARGV: owner, fence, now.
_CHECK = (
    _HELD
    + """
if ours then return 1 end
return 0
"""
)


@dataclass(frozen=True)
class Lease:
    """A granted lock: who holds it, its fence number, and when it lapses (callers' wall clock)."""

    name: str
    owner: str
    fence: int
    expires_at: float


class RedisLock:
    """One named lock in Redis, with expiry on the callers' clock and fenced writes."""

    def __init__(
        self,
        client: Redis,
        name: str,
        *,
        clock: Clock,
        ttl: float = DEFAULT_TTL,
        where: str = "redis",
        prefix: str = "commerce-mcp",
    ) -> None:
        if not ttl > 0:
            raise ValueError(f"ttl must be positive, got {ttl!r}")
        self.name = name
        self.ttl = ttl
        self.where = where
        self._clock = clock
        self._key = f"{prefix}:lock:{name}"
        self._fence_key = f"{prefix}:fence:{name}"
        self._acquire = client.register_script(_ACQUIRE)
        self._release = client.register_script(_RELEASE)
        self._put_if_held = client.register_script(_PUT_IF_HELD)
        self._check = client.register_script(_CHECK)
        self.holder_expires_at: float | None = None
        """When the lease that refused us lapses (set by a failed :meth:`try_acquire`)."""

    async def _call(self, script: Any, keys: list[str], args: list[Any]) -> Any:
        from redis.exceptions import RedisError

        from commerce_mcp.store.redis import did_not_answer

        try:
            return await script(keys=keys, args=args)
        except RedisError as exc:
            raise StateStoreUnavailable(
                f"{did_not_answer(self.where, exc)} while coordinating {self.name}",
                hint="check that Redis is running and reachable at COMMERCE_MCP_STATE_URL, "
                "then retry",
            ) from exc

    def _lease_args(self, lease: Lease) -> list[Any]:
        return [lease.owner, str(lease.fence), repr(self._clock.wall())]

    async def try_acquire(self) -> Lease | None:
        """The lease if nobody holds an unexpired one, else None (without waiting)."""
        owner = secrets.token_hex(16)
        ttl_ms = max(1, int(self.ttl * 1000))
        with before_any_send():  # the lease comes before the work it guards
            granted, fence, expires = await self._call(
                self._acquire,
                [self._key, self._fence_key],
                [owner, repr(self._clock.wall()), repr(self.ttl), ttl_ms],
            )
        if not int(granted):
            self.holder_expires_at = float(expires)
            return None
        return Lease(self.name, owner, int(fence), float(expires))

    async def held(self, lease: Lease) -> bool:
        """True while ``lease`` is still the current, unexpired lease."""
        return bool(int(await self._call(self._check, [self._key], self._lease_args(lease))))

    async def release(self, lease: Lease) -> bool:
        """Give the lock up if it is still ours (an expired, overtaken lease releases nothing)."""
        return bool(int(await self._call(self._release, [self._key], self._lease_args(lease))))

    async def put_if_held(
        self, lease: Lease, store: RedisStore, namespace: str, key: str, value: Document
    ) -> bool:
        """Write a document into ``store`` atomically with the fencing check; False if overtaken."""
        from commerce_mcp.store.redis import encode

        args = [*self._lease_args(lease), key, encode(value)]
        return bool(
            int(await self._call(self._put_if_held, [self._key, store.hash_key(namespace)], args))
        )


class ReplicaSingleFlight:
    """Exactly one replica runs ``refresh`` for a name at a time; the others read its result.

    ``read()`` returns the current result if it is good (e.g. an unexpired token in the store), else
    None. ``refresh(lease)`` does the work and saves the result (through
    :meth:`RedisLock.put_if_held`, so a holder overtaken after its expiry cannot overwrite a newer
    one). Every caller reads first; only a caller holding the lease refreshes, and it reads once more
    after taking the lease, since the previous holder may have just finished.
    """

    def __init__(
        self,
        client: Redis,
        *,
        clock: Clock,
        ttl: float = DEFAULT_TTL,
        where: str = "redis",
        prefix: str = "commerce-mcp",
    ) -> None:
        self._client = client
        self._clock = clock
        self._ttl = ttl
        self._where = where
        self._prefix = prefix

    @classmethod
    def on(
        cls, store: RedisStore, *, clock: Clock, ttl: float = DEFAULT_TTL
    ) -> ReplicaSingleFlight:
        """Locks in the same Redis (and under the same prefix) as ``store``."""
        return cls(store.client, clock=clock, ttl=ttl, where=store.where, prefix=store.prefix)

    def lock(self, name: str) -> RedisLock:
        """The lock for ``name`` (a new handle each time; the state is in Redis)."""
        return RedisLock(
            self._client,
            name,
            clock=self._clock,
            ttl=self._ttl,
            where=self._where,
            prefix=self._prefix,
        )

    async def run(
        self,
        name: str,
        read: Callable[[], Awaitable[T | None]],
        refresh: Callable[[Lease], Awaitable[T]],
        *,
        deadline: Deadline | None = None,
    ) -> T:
        """Return ``read()``'s result, refreshing under the lease when there is none."""
        lock = self.lock(name)
        poll = FIRST_POLL
        while True:
            current = await read()
            if current is not None:
                return current
            lease = await lock.try_acquire()
            if lease is not None:
                try:
                    current = await read()
                    if current is not None:
                        return current
                    return await refresh(lease)
                finally:
                    await _release_quietly(lock, lease)
            # Someone else is refreshing: look again soon, and no later than their lease lapses.
            wait = poll
            if lock.holder_expires_at is not None:
                wait = min(wait, max(0.0, lock.holder_expires_at - self._clock.wall()))
            if deadline is not None and deadline.remaining() <= wait:
                raise DeadlineExceeded(
                    f"waited for another replica to finish {name}, past this call's deadline",
                    hint="retry; if this repeats, check the replicas' logs for failed refreshes",
                )
            await self._clock.sleep(wait)
            poll = min(poll * 2, MAX_POLL)


async def _release_quietly(lock: RedisLock, lease: Lease) -> None:
    # Shielded: a cancelled caller must still free the lock for others. If Redis is down, the
    # lease simply expires.
    try:
        await asyncio.shield(lock.release(lease))
    except StateStoreUnavailable as exc:
        log.warning("could not release lock %s (%s); it expires by itself", lease.name, exc)
