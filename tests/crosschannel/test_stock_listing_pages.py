"""Paging through the plain stock listing, whichever way each page is served, lists exactly the rows
one full read lists, in the same order, and each page's "as of" is true for its rows.

Pages are asked at drawn moments (virtual time) while the snapshot is still being built, or after;
some by a second replica sharing the state store. The platforms are stand-ins over a drawn world;
the FBA stand-in spaces its calls as the real client's limiter does (FIFO, 2 requests/s, burst 2,
empty at start), so pages meet the background read at every stage of it. (That no request exceeds
the plan is counted against the sandbox in ``benchmarks/paging.py``.)
"""

from __future__ import annotations

import asyncio
from collections import defaultdict
from collections.abc import AsyncIterator, Coroutine, Sequence
from dataclasses import dataclass
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from commerce_mcp.amazon.models import InventoryDetails, InventoryPage, InventorySummary
from commerce_mcp.crosschannel.stock_listing import ListingPage, StockListing
from commerce_mcp.crosschannel.stock_snapshot import SNAPSHOT_TTL, SnapshotRow
from commerce_mcp.resilience.testing import VirtualClock
from commerce_mcp.store.memory import MemoryStore
from commerce_mcp.tiktok.models import (
    InventorySku,
    Page,
    Product,
    ProductInventory,
    ProductSku,
    Shop,
    Warehouse,
    WarehouseInventory,
)

SHOP = Shop(id="1", name="S", cipher="c")
#: Stand-in round trip of any call, virtual seconds.
LATENCY = 0.05
FBA_RATE, FBA_BURST = 2.0, 2.0


@dataclass(frozen=True)
class World:
    """What the stand-ins hold: TikTok SKUs (some without a stock entry), FBA stock by Amazon SKU."""

    tiktok: dict[str, int]
    no_stock: frozenset[str]
    fba: dict[str, int]
    sku_map: str | None


class Reads:
    """When each SKU's stock was answered, per platform (virtual wall seconds)."""

    def __init__(self) -> None:
        self.tiktok: dict[str, list[float]] = defaultdict(list)
        self.fba: dict[str, list[float]] = defaultdict(list)


class FbaLimiter:
    """FBA's inventory plan as the real client's limiter keeps it: FIFO, empty at start."""

    def __init__(self, clock: VirtualClock) -> None:
        self.clock = clock
        self.tokens = 0.0
        self.at = clock.monotonic()
        self.queue = asyncio.Lock()  # asyncio's lock wakes waiters in order

    def _refill(self) -> None:
        now = self.clock.monotonic()
        self.tokens = min(FBA_BURST, self.tokens + (now - self.at) * FBA_RATE)
        self.at = now

    async def acquire(self) -> None:
        async with self.queue:
            self._refill()
            if self.tokens < 1:
                await self.clock.sleep((1 - self.tokens) / FBA_RATE)
                self._refill()
            self.tokens -= 1


class StandInTikTok:
    def __init__(self, world: World, clock: VirtualClock, reads: Reads) -> None:
        self.world, self.clock, self.reads = world, clock, reads
        names = sorted(world.tiktok)
        # Three SKUs a product, ids unrelated to the names' order.
        self.products = [names[i : i + 3] for i in range(0, len(names), 3)]
        self.ids = {name: f"id-{len(name) * 7919 + n}" for n, name in enumerate(names)}

    async def resolve_shop(self, shop: str | None) -> Shop:
        return SHOP

    async def search_products(
        self,
        shop: Shop,
        *,
        seller_skus: Sequence[str] | None = None,
        page_size: int = 100,
        page_token: str | None = None,
    ) -> Page[Product]:
        await self.clock.sleep(LATENCY)
        wanted = set(seller_skus) if seller_skus is not None else None
        products = [
            Product(id=f"p{n}", skus=[ProductSku(id=self.ids[s], seller_sku=s) for s in skus])
            for n, skus in enumerate(self.products)
            if wanted is None or wanted & set(skus)
        ]
        start = int(page_token or 0)
        more = start + page_size < len(products)
        return Page[Product](
            items=products[start : start + page_size],
            next_page_token=str(start + page_size) if more else None,
        )

    async def search_inventory(
        self, shop: Shop, *, sku_ids: Sequence[str]
    ) -> list[ProductInventory]:
        await self.clock.sleep(LATENCY)
        by_id = {i: name for name, i in self.ids.items()}
        skus = []
        for sku_id in sku_ids:
            name = by_id[sku_id]
            if name in self.world.no_stock:
                continue
            self.reads.tiktok[name].append(self.clock.wall())
            held = self.world.tiktok[name]
            skus.append(
                InventorySku(
                    id=sku_id,
                    seller_sku=name,
                    total_available_quantity=held,
                    warehouse_inventory=[
                        WarehouseInventory(warehouse_id="W1", available_quantity=held)
                    ],
                )
            )
        return [ProductInventory(product_id="p", skus=skus)]

    async def get_warehouses(self, shop: Shop) -> list[Warehouse]:
        await self.clock.sleep(LATENCY)
        return [Warehouse(id="W1", name="Main")]


class StandInAmazon:
    PAGE = 50

    def __init__(
        self, world: World, clock: VirtualClock, reads: Reads, limiter: FbaLimiter
    ) -> None:
        self.world, self.clock, self.reads, self.limiter = world, clock, reads, limiter

    async def _answer(self, skus: list[str]) -> list[InventorySummary]:
        await self.limiter.acquire()
        await self.clock.sleep(LATENCY)
        found = []
        for sku in skus:
            if sku in self.world.fba:
                self.reads.fba[sku].append(self.clock.wall())
                details = InventoryDetails(fulfillable_quantity=self.world.fba[sku])
                found.append(InventorySummary(seller_sku=sku, inventory_details=details))
        return found

    async def get_inventory_summaries(self, seller_skus: Sequence[str]) -> InventoryPage:
        skus = list(dict.fromkeys(seller_skus))
        found: list[InventorySummary] = []
        for start in range(0, len(skus), self.PAGE):  # one call per 50, as the real client
            found += await self._answer(skus[start : start + self.PAGE])
        return InventoryPage(inventory_summaries=found)

    async def iter_all_inventory(self) -> AsyncIterator[InventorySummary]:
        names = sorted(self.world.fba)
        for start in range(0, max(1, len(names)), self.PAGE):
            for summary in await self._answer(names[start : start + self.PAGE]):
                yield summary


class Replica:
    """One server's services, as a listing sees them (:class:`StockServices`)."""

    def __init__(self, clock: VirtualClock, store: MemoryStore, tiktok: Any, amazon: Any) -> None:
        self.clock, self._store, self._tiktok, self._amazon = clock, store, tiktok, amazon
        self._background: dict[str, asyncio.Task[Any]] = {}

    async def tiktok(self) -> Any:
        return self._tiktok

    async def amazon(self) -> Any:
        return self._amazon

    async def store(self) -> MemoryStore:
        return self._store

    def start_background(self, key: str, work: Coroutine[Any, Any, Any], *, within: float) -> None:
        task = asyncio.ensure_future(work)
        self._background[key] = task

        def finished(done: asyncio.Task[Any]) -> None:
            if self._background.get(key) is done:
                del self._background[key]

        task.add_done_callback(finished)

    def background(self, key: str) -> asyncio.Task[Any] | None:
        return self._background.get(key)

    async def aclose(self) -> None:
        pending = list(self._background.values())
        for task in pending:
            task.cancel()
        await asyncio.gather(*pending, return_exceptions=True)


def _listing(services: Replica, sku_map: str | None) -> StockListing:
    return StockListing(
        services, channel="both", wanted=None, shop=None, only_flagged=False, sku_map=sku_map
    )


def _shown(row: SnapshotRow) -> tuple[Any, ...]:
    return (row.seller_sku, row.amazon_sku, row.tiktok, row.fba, tuple(row.flags))


def _check_as_of(page: ListingPage, reads: Reads, now: float) -> None:
    """Every figure on the page was answered between the page's "as of" and now."""
    since = page.head.taken_at
    for row in page.rows:
        if row.tiktok is not None:
            assert any(since <= t <= now for t in reads.tiktok[row.seller_sku]), row.seller_sku
        if row.fba is not None and row.amazon_sku is not None:
            assert any(since <= t <= now for t in reads.fba[row.amazon_sku]), row.amazon_sku


@st.composite
def worlds(draw: st.DrawFn) -> World:
    count = draw(st.integers(min_value=1, max_value=260))
    names = [
        f"S{n:04d}" for n in draw(st.sets(st.integers(0, 9999), min_size=count, max_size=count))
    ]
    tiktok = {name: draw(st.integers(0, 9)) for name in names}
    no_stock = frozenset(draw(st.sets(st.sampled_from(names), max_size=3)))
    fba = {name: draw(st.integers(0, 9)) for name in names if draw(st.booleans())}
    fba |= {f"A{n:03d}": 5 for n in range(draw(st.integers(0, 70)))}  # Amazon-only SKUs
    pairs = []
    for name in draw(st.sets(st.sampled_from(names), max_size=4)):
        target = draw(st.sampled_from(["-", f"M{name}"]))
        pairs.append(f"{name}={target}")
        if target != "-" and draw(st.booleans()):
            fba[target] = 3
    return World(tiktok, no_stock, fba, ",".join(pairs) or None)


@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(
    world=worlds(),
    limit=st.integers(min_value=1, max_value=100),
    waits=st.lists(st.sampled_from([0.0, 0.0, 0.01, 0.3, 0.6, 1.5, 4.0]), min_size=1, max_size=8),
    elsewhere=st.lists(st.booleans(), min_size=1, max_size=8),
)
def test_pages_list_the_full_listing_once_each_in_order(
    world: World, limit: int, waits: list[float], elsewhere: list[bool]
) -> None:
    asyncio.run(_page_through(world, limit, waits, elsewhere))


async def _page_through(
    world: World, limit: int, waits: list[float], elsewhere: list[bool]
) -> None:
    clock, reads = VirtualClock(), Reads()
    tiktok = StandInTikTok(world, clock, reads)
    amazon = StandInAmazon(world, clock, reads, FbaLimiter(clock))
    shared = MemoryStore()
    replicas = [Replica(clock, shared, tiktok, amazon), Replica(clock, shared, tiktok, amazon)]
    try:
        page = await _listing(replicas[0], world.sku_map).first(limit)
        _check_as_of(page, reads, clock.wall())
        pages = [page]
        started = clock.monotonic()
        while (following := page.next_start()) is not None:
            n = len(pages)
            # A reader slower than the snapshot's lifetime is told to start again (its own test):
            # here the pauses stop once half of it has gone, however many pages there are.
            if clock.monotonic() - started < SNAPSHOT_TTL / 2:
                await clock.sleep(waits[n % len(waits)])
            serving = replicas[1 if elsewhere[n % len(elsewhere)] else 0]
            page = await _listing(serving, world.sku_map).after(page.snapshot_id, *following, limit)
            _check_as_of(page, reads, clock.wall())
            pages.append(page)
            assert len(pages) < 1000, "paging does not end"
        once = Replica(clock, MemoryStore(), tiktok, amazon)
        full = await _listing(once, world.sku_map).read_all()
    finally:
        for replica in replicas:
            await replica.aclose()
    listed = [_shown(row) for page in pages for row in page.rows]
    assert listed == [_shown(row) for row in full.rows]
    assert pages[-1].head.count == len(full.rows)


def test_a_page_asked_at_once_waits_at_most_for_the_call_that_reads_its_rows() -> None:
    asyncio.run(_asked_at_once())


async def _asked_at_once() -> None:
    names = [f"S{n:04d}" for n in range(300)]
    world = World(
        {n: 4 for n in names}, frozenset(), {n: 2 for n in names} | {"A001": 1}, sku_map=None
    )
    clock, reads = VirtualClock(), Reads()
    tiktok = StandInTikTok(world, clock, reads)
    amazon = StandInAmazon(world, clock, reads, FbaLimiter(clock))
    shared = MemoryStore()
    one, two = Replica(clock, shared, tiktok, amazon), Replica(clock, shared, tiktok, amazon)
    try:
        page = await _listing(one, None).first(25)
        waited: list[float] = []
        kinds: list[bool] = []
        for n in range(1, 12):
            asked = clock.monotonic()
            serving = two if n == 1 else one  # page 2 from another replica: the store has it
            page = await _listing(serving, None).after(
                page.snapshot_id, page.offset + 25, page.rows[-1].seller_sku, 25
            )
            waited.append(clock.monotonic() - asked)
            kinds.append(page.total_known)
            assert [r.seller_sku for r in page.rows] == names[25 * n : 25 * (n + 1)]
    finally:
        await one.aclose()
        await two.aclose()
    # Page 2 came with page 1's FBA call; pages 3-10 each wait for at most one more call (a token
    # at 2/s, then TikTok's and FBA's answers) while the read ahead goes on.
    assert waited[0] == 0
    assert max(waited[1:9]) <= 1 / FBA_RATE + 2 * LATENCY
    assert kinds[:9] == [False] * 9
    # Page 11 starts past the 8 pages read ahead: it waits for FBA's whole listing (7 calls of 50).
    assert kinds[9] is True and waited[9] >= 7 / FBA_RATE


class SlowPartStore(MemoryStore):
    """A store that takes ``delay`` virtual seconds to write the rows of the part starting at
    ``start`` (a slow write, a busy SQLite file): the part after it may publish first."""

    def __init__(self, clock: VirtualClock, start: int, delay: float) -> None:
        super().__init__()
        self.clock, self.suffix, self.delay = clock, f".part.{start}", delay

    async def put(self, namespace: str, key: str, value: dict[str, Any]) -> None:
        if key.endswith(self.suffix):
            await self.clock.sleep(self.delay)
        await super().put(namespace, key, value)


def test_a_part_published_late_keeps_its_place() -> None:
    asyncio.run(_published_late())


async def _published_late() -> None:
    names = [f"S{n:04d}" for n in range(300)]
    world = World({n: 4 for n in names}, frozenset(), {n: 2 for n in names}, sku_map=None)
    clock, reads = VirtualClock(), Reads()
    tiktok = StandInTikTok(world, clock, reads)
    amazon = StandInAmazon(world, clock, reads, FbaLimiter(clock))
    # Page 1 reads rows 0-50; the part of rows 50-100 is slow to store, so the part of rows
    # 100-150 (read meanwhile) is published before it, and the part of rows 150-200 after it.
    store = SlowPartStore(clock, start=50, delay=0.8)
    one = Replica(clock, store, tiktok, amazon)
    try:
        page = await _listing(one, None).first(25)
        await clock.sleep(2.0)  # every part read ahead so far is published; the snapshot is not
        page = await _listing(one, None).after(page.snapshot_id, 25, page.rows[-1].seller_sku, 100)
        assert not page.total_known  # served from the published parts
        assert [r.seller_sku for r in page.rows] == names[25:125]
    finally:
        await one.aclose()
