"""The Amazon MCF + FBA Inventory client the tools call.

Built on python-amazon-sp-api's asyncio clients through their public operation methods
(``get_fulfillment_order``, ``list_all_fulfillment_orders``, ``get_inventory_summary_marketplace``, ...).
What the library's public surface cannot do is contained in :mod:`commerce_mcp.amazon.sp_api_adapter`,
imported on first use (importing the library costs ~0.35 s). Around each call:

* credentials are passed explicitly, with no fallback to env vars, AWS Secrets Manager (which prints to
  stdout) or config files; the endpoint and marketplace are ours whatever ``SP_API_DEFAULT_MARKETPLACE``
  says, and any base URL works (sandbox fakes, Amazon's sandbox);
* tokens come from our per-client single-flight provider (:mod:`commerce_mcp.amazon.lwa`), never the
  library's process-global cache, so accounts cannot mix;
* only the parameters Amazon's models declare are sent, and page 2+ of a listing sends ``nextToken``
  alone;
* answers are judged before the library parses them (:mod:`commerce_mcp.amazon.transport`): timeouts,
  error classification including non-JSON bodies; ``x-amzn-RateLimit-Limit`` is fed to the limiter;
* every call runs inside the shared retry loop (limiter, backoff, budget, deadline, token replay);
* createFulfillmentOrder goes through the intent ledger (:func:`create_once`): never a second order.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import httpx

from commerce_mcp import errors
from commerce_mcp.amazon.ids import order_id_problem
from commerce_mcp.amazon.lwa import SharedAccessToken, fetch_access_token
from commerce_mcp.amazon.models import (
    CreateFulfillmentOrderRequest,
    CreateOrderOutcome,
    FulfillmentOrderDetail,
    FulfillmentOrderPage,
    FulfillmentPreviewRequest,
    FulfillmentPreviewResult,
    InventoryPage,
    InventorySummary,
    PackageTracking,
)
from commerce_mcp.amazon.regions import (
    AWS_REGIONS,
    DEFAULT_MARKETPLACE,
    LWA_TOKEN_URL,
    Region,
    endpoint_for,
)
from commerce_mcp.config import Settings
from commerce_mcp.readiness import amazon_readiness
from commerce_mcp.resilience.budget import RetryBudget
from commerce_mcp.resilience.clock import Clock, SystemClock
from commerce_mcp.resilience.limiter import SPAPI_PLANS, RateLimiter, RatePlan
from commerce_mcp.resilience.paging import PageGuard
from commerce_mcp.resilience.retry import Attempt, OperationSpec, call_with_retries
from commerce_mcp.resilience.singleflight import AccessToken, CrossProcessFlight, TokenProvider
from commerce_mcp.store.base import StateStore
from commerce_mcp.store.ledger import IntentLedger, IntentStatus
from commerce_mcp.store.tokens import TokenStore

if TYPE_CHECKING:
    from commerce_mcp.amazon.sp_api_adapter import SpApi

log = logging.getLogger(__name__)

MAX_SKUS_PER_CALL = 50
#: A loop guard, not a limit: 200 pages of FBA inventory is more than one tool call's deadline
#: lets us read at the published 2 requests/s.
MAX_INVENTORY_PAGES = 200
ATTEMPT_TIMEOUT = 20.0
CONNECT_TIMEOUT = 5.0
LWA_TIMEOUT = 10.0
#: Used for operations without a published plan (the LWA token call).
DEFAULT_PLAN = RatePlan(rate=1.0, burst=5)
#: Seconds before expiry an LWA token is replaced (it lasts an hour).
REFRESH_AHEAD = 300.0

_PREVIEW = OperationSpec("getFulfillmentPreview", idempotent=True)
_CREATE = OperationSpec("createFulfillmentOrder", idempotent=False)
_GET = OperationSpec("getFulfillmentOrder", idempotent=True)
_LIST = OperationSpec("listAllFulfillmentOrders", idempotent=True)
# A repeated cancel is answered DuplicateCancelRequest, which a retry treats as success.
_CANCEL = OperationSpec("cancelFulfillmentOrder", idempotent=True)
_TRACKING = OperationSpec("getPackageTrackingDetails", idempotent=True)
_INVENTORY = OperationSpec("getInventorySummaries", idempotent=True)
_LWA = OperationSpec("lwa.refreshToken", idempotent=True)


def _timestamp(value: datetime) -> str:
    value = value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
    return value.strftime("%Y-%m-%dT%H:%M:%SZ")


class AmazonMcfClient:
    """Typed async access to MCF (FBA Outbound 2020-07-01) and FBA Inventory for one seller account."""

    def __init__(
        self,
        *,
        client_id: str,
        client_secret: str,
        refresh_token: str,
        seller_id: str,
        marketplace_id: str,
        region: Region,
        endpoint: str,
        lwa_token_url: str,
        store: StateStore,
        clock: Clock | None = None,
        limiter: RateLimiter | None = None,
        budget: RetryBudget | None = None,
        http: httpx.AsyncClient | None = None,
        across_processes: CrossProcessFlight | None = None,
    ) -> None:
        """``across_processes``: one LWA refresh among every replica sharing ``store`` (Redis)."""
        self._clock = clock or SystemClock()
        if limiter is not None and clock is None:
            raise ValueError("pass the clock the limiter was built with")
        self._credentials = {
            "refresh_token": refresh_token,
            "lwa_app_id": client_id,
            "lwa_client_secret": client_secret,
        }
        self.seller_id = seller_id
        self.marketplace_id = marketplace_id
        self.region = region
        self.endpoint = endpoint.rstrip("/")
        self._lwa_url = lwa_token_url
        self.account = f"{seller_id}@{region}"
        self._limiter = limiter or RateLimiter(self._clock, SPAPI_PLANS, DEFAULT_PLAN)
        self._budget = budget or RetryBudget()
        self._ledger = IntentLedger(store, self._clock)
        # Login with Amazon only: API calls go through the library's own HTTP pools.
        self._http = http or httpx.AsyncClient(
            timeout=httpx.Timeout(ATTEMPT_TIMEOUT, connect=CONNECT_TIMEOUT)
        )
        self._tokens = TokenProvider(self._fetch_token, self._clock, refresh_ahead=REFRESH_AHEAD)
        self._shared_token = (
            None
            if across_processes is None
            else SharedAccessToken(
                self._fetch_token_from_lwa,
                TokenStore(store),
                account=self.account,
                credentials=(client_id, refresh_token),
                clock=self._clock,
                across=across_processes,
                refresh_ahead=REFRESH_AHEAD,
            )
        )
        self._library: SpApi | None = None

    def __repr__(self) -> str:
        return f"AmazonMcfClient(account={self.account!r}, endpoint={self.endpoint!r})"

    @classmethod
    def from_settings(
        cls,
        settings: Settings,
        *,
        store: StateStore,
        clock: Clock | None = None,
        limiter: RateLimiter | None = None,
        across_processes: CrossProcessFlight | None = None,
    ) -> AmazonMcfClient:
        """Build the client from settings; NotConfigured names the env vars still missing."""
        amazon_readiness(settings).require()
        assert settings.amazon_sp_api_client_secret is not None  # for mypy; checked above
        assert settings.amazon_sp_api_refresh_token is not None
        region: Region = settings.amazon_sp_api_region
        return cls(
            client_id=str(settings.amazon_sp_api_client_id),
            client_secret=settings.amazon_sp_api_client_secret.get_secret_value(),
            refresh_token=settings.amazon_sp_api_refresh_token.get_secret_value(),
            seller_id=str(settings.amazon_seller_id),
            marketplace_id=settings.amazon_marketplace_id or DEFAULT_MARKETPLACE[region],
            region=region,
            endpoint=endpoint_for(
                region,
                sandbox=settings.amazon_sp_api_sandbox,
                override=settings.amazon_sp_api_endpoint,
            ),
            lwa_token_url=settings.amazon_lwa_token_url or LWA_TOKEN_URL,
            store=store,
            clock=clock,
            limiter=limiter,
            across_processes=across_processes,
        )

    async def aclose(self) -> None:
        """Close every connection this client opened (the library's pools and the LWA one)."""
        if self._library is not None:
            await self._library.aclose()
            self._library = None
        await self._http.aclose()

    # Plumbing -----------------------------------------------------------------------------------

    async def _fetch_token(self) -> AccessToken:
        if self._shared_token is not None:
            return await self._shared_token.get()
        return await self._fetch_token_from_lwa()

    async def _fetch_token_from_lwa(self) -> AccessToken:
        async def attempt(info: Attempt) -> AccessToken:
            return await fetch_access_token(
                self._http,
                self._lwa_url,
                client_id=self._credentials["lwa_app_id"],
                client_secret=self._credentials["lwa_client_secret"],
                refresh_token=self._credentials["refresh_token"],
                clock=self._clock,
                request_timeout=min(info.timeout, LWA_TIMEOUT),
            )

        return await call_with_retries(
            attempt,
            op=_LWA,
            account=self.account,
            limiter=self._limiter,
            budget=self._budget,
            clock=self._clock,
        )

    @property
    def _sp_api(self) -> SpApi:
        """The library's clients, configured by the adapter (which imports sp_api) on first use."""
        if self._library is None:
            from commerce_mcp.amazon.sp_api_adapter import SpApi

            self._library = SpApi(
                endpoint=self.endpoint,
                marketplace_id=self.marketplace_id,
                aws_region=AWS_REGIONS[self.region],
                credentials=dict(self._credentials),
                tokens=self._tokens,
                attempt_timeout=ATTEMPT_TIMEOUT,
                connect_timeout=CONNECT_TIMEOUT,
                clock=self._clock,
            )
        return self._library

    async def _call(self, op: OperationSpec, send: Callable[[], Awaitable[Any]]) -> Any:
        """Run ``send`` (one library operation call) inside the retry loop; return its ApiResponse.

        Errors leave the transport without an operation name: it is stamped on here. A 403
        "expired" drops exactly the token this attempt used before the replay.
        """
        used: list[str | None] = [None]

        async def attempt(info: Attempt) -> Any:
            # The library asks our provider for the same (cached) token right after this.
            used[0] = await self._tokens.get()
            try:
                response = await send()
            except errors.CommerceError as exc:
                if exc.operation is None:
                    exc.operation = op.name
                raise
            if response is not None:  # None: a lost cancel answer settled as success
                self._limiter.on_rate_header(self.account, op.name, response.rate_limit)
            return response

        async def refresh() -> None:
            if used[0]:
                self._tokens.invalidate(used[0])
                if self._shared_token is not None:
                    self._shared_token.reject(used[0])
            await self._tokens.get()

        return await call_with_retries(
            attempt,
            op=op,
            account=self.account,
            limiter=self._limiter,
            budget=self._budget,
            clock=self._clock,
            refresh_credentials=refresh,
        )

    # Operations ---------------------------------------------------------------------------------

    async def get_fulfillment_preview(
        self, request: FulfillmentPreviewRequest
    ) -> FulfillmentPreviewResult:
        """Whether FBA can ship these items to this address, with fees and dates per speed."""
        body = request.model_copy(
            update={"marketplace_id": request.marketplace_id or self.marketplace_id}
        ).to_wire()
        outbound = self._sp_api.outbound
        response = await self._call(_PREVIEW, lambda: outbound.get_fulfillment_preview(**body))
        return FulfillmentPreviewResult.model_validate(response.payload or {})

    async def create_fulfillment_order(
        self, request: CreateFulfillmentOrderRequest
    ) -> CreateOrderOutcome:
        """Create an MCF order exactly once, keyed by its sellerFulfillmentOrderId.

        An ambiguous failure is reconciled by reading the order back before any re-send; if that is
        impossible the result is OutcomeUnknown (never a second order). The same id with a different
        payload is a Conflict.
        """
        from commerce_mcp.resilience.safe_create import create_once

        body = request.model_copy(
            update={"marketplace_id": request.marketplace_id or self.marketplace_id}
        ).to_wire()
        order_id = request.seller_fulfillment_order_id
        outbound = self._sp_api.outbound

        async def create() -> dict[str, Any]:
            await self._call(_CREATE, lambda: outbound.create_fulfillment_order(**body))
            return {"sellerFulfillmentOrderId": order_id}

        async def lookup() -> dict[str, Any] | None:
            try:
                detail = await self.get_fulfillment_order(order_id)
            except errors.NotFound:
                return None
            return {
                "sellerFulfillmentOrderId": order_id,
                "status": detail.fulfillment_order.fulfillment_order_status,
            }

        outcome = await create_once(
            key=order_id,
            payload=request.model_copy(
                update={"marketplace_id": request.marketplace_id or self.marketplace_id}
            ).intent(),
            ledger=self._ledger,
            create=create,
            lookup=lookup,
            check_tool="get_mcf_order",
        )
        return CreateOrderOutcome(
            seller_fulfillment_order_id=order_id,
            created_now=outcome.created_now,
            reconciled=outcome.reconciled,
            replayed=outcome.replayed,
        )

    async def existing_order(
        self, seller_fulfillment_order_id: str
    ) -> FulfillmentOrderDetail | None:
        """The order Amazon holds under this id, or None; settles a pending intent either way.

        Call it before previewing a create: after a crash mid-create the ledger still says PENDING
        while Amazon may hold the order, and the answer must be "it exists", not "not created".
        """
        try:
            detail = await self.get_fulfillment_order(seller_fulfillment_order_id)
        except errors.NotFound:
            return None
        intent = await self._ledger.get(seller_fulfillment_order_id)
        if intent is not None and intent.status is not IntentStatus.CREATED:
            await self._ledger.mark_created(
                seller_fulfillment_order_id,
                {
                    "sellerFulfillmentOrderId": seller_fulfillment_order_id,
                    "status": detail.fulfillment_order.fulfillment_order_status,
                },
                reconciled=True,
            )
        return detail

    async def get_fulfillment_order(
        self, seller_fulfillment_order_id: str
    ) -> FulfillmentOrderDetail:
        """The order with its items, shipments and packages (NotFound when it does not exist)."""
        self._check_id(seller_fulfillment_order_id, "getFulfillmentOrder")
        outbound = self._sp_api.outbound
        response = await self._call(
            _GET, lambda: outbound.get_fulfillment_order(seller_fulfillment_order_id)
        )
        return FulfillmentOrderDetail.model_validate(response.payload or {})

    async def list_fulfillment_orders(
        self, query_start_date: datetime | None = None, next_token: str | None = None
    ) -> FulfillmentOrderPage:
        """Orders updated since ``query_start_date``, one page at a time.

        Page 2+ sends ``nextToken`` alone: Amazon's token already holds the query, and the operation
        refuses a token combined with other parameters. The page echoes ``query_start_date`` so a
        caller that re-reads or resumes the listing asks the same question (pass it back each time,
        never a fresh "now - N days").
        """
        params: dict[str, Any] = {}
        if next_token:
            params["nextToken"] = next_token
        elif query_start_date is not None:
            params["queryStartDate"] = _timestamp(query_start_date)
        outbound = self._sp_api.outbound
        response = await self._call(_LIST, lambda: outbound.list_all_fulfillment_orders(**params))
        page = FulfillmentOrderPage.model_validate(response.payload or {})
        return page.model_copy(update={"query_start_date": query_start_date})

    async def cancel_fulfillment_order(self, seller_fulfillment_order_id: str) -> None:
        """Cancel an order still in Received/Planning; Amazon's 400 explains later states."""
        self._check_id(seller_fulfillment_order_id, "cancelFulfillmentOrder")
        outbound = self._sp_api.outbound
        attempts = [0]

        async def send() -> Any:
            attempts[0] += 1
            try:
                return await outbound.cancel_fulfillment_order(seller_fulfillment_order_id)
            except errors.Conflict as exc:
                # Our earlier attempt went through but its answer was lost: that is success.
                if exc.code == "DuplicateCancelRequest" and attempts[0] > 1:
                    return None
                raise

        await self._call(_CANCEL, send)

    async def get_package_tracking(self, package_number: int) -> PackageTracking:
        """Carrier, tracking number and events for one package (numbers come from the order)."""
        if isinstance(package_number, bool) or not isinstance(package_number, int):
            raise errors.InvalidRequest(
                "packageNumber must be an integer", platform="amazon",
                operation=_TRACKING.name,
            )  # fmt: skip
        if package_number <= 0:
            raise errors.InvalidRequest("packageNumber must be positive", platform="amazon",
                                        operation=_TRACKING.name)  # fmt: skip
        outbound = self._sp_api.outbound
        response = await self._call(
            _TRACKING, lambda: outbound.get_package_tracking_details(packageNumber=package_number)
        )
        return PackageTracking.model_validate(response.payload or {})

    async def get_inventory_summaries(
        self,
        seller_skus: Sequence[str] | None = None,
        next_token: str | None = None,
        start_date_time: datetime | None = None,
    ) -> InventoryPage:
        """One page of FBA inventory with details; more than 50 SKUs are fetched in batches (one
        call per 50, Amazon's limit for ``sellerSkus``).

        With a ``next_token`` the same ``seller_skus``/``start_date_time`` must be passed again
        (Amazon requires startDateTime alongside nextToken). Tokens expire after 30 s.
        """
        skus = list(dict.fromkeys(seller_skus)) if seller_skus is not None else None
        if skus is not None and any(not isinstance(s, str) or not s or "," in s for s in skus):
            raise errors.InvalidRequest(
                "seller SKUs must be non-empty strings without commas",
                platform="amazon",
                operation=_INVENTORY.name,
            )
        if skus is not None and len(skus) > MAX_SKUS_PER_CALL:
            if next_token:
                raise errors.InvalidRequest(
                    "nextToken cannot be combined with more than 50 SKUs",
                    platform="amazon",
                    operation=_INVENTORY.name,
                )
            merged: list[InventorySummary] = []
            for start in range(0, len(skus), MAX_SKUS_PER_CALL):
                batch = skus[start : start + MAX_SKUS_PER_CALL]
                async for summary in self.iter_all_inventory(batch, start_date_time):
                    merged.append(summary)
            return InventoryPage(inventory_summaries=merged)
        return await self._inventory_page(skus, next_token, start_date_time)

    async def _inventory_page(
        self, skus: list[str] | None, next_token: str | None, start: datetime | None
    ) -> InventoryPage:
        if skus and start is not None:
            # Amazon would answer every SKU changed since then, silently: ask one question.
            raise errors.InvalidRequest(
                "startDateTime makes Amazon ignore sellerSkus: pass seller SKUs or a start time",
                platform="amazon",
                operation=_INVENTORY.name,
            )
        params: dict[str, Any] = {
            "details": "true",
            "granularityType": "Marketplace",
            "granularityId": self.marketplace_id,
            "marketplaceIds": self.marketplace_id,
        }
        if skus:
            params["sellerSkus"] = ",".join(skus)
        if start is not None:
            params["startDateTime"] = _timestamp(start)
        if next_token:
            params["nextToken"] = next_token
        inventories = self._sp_api.inventories
        response = await self._call(
            _INVENTORY, lambda: inventories.get_inventory_summary_marketplace(**params)
        )
        payload = response.payload or {}
        return InventoryPage.model_validate({**payload, "nextToken": response.next_token})

    async def iter_all_inventory(
        self, seller_skus: Sequence[str] | None = None, start_date_time: datetime | None = None
    ) -> AsyncIterator[InventorySummary]:
        """Every inventory summary, fetching each next page at once (tokens expire after 30 s).

        Pages are fetched ahead of the consumer so a slow consumer cannot let a token expire. A
        repeated ``nextToken`` or more than ``MAX_INVENTORY_PAGES`` pages raises PaginationStopped.
        """
        skus = list(seller_skus) if seller_skus is not None else None
        if skus is not None and len(skus) > MAX_SKUS_PER_CALL:
            for start in range(0, len(skus), MAX_SKUS_PER_CALL):
                async for summary in self.iter_all_inventory(
                    skus[start : start + MAX_SKUS_PER_CALL], start_date_time
                ):
                    yield summary
            return
        guard = PageGuard(max_pages=MAX_INVENTORY_PAGES)
        page = await self._inventory_page(skus, None, start_date_time)
        while True:
            # A repeated nextToken or a runaway listing raises PaginationStopped here.
            token = guard.follow(page.next_token, platform="amazon", operation=_INVENTORY.name)
            upcoming = (
                asyncio.ensure_future(self._inventory_page(skus, token, start_date_time))
                if token
                else None
            )
            try:
                for summary in page.inventory_summaries:
                    yield summary
            except BaseException:
                if upcoming is not None:
                    upcoming.cancel()
                raise
            if upcoming is None:
                return
            page = await upcoming

    def _check_id(self, order_id: str, operation: str) -> None:
        problem = order_id_problem(order_id)
        if problem:
            raise errors.InvalidRequest(
                f"sellerFulfillmentOrderId {problem}",
                platform="amazon",
                operation=operation,
                hint="use the id the order was created with (letters, digits, '-', '_'; max 40)",
            )
