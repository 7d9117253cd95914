"""Safe order creation against an in-memory MCF-like server with injected faults (matrix #4-#11, #18)."""

from __future__ import annotations

import asyncio
import json
import random
from typing import Any

import httpx
import pytest
from resilience_support import Drip, amazon_attempt

from commerce_mcp.errors import (
    AmbiguousError,
    Conflict,
    InvalidRequest,
    NotFound,
    OutcomeUnknown,
    StateStoreUnavailable,
)
from commerce_mcp.resilience.budget import RetryBudget
from commerce_mcp.resilience.deadline import Deadline
from commerce_mcp.resilience.limiter import SPAPI_PLANS, RateLimiter, RatePlan
from commerce_mcp.resilience.retry import Attempt, OperationSpec, call_with_retries
from commerce_mcp.resilience.safe_create import DUPLICATE_CREATE_CODE, create_once
from commerce_mcp.resilience.testing import VirtualClock
from commerce_mcp.store.ledger import IntentLedger, IntentStatus
from commerce_mcp.store.memory import MemoryStore

BASE = "https://sp.example/fba/outbound/2020-07-01/fulfillmentOrders"
CREATE = OperationSpec("createFulfillmentOrder", idempotent=False)
GET = OperationSpec("getFulfillmentOrder", idempotent=True)
KEY = "tts-shop1-5761234"
PAYLOAD = {"sellerFulfillmentOrderId": KEY, "items": [{"sku": "MUG-1", "quantity": 2}]}


class FakeMcf:
    """Just enough of MCF: create (unique ids) and get, with faults armed per operation."""

    def __init__(self, clock: VirtualClock) -> None:
        self.clock = clock
        self.orders: dict[str, dict[str, Any]] = {}
        self.posts = 0
        self.gets = 0
        self.create_faults: list[str] = []
        self.get_faults: list[str] = []
        self.post_started = asyncio.Event()
        self.release_post: asyncio.Event | None = None

    async def __call__(self, request: httpx.Request) -> httpx.Response:
        if request.method == "POST":
            return await self._create(request)
        self.gets += 1
        fault = self.get_faults.pop(0) if self.get_faults else None
        if fault == "down":
            return httpx.Response(503, json={})
        order_id = request.url.path.rsplit("/", 1)[-1]
        if order_id not in self.orders:
            return httpx.Response(404, json={"errors": [{"code": "NotFound"}]})
        return httpx.Response(200, json={"payload": self.orders[order_id]})

    async def _create(self, request: httpx.Request) -> httpx.Response:
        self.posts += 1
        self.post_started.set()
        if self.release_post is not None:
            await self.release_post.wait()
        fault = self.create_faults.pop(0) if self.create_faults else None
        if fault == "connect":
            raise httpx.ConnectError("connection refused")
        body = json.loads(request.content)
        order_id = body["sellerFulfillmentOrderId"]
        if order_id in self.orders:
            return httpx.Response(
                400, json={"errors": [{"message": "A create request already exists"}]}
            )
        self.orders[order_id] = {"id": order_id, "items": body["items"]}
        if fault == "timeout":
            raise httpx.ReadTimeout("read timed out")
        if fault == "500":
            return httpx.Response(500, text="<html>Internal Server Error</html>")
        if fault == "truncated":
            error = httpx.RemoteProtocolError("peer closed connection")
            return httpx.Response(200, stream=Drip([b'{"payload"'], fail_with=error))
        if fault == "reset":
            return httpx.Response(200, stream=Drip([b"{"], fail_with=httpx.ReadError("reset")))
        if fault == "html":
            return httpx.Response(200, text="<html>ok?</html>")
        return httpx.Response(200, json={"payload": {}})


class Seller:
    """A tiny client: create/lookup through call_with_retries, mapped with the test-only helpers."""

    def __init__(self, server: FakeMcf | None = None, ledger: IntentLedger | None = None) -> None:
        self.clock = server.clock if server else VirtualClock()
        self.server = server or FakeMcf(self.clock)
        self.http = httpx.AsyncClient(transport=httpx.MockTransport(self.server))
        self.limiter = RateLimiter(
            self.clock, SPAPI_PLANS, RatePlan(2, 30), start_tokens=30, send_jitter=0
        )
        self.budget = RetryBudget()
        self.ledger = ledger or IntentLedger(MemoryStore(), self.clock)

    async def _call(self, op: OperationSpec, attempt: Any) -> Any:
        return await call_with_retries(
            attempt,
            op=op,
            account="seller",
            limiter=self.limiter,
            budget=self.budget,
            clock=self.clock,
            deadline=Deadline.after(self.clock, 45),
            rng=random.Random(0),
        )

    async def post(self, payload: dict[str, Any]) -> dict[str, Any]:
        send = amazon_attempt(self.http, "POST", BASE, self.clock, json=payload)

        async def attempt(info: Attempt) -> dict[str, Any]:
            try:
                result: dict[str, Any] = await send(info)
            except InvalidRequest as error:
                if "already exists" in error.message:
                    raise Conflict(error.message, code=DUPLICATE_CREATE_CODE) from error
                raise
            return result

        result: dict[str, Any] = await self._call(CREATE, attempt)
        return result

    async def get(self, key: str) -> dict[str, Any] | None:
        try:
            body = await self._call(
                GET, amazon_attempt(self.http, "GET", f"{BASE}/{key}", self.clock)
            )
        except NotFound:
            return None
        payload: dict[str, Any] = body["payload"]
        return payload

    async def create(self, payload: dict[str, Any] = PAYLOAD, key: str = KEY) -> Any:
        return await create_once(
            key=key,
            payload=payload,
            ledger=self.ledger,
            create=lambda: self.post(payload),
            lookup=lambda: self.get(key),
        )

    async def status(self, key: str = KEY) -> IntentStatus | None:
        intent = await self.ledger.get(key)
        return intent.status if intent else None


@pytest.mark.anyio
async def test_plain_success_records_the_result() -> None:
    seller = Seller()
    outcome = await seller.create()
    assert (outcome.created_now, outcome.reconciled, outcome.replayed) == (True, False, False)
    assert seller.server.posts == 1
    assert await seller.status() is IntentStatus.CREATED


class StoreDownAfterBegin(MemoryStore):
    """A store that goes away once the intent is recorded (Redis killed mid-create)."""

    down = False

    async def compare_and_put(self, *args: Any, **kwargs: Any) -> Any:
        if self.down:
            raise StateStoreUnavailable("state store unavailable: Redis did not answer")
        return await super().compare_and_put(*args, **kwargs)


@pytest.mark.anyio
async def test_an_order_created_while_the_store_goes_down_is_reported_created_then_reconciled() -> (
    None
):
    store = StoreDownAfterBegin()
    seller = Seller(ledger=IntentLedger(store, VirtualClock()))
    original = seller.post

    async def post_then_lose_the_store(payload: dict[str, Any]) -> dict[str, Any]:
        result = await original(payload)
        store.down = True
        return result

    seller.post = post_then_lose_the_store  # type: ignore[method-assign]
    outcome = await seller.create()
    assert outcome.created_now  # the truth, not "state store unavailable"
    assert await seller.status() is IntentStatus.PENDING  # nothing recorded: next call looks
    store.down = False
    seller.post = original  # type: ignore[method-assign]
    again = await seller.create()
    assert (again.created_now, again.reconciled) == (False, True)
    assert seller.server.posts == 1


@pytest.mark.anyio
@pytest.mark.parametrize("fault", ["timeout", "500"])
async def test_commit_then_failure_reconciles_to_exactly_one_order(fault: str) -> None:
    """Matrix #4 (commit, then ReadTimeout) and #5 (commit, then 500): the reconcile GET finds the
    order -> success flagged reconciled; exactly one order, one POST."""
    seller = Seller()
    seller.server.create_faults = [fault]
    outcome = await seller.create()
    assert outcome.reconciled and outcome.created_now  # our own request committed
    assert outcome.result["id"] == KEY
    assert seller.server.posts == 1
    assert len(seller.server.orders) == 1
    assert await seller.status() is IntentStatus.CREATED


@pytest.mark.anyio
async def test_connect_error_resends_with_the_same_id() -> None:
    """Matrix #6: a connect error means nothing was sent: re-POST with the same id; one order."""
    seller = Seller()
    seller.server.create_faults = ["connect"]
    outcome = await seller.create()
    assert not outcome.reconciled
    assert seller.server.posts == 2
    assert list(seller.server.orders) == [KEY]


@pytest.mark.anyio
async def test_failed_reconcile_reports_outcome_unknown_without_a_second_post() -> None:
    """Matrix #7: ReadTimeout, then the reconcile GET fails too -> OutcomeUnknown naming the id and
    the tool to check; no second POST; the intent stays PENDING and a later call resolves it."""
    seller = Seller()
    seller.server.create_faults = ["timeout"]
    seller.server.get_faults = ["down"] * 3
    with pytest.raises(OutcomeUnknown) as caught:
        await seller.create()
    assert caught.value.reference == KEY
    assert "get_mcf_order" in caught.value.describe()
    assert KEY in caught.value.describe()
    assert seller.server.posts == 1
    assert await seller.status() is IntentStatus.PENDING
    outcome = await seller.create()
    assert outcome.reconciled
    # An earlier call's request created it: this call must not claim it as its own.
    assert not outcome.created_now
    assert seller.server.posts == 1
    assert len(seller.server.orders) == 1


@pytest.mark.anyio
async def test_repeated_request_returns_the_stored_result_and_a_changed_one_conflicts() -> None:
    """Matrix #8: the same key and payload again -> the stored result, zero new POSTs; the same key
    with a different payload -> a clear conflict error."""
    seller = Seller()
    first = await seller.create()
    again = await seller.create(payload=dict(reversed(list(PAYLOAD.items()))))
    assert again.replayed
    assert again.result == first.result
    assert seller.server.posts == 1
    changed = {**PAYLOAD, "items": [{"sku": "MUG-1", "quantity": 3}]}
    with pytest.raises(Conflict) as caught:
        await seller.create(payload=changed)
    assert KEY in caught.value.describe()
    assert seller.server.posts == 1


@pytest.mark.anyio
@pytest.mark.parametrize("fault", ["truncated", "reset", "html"])
async def test_broken_create_response_reconciles_instead_of_resending(fault: str) -> None:
    """Matrix #9 (truncated body), #10 (reset mid-response), #11 (HTML body) on a create: reconcile,
    one order, a typed outcome rather than a traceback."""
    seller = Seller()
    seller.server.create_faults = [fault]
    outcome = await seller.create()
    assert outcome.reconciled and outcome.created_now  # found after our own request's doubt
    assert seller.server.posts == 1
    assert len(seller.server.orders) == 1


@pytest.mark.anyio
async def test_lookup_404_after_an_ambiguous_failure_resends_with_the_same_id() -> None:
    seller = Seller()
    original = seller.post
    calls = 0

    async def lost_post(payload: dict[str, Any]) -> dict[str, Any]:
        nonlocal calls
        calls += 1
        if calls == 1:
            raise AmbiguousError("timed out before the server saw it")
        return await original(payload)

    seller.post = lost_post  # type: ignore[method-assign]
    outcome = await seller.create()
    assert not outcome.reconciled
    assert seller.server.posts == 1
    assert seller.server.gets == 1


@pytest.mark.anyio
async def test_duplicate_create_answer_is_reconciled_as_already_created() -> None:
    """Amazon answers a re-sent create with 400 'already exists': treat it as created."""
    seller = Seller()
    seller.server.orders[KEY] = {"id": KEY, "items": PAYLOAD["items"]}
    outcome = await seller.create()
    assert outcome.reconciled and not outcome.created_now  # it existed before we asked
    assert outcome.result["id"] == KEY
    assert seller.server.posts == 1
    assert len(seller.server.orders) == 1
    assert await seller.status() is IntentStatus.CREATED


@pytest.mark.anyio
async def test_duplicate_create_that_the_lookup_cannot_see_is_outcome_unknown() -> None:
    seller = Seller()
    seller.server.orders[KEY] = {"id": KEY, "items": PAYLOAD["items"]}

    async def lagging_get(key: str) -> dict[str, Any] | None:
        return None

    seller.get = lagging_get  # type: ignore[method-assign]
    with pytest.raises(OutcomeUnknown):
        await seller.create()
    assert seller.server.posts == 1
    assert await seller.status() is IntentStatus.PENDING


@pytest.mark.anyio
async def test_rejected_create_is_failed_and_can_be_corrected_under_the_same_id() -> None:
    """Matrix #24 (create half): a server 400 is not retried; the intent is FAILED, so the agent may
    fix the payload and try again under the same deterministic id."""
    seller = Seller()
    bad = {**PAYLOAD, "items": []}

    async def reject(payload: dict[str, Any]) -> dict[str, Any]:
        seller.server.posts += 1
        raise InvalidRequest("InvalidInput: items must not be empty", platform="amazon")

    original = seller.post
    seller.post = reject  # type: ignore[method-assign]
    with pytest.raises(InvalidRequest):
        await seller.create(payload=bad)
    assert await seller.status() is IntentStatus.FAILED
    seller.post = original  # type: ignore[method-assign]
    outcome = await seller.create()
    assert not outcome.replayed
    assert await seller.status() is IntentStatus.CREATED


@pytest.mark.anyio
async def test_cancellation_mid_post_leaves_pending_and_the_next_call_reconciles() -> None:
    """Matrix #18 (create half): MCP cancels the call while the POST is in flight (the server
    commits anyway); the intent stays PENDING and the next call with the same key reconciles."""
    seller = Seller()
    seller.server.release_post = asyncio.Event()
    call = asyncio.create_task(seller.create())
    await seller.server.post_started.wait()
    call.cancel()
    with pytest.raises(asyncio.CancelledError):
        await call
    assert await seller.status() is IntentStatus.PENDING
    seller.server.orders[KEY] = {"id": KEY, "items": PAYLOAD["items"]}  # it went through after all
    seller.server.release_post = None
    outcome = await seller.create()
    assert outcome.reconciled
    # An earlier call's request created it: this call must not claim it as its own.
    assert not outcome.created_now
    assert seller.server.posts == 1


class StoreFailingFrom(MemoryStore):
    """A store that stops answering from its ``fail_from``-th call on (Redis killed at that step)."""

    def __init__(self, fail_from: int | None = None) -> None:
        super().__init__()
        self.fail_from = fail_from
        self.calls = 0

    @property
    def down(self) -> bool:
        return self.fail_from is not None and self.calls >= self.fail_from

    def _step(self) -> None:
        self.calls += 1
        if self.fail_from is not None and self.calls > self.fail_from:
            raise StateStoreUnavailable("state store unavailable: Redis did not answer")

    async def get(self, *args: Any, **kwargs: Any) -> Any:
        self._step()
        return await super().get(*args, **kwargs)

    async def put_if_absent(self, *args: Any, **kwargs: Any) -> Any:
        self._step()
        return await super().put_if_absent(*args, **kwargs)

    async def compare_and_put(self, *args: Any, **kwargs: Any) -> Any:
        self._step()
        return await super().compare_and_put(*args, **kwargs)


class SharedStoreSeller(Seller):
    """A seller whose every platform request first takes a rate-limit token from ``store``, as
    the shared limiter does on Redis: while the store is down, nothing leaves. ``sends`` counts
    requests that did leave (the platform may have seen them)."""

    def __init__(self, store: StoreFailingFrom, lost_posts: int = 0) -> None:
        super().__init__(ledger=IntentLedger(store, VirtualClock()))
        self.store = store
        self.sends = 0
        self.lost_posts = lost_posts

    def _token(self) -> None:
        if self.store.down:
            raise StateStoreUnavailable(
                "state store unavailable: taking a rate-limit token; nothing was sent"
            )

    async def post(self, payload: dict[str, Any]) -> dict[str, Any]:
        self._token()
        self.sends += 1
        if self.lost_posts:
            self.lost_posts -= 1
            raise AmbiguousError("timed out; the server never saw it")
        return await super().post(payload)

    async def get(self, key: str) -> dict[str, Any] | None:
        self._token()
        return await super().get(key)


@pytest.mark.anyio
@pytest.mark.parametrize("fail_from", range(10))
@pytest.mark.parametrize("scenario", ["clean", "committed_then_timeout", "lost_then_resent"])
async def test_a_store_outage_at_any_step_says_nothing_was_sent_only_when_nothing_was(
    scenario: str, fail_from: int
) -> None:
    """The store fails from its n-th call on, for every n and three create histories. The caller
    hears "created" only if the order exists, "nothing was sent" only if no request left, and
    otherwise "outcome unknown" pointing at get_mcf_order; once the store is back, a repeat settles
    on exactly one order."""
    store = StoreFailingFrom(fail_from)
    seller = SharedStoreSeller(store, lost_posts=1 if scenario == "lost_then_resent" else 0)
    if scenario == "committed_then_timeout":
        seller.server.create_faults = ["timeout"]
    error: OutcomeUnknown | StateStoreUnavailable | None = None
    try:
        outcome = await seller.create()
    except (OutcomeUnknown, StateStoreUnavailable) as caught:
        error = caught
    if error is None:
        assert outcome.created_now and seller.server.orders.keys() == {KEY}
    elif isinstance(error, OutcomeUnknown):
        assert "get_mcf_order" in error.describe()
        assert "nothing was sent" not in error.describe()
    else:
        assert "nothing was sent" in error.describe()
        assert seller.sends == 0, error.describe()
    store.fail_from = None
    await seller.create()
    assert seller.server.orders.keys() == {KEY}


@pytest.mark.anyio
async def test_an_order_found_on_reconcile_while_the_store_fails_is_reported_created() -> None:
    """The create times out after Amazon took it; the store dies while we look the order up, and
    the look-up finds it. The answer is "created", not "state store unavailable, nothing sent"."""
    store = StoreFailingFrom()
    seller = Seller(ledger=IntentLedger(store, VirtualClock()))
    seller.server.create_faults = ["timeout"]
    original = seller.get

    async def lookup_as_the_store_dies(key: str) -> dict[str, Any] | None:
        store.fail_from = store.calls
        return await original(key)

    seller.get = lookup_as_the_store_dies  # type: ignore[method-assign]
    outcome = await seller.create()
    assert (outcome.created_now, outcome.reconciled) == (True, True)
    assert outcome.result["id"] == KEY
    store.fail_from = None
    assert await seller.status() is IntentStatus.PENDING  # unrecorded: the next call looks first
    again = await seller.create()
    assert (again.created_now, again.reconciled) == (False, True)
    assert seller.server.posts == 1


@pytest.mark.anyio
async def test_a_refusal_the_store_cannot_record_is_still_reported_as_the_refusal() -> None:
    store = StoreFailingFrom()
    seller = Seller(ledger=IntentLedger(store, VirtualClock()))

    async def refuse(payload: dict[str, Any]) -> dict[str, Any]:
        store.fail_from = store.calls
        raise InvalidRequest("Invalid address")

    original = seller.post
    seller.post = refuse  # type: ignore[method-assign]
    with pytest.raises(InvalidRequest, match="Invalid address"):
        await seller.create()
    store.fail_from = None
    seller.post = original  # type: ignore[method-assign]
    again = await seller.create()  # left PENDING: looked up (absent), then sent under the same id
    assert again.created_now and seller.server.posts == 1
