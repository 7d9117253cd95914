"""Keep TikTok Shop stock in line with what FBA can really ship.

Plan: for each TikTok SKU that maps to an Amazon SKU, TikTok after = max(0, FBA fulfillable - buffer).
TikTok's inventory update takes 1-99,999 in every warehouse of the SKU, never 0, so the total goes on
the SKU's first warehouse and each other warehouse keeps the minimum of 1, taken out of that total
(whatever warehouse an order names, FBA ships it). A total smaller than the warehouse count, sold out
included, cannot be written at all: such a row is reported, not sent.
Apply: one inventory update per product (the endpoint is per product), reporting progress and, on a
partial failure, exactly which SKUs were updated and which were not. A progress report that cannot be
delivered never stops the job. The call's deadline or cancellation stops it: no new write starts, writes
in flight get :data:`WRITE_GRACE` to be answered, and the report says which SKUs changed, which were not
attempted and which were sent without an answer (outcome unknown), never guessing.

Planning streams: a product page is reduced to what the rows need and dropped, so memory grows with
the plan, not with the product models and FBA summaries behind it.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import math
from collections.abc import AsyncIterator, Callable, Coroutine, Iterable, Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, NamedTuple

import anyio

from commerce_mcp.crosschannel.skumap import SkuMap
from commerce_mcp.errors import CommerceError, InvalidRequest
from commerce_mcp.progress import Progress
from commerce_mcp.resilience.clock import Clock
from commerce_mcp.resilience.deadline import deadline_extended
from commerce_mcp.resilience.paging import PageGuard
from commerce_mcp.tiktok.models import (
    MAX_STOCK_QUANTITY,
    MIN_STOCK_QUANTITY,
    InventoryLevel,
    SkuInventoryUpdate,
)

if TYPE_CHECKING:
    from commerce_mcp.amazon.client import AmazonMcfClient
    from commerce_mcp.tiktok.client import TikTokShopClient
    from commerce_mcp.tiktok.models import Page, Product, Shop

log = logging.getLogger(__name__)

MAX_PRODUCT_PAGES = 200  # 20,000 products: far beyond a TikTok shop, a loop guard not a limit
PRODUCT_PAGE = 100  # the search's largest page
SEARCH_SKUS = 10  # the search filter takes at most 10 seller SKUs (error 12019027)
FBA_SKUS = 50  # getInventorySummaries takes at most 50 sellerSkus
IN_FLIGHT = 4
"""Requests of one kind a plan or apply keeps in flight. One at a time leaves the rate plan unused
while each response travels (50 QPS allows a request every 20 ms); a few keep the limiter, not
latency, in charge. More would only queue inside the limiter, where a wait longer than the call's
deadline fails at once."""


@dataclass(slots=True)
class PlanRow:
    seller_sku: str
    amazon_sku: str
    product_id: str
    sku_id: str
    warehouses: dict[str, int]
    tiktok_now: int
    fba_fulfillable: int
    tiktok_after: int

    @property
    def unwritable(self) -> str | None:
        """Why TikTok's inventory update cannot express this row, or None when it can."""
        if not self.warehouses:
            return f"{self.seller_sku} has no TikTok warehouse to put stock in"
        count = len(self.warehouses)
        if self.tiktok_after >= MIN_STOCK_QUANTITY * count:
            return None
        where = "a warehouse" if count == 1 else f"each of its {count} warehouses"
        return (
            f"TikTok's inventory update needs at least {MIN_STOCK_QUANTITY} in {where}, so it "
            f"cannot set {self.seller_sku} to {self.tiktok_after}; deactivate the SKU in TikTok "
            "Shop Seller Center until FBA has stock"
        )

    def levels(self) -> dict[str, int]:
        """The quantity to write per warehouse: the total on the first, the minimum elsewhere."""
        others = list(self.warehouses)[1:]
        first = min(self.tiktok_after - MIN_STOCK_QUANTITY * len(others), MAX_STOCK_QUANTITY)
        return dict.fromkeys(list(self.warehouses)[:1], first) | dict.fromkeys(
            others, MIN_STOCK_QUANTITY
        )

    @property
    def changes(self) -> bool:
        if self.unwritable:
            return self.tiktok_now != self.tiktok_after
        return self.warehouses != self.levels()


@dataclass
class InventoryPlan:
    rows: list[PlanRow] = field(default_factory=list)
    unmapped: list[str] = field(default_factory=list)
    not_in_fba: list[str] = field(default_factory=list)

    @property
    def changes(self) -> list[PlanRow]:
        return [row for row in self.rows if row.changes]


#: Why a SKU was not written when the apply was interrupted before its product was sent.
NOT_ATTEMPTED = "not attempted: the call was interrupted (deadline or cancellation); run it again"
WRITE_GRACE = 5.0
"""Seconds an interrupted apply still waits for writes already sent. An update normally answers in
well under a second; one still unanswered after this is likely in a slow retry (an attempt may take
20 s), and waiting that out would keep a cancelled call, or one past its deadline, running long after
its caller stopped listening. Such writes are cut off and reported as outcome unknown."""
OUTCOME_UNKNOWN = (
    "outcome unknown: the update was sent, but the call was interrupted before TikTok answered; "
    "check the SKU with get_inventory before syncing it again"
)


@dataclass
class ApplyReport:
    updated: list[str] = field(default_factory=list)
    failed: dict[str, str] = field(default_factory=dict)
    #: Sent, but no answer came before the interrupted call stopped waiting: neither updated nor
    #: failed as far as anyone here knows.
    unknown: list[str] = field(default_factory=list)
    #: The call's deadline or a cancellation stopped it: ``failed`` includes what was not attempted.
    interrupted: bool = False


async def product_pages(
    tiktok: TikTokShopClient, shop: Shop, seller_skus: list[str] | None
) -> AsyncIterator[Page[Product]]:
    """Every page of products (or of those with the given seller SKUs), one after another.

    Stops with PaginationStopped rather than planning from a silently partial list.
    """
    token: str | None = None
    guard = PageGuard(max_pages=MAX_PRODUCT_PAGES)
    while True:
        page = await tiktok.search_products(
            shop, seller_skus=seller_skus, page_size=PRODUCT_PAGE, page_token=token
        )
        yield page
        token = guard.follow(page.next_page_token, platform="tiktok", operation="search_products")
        if token is None:
            return


def check_scope(skus: list[str] | None) -> None:
    """Refuse an empty SKU list: None means every SKU, so [] would otherwise silently mean "all".

    An empty list usually comes from a filter that matched nothing ("sync the flagged SKUs" when none
    are flagged); planning the whole shop then would do the opposite of what was asked.
    """
    if skus is not None and not skus:
        raise InvalidRequest(
            "skus is an empty list, so there is nothing to sync",
            hint="pass no skus argument to plan every mapped SKU, or list the SKUs to sync",
        )


async def build_plan(
    *,
    tiktok: TikTokShopClient,
    amazon: AmazonMcfClient,
    shop: Shop,
    skumap: SkuMap,
    skus: list[str] | None,
    buffer: int,
    progress: Progress | None = None,
) -> InventoryPlan:
    """Compare every (skus None) or the given TikTok SKUs with FBA's fulfillable quantity.

    Pages are streamed: each product page is reduced to the few fields a row needs and dropped, and
    FBA is asked about Amazon SKUs in batches as soon as they are known, alongside the TikTok reads
    (the two platforms limit separately, so neither waits for the other). With explicit ``skus`` the
    Amazon SKUs are known before any search, and the searches (10 seller SKUs each, the API's limit)
    run a few at a time through the limiter instead of one after another.
    """
    check_scope(skus)
    steps = _Steps(progress)
    collected = _Collected(skumap, set(skus) if skus else None)
    fba = _FbaLookup(amazon, steps)

    async def search(batches: Iterator[list[str] | None]) -> None:
        for batch in batches:  # shared by the searchers: each takes the next batch
            async for page in product_pages(tiktok, shop, batch):
                # With explicit skus every Amazon SKU is known already: this adds nothing new.
                fba.add(collected.take(page.items))
                if page.next_page_token:
                    steps.expect(1)
                await steps.step("product search")

    if skus:
        # Every Amazon SKU is known before any search: FBA need not wait for TikTok at all.
        fba.add(sku for s in skus if (sku := skumap.to_amazon(s)) is not None)
        fba.close()
        batches = iter([skus[i : i + SEARCH_SKUS] for i in range(0, len(skus), SEARCH_SKUS)])
        steps.expect(math.ceil(len(skus) / SEARCH_SKUS))
        read_tiktok = _together(search(batches) for _ in range(IN_FLIGHT))
    else:

        async def listing() -> None:
            await search(iter([None]))  # one listing: each page's token comes from the last
            fba.close()

        steps.expect(1)
        read_tiktok = listing()
    await _together([read_tiktok, *(fba.work() for _ in range(IN_FLIGHT))])
    return collected.plan(fba.fulfillable, buffer)


async def _together(work: Iterable[Coroutine[Any, Any, None]]) -> None:
    """Run the coroutines concurrently; the first failure cancels the rest and is raised as itself
    (the tool layer explains a CommerceError, not a group of them)."""
    try:
        async with asyncio.TaskGroup() as group:
            for coroutine in work:
                group.create_task(coroutine)
    except ExceptionGroup as failed:
        raise failed.exceptions[0] from None


class _Steps:
    """Requests done of the requests known so far, reported after each one.

    The total grows as work is discovered (another page, another FBA batch), and the last report has
    done == total.
    """

    def __init__(self, progress: Progress | None) -> None:
        self._progress = progress
        self._counts: dict[str, int] = {}
        self.done = 0
        self.total = 0

    def expect(self, count: int) -> None:
        self.total += count

    async def step(self, what: str) -> None:
        self.done += 1
        self._counts[what] = self._counts.get(what, 0) + 1
        done = ", ".join(f"{n} {kind}(s)" for kind, n in self._counts.items())
        await _tell(self._progress, self.done, max(self.total, self.done), f"planning: {done}")


async def _tell(progress: Progress | None, done: float, total: float, message: str) -> None:
    """Report progress; a report that cannot be delivered (the client went away) never stops the
    job, which may be half-way through writes the seller needs to hear about."""
    if progress is None:
        return
    try:
        await progress(done, total, message)
    except Exception:
        log.debug("progress report %r not delivered", message, exc_info=True)


class _Entry(NamedTuple):
    """What a plan row needs from a TikTok SKU, without the product around it."""

    seller_sku: str
    amazon_sku: str
    product_id: str
    sku_id: str
    warehouses: tuple[tuple[str, int], ...]


class _Collected:
    """The TikTok side of the plan, gathered page by page."""

    def __init__(self, skumap: SkuMap, wanted: set[str] | None) -> None:
        self._skumap = skumap
        self._wanted = wanted
        self._seen: set[str] = set()
        self.entries: list[_Entry] = []
        self.unmapped: list[str] = []

    def take(self, products: list[Product]) -> list[str]:
        """Keep the mapped SKUs of these products; the Amazon SKUs they map to."""
        amazon_skus = []
        for product in products:
            for sku in product.skus:
                seller_sku = sku.seller_sku
                if not seller_sku or (self._wanted is not None and seller_sku not in self._wanted):
                    continue
                # A product holding two wanted SKUs comes back from two searches: count it once.
                if sku.id in self._seen:
                    continue
                self._seen.add(sku.id)
                amazon_sku = self._skumap.to_amazon(seller_sku)
                if amazon_sku is None:
                    self.unmapped.append(seller_sku)
                    continue
                warehouses = tuple((w.warehouse_id, w.quantity or 0) for w in sku.inventory)
                self.entries.append(_Entry(seller_sku, amazon_sku, product.id, sku.id, warehouses))
                amazon_skus.append(amazon_sku)
        return amazon_skus

    def plan(self, fulfillable: dict[str, int], buffer: int) -> InventoryPlan:
        plan = InventoryPlan(unmapped=sorted(self.unmapped))
        for entry in self.entries:
            fba = fulfillable.get(entry.amazon_sku)
            if fba is None:
                plan.not_in_fba.append(entry.seller_sku)
                continue
            warehouses = dict(entry.warehouses)
            plan.rows.append(
                PlanRow(
                    seller_sku=entry.seller_sku,
                    amazon_sku=entry.amazon_sku,
                    product_id=entry.product_id,
                    sku_id=entry.sku_id,
                    warehouses=warehouses,
                    tiktok_now=sum(warehouses.values()),
                    fba_fulfillable=fba,
                    tiktok_after=max(0, min(fba - buffer, MAX_STOCK_QUANTITY)),
                )
            )
        plan.rows.sort(key=lambda r: r.seller_sku)
        plan.not_in_fba.sort()
        return plan


class _FbaLookup:
    """FBA fulfillable quantity per Amazon SKU, asked in batches of 50 as the SKUs become known."""

    def __init__(self, amazon: AmazonMcfClient, steps: _Steps) -> None:
        self._amazon = amazon
        self._steps = steps
        self._known: set[str] = set()
        self._batch: list[str] = []
        self._queue: asyncio.Queue[list[str] | None] = asyncio.Queue()
        self.fulfillable: dict[str, int] = {}

    def add(self, amazon_skus: Iterable[str]) -> None:
        for sku in amazon_skus:
            if sku not in self._known:
                self._known.add(sku)
                self._batch.append(sku)
                if len(self._batch) == FBA_SKUS:
                    self._send()

    def close(self) -> None:
        """No more SKUs: ask about the last partial batch and let the workers finish."""
        if self._batch:
            self._send()
        for _ in range(IN_FLIGHT):
            self._queue.put_nowait(None)

    def _send(self) -> None:
        self._queue.put_nowait(self._batch)
        self._batch = []
        self._steps.expect(1)

    async def work(self) -> None:
        while (batch := await self._queue.get()) is not None:
            async for summary in self._amazon.iter_all_inventory(batch):
                if summary.seller_sku:
                    self.fulfillable[summary.seller_sku] = summary.fulfillable_quantity
            await self._steps.step("FBA lookup")


async def apply_plan(
    *,
    tiktok: TikTokShopClient,
    shop: Shop,
    plan: InventoryPlan,
    clock: Clock,
    progress: Progress | None = None,
) -> ApplyReport:
    """Write the planned quantities, one request per product, a few in flight through the limiter;
    never stops at the first failure. ``updated`` keeps the plan's order.

    Cancelled (the call's deadline, the client): no new write starts, those in flight get
    :data:`WRITE_GRACE` (on ``clock``) to finish, and the report comes back ``interrupted``,
    listing what was written, what was not attempted and what is unknown.
    """
    by_product: dict[str, list[PlanRow]] = {}
    for row in plan.changes:
        by_product.setdefault(row.product_id, []).append(row)
    outcomes: dict[str, dict[str, str | None]] = {}  # product -> SKU -> failure (None: updated)
    sent: set[str] = set()  # products whose update left for TikTok (past the rate limiter)
    queue = iter(by_product.items())
    total = len(by_product)
    updated = 0
    stopping = asyncio.Event()

    def leaving(product_id: str) -> None:
        # The interruption starts no new write: an update still waiting for the rate limiter then
        # (the limiter would let it go during the grace) is stopped before it leaves.
        if stopping.is_set():
            raise _Unsent
        sent.add(product_id)

    async def write() -> None:
        nonlocal updated
        for product_id, rows in queue:  # shared: each writer takes the next product
            if stopping.is_set():
                return
            try:
                outcome = outcomes[product_id] = await _write_product(
                    tiktok, shop, product_id, rows, sending=functools.partial(leaving, product_id)
                )
            except _Unsent:
                return  # not in outcomes nor sent: reported not attempted
            updated += sum(1 for failure in outcome.values() if failure is None)
            await _tell(progress, len(outcomes), total, f"updated {updated} SKU(s)")

    async def write_all() -> None:
        # The writers' deadline is the call's plus the grace, or a write sent just before the
        # call's deadline would time out with it (its attempt timeout ends there) instead of
        # getting the grace; _outlast, not a timer, ends the grace.
        with deadline_extended(WRITE_GRACE):
            await _together(write() for _ in range(IN_FLIGHT))

    # The writers run in a task of their own, so cancelling this call does not cut a write off
    # at once (sent, but nobody told whether it landed): it gets the grace first.
    writers = asyncio.ensure_future(write_all())
    report = ApplyReport()
    try:
        await asyncio.shield(writers)
    except asyncio.CancelledError:
        stopping.set()
        report.interrupted = True
        if await _outlast(writers, clock, WRITE_GRACE):
            writers.result()  # a bug in a writer is raised, not hidden behind the interruption
    for product_id, rows in by_product.items():
        if product_id in outcomes:
            outcome = outcomes[product_id]
        elif product_id in sent:  # cut off after the grace: rows it could not send stay failed
            outcome = {r.seller_sku: r.unwritable or OUTCOME_UNKNOWN for r in rows}
        else:
            outcome = dict.fromkeys((r.seller_sku for r in rows), NOT_ATTEMPTED)
        for seller_sku, failure in outcome.items():
            if failure is None:
                report.updated.append(seller_sku)
            elif failure == OUTCOME_UNKNOWN:
                report.unknown.append(seller_sku)
            else:
                report.failed[seller_sku] = failure
    if report.interrupted:
        # The reply may never reach anyone (a cancelled call's is dropped): the log keeps it.
        log.warning(
            "inventory sync interrupted: updated %s; not attempted %s; outcome unknown %s",
            ", ".join(report.updated) or "nothing",
            ", ".join(s for s, why in report.failed.items() if why == NOT_ATTEMPTED) or "nothing",
            ", ".join(report.unknown) or "nothing",
        )
    return report


class _Unsent(Exception):
    """Raised by an apply's ``sending`` hook to keep an update from leaving once it is interrupted."""


async def _outlast(task: asyncio.Future[None], clock: Clock, grace: float) -> bool:
    """Wait up to ``grace`` seconds of ``clock`` for ``task``, whatever cancellation reaches the
    waiter meanwhile; then cancel it. True when it finished by itself.

    Shielded from the caller's cancel scope: the SDK cancels a call through anyio, which delivers
    the cancellation again on every turn of the event loop, and the loops below would spin the CPU
    for the whole grace. A plain ``Task.cancel()`` (the deadline's) still arrives once, and is
    waited out like the first."""
    with anyio.CancelScope(shield=True):
        timer = asyncio.ensure_future(clock.sleep(grace))
        try:
            while not task.done() and not timer.done():
                try:
                    await asyncio.wait([task, timer], return_when=asyncio.FIRST_COMPLETED)
                except asyncio.CancelledError:
                    continue
        finally:
            timer.cancel()
        finished = task.done()
        task.cancel()
        while not task.done():  # the writers unwind at once: nothing in them outlives a cancel
            try:
                await asyncio.wait([task])
            except asyncio.CancelledError:
                continue
    return finished


async def _write_product(
    tiktok: TikTokShopClient,
    shop: Shop,
    product_id: str,
    rows: list[PlanRow],
    *,
    sending: Callable[[], None],
) -> dict[str, str | None]:
    """One product's update: each SKU's failure reason, or None for the SKUs written. ``sending``
    is told when the update leaves (a write still waiting for the rate limiter has not)."""
    outcome: dict[str, str | None] = {row.seller_sku: row.unwritable for row in rows}
    writable = [row for row in rows if not row.unwritable]
    if not writable:
        return outcome
    updates = [
        SkuInventoryUpdate(
            sku_id=row.sku_id,
            inventory=[
                InventoryLevel(warehouse_id=wid, quantity=quantity)
                for wid, quantity in row.levels().items()
            ],
        )
        for row in writable
    ]
    try:
        await tiktok.update_inventory(shop, product_id, updates, sending=sending)
    except CommerceError as exc:
        return outcome | dict.fromkeys((row.seller_sku for row in writable), exc.describe())
    return outcome
