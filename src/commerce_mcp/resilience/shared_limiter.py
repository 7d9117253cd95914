"""Token buckets shared by every replica: one Redis hash per (platform account, operation).

A platform limits an *account*, whoever calls; with several replicas each keeping its own bucket,
together they would send N times the plan. Here the bucket lives in Redis and one Lua script refills,
takes and reports the wait, atomically, so all replicas draw from the same tokens.

* Time is an argument of the script (the caller's :class:`~commerce_mcp.resilience.clock.Clock`
  wall time), not Redis's ``TIME``: the same code runs in virtual time in tests. Replicas' clocks
  must agree (NTP); a clock behind the stored time refills nothing, it never takes tokens back.
* The bucket keeps the in-process limiter's reserve for latency spread (``rate × send_jitter``
  tokens, computed by the same :func:`~commerce_mcp.resilience.limiter.paced`) and a bucket Redis
  does not know yet starts empty, as in-process.
* A 429 empties the shared bucket; a rate learned from ``x-amzn-RateLimit-Limit`` is stored in it,
  so every replica slows down together.
* Within a replica, waiters are served first in, first out (one ``asyncio.Lock`` per bucket, which
  is FIFO); across replicas whoever asks Redis first gets the token.
* If Redis cannot answer, :meth:`SharedRateLimiter.acquire` raises
  :class:`~commerce_mcp.errors.StateStoreUnavailable` before anything is sent.

:class:`SharedRateLimiter` is a :class:`~commerce_mcp.resilience.limiter.RateLimiter`, so the clients
take it unchanged through their ``limiter=`` argument.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from commerce_mcp.errors import StateStoreUnavailable
from commerce_mcp.resilience.clock import Clock
from commerce_mcp.resilience.deadline import Deadline
from commerce_mcp.resilience.limiter import (
    MAX_HEADER_RATE,
    SEND_JITTER,
    RateLimiter,
    RatePlan,
    paced,
)

if TYPE_CHECKING:
    from redis.asyncio import Redis

    from commerce_mcp.store.redis import RedisStore

log = logging.getLogger(__name__)

WAIT_MARGIN = 1e-6
"""Added to every reported wait. Wall-clock seconds (~1.8e9) are spaced ~2.4e-7 s apart as floats,
so ``now + wait`` can land a hair before the token is whole; a microsecond later it surely is."""

BUCKET_TTL_SECONDS = 3600.0
"""An idle bucket is forgotten after at most this long, and at least half of it (the expiry is
renewed once half has run); it would be full again long before either."""

# KEYS[1]: the bucket hash. ARGV: op ('take' | 'drain' | 'rate'), now, and the bucket a fresh key
# starts as (the platform's rate, our pace and capacity after the jitter reserve, start tokens),
# ttl (ms); then for 'take' the tokens needed, for 'rate' the new rate, pace and capacity ('drain'
# sends nothing more). Pace and capacity come from the caller (limiter.paced), so the reserve has one
# formula. Only what the op uses is sent: every argument costs the caller encoding work on each take.
# Only what changed is written (a take or drain leaves rate, pace and capacity as they were), and the
# expiry is renewed only once half of it has run: each write is also appended to Redis's AOF.
# Returns {granted (0/1), tokens, rate, pace, wait} with the numbers as exact decimal strings (a Lua
# number returned as such would be truncated to an integer by Redis).
_BUCKET_SCRIPT = """
local op = ARGV[1]
local now = tonumber(ARGV[2])
local state = redis.call('HMGET', KEYS[1], 'tokens', 'updated', 'rate', 'pace', 'capacity')
local tokens = tonumber(state[1])
local updated = tonumber(state[2])
local rate = tonumber(state[3])
local pace = tonumber(state[4])
local capacity = tonumber(state[5])
local fresh = tokens == nil or updated == nil or rate == nil or pace == nil or capacity == nil
if fresh then
  rate = tonumber(ARGV[3])
  pace = tonumber(ARGV[4])
  capacity = tonumber(ARGV[5])
  tokens = tonumber(ARGV[6])
  updated = now
end
if now > updated then
  tokens = tokens + (now - updated) * pace
  updated = now
end
tokens = math.min(capacity, tokens)
local granted = 0
local wait = 0
if op == 'take' then
  local needed = tonumber(ARGV[8])
  if tokens >= needed - 1e-9 then
    tokens = math.max(0, tokens - needed)
    granted = 1
  else
    wait = (needed - tokens) / pace + WAIT_MARGIN
  end
elseif op == 'drain' then
  tokens = 0
elseif op == 'rate' then
  rate = tonumber(ARGV[8])
  pace = tonumber(ARGV[9])
  capacity = tonumber(ARGV[10])
  tokens = math.min(capacity, tokens)
end
local function exact(x) return string.format('%.17g', x) end
if fresh or op == 'rate' then
  redis.call('HSET', KEYS[1], 'tokens', exact(tokens), 'updated', exact(updated), 'rate', exact(rate),
    'pace', exact(pace), 'capacity', exact(capacity))
else
  redis.call('HSET', KEYS[1], 'tokens', exact(tokens), 'updated', exact(updated))
end
local ttl = tonumber(ARGV[7])
if fresh or redis.call('PTTL', KEYS[1]) < ttl / 2 then
  redis.call('PEXPIRE', KEYS[1], ttl)
end
return {granted, exact(tokens), exact(rate), exact(pace), exact(wait)}
""".replace("WAIT_MARGIN", repr(WAIT_MARGIN))


@dataclass(frozen=True)
class BucketState:
    """What the script answered: whether a token was granted, and the bucket after it."""

    granted: bool
    tokens: float
    rate: float
    """The platform's rate (the plan's, or one learned from a header)."""
    pace: float
    """The rate we refill at after the jitter reserve (:func:`~commerce_mcp.resilience.limiter.paced`)."""
    wait: float
    """Seconds until the tokens asked for exist (0 when granted)."""


class SharedBuckets:
    """The Redis side: every change to a bucket is one run of the atomic script."""

    def __init__(self, client: Redis, *, where: str, prefix: str) -> None:
        self._client = client
        self.where = where
        self.prefix = prefix
        self._script = client.register_script(_BUCKET_SCRIPT)

    @classmethod
    def on(cls, store: RedisStore) -> SharedBuckets:
        """Buckets in the same Redis (and under the same prefix) as ``store``."""
        return cls(store.client, where=store.where, prefix=store.prefix)

    def key(self, account: str, operation: str) -> str:
        # Length-prefix the account so ("a:b", "c") and ("a", "b:c") never share a bucket.
        return f"{self.prefix}:bucket:{len(account)}:{account}:{operation}"

    async def run(
        self,
        op: str,
        account: str,
        operation: str,
        plan: RatePlan,
        *,
        now: float,
        start_tokens: float,
        arg: float = 1.0,
        jitter: float = 0.0,
    ) -> BucketState:
        """Run the script once; Redis errors become StateStoreUnavailable (nothing was sent).

        ``arg``: tokens to take ('take') or the new rate ('rate'); ``jitter``: seconds of latency
        spread held in reserve, exactly as the in-process limiter's ``send_jitter``.
        """
        from redis.exceptions import RedisError

        from commerce_mcp.store.redis import did_not_answer, once_more_if_dropped

        ttl_ms = int(1000 * max(BUCKET_TTL_SECONDS, 2 * plan.burst / plan.rate))
        pace, capacity = paced(plan.rate, plan.burst, jitter)
        args: list[Any] = [
            op,
            repr(float(now)),
            repr(float(plan.rate)),
            repr(pace),
            repr(capacity),
            repr(float(start_tokens)),
            ttl_ms,
        ]
        if op == "take":
            args.append(repr(float(arg)))
        elif op == "rate":
            new_pace, new_capacity = paced(arg, plan.burst, jitter)
            args += [repr(float(arg)), repr(new_pace), repr(new_capacity)]
        keys = [self.key(account, operation)]
        try:
            # The script never reached a server that dropped its connection: a retry takes one token.
            reply = await once_more_if_dropped(lambda: self._script(keys=keys, args=args))
        except RedisError as exc:
            raise StateStoreUnavailable(
                f"{did_not_answer(self.where, exc)} while taking a rate-limit token for "
                f"{operation}; nothing was sent",
                operation=operation,
                hint="check that Redis is running and reachable at COMMERCE_MCP_STATE_URL, "
                "then retry",
            ) from exc
        granted, tokens, rate, pace, wait = reply
        return BucketState(bool(int(granted)), float(tokens), float(rate), float(pace), float(wait))

    async def take(
        self, account: str, operation: str, plan: RatePlan, *, now: float, start_tokens: float
    ) -> BucketState:
        """Refill to ``now`` and take one token if there is one; else report the wait."""
        return await self.run("take", account, operation, plan, now=now, start_tokens=start_tokens)

    async def drain(
        self, account: str, operation: str, plan: RatePlan, *, now: float, start_tokens: float
    ) -> BucketState:
        """Empty the bucket (the platform answered 429)."""
        return await self.run("drain", account, operation, plan, now=now, start_tokens=start_tokens)

    async def set_rate(
        self,
        account: str,
        operation: str,
        plan: RatePlan,
        rate: float,
        *,
        now: float,
        start_tokens: float,
    ) -> BucketState:
        """Settle tokens earned at the old rate up to ``now``, then refill at ``rate`` from here."""
        return await self.run(
            "rate", account, operation, plan, now=now, start_tokens=start_tokens, arg=rate
        )


class _Local:
    """This replica's side of one shared bucket: its FIFO queue and the last state Redis reported."""

    def __init__(self) -> None:
        self.lock = asyncio.Lock()
        self.waiting = 0
        self.last: BucketState | None = None
        self.pending: asyncio.Task[None] | None = None


def _header_rate(value: str | None) -> float | None:
    """The rate a header states, or None for garbage (the in-process limiter's rules)."""
    if value is None:
        return None
    try:
        rate = float(value.strip())
    except ValueError:
        return None
    if not math.isfinite(rate) or rate <= 0.0 or rate > MAX_HEADER_RATE:
        return None
    return rate


class SharedRateLimiter(RateLimiter):
    """A :class:`RateLimiter` whose buckets live in Redis, shared by all replicas.

    Plans, start tokens (empty), the jitter reserve (:func:`~commerce_mcp.resilience.limiter.paced`),
    header parsing and error wording are the in-process limiter's; only where the tokens are kept
    differs, so N replicas together pace exactly as one process would. :meth:`tokens` and :meth:`plan` report the bucket as of this
    replica's last exchange with Redis.
    """

    def __init__(
        self,
        clock: Clock,
        plans: Mapping[str, RatePlan],
        default: RatePlan,
        *,
        buckets: SharedBuckets,
        start_tokens: int | None = None,
        send_jitter: float = SEND_JITTER,
    ) -> None:
        super().__init__(clock, plans, default, start_tokens=start_tokens, send_jitter=send_jitter)
        self._shared = buckets
        self._shared_clock = clock
        self._shared_start = start_tokens
        self._local: dict[tuple[str, str], _Local] = {}

    # Helpers ------------------------------------------------------------------------------------

    def _state(self, account: str, operation: str) -> _Local:
        key = (account, operation)
        local = self._local.get(key)
        if local is None:
            local = self._local[key] = _Local()
        return local

    def _seed(self, account: str, operation: str) -> tuple[RatePlan, float]:
        """The published plan (before any learned rate) and the tokens a new bucket starts with."""
        plan = RateLimiter.plan(self, account, operation)
        start = self._shared_start
        if start is None:
            # As in-process: a process outside this Redis may have just drained the platform's
            # bucket, so a bucket Redis does not know yet starts empty (LWA's starts full).
            start = 0 if plan.assume_drained else plan.burst
        return plan, float(start)

    async def _run(self, op: str, account: str, operation: str, *, arg: float = 1.0) -> BucketState:
        plan, start = self._seed(account, operation)
        state = await self._shared.run(
            op,
            account,
            operation,
            plan,
            now=self._shared_clock.wall(),
            start_tokens=start,
            arg=arg,
            jitter=self._jitter,
        )
        self._state(account, operation).last = state
        return state

    async def _settled(self, local: _Local) -> None:
        """Wait for this replica's own drain / rate updates to land before taking again."""
        pending = local.pending
        if pending is not None and not pending.done():
            with contextlib.suppress(Exception):
                await asyncio.shield(pending)

    def _schedule(self, account: str, operation: str, op: str, arg: float = 1.0) -> None:
        """Send a drain or rate change to Redis in the background, in order (callers are sync)."""
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:  # no loop: nothing can be sent anyway, the next acquire refills
            return
        local = self._state(account, operation)
        previous = local.pending

        async def apply() -> None:
            if previous is not None:
                with contextlib.suppress(BaseException):
                    await previous
            try:
                await self._run(op, account, operation, arg=arg)
            except StateStoreUnavailable as exc:
                # The next acquire meets the same outage and fails the call; just say so here.
                log.warning("limiter: could not %s the shared bucket: %s", op, exc.message)

        task = loop.create_task(apply())
        local.pending = task

        def forget(done: asyncio.Task[None]) -> None:
            if local.pending is done:
                local.pending = None

        task.add_done_callback(forget)

    # The RateLimiter interface ------------------------------------------------------------------

    def plan(self, account: str, operation: str) -> RatePlan:
        """The plan in force, with the shared rate when this replica has seen it."""
        base = RateLimiter.plan(self, account, operation)
        last = self._state(account, operation).last
        return base if last is None else RatePlan(rate=last.rate, burst=base.burst)

    def tokens(self, account: str, operation: str) -> float:
        """Tokens in the shared bucket as of this replica's last exchange with Redis."""
        last = self._state(account, operation).last
        return RateLimiter.tokens(self, account, operation) if last is None else last.tokens

    async def acquire(self, account: str, operation: str, deadline: Deadline) -> None:
        """Take one token from the shared bucket, waiting FIFO within this replica."""
        local = self._state(account, operation)
        if local.waiting and local.last is not None:
            # Everyone queued here needs a token first: fail now if our turn would be too late.
            estimate = max(0.0, (local.waiting + 1.0 - local.last.tokens) / local.last.pace)
            if estimate >= deadline.remaining():
                raise self._too_long(account, operation, estimate, deadline)
        local.waiting += 1
        try:
            async with local.lock:
                while True:
                    await self._settled(local)
                    state = await self._run("take", account, operation)
                    if state.granted:
                        return
                    # A slot exactly at the deadline is no use: no time would be left to send.
                    if state.wait >= deadline.remaining():
                        raise self._too_long(account, operation, state.wait, deadline)
                    await self._shared_clock.sleep(state.wait)
        finally:
            local.waiting -= 1

    def on_rate_header(self, account: str, operation: str, value: str | None) -> None:
        """Adopt the platform's stated rate (parsed as the in-process limiter does) for everyone."""
        super().on_rate_header(account, operation, value)
        rate = _header_rate(value)
        if rate is None:
            return
        last = self._state(account, operation).last
        if last is None or rate != last.rate:
            self._schedule(account, operation, "rate", rate)

    def on_throttled(self, account: str, operation: str) -> None:
        """The platform said 429: every replica's view was too generous, so empty the shared bucket."""
        super().on_throttled(account, operation)
        self._schedule(account, operation, "drain")
