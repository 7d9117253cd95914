"""The retry loop against scripted HTTP faults (httpx.MockTransport) in virtual time.

Every fault runs through both platforms' real classifiers (resilience_support.Upstream): the same
failure, phrased as Amazon and as TikTok Shop phrase it, must be retried the same way.
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Callable
from typing import Any

import httpx
import pytest
from resilience_support import OK_BODY, PLATFORMS, Drip, Upstream

from commerce_mcp.errors import (
    AmbiguousError,
    AuthError,
    BadResponse,
    DeadlineExceeded,
    InvalidRequest,
    RateLimited,
    RetryBudgetExhausted,
    TokenExpired,
    TransientError,
)
from commerce_mcp.resilience.backoff import RETRY_AFTER_CAP
from commerce_mcp.resilience.budget import RetryBudget
from commerce_mcp.resilience.deadline import Deadline, deadline_scope
from commerce_mcp.resilience.limiter import SPAPI_PLANS, RateLimiter, RatePlan
from commerce_mcp.resilience.retry import (
    Attempt,
    OperationSpec,
    budget_was_exhausted,
    call_with_retries,
)
from commerce_mcp.resilience.testing import VirtualClock

GET_ORDER = OperationSpec("getFulfillmentOrder", idempotent=True)
CREATE_ORDER = OperationSpec("createFulfillmentOrder", idempotent=False)
URL = "https://upstream.example/orders/o-1"
OK = OK_BODY

Step = Callable[[httpx.Request], httpx.Response]


class Script:
    """A mock upstream that plays one step per request and records when each request arrived."""

    def __init__(self, clock: VirtualClock, steps: list[Step | Exception]) -> None:
        self.clock = clock
        self.steps = list(steps)
        self.times: list[float] = []
        self.auth: list[str | None] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.times.append(self.clock.monotonic())
        self.auth.append(request.headers.get("authorization"))
        step = self.steps.pop(0) if len(self.steps) > 1 else self.steps[0]
        if isinstance(step, Exception):
            raise step
        return step(request)


@pytest.fixture(params=PLATFORMS, ids=lambda p: p.name)
def up(request: pytest.FixtureRequest) -> Upstream:
    """The platform whose classifier maps the scripted answers (each test runs for both)."""
    platform: Upstream = request.param
    return platform


class Harness:
    def __init__(
        self, up: Upstream, steps: list[Step | Exception], *, budget: RetryBudget | None = None
    ) -> None:
        self.up = up
        self.clock = VirtualClock()
        self.script = Script(self.clock, steps)
        self.limiter = RateLimiter(
            self.clock, SPAPI_PLANS, RatePlan(2, 30), start_tokens=30, send_jitter=0
        )
        self.budget = budget or RetryBudget()
        self.client = httpx.AsyncClient(transport=httpx.MockTransport(self.script))

    async def call(
        self,
        op: OperationSpec = GET_ORDER,
        *,
        seconds: float = 45,
        attempt: Any = None,
        **kwargs: Any,
    ) -> Any:
        return await call_with_retries(
            attempt or self.up.attempt(self.client, "GET", URL, self.clock),
            op=op,
            account="seller-1",
            limiter=self.limiter,
            budget=self.budget,
            clock=self.clock,
            deadline=Deadline.after(self.clock, seconds),
            rng=random.Random(1),
            **kwargs,
        )


@pytest.mark.anyio
async def test_connect_errors_are_retried_with_transient_backoff_and_nothing_is_lost(
    up: Upstream,
) -> None:
    """Matrix #1: ConnectError x2 then 200 -> 3 attempts, delays within U(0, 0.25) and U(0, 0.5)."""
    h = Harness(up, [httpx.ConnectError("refused"), httpx.ConnectError("refused"), up.ok])
    assert await h.call() == OK
    assert len(h.script.times) == 3
    first, second = h.clock.sleeps
    assert 0 <= first <= 0.25
    assert 0 <= second <= 0.5
    assert h.budget.available == 500


@pytest.mark.anyio
async def test_repeated_503_stops_after_three_attempts_and_names_statuses_and_request_ids(
    up: Upstream,
) -> None:
    """Matrix #2: 503 x5 on an idempotent read -> 3 attempts; the error names the op, the statuses
    and the request ids; the budget is 28 lower (two transient retries at 14)."""

    def unavailable(request: httpx.Request) -> httpx.Response:
        return up.answer(*up.unavailable, f"req-{len(h.script.times)}", {})

    h = Harness(up, [unavailable])
    with pytest.raises(TransientError) as caught:
        await h.call()
    text = caught.value.describe()
    assert len(h.script.times) == 3
    assert "3 attempts" in text
    assert "503 (req-1), 503 (req-2), 503 (req-3)" in text
    assert caught.value.request_id == "req-3"
    assert h.budget.available == 500 - 28


@pytest.mark.anyio
async def test_outage_drains_the_budget_then_calls_fail_on_their_first_error(up: Upstream) -> None:
    """Matrix #3: 30 calls in a row all 5xx -> the budget drains; later calls fail on the first error
    noting the exhausted budget; successes refill it."""
    h = Harness(up, [up.respond(up.server_error)])
    first_error_only = 0
    for _ in range(30):
        before = len(h.script.times)
        with pytest.raises(AmbiguousError) as caught:
            await h.call()
        if len(h.script.times) - before == 1:
            first_error_only += 1
            assert budget_was_exhausted(caught.value)
            assert isinstance(caught.value.__cause__, RetryBudgetExhausted)
            assert "retry budget exhausted" in caught.value.describe()
    assert h.budget.available < 14
    assert first_error_only >= 12
    h.script.steps = [up.ok]
    for _ in range(20):
        await h.call()
    assert h.budget.available >= 14
    h.script.steps = [up.respond(up.server_error), up.ok]
    assert await h.call() == OK


@pytest.mark.anyio
async def test_ambiguous_failure_on_a_non_idempotent_call_is_never_resent(up: Upstream) -> None:
    """Matrix #4/#5 (retry half): a 500 or read timeout on create is raised at once for the caller to
    reconcile; exactly one POST was sent."""
    for fault in [up.respond(up.server_error), httpx.ReadTimeout("timed out")]:
        h = Harness(up, [fault, up.ok])
        with pytest.raises(AmbiguousError) as caught:
            await h.call(CREATE_ORDER)
        assert len(h.script.times) == 1
        assert "not idempotent" in caught.value.describe()


@pytest.mark.anyio
async def test_connect_error_on_create_is_resent_because_nothing_was_sent(up: Upstream) -> None:
    """Matrix #6 (retry half): a connect error proves the POST never left, so it is resent."""
    h = Harness(up, [httpx.ConnectError("refused"), up.ok])
    assert await h.call(CREATE_ORDER) == OK
    assert len(h.script.times) == 2


def truncated(request: httpx.Request) -> httpx.Response:
    error = httpx.RemoteProtocolError("peer closed connection (received 9 bytes, expected 100)")
    return httpx.Response(
        200, headers={"content-length": "100"}, stream=Drip([b'{"payload'], fail_with=error)
    )


def reset(request: httpx.Request) -> httpx.Response:
    return httpx.Response(200, stream=Drip([b'{"pay'], fail_with=httpx.ReadError("reset by peer")))


@pytest.mark.anyio
@pytest.mark.parametrize("fault", [truncated, reset], ids=["truncated", "reset"])
async def test_broken_body_is_retried_on_a_read_and_raised_on_a_create(
    up: Upstream, fault: Step
) -> None:
    """Matrix #9 (truncated body) and #10 (connection reset mid-response): reads retry and succeed;
    a create raises AmbiguousError (typed, no raw traceback) for reconciliation."""
    h = Harness(up, [fault, up.ok])
    assert await h.call() == OK
    assert len(h.script.times) == 2
    h = Harness(up, [fault, up.ok])
    with pytest.raises(AmbiguousError):
        await h.call(CREATE_ORDER)
    assert len(h.script.times) == 1


def html(request: httpx.Request) -> httpx.Response:
    return httpx.Response(
        200, text="<html>oops</html>", headers={"content-type": "application/json"}
    )


def not_an_object(request: httpx.Request) -> httpx.Response:
    return httpx.Response(200, json=[1, 2, 3])


@pytest.mark.anyio
@pytest.mark.parametrize("fault", [html, not_an_object], ids=["html", "list"])
async def test_unparseable_body_is_retried_once_then_reported_with_status_and_snippet(
    up: Upstream,
    fault: Step,
) -> None:
    """Matrix #11: 200 with HTML or a non-object -> BadResponse; a read is retried once only."""
    h = Harness(up, [fault])
    with pytest.raises(BadResponse) as caught:
        await h.call()
    assert len(h.script.times) == 2
    assert caught.value.http_status == 200
    h = Harness(up, [fault, up.ok])
    assert await h.call() == OK


@pytest.mark.anyio
async def test_429_empties_the_bucket_and_backs_off_before_one_more_try(up: Upstream) -> None:
    """Matrix #13: a bare 429 empties the bucket; the next attempt comes at least 1/rate later and
    succeeds; no other caller for that operation slips in before the bucket refills."""
    h = Harness(up, [up.respond(up.throttled), up.ok])
    other_sent: list[float] = []

    async def other_caller() -> None:
        await asyncio.sleep(0)
        await h.limiter.acquire("seller-1", GET_ORDER.name, Deadline.after(h.clock, 45))
        other_sent.append(h.clock.monotonic())

    result, _ = await asyncio.gather(h.call(), other_caller())
    assert result == OK
    first, second = h.script.times
    assert second - first >= 0.5
    assert other_sent[0] >= 0.5
    assert h.limiter.tokens("seller-1", "createFulfillmentOrder") == 30


@pytest.mark.anyio
async def test_retry_after_is_honoured_and_one_beyond_the_deadline_fails_fast(up: Upstream) -> None:
    """Matrix #15: Retry-After 7 waits 7 s; an HTTP-date waits until then; -1 and abc are ignored
    (jittered backoff instead); 99999 is beyond the deadline -> RateLimited(retry_after=<the parser's cap>) at once."""
    h = Harness(up, [up.respond(up.throttled, **{"retry-after": "7"}), up.ok])
    assert await h.call() == OK
    assert h.script.times[1] - h.script.times[0] >= 7

    for garbage in ["-1", "abc"]:
        h = Harness(up, [up.respond(up.throttled, **{"retry-after": garbage}), up.ok])
        assert await h.call() == OK
        assert h.clock.sleeps[0] <= 1.0

    h = Harness(
        up, [up.respond(up.throttled, **{"retry-after": "Thu, 01 Jan 2026 00:00:12 GMT"}), up.ok]
    )
    assert await h.call() == OK
    assert h.script.times[1] >= 12

    h = Harness(up, [up.respond(up.throttled, **{"retry-after": "99999"}), up.ok])
    with pytest.raises(RateLimited) as caught:
        await h.call()
    assert caught.value.retry_after == RETRY_AFTER_CAP  # bounded by the one parser
    assert len(h.script.times) == 1
    assert h.clock.monotonic() == 0


@pytest.mark.anyio
async def test_a_retry_after_longer_than_one_call_waits_is_reported_not_cut_short(
    up: Upstream,
) -> None:
    """A 100 s hint inside a 600 s deadline: retrying after the 60 s in-call cap would only earn
    another 429, so the agent hears "retry after 100 s" at once and nothing more is sent."""
    h = Harness(up, [up.respond(up.throttled, **{"retry-after": "100"}), up.ok])
    with pytest.raises(RateLimited) as caught:
        await h.call(seconds=600)
    assert caught.value.retry_after == 100
    assert len(h.script.times) == 1
    assert h.clock.sleeps == []
    assert "retry after 100" in caught.value.describe()


@pytest.mark.anyio
async def test_a_retry_after_within_the_cap_is_waited_in_full(up: Upstream) -> None:
    h = Harness(up, [up.respond(up.throttled, **{"retry-after": "50"}), up.ok])
    assert await h.call(seconds=600) == OK
    assert h.script.times[1] - h.script.times[0] >= 50


@pytest.mark.anyio
async def test_throttling_gives_up_after_five_attempts(up: Upstream) -> None:
    h = Harness(up, [up.respond(up.throttled)])
    with pytest.raises(RateLimited) as caught:
        await h.call(seconds=600)
    assert len(h.script.times) == 5
    assert "5 attempts" in caught.value.describe()
    assert h.budget.available == 500 - 4 * 5


@pytest.mark.anyio
async def test_no_retry_is_started_that_would_end_after_the_deadline(up: Upstream) -> None:
    h = Harness(up, [up.respond(up.unavailable)])
    with pytest.raises(TransientError) as caught:
        await h.call(seconds=0.01)
    assert h.clock.monotonic() == 0
    assert len(h.script.times) == 1
    assert "deadline" in caught.value.describe()


@pytest.mark.anyio
async def test_an_expired_deadline_sends_nothing(up: Upstream) -> None:
    h = Harness(up, [up.ok])
    with pytest.raises(DeadlineExceeded):
        await h.call(seconds=0)
    assert h.script.times == []


@pytest.mark.anyio
async def test_permanent_errors_are_not_retried_and_keep_the_platform_details(up: Upstream) -> None:
    """Matrix #24 (retry half): a 400 passes through with its message and request id, one attempt."""
    h = Harness(up, [up.respond(up.rejected, "r9")])
    with pytest.raises(InvalidRequest) as caught:
        await h.call()
    assert len(h.script.times) == 1
    assert caught.value.request_id == "r9"
    assert up.rejected_code in caught.value.describe()


class Credentials:
    def __init__(self) -> None:
        self.token = "old-token"
        self.refreshes = 0

    async def refresh(self) -> None:
        self.refreshes += 1
        self.token = f"new-token-{self.refreshes}"


@pytest.mark.anyio
async def test_expired_token_is_refreshed_and_the_call_replayed_once(up: Upstream) -> None:
    """Matrix #21: 403 expired -> refresh + replay once (not counted as a retry); success."""
    creds = Credentials()
    h = Harness(up, [up.respond(up.expired), up.ok])

    async def attempt(info: Attempt) -> dict[str, Any]:
        send = up.attempt(h.client, "GET", URL, h.clock, headers={"authorization": creds.token})
        result: dict[str, Any] = await send(info)
        return result

    assert await h.call(attempt=attempt, refresh_credentials=creds.refresh) == OK
    assert h.script.auth == ["old-token", "new-token-1"]
    assert h.clock.sleeps == []
    assert h.budget.available == 500


@pytest.mark.anyio
async def test_expired_token_twice_in_a_row_becomes_an_auth_error_without_looping(
    up: Upstream,
) -> None:
    """Matrix #21: a second 403 expired after the refresh surfaces AuthError (no loop)."""
    creds = Credentials()
    h = Harness(up, [up.respond(up.expired)])
    with pytest.raises(AuthError) as caught:
        await h.call(
            attempt=up.attempt(h.client, "GET", URL, h.clock), refresh_credentials=creds.refresh
        )
    assert not isinstance(caught.value, TokenExpired)
    assert creds.refreshes == 1
    assert len(h.script.times) == 2
    h = Harness(up, [up.respond(up.expired)])
    with pytest.raises(AuthError):
        await h.call()
    assert len(h.script.times) == 1


@pytest.mark.anyio
async def test_every_attempt_takes_a_limiter_token_and_attempts_get_clamped_timeouts() -> None:
    clock = VirtualClock()
    limiter = RateLimiter(clock, {}, RatePlan(1, 5), start_tokens=5, send_jitter=0)
    seen: list[Attempt] = []

    async def attempt(info: Attempt) -> str:
        seen.append(info)
        if info.number < 3:
            raise TransientError("flaky")
        return "done"

    result = await call_with_retries(
        attempt,
        op=GET_ORDER,
        account="a",
        limiter=limiter,
        budget=RetryBudget(),
        clock=clock,
        deadline=Deadline.after(clock, 12),
        rng=random.Random(3),
    )
    assert result == "done"
    assert [a.number for a in seen] == [1, 2, 3]
    assert seen[0].timeout == 12
    assert all(a.timeout <= 12 for a in seen)
    assert limiter.tokens("a", GET_ORDER.name) == pytest.approx(2 + clock.monotonic(), abs=1e-9)


@pytest.mark.anyio
async def test_the_deadline_scope_is_used_when_no_deadline_is_passed() -> None:
    clock = VirtualClock()
    limiter = RateLimiter(clock, {}, RatePlan(1, 1), start_tokens=1, send_jitter=0)
    timeouts: list[float] = []

    async def attempt(info: Attempt) -> None:
        timeouts.append(info.timeout)

    async with deadline_scope(clock, 3):
        await call_with_retries(
            attempt, op=GET_ORDER, account="a", limiter=limiter, budget=RetryBudget(), clock=clock
        )
    assert timeouts == [3]


@pytest.mark.anyio
async def test_attempts_are_logged_at_debug(up: Upstream, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG, logger="commerce_mcp.resilience.retry")
    h = Harness(up, [httpx.ConnectError("refused"), up.ok])
    await h.call()
    messages = [record.getMessage() for record in caplog.records]
    assert any("attempt 2" in message for message in messages)
    assert all(record.levelno == logging.DEBUG for record in caplog.records)
