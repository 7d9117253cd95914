"""Many concurrent order creations for one seller through the limiter (matrix #17)."""

from __future__ import annotations

import asyncio
import json
import random
from typing import Any

import httpx
import pytest
from resilience_support import ServerBucket, amazon_attempt

from commerce_mcp.errors import NotFound, RateLimited
from commerce_mcp.resilience.budget import RetryBudget
from commerce_mcp.resilience.deadline import Deadline
from commerce_mcp.resilience.limiter import SPAPI_PLANS, TIKTOK_DEFAULT_PLAN, RateLimiter
from commerce_mcp.resilience.retry import OperationSpec, call_with_retries
from commerce_mcp.resilience.safe_create import create_once
from commerce_mcp.resilience.testing import VirtualClock
from commerce_mcp.store.ledger import IntentLedger
from commerce_mcp.store.memory import MemoryStore

CREATE = OperationSpec("createFulfillmentOrder", idempotent=False)
GET = OperationSpec("getFulfillmentOrder", idempotent=True)
BASE = "https://sp.example/fba/outbound/2020-07-01/fulfillmentOrders"


class ThrottledMcf:
    """Creates orders, enforcing the published plan per seller with a server-side token bucket."""

    def __init__(self, clock: VirtualClock) -> None:
        self.clock = clock
        self.buckets: dict[str, ServerBucket] = {}
        self.orders: list[tuple[str, str, float]] = []
        self.throttled = 0

    def __call__(self, request: httpx.Request) -> httpx.Response:
        seller = request.headers["x-seller"]
        operation = "createFulfillmentOrder" if request.method == "POST" else "getFulfillmentOrder"
        bucket = self.buckets.setdefault(
            f"{seller}/{operation}", ServerBucket(SPAPI_PLANS[operation], self.clock)
        )
        if not bucket.admit():
            self.throttled += 1
            return httpx.Response(429, json={"errors": [{"code": "QuotaExceeded"}]})
        if request.method == "GET":
            return httpx.Response(404, json={})
        order_id = json.loads(request.content)["sellerFulfillmentOrderId"]
        self.orders.append((seller, order_id, self.clock.monotonic()))
        return httpx.Response(200, json={"payload": {}}, headers={"x-amzn-RateLimit-Limit": "2.0"})


class Client:
    def __init__(self, seconds: float) -> None:
        self.clock = VirtualClock()
        self.server = ThrottledMcf(self.clock)
        self.http = httpx.AsyncClient(transport=httpx.MockTransport(self.server))
        self.limiter = RateLimiter(self.clock, SPAPI_PLANS, TIKTOK_DEFAULT_PLAN)
        self.budget = RetryBudget()
        self.ledger = IntentLedger(MemoryStore(), self.clock)
        self.seconds = seconds

    async def create(self, seller: str, order_id: str) -> Any:
        payload = {"sellerFulfillmentOrderId": order_id, "items": [{"sku": "MUG", "quantity": 1}]}
        headers = {"x-seller": seller}
        deadline = Deadline.after(self.clock, self.seconds)

        async def post() -> dict[str, Any]:
            send = amazon_attempt(
                self.http, "POST", BASE, self.clock, json=payload, headers=headers
            )
            result: dict[str, Any] = await self._call(CREATE, seller, send, deadline)
            return result

        async def lookup() -> dict[str, Any] | None:
            send = amazon_attempt(
                self.http, "GET", f"{BASE}/{order_id}", self.clock, headers=headers
            )
            try:
                found: dict[str, Any] = await self._call(GET, seller, send, deadline)
            except NotFound:
                return None
            return found

        return await create_once(
            key=f"{seller}-{order_id}",
            payload=payload,
            ledger=self.ledger,
            create=post,
            lookup=lookup,
        )

    async def _call(self, op: OperationSpec, seller: str, send: Any, deadline: Deadline) -> Any:
        return await call_with_retries(
            send,
            op=op,
            account=seller,
            limiter=self.limiter,
            budget=self.budget,
            clock=self.clock,
            deadline=deadline,
            rng=random.Random(5),
        )


@pytest.mark.anyio
async def test_fifty_concurrent_creates_are_admitted_in_order_without_a_single_429() -> None:
    """Matrix #17: 50 concurrent createFulfillmentOrder calls for one seller (rate 2, burst 30) from a
    process that has just started (its buckets start empty: the platform's may have been drained):
    FIFO admission one every 0.5 s, no 429 from the server model, exactly 50 orders; another
    seller's calls are not held up behind them."""
    client = Client(seconds=45)
    ids = [f"order-{n:02d}" for n in range(50)]
    busy = [client.create("seller-a", order_id) for order_id in ids]
    other = [client.create("seller-b", f"b-{n}") for n in range(3)]
    await asyncio.gather(*busy, *other)
    assert client.server.throttled == 0
    seller_a = [
        (order_id, at) for seller, order_id, at in client.server.orders if seller == "seller-a"
    ]
    assert [order_id for order_id, _ in seller_a] == ids
    assert len({order_id for order_id, _ in seller_a}) == 50
    times = [at for _, at in seller_a]
    assert times == pytest.approx([0.5 * n for n in range(1, 51)])
    seller_b = [at for seller, _, at in client.server.orders if seller == "seller-b"]
    assert seller_b == pytest.approx([0.5, 1.0, 1.5])


@pytest.mark.anyio
async def test_creates_whose_wait_would_pass_the_deadline_fail_fast_with_retry_after() -> None:
    """Matrix #17: with a 10 s deadline, the calls that cannot get a slot in time fail at once with
    RateLimited(retry_after) and send nothing; the rest go through in order."""
    client = Client(seconds=10)
    results = await asyncio.gather(
        *(client.create("seller-a", f"o-{n:02d}") for n in range(50)), return_exceptions=True
    )
    admitted = [r for r in results if not isinstance(r, BaseException)]
    refused = [r for r in results if isinstance(r, RateLimited)]
    assert len(admitted) + len(refused) == 50
    assert len(admitted) == 19  # one every 0.5 s from an empty bucket, before t = 10
    assert all(r.retry_after is not None and r.retry_after >= 10 for r in refused)
    assert all(not isinstance(r, RateLimited) for r in results[:19])
    assert client.server.throttled == 0
    assert len(client.server.orders) == 19
    assert client.clock.monotonic() < 10
    assert all(isinstance(r, RateLimited) for r in results[19:])
