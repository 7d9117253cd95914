"""The retry loop for every platform call: limiter, classification, backoff, budget, deadline.

Decisions are made per *operation* (is it idempotent?) and per *error type* from
:mod:`commerce_mcp.errors`, never per HTTP method: TikTok searches and SP-API previews are POSTs
that only read, while ``createFulfillmentOrder`` must never be blindly resent.
"""

from __future__ import annotations

import logging
import random
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TypeVar

from commerce_mcp.errors import (
    AmbiguousError,
    AuthError,
    BadResponse,
    CommerceError,
    DeadlineExceeded,
    RateLimited,
    RetryBudgetExhausted,
    TokenExpired,
    TransientError,
)
from commerce_mcp.resilience.backoff import full_jitter
from commerce_mcp.resilience.budget import (
    THROTTLED_RETRY_COST,
    TIMEOUT_RETRY_COST,
    TRANSIENT_RETRY_COST,
    RetryBudget,
)
from commerce_mcp.resilience.clock import Clock
from commerce_mcp.resilience.deadline import Deadline, current_deadline
from commerce_mcp.resilience.limiter import RateLimiter

log = logging.getLogger(__name__)

T = TypeVar("T")


@dataclass(frozen=True)
class OperationSpec:
    """An operation as the retry loop sees it: its name (the limiter key) and idempotency."""

    name: str
    idempotent: bool


@dataclass(frozen=True)
class RetryPolicy:
    """Attempt limits (first attempt included) and backoff constants; see reference §4.2."""

    throttle_attempts: int = 5
    throttle_base: float = 1.0
    transient_attempts: int = 3
    transient_base: float = 0.25
    cap: float = 20.0
    retry_after_cap: float = 60.0
    """The longest server-requested wait slept inside one call; a longer one is reported instead."""
    attempt_timeout: float = 20.0
    bad_response_attempts: int = 2
    """An unparseable answer rarely fixes itself: one retry, then report it."""


DEFAULT_POLICY = RetryPolicy()


@dataclass(frozen=True)
class Attempt:
    """One attempt's 1-based number and timeout (already clamped to the deadline)."""

    number: int
    timeout: float


def budget_was_exhausted(error: BaseException) -> bool:
    """True if ``error`` was given up on because the retry budget ran out."""
    return isinstance(error.__cause__, RetryBudgetExhausted)


def _is_timeout(error: BaseException) -> bool:
    # Duck-typed so this layer needs no HTTP library: httpx's timeouts are `TimeoutException`s.
    cause = error.__cause__ or error.__context__
    if cause is None:
        return False
    if isinstance(cause, TimeoutError):
        return True
    return any(cls.__name__ == "TimeoutException" for cls in type(cause).__mro__)


def _note(error: CommerceError, text: str) -> None:
    """Add how the retry loop ended to the message, keeping code, request id and type intact."""
    if text not in error.message:
        error.message = f"{error.message} [{text}]"


class _Attempts:
    """Bookkeeping for one logical call."""

    def __init__(self) -> None:
        self.sent = 0
        self.throttled = 0
        self.transient = 0
        self.bad_responses = 0
        self.spent = 0
        self.statuses: list[str] = []

    def record(self, error: CommerceError) -> None:
        label = str(error.http_status) if error.http_status is not None else error.kind
        if error.request_id:
            label += f" ({error.request_id})"
        self.statuses.append(label)

    def summary(self) -> str:
        word = "attempt" if self.sent == 1 else "attempts"
        return (
            f"{self.sent} {word}: {', '.join(self.statuses)}"
            if self.statuses
            else f"{self.sent} {word}"
        )


async def call_with_retries(
    attempt: Callable[[Attempt], Awaitable[T]],
    *,
    op: OperationSpec,
    account: str,
    limiter: RateLimiter,
    budget: RetryBudget,
    clock: Clock,
    deadline: Deadline | None = None,
    policy: RetryPolicy = DEFAULT_POLICY,
    refresh_credentials: Callable[[], Awaitable[None]] | None = None,
    rng: random.Random | None = None,
) -> T:
    """Run ``attempt`` until it succeeds or a stop condition is met, and return its result.

    Every attempt (retries included) first takes a limiter token. Throttling empties the bucket
    and backs off (honouring ``retry_after``); transient errors are retried for any operation,
    ambiguous ones only for idempotent operations; an expired token is refreshed and the call
    replayed once. The loop stops on the attempt limits, the deadline or an empty retry budget, and
    raises the last error with a note.
    """
    deadline = deadline if deadline is not None else current_deadline(clock)
    rng = rng if rng is not None else random.Random()
    state = _Attempts()
    replayed_after_refresh = False
    while True:
        if not deadline.expired():
            await limiter.acquire(account, op.name, deadline)
        if deadline.expired():
            raise DeadlineExceeded(
                f"the deadline passed before {op.name} could be sent ({state.summary()})",
                operation=op.name,
                hint="try again shortly",
            )
        state.sent += 1
        info = Attempt(number=state.sent, timeout=deadline.attempt_timeout(policy.attempt_timeout))
        log.debug(
            "%s: attempt %d for %s (timeout %.1fs)", op.name, info.number, account, info.timeout
        )
        try:
            result = await attempt(info)
        except TokenExpired as error:
            state.record(error)
            if refresh_credentials is None or replayed_after_refresh:
                raise _auth_failure(error, op, refreshed=replayed_after_refresh) from error
            replayed_after_refresh = True
            log.debug("%s: token expired, refreshing and replaying once", op.name)
            await refresh_credentials()
            continue
        except RateLimited as error:
            state.record(error)
            limiter.on_throttled(account, op.name)
            state.throttled += 1
            delay = _throttle_delay(error, state, op, policy, deadline, rng)
            _spend(budget, THROTTLED_RETRY_COST, error, state)
        except RetryBudgetExhausted:
            raise
        except TransientError as error:
            state.record(error)
            if isinstance(error, AmbiguousError) and not op.idempotent:
                # The request may have been processed: only the caller can reconcile it.
                _note(error, f"not retried: {op.name} is not idempotent; {state.summary()}")
                raise
            delay = _transient_delay(error, state, policy, deadline, rng)
            cost = TIMEOUT_RETRY_COST if _is_timeout(error) else TRANSIENT_RETRY_COST
            _spend(budget, cost, error, state)
        else:
            budget.on_success(state.spent)
            if state.sent > 1:
                log.debug("%s: succeeded after %s", op.name, state.summary())
            return result
        log.debug("%s: retrying in %.3fs after %s", op.name, delay, state.statuses[-1])
        await clock.sleep(delay)


def _throttle_delay(
    error: RateLimited,
    state: _Attempts,
    op: OperationSpec,
    policy: RetryPolicy,
    deadline: Deadline,
    rng: random.Random,
) -> float:
    if state.throttled >= policy.throttle_attempts:
        _note(error, f"gave up after {state.summary()}")
        raise error
    delay = full_jitter(state.throttled, policy.throttle_base, policy.cap, rng)
    if error.retry_after is not None:
        # The platform said when. Retrying earlier only earns another 429, so either wait the
        # whole hint or, when this call cannot afford it, hand the hint to the agent right away
        # (RateLimited keeps retry_after) instead of sleeping into the deadline.
        if error.retry_after >= deadline.remaining():
            _note(error, f"retry-after beyond this call's deadline; {state.summary()}")
            raise error
        if error.retry_after > policy.retry_after_cap:
            _note(error, f"retry-after longer than one call waits; {state.summary()}")
            raise error
        delay = max(delay, error.retry_after)
    _stop_if_past_deadline(error, delay, state, deadline)
    return delay


def _transient_delay(
    error: TransientError,
    state: _Attempts,
    policy: RetryPolicy,
    deadline: Deadline,
    rng: random.Random,
) -> float:
    state.transient += 1
    if isinstance(error, BadResponse):
        state.bad_responses += 1
        if state.bad_responses >= policy.bad_response_attempts:
            _note(error, f"gave up after {state.summary()}")
            raise error
    if state.transient >= policy.transient_attempts:
        _note(error, f"gave up after {state.summary()}")
        raise error
    delay = full_jitter(state.transient, policy.transient_base, policy.cap, rng)
    _stop_if_past_deadline(error, delay, state, deadline)
    return delay


def _stop_if_past_deadline(
    error: CommerceError, delay: float, state: _Attempts, deadline: Deadline
) -> None:
    if delay >= deadline.remaining():
        _note(error, f"no time left to retry before the deadline; {state.summary()}")
        raise error


def _spend(budget: RetryBudget, cost: int, error: CommerceError, state: _Attempts) -> None:
    if not budget.try_acquire(cost):
        _note(error, f"retry budget exhausted, not retried; {state.summary()}")
        raise error from RetryBudgetExhausted(
            "too many recent retries against this platform; failing fast",
            platform=error.platform,
            operation=error.operation,
            hint="the platform looks unhealthy; wait a minute before trying again",
        )
    state.spent += cost


def _auth_failure(error: TokenExpired, op: OperationSpec, *, refreshed: bool) -> AuthError:
    if refreshed:
        message = "the platform rejected a freshly refreshed access token"
    else:
        message = "the access token expired and cannot be refreshed here"
    return AuthError(
        f"{message} ({error.message})",
        platform=error.platform,
        code=error.code,
        request_id=error.request_id,
        http_status=error.http_status,
        operation=error.operation or op.name,
        hint=error.hint or "check the credentials, or re-authorize the seller account",
    )
