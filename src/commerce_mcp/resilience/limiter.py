"""Client-side token buckets, one per (account, operation), so we respect a platform's limits first.

Seeded from the published usage plans and adapted from ``x-amzn-RateLimit-Limit``. Waiters are
served first in, first out; a wait that would pass the caller's deadline fails at once with
:class:`~commerce_mcp.errors.RateLimited` carrying ``retry_after``; a cancelled waiter takes no
token.
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

STARTUP_TOKENS = 5
"""A fresh process cannot know how full the server's bucket is: another may have drained it."""

# Floating-point refill arithmetic can land a hair under a whole token at the exact refill instant.
_EPSILON = 1e-9


@dataclass(frozen=True)
class RatePlan:
    """A token bucket plan: ``rate`` tokens per second refill, at most ``burst`` tokens."""

    rate: float
    burst: int

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
    }
)
"""Published SP-API usage plans (requests per second, burst) per operation."""

TIKTOK_DEFAULT_PLAN = RatePlan(rate=50.0, burst=50)
"""TikTok publishes no table; 50 QPS per app + shop + endpoint unless configured otherwise."""


class _Bucket:
    """State of one (account, operation) bucket. Only touched from the event loop thread."""

    def __init__(self, plan: RatePlan, tokens: float, now: float) -> None:
        self.rate = plan.rate
        self.burst = plan.burst
        self.tokens = min(float(plan.burst), max(0.0, tokens))
        self.updated = now
        self.lock = asyncio.Lock()
        self.waiting = 0

    def refill(self, now: float) -> None:
        if now > self.updated:
            self.tokens = min(float(self.burst), self.tokens + (now - self.updated) * self.rate)
            self.updated = now

    def time_for(self, tokens_needed: float) -> float:
        """Seconds until ``tokens_needed`` whole tokens exist, given the current level."""
        return max(0.0, (tokens_needed - self.tokens) / self.rate)


class RateLimiter:
    """Async token buckets keyed by (account, operation); plans are looked up by operation name."""

    def __init__(
        self,
        clock: Clock,
        plans: Mapping[str, RatePlan],
        default: RatePlan,
        *,
        start_tokens: int | None = None,
    ) -> None:
        self._clock = clock
        self._plans = dict(plans)
        self._default = default
        self._start_tokens = start_tokens
        self._buckets: dict[tuple[str, str], _Bucket] = {}

    def _bucket(self, account: str, operation: str) -> _Bucket:
        key = (account, operation)
        bucket = self._buckets.get(key)
        if bucket is None:
            plan = self._plans.get(operation, self._default)
            start = self._start_tokens
            if start is None:
                start = min(plan.burst, STARTUP_TOKENS)
            bucket = _Bucket(plan, float(start), self._clock.monotonic())
            self._buckets[key] = bucket
        return bucket

    def plan(self, account: str, operation: str) -> RatePlan:
        """The plan in force for this bucket, including any rate learned from headers."""
        bucket = self._bucket(account, operation)
        return RatePlan(rate=bucket.rate, burst=bucket.burst)

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
        bucket.rate = rate

    def on_throttled(self, account: str, operation: str) -> None:
        """The platform said 429: our view of its bucket was too generous, so empty ours."""
        bucket = self._bucket(account, operation)
        bucket.refill(self._clock.monotonic())
        bucket.tokens = 0.0
