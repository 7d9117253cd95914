"""Client-side token buckets, one per (account, operation), so we respect a platform's limits first.

Seeded from the published usage plans and adapted from ``x-amzn-RateLimit-Limit``. Waiters are
served first in, first out; a wait that would pass the caller's deadline fails at once with
:class:`~commerce_mcp.errors.RateLimited` carrying ``retry_after``; a cancelled waiter takes no
token.

Two facts about the platform's bucket shape how ours is kept (see ``docs/benchmarks.md``):

* **We cannot see its level.** Neither SP-API nor TikTok reports the tokens left, and another process
  of the same app (a second session, a replica, a script) may have drained it just before we started.
  So every bucket starts *empty at the moment the limiter is created* and fills at the plan's rate
  from then on. A process that has been up for ``burst / rate`` seconds (1 s for FBA inventory, 1 s
  for TikTok, 15 s for MCF) has its full burst, exactly like the platform's idle bucket; only a job
  that starts the instant its process starts pays for the burst it does not assume (at most
  ``burst / rate`` seconds once). Starting full instead would cost up to ``burst`` 429s (each a
  retry with backoff) whenever the platform's bucket is in fact empty.
* **It counts a request when it arrives, not when we took the token.** Latency differs between
  requests (the first one opens a connection or fetches an access token; the event loop or the
  network stalls), so two requests we spaced exactly ``1/rate`` apart can arrive closer together and
  the second is refused. We therefore keep ``rate × send_jitter`` tokens in reserve: the bucket's
  capacity is ``burst − rate × send_jitter``. That costs nothing in sustained throughput and
  ``send_jitter`` seconds once; a plan too small for the reserve (burst 1) is paced slightly slower.
"""

from __future__ import annotations

import asyncio
import logging
import math
from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType

from commerce_mcp.errors import RateLimited
from commerce_mcp.resilience.clock import Clock
from commerce_mcp.resilience.deadline import Deadline

log = logging.getLogger(__name__)

MAX_HEADER_RATE = 1000.0
"""A rate header above this is treated as garbage rather than an invitation to flood."""

SEND_JITTER = 0.1
"""Seconds of latency difference between requests the buckets absorb (see the module docstring).

Loopback shows ~15 ms between a first request (new connection) and the next; a loaded machine or a
real network more. 0.1 s costs 0.1 s once per bucket and holds back 0.2 of FBA inventory's 2 tokens."""

# Floating-point refill arithmetic can land a hair under a whole token at the exact refill instant.
_EPSILON = 1e-9


@dataclass(frozen=True)
class RatePlan:
    """A token bucket plan: ``rate`` tokens per second refill, at most ``burst`` tokens."""

    rate: float
    burst: int
    assume_drained: bool = True
    """Start a new process's bucket empty (see the module docstring). False only for endpoints
    nobody else drains, where waiting at start-up would only add latency."""

    def __post_init__(self) -> None:
        if not (math.isfinite(self.rate) and self.rate > 0):
            raise ValueError(f"rate must be a positive finite number, got {self.rate!r}")
        if self.burst < 1:
            raise ValueError(f"burst must be >= 1, got {self.burst!r}")


_MCF = RatePlan(rate=2.0, burst=30)

SPAPI_PLANS: Mapping[str, RatePlan] = MappingProxyType(
    {
        "getFulfillmentPreview": _MCF,
        "createFulfillmentOrder": _MCF,
        "getFulfillmentOrder": _MCF,
        "listAllFulfillmentOrders": _MCF,
        "cancelFulfillmentOrder": _MCF,
        "updateFulfillmentOrder": _MCF,
        "getPackageTrackingDetails": _MCF,
        "getInventorySummaries": RatePlan(rate=2.0, burst=2),
        # LWA publishes no plan and a process fetches a token about once an hour: starting this
        # bucket empty would only delay every process's first SP-API call by a second.
        "lwa.refreshToken": RatePlan(rate=1.0, burst=5, assume_drained=False),
    }
)
"""Published SP-API usage plans (requests per second, burst) per operation."""

TIKTOK_DEFAULT_PLAN = RatePlan(rate=50.0, burst=50)
"""TikTok publishes no table; 50 QPS per app + shop + endpoint unless configured otherwise."""


def paced(rate: float, burst: int, jitter: float) -> tuple[float, float]:
    """(pace, capacity) we run a platform bucket of ``rate``/``burst`` at, holding back
    ``rate × jitter`` tokens for latency spread (see the module docstring).

    The one formula both the in-process and the shared (Redis) buckets use.
    """
    reserve = rate * jitter
    if burst - reserve >= 1.0:
        return rate, burst - reserve
    # No room for the reserve above one token: space requests 1/rate plus the part of the jitter
    # the burst cannot absorb, so arrivals still conform to the platform's bucket.
    return rate / (2.0 - burst + reserve), 1.0


class _Bucket:
    """State of one (account, operation) bucket. Only touched from the event loop thread.

    ``rate``/``burst`` are the platform's plan; ``pace``/``capacity`` what we actually run at after
    holding back the jitter reserve.
    """

    def __init__(self, plan: RatePlan, jitter: float, tokens: float, since: float) -> None:
        self.burst = plan.burst
        self.assume_drained = plan.assume_drained
        self.jitter = jitter
        self.set_rate(plan.rate)
        self.tokens = min(self.capacity, max(0.0, tokens))
        self.updated = since
        self.lock = asyncio.Lock()
        self.waiting = 0

    def set_rate(self, rate: float) -> None:
        self.rate = rate
        self.pace, self.capacity = paced(rate, self.burst, self.jitter)

    def refill(self, now: float) -> None:
        if now > self.updated:
            self.tokens = min(self.capacity, self.tokens + (now - self.updated) * self.pace)
            self.updated = now

    def time_for(self, tokens_needed: float) -> float:
        """Seconds until ``tokens_needed`` whole tokens exist, given the current level."""
        return max(0.0, (tokens_needed - self.tokens) / self.pace)


class RateLimiter:
    """Async token buckets keyed by (account, operation); plans are looked up by operation name."""

    def __init__(
        self,
        clock: Clock,
        plans: Mapping[str, RatePlan],
        default: RatePlan,
        *,
        start_tokens: int | None = None,
        send_jitter: float = SEND_JITTER,
    ) -> None:
        """``start_tokens``: each bucket's level when this limiter is created (default empty, see
        the module docstring); ``send_jitter``: seconds of latency spread to hold in reserve."""
        if not (math.isfinite(send_jitter) and send_jitter >= 0):
            raise ValueError(f"send_jitter must be a finite number >= 0, got {send_jitter!r}")
        self._clock = clock
        self._plans = dict(plans)
        self._default = default
        self._start_tokens = start_tokens
        self._jitter = send_jitter
        # Buckets are made on first use but their level counts from here: the platform's bucket
        # has been refilling since at least now, whatever state it was in.
        self._born = clock.monotonic()
        self._buckets: dict[tuple[str, str], _Bucket] = {}

    def _bucket(self, account: str, operation: str) -> _Bucket:
        key = (account, operation)
        bucket = self._buckets.get(key)
        if bucket is None:
            plan = self._plans.get(operation, self._default)
            if self._start_tokens is not None:
                start = float(self._start_tokens)
            else:
                start = 0.0 if plan.assume_drained else float(plan.burst)
            bucket = _Bucket(plan, self._jitter, start, self._born)
            bucket.refill(self._clock.monotonic())
            self._buckets[key] = bucket
        return bucket

    def plan(self, account: str, operation: str) -> RatePlan:
        """The plan in force for this bucket, including any rate learned from headers."""
        bucket = self._bucket(account, operation)
        return RatePlan(rate=bucket.rate, burst=bucket.burst, assume_drained=bucket.assume_drained)

    def tokens(self, account: str, operation: str) -> float:
        """Tokens available right now (for status reports and tests)."""
        bucket = self._bucket(account, operation)
        bucket.refill(self._clock.monotonic())
        return bucket.tokens

    async def acquire(self, account: str, operation: str, deadline: Deadline) -> None:
        """Take one token, waiting in FIFO order; fail at once if the wait would pass the deadline."""
        bucket = self._bucket(account, operation)
        bucket.refill(self._clock.monotonic())
        if bucket.waiting == 0 and bucket.tokens >= 1.0 - _EPSILON:
            bucket.tokens -= 1.0
            return
        # Everyone queued ahead needs a token before us: estimate our wait from the queue length.
        # A slot exactly at the deadline is no use either: no time would be left to send.
        estimate = bucket.time_for(bucket.waiting + 1.0)
        if estimate >= deadline.remaining():
            raise self._too_long(account, operation, estimate, deadline)
        bucket.waiting += 1
        try:
            async with bucket.lock:
                while True:
                    bucket.refill(self._clock.monotonic())
                    if bucket.tokens >= 1.0 - _EPSILON:
                        bucket.tokens -= 1.0
                        return
                    wait = bucket.time_for(1.0)
                    if wait >= deadline.remaining():
                        raise self._too_long(account, operation, wait, deadline)
                    await self._clock.sleep(wait)
        finally:
            bucket.waiting -= 1

    def _too_long(
        self, account: str, operation: str, wait: float, deadline: Deadline
    ) -> RateLimited:
        log.debug(
            "limiter: %s/%s would wait %.2fs, only %.2fs left",
            account,
            operation,
            wait,
            deadline.remaining(),
        )
        return RateLimited(
            f"rate limit for {operation}: the next slot is {wait:.1f}s away, "
            "beyond this call's deadline",
            retry_after=wait,
            operation=operation,
            hint=f"try again in about {math.ceil(wait)}s, or make fewer calls at once",
        )

    def on_rate_header(self, account: str, operation: str, value: str | None) -> None:
        """Adopt the rate the platform says applies (``x-amzn-RateLimit-Limit``); ignore garbage."""
        if value is None:
            return
        try:
            rate = float(value.strip())
        except ValueError:
            return
        if not math.isfinite(rate) or rate <= 0.0 or rate > MAX_HEADER_RATE:
            return
        bucket = self._bucket(account, operation)
        if rate == bucket.rate:
            return
        # Settle the tokens earned at the old rate first, so the new rate is not retroactive.
        bucket.refill(self._clock.monotonic())
        log.debug("limiter: %s/%s rate %.3g -> %.3g", account, operation, bucket.rate, rate)
        bucket.set_rate(rate)
        bucket.tokens = min(bucket.tokens, bucket.capacity)

    def on_throttled(self, account: str, operation: str) -> None:
        """The platform said 429: our view of its bucket was too generous, so empty ours."""
        bucket = self._bucket(account, operation)
        bucket.refill(self._clock.monotonic())
        bucket.tokens = 0.0
