"""Planned TikTok stock is always something Update Inventory accepts (1-99,999 in every warehouse)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import anyio
import httpx
import pytest
import respx
from hypothesis import given
from hypothesis import strategies as st

from commerce_mcp.crosschannel.inventory_sync import (
    IN_FLIGHT,
    NOT_ATTEMPTED,
    WRITE_GRACE,
    ApplyReport,
    InventoryPlan,
    PlanRow,
    apply_plan,
)
from commerce_mcp.resilience.clock import SystemClock
from commerce_mcp.resilience.deadline import deadline_scope
from commerce_mcp.resilience.limiter import RateLimiter, RatePlan
from commerce_mcp.resilience.testing import VirtualClock
from commerce_mcp.tiktok.models import Shop, SkuInventoryUpdate
from commerce_mcp.tools.crosschannel import _applied_reply, _plan_fields
from tests.tiktok.tiktok_helpers import MOCKED_BASE, mocked_client

pytestmark = pytest.mark.anyio

warehouse_ids = st.lists(st.from_regex(r"\d{6}", fullmatch=True), max_size=4, unique=True)


def row(warehouses: dict[str, int], after: int, sku: str = "SKU-1") -> PlanRow:
    return PlanRow(
        seller_sku=sku,
        amazon_sku=sku,
        product_id="P1",
        sku_id=f"id-{sku}",
        warehouses=warehouses,
        tiktok_now=sum(warehouses.values()),
        fba_fulfillable=after,
        tiktok_after=after,
    )


@given(ids=warehouse_ids, after=st.integers(0, 99_999), now=st.integers(0, 500))
def test_a_writable_row_puts_exactly_the_target_on_sale_with_at_least_one_everywhere(
    ids: list[str], after: int, now: int
) -> None:
    planned = row(dict.fromkeys(ids, now), after)
    if planned.unwritable:
        assert not ids or after < len(ids)
        return
    levels = planned.levels()
    assert list(levels) == ids
    assert sum(levels.values()) == after
    assert all(1 <= q <= 99_999 for q in levels.values())
    assert levels[ids[0]] == after - (len(ids) - 1)


@given(ids=warehouse_ids.filter(bool), after=st.integers(0, 3))
def test_fewer_units_than_warehouses_cannot_be_written_and_says_what_to_do(
    ids: list[str], after: int
) -> None:
    planned = row(dict.fromkeys(ids, 9), after)
    assert (planned.unwritable is not None) is (after < len(ids))
    if planned.unwritable:
        assert "Seller Center" in planned.unwritable
        assert planned.changes  # still reported, so the seller sees it


def test_a_row_already_at_its_levels_is_not_a_change() -> None:
    assert not row({"A": 8, "B": 1}, 9).changes
    assert row({"A": 9, "B": 0}, 9).changes  # same total, but an empty warehouse to fix
    assert not row({"A": 0}, 0).changes  # sold out and already showing 0: nothing to send


class RecordingTikTok:
    """Stands in for the client: records what would be sent."""

    def __init__(self) -> None:
        self.sent: list[tuple[str, list[SkuInventoryUpdate]]] = []

    async def update_inventory(
        self,
        shop: Any,
        product_id: str,
        skus: list[SkuInventoryUpdate],
        *,
        sending: Callable[[], None] | None = None,
    ) -> None:
        if sending is not None:
            sending()
        self.sent.append((product_id, list(skus)))


async def test_apply_sends_writable_rows_and_reports_the_rest_without_sending_them() -> None:
    plan = InventoryPlan(
        rows=[
            row({"A": 3, "B": 4}, 20, "OK"),
            row({"A": 3}, 0, "SOLD-OUT"),
            row({"A": 5, "B": 5, "C": 5}, 2, "TOO-FEW"),
        ]
    )
    tiktok = RecordingTikTok()
    report = await apply_plan(tiktok=tiktok, shop=None, plan=plan, clock=SystemClock())  # type: ignore[arg-type]
    assert report.updated == ["OK"]
    assert set(report.failed) == {"SOLD-OUT", "TOO-FEW"}
    [(product, updates)] = tiktok.sent
    assert product == "P1"
    assert [
        (u.sku_id, [(lv.warehouse_id, lv.quantity) for lv in u.inventory]) for u in updates
    ] == [("id-OK", [("A", 19), ("B", 1)])]


async def test_apply_sends_nothing_when_no_row_can_be_written() -> None:
    tiktok = RecordingTikTok()
    plan = InventoryPlan(rows=[row({"A": 3}, 0, "SOLD-OUT")])
    report = await apply_plan(tiktok=tiktok, shop=None, plan=plan, clock=SystemClock())  # type: ignore[arg-type]
    assert tiktok.sent == [] and report.updated == [] and list(report.failed) == ["SOLD-OUT"]


class GatedTikTok:
    """Writes that start at once and land only when the test opens the gate; the ``queued`` ones
    wait for the gate in the rate limiter, before they are sent."""

    def __init__(self, queued: frozenset[str] = frozenset()) -> None:
        self.started: list[str] = []
        self.landed: list[str] = []
        self.cut_off: list[str] = []
        self.queued = queued
        self.gate = asyncio.Event()
        self.in_flight = asyncio.Event()  # as many writes started as an apply keeps in flight

    async def update_inventory(
        self,
        shop: Any,
        product_id: str,
        skus: list[SkuInventoryUpdate],
        *,
        sending: Callable[[], None] | None = None,
    ) -> None:
        self.started.append(product_id)
        if len(self.started) == IN_FLIGHT:
            self.in_flight.set()
        try:
            if product_id in self.queued:
                await self.gate.wait()
            if sending is not None:
                sending()
            await self.gate.wait()
        except asyncio.CancelledError:
            self.cut_off.append(product_id)
            raise
        self.landed.append(product_id)


def ten_products() -> InventoryPlan:
    rows = [row({"A": 3}, 20, f"SKU-{n}") for n in range(10)]
    for n, planned in enumerate(rows):
        planned.product_id = f"P{n}"
    return InventoryPlan(rows=rows)


async def test_a_cancelled_apply_lets_writes_in_flight_land_and_reports_what_changed() -> None:
    tiktok = GatedTikTok()
    applying = asyncio.ensure_future(
        apply_plan(tiktok=tiktok, shop=None, plan=ten_products(), clock=VirtualClock())  # type: ignore[arg-type]
    )
    await tiktok.in_flight.wait()
    applying.cancel()
    await asyncio.sleep(0)
    applying.cancel()  # cancelled again while it waits: still waits
    await asyncio.sleep(0)
    tiktok.gate.set()
    report = await applying
    assert report.interrupted
    assert tiktok.landed == tiktok.started == [f"P{n}" for n in range(IN_FLIGHT)]
    assert report.updated == [f"SKU-{n}" for n in range(IN_FLIGHT)]
    assert report.failed == {f"SKU-{n}": NOT_ATTEMPTED for n in range(IN_FLIGHT, 10)}


async def test_writes_unanswered_within_the_grace_are_cut_off_and_reported_unknown() -> None:
    """TikTok does not answer the writes in flight: the interrupted apply waits WRITE_GRACE (virtual
    time), not for as long as the writes might take, and claims neither success nor failure."""
    clock = VirtualClock()
    tiktok = GatedTikTok()
    plan = ten_products()
    # P0 also holds a row it cannot write (never sent, so a known failure whatever happens).
    plan.rows[1].product_id, plan.rows[1].warehouses = "P0", {"A": 3, "B": 3, "C": 3}
    plan.rows[1].tiktok_after = 2
    applying = asyncio.ensure_future(apply_plan(tiktok=tiktok, shop=None, plan=plan, clock=clock))  # type: ignore[arg-type]
    finished_at: list[float] = []
    applying.add_done_callback(lambda _: finished_at.append(clock.monotonic()))
    await tiktok.in_flight.wait()
    cancelled_at = clock.monotonic()
    applying.cancel()
    await clock.sleep(WRITE_GRACE + 1)  # the answers would come only after the grace...
    tiktok.gate.set()  # ...if the apply were still waiting for them
    report = await applying
    assert report.interrupted
    sent = ["P0", "P2", "P3", "P4"]
    assert tiktok.landed == [] and sorted(tiktok.cut_off) == sorted(tiktok.started) == sent
    assert report.updated == []
    assert report.unknown == ["SKU-0", "SKU-2", "SKU-3", "SKU-4"]
    assert report.failed == {"SKU-1": plan.rows[1].unwritable} | {
        f"SKU-{n}": NOT_ATTEMPTED for n in range(5, 10)
    }
    assert finished_at == [cancelled_at + WRITE_GRACE]
    reply = _applied_reply(report, _plan_fields(plan))
    assert reply.result.status == "partial"
    assert reply.result.outcome_unknown == report.unknown
    assert (
        "OUTCOME UNKNOWN SKU-0, SKU-2, SKU-3, SKU-4" in reply.text and "get_inventory" in reply.text
    )


async def test_writes_still_waiting_for_the_rate_limiter_when_the_grace_ends_were_not_attempted() -> (
    None
):
    """Only an update that left can have an unknown outcome: one cut off while it waited for a
    token was never sent."""
    clock = VirtualClock()
    tiktok = GatedTikTok(queued=frozenset({"P1", "P2"}))
    applying = asyncio.ensure_future(
        apply_plan(tiktok=tiktok, shop=None, plan=ten_products(), clock=clock)  # type: ignore[arg-type]
    )
    await tiktok.in_flight.wait()
    applying.cancel()
    await clock.sleep(WRITE_GRACE + 1)
    report = await applying
    assert sorted(tiktok.cut_off) == ["P0", "P1", "P2", "P3"]
    assert report.unknown == ["SKU-0", "SKU-3"]
    assert report.failed == {f"SKU-{n}": NOT_ATTEMPTED for n in (1, 2, *range(4, 10))}


async def test_an_apply_past_its_deadline_returns_its_report_instead_of_an_error() -> None:
    """The deadline's timer cancels the call (real time, but a zero deadline: no waiting)."""
    tiktok = RecordingTikTok()
    async with deadline_scope(SystemClock(), 0):
        report = await apply_plan(
            tiktok=tiktok, shop=None, plan=ten_products(), clock=SystemClock()
        )  # type: ignore[arg-type]
    assert report.interrupted
    assert report.updated == [f"SKU-{product[1:]}" for product, _ in tiktok.sent]
    assert set(report.failed) == {f"SKU-{n}" for n in range(10)} - set(report.updated)


async def test_a_progress_report_that_fails_never_stops_the_writes() -> None:
    async def gone(done: float, total: float, message: str) -> None:
        raise ConnectionError("client went away")

    tiktok = RecordingTikTok()
    report = await apply_plan(
        tiktok=tiktok, shop=None, plan=ten_products(), clock=SystemClock(), progress=gone
    )  # type: ignore[arg-type]
    assert len(tiktok.sent) == 10 and not report.interrupted
    assert report.updated == [f"SKU-{n}" for n in range(10)] and report.failed == {}


async def test_a_call_cancelled_through_anyio_waits_out_the_grace_without_spinning(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The SDK cancels a call with an anyio cancel scope, which delivers the cancellation again on
    every turn of the event loop: the grace is waited out, not spun through."""
    clock = VirtualClock()
    tiktok = GatedTikTok()
    waits = 0
    real_wait = asyncio.wait

    async def counted_wait(*args: Any, **kwargs: Any) -> Any:
        nonlocal waits
        waits += 1
        return await real_wait(*args, **kwargs)

    monkeypatch.setattr(asyncio, "wait", counted_wait)
    scope = anyio.CancelScope()
    reports: list[ApplyReport] = []

    async def call() -> None:
        with scope:
            reports.append(
                await apply_plan(tiktok=tiktok, shop=None, plan=ten_products(), clock=clock)  # type: ignore[arg-type]
            )

    calling = asyncio.ensure_future(call())
    await tiktok.in_flight.wait()
    scope.cancel()
    for _ in range(200):  # two hundred turns of the loop inside the grace
        await asyncio.sleep(0)
    assert waits <= 3
    tiktok.gate.set()
    await calling
    [report] = reports
    assert report.interrupted and report.updated == [f"SKU-{n}" for n in range(IN_FLIGHT)]


async def test_a_write_still_waiting_for_the_rate_limiter_when_the_client_cancels_is_never_sent() -> (
    None
):
    """The client cancels (no deadline passes, so the limiter would let the queued writes go
    during the grace): only the update that had left reaches TikTok; the rest are not attempted.
    The real client, its limiter at one write a second, TikTok mocked with respx."""
    clock = VirtualClock()
    client = mocked_client(clock)
    client.limiter = RateLimiter(clock, {}, RatePlan(1, 1), start_tokens=1, send_jitter=0)
    reached: list[str] = []
    first = asyncio.Event()

    def answer(request: httpx.Request) -> httpx.Response:
        reached.append(request.url.path.split("/")[-3])  # .../products/<id>/inventory/update
        first.set()
        return httpx.Response(200, json={"code": 0, "message": "Success", "data": {}})

    with respx.mock:
        respx.post(url__regex=rf"{MOCKED_BASE}/product/202309/products/\w+/inventory/update").mock(
            side_effect=answer
        )
        applying = asyncio.ensure_future(
            apply_plan(
                tiktok=client,
                shop=Shop(id="1", name="S", cipher="ROW_c"),
                plan=ten_products(),
                clock=clock,
            )
        )
        await first.wait()
        applying.cancel()
        report = await applying
    await client.aclose()
    assert reached == ["P0"]
    assert report.interrupted and report.updated == ["SKU-0"] and report.unknown == []
    assert report.failed == {f"SKU-{n}": NOT_ATTEMPTED for n in range(1, 10)}


async def test_writes_in_flight_at_the_deadline_get_the_grace_to_be_answered() -> None:
    """A write sent before the call's deadline is answered 2 s after it: inside the grace, so it
    counts as updated. (Its attempt timeout must not end with the call's deadline.) The real
    client; the mocked TikTok honours the request's read timeout as httpx would."""
    clock = VirtualClock()
    client = mocked_client(clock)

    async def answer(request: httpx.Request) -> httpx.Response:
        patience = request.extensions["timeout"]["read"]
        if patience < 12:
            await clock.sleep(patience)
            raise httpx.ReadTimeout("no answer in time", request=request)
        await clock.sleep(12)
        return httpx.Response(200, json={"code": 0, "message": "Success", "data": {}})

    with respx.mock:
        respx.post(url__regex=rf"{MOCKED_BASE}/product/202309/products/\w+/inventory/update").mock(
            side_effect=answer
        )
        # The call's deadline in 10 s (its real-time timer never fires here: the test plays it).
        async with deadline_scope(clock, 10):
            applying = asyncio.ensure_future(
                apply_plan(
                    tiktok=client,
                    shop=Shop(id="1", name="S", cipher="ROW_c"),
                    plan=ten_products(),
                    clock=clock,
                )
            )
            await clock.sleep(10)
            applying.cancel()
            report = await applying
    await client.aclose()
    assert report.interrupted and report.updated == [f"SKU-{n}" for n in range(IN_FLIGHT)]
    assert report.failed == {f"SKU-{n}": NOT_ATTEMPTED for n in range(IN_FLIGHT, 10)}
