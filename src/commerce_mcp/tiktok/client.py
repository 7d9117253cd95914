"""The typed async TikTok Shop client every TikTok tool calls.

Each operation goes through the same path: resolve the shop, take a limiter token keyed by
(app + shop, endpoint), get a fresh access token, sign and send one attempt, classify the answer, and let
the retry loop decide what happens next (back off on 429, retry transient failures, refresh once on an
expired token). Operations return pydantic models; list operations return a :class:`Page`.
"""

from __future__ import annotations

import asyncio
import functools
import random
from collections.abc import Callable, Mapping, Sequence
from datetime import date
from typing import Any, ClassVar, Generic, TypeVar, overload
from urllib.parse import quote

import httpx
from pydantic import BaseModel, Field

from commerce_mcp import errors
from commerce_mcp.config import Settings
from commerce_mcp.readiness import ChannelReadiness, tiktok_readiness
from commerce_mcp.resilience.budget import RetryBudget
from commerce_mcp.resilience.clock import Clock, SystemClock
from commerce_mcp.resilience.deadline import current_deadline
from commerce_mcp.resilience.limiter import TIKTOK_DEFAULT_PLAN, RateLimiter
from commerce_mcp.resilience.retry import Attempt, OperationSpec, call_with_retries
from commerce_mcp.resilience.singleflight import CrossProcessFlight
from commerce_mcp.store.base import StateStore
from commerce_mcp.store.tokens import TokenStore
from commerce_mcp.tiktok import endpoints as ep
from commerce_mcp.tiktok.auth import AuthClient, TokenManager
from commerce_mcp.tiktok.models import (
    MAX_STOCK_QUANTITY,
    MIN_STOCK_QUANTITY,
    Cancellation,
    DeliveryOption,
    InventoryUpdateResult,
    ItemError,
    LiveSession,
    Order,
    Page,
    PerformanceReport,
    Product,
    ProductInventory,
    ProductPerformance,
    ReturnRecord,
    ShippedPackage,
    ShippingProvider,
    Shop,
    SkuInventoryUpdate,
    SkuPerformance,
    TrackingEvent,
    VideoPerformance,
    VideoProductPerformance,
    Warehouse,
)
from commerce_mcp.tiktok.transport import ApiRequest, SignedTransport, encode_body

M = TypeVar("M", bound=BaseModel)

ORDER_DETAIL_BATCH = 50
INVENTORY_PRODUCT_BATCH = 100
INVENTORY_SKU_BATCH = 600
DateLike = date | str
#: Search Returns documents page_size in [10, 50]; Search Cancellations in [1, 50].
RETURNS_PAGE_SIZE = (10, 50)
CANCELLATIONS_PAGE_SIZE = (1, 50)


def _day(value: DateLike) -> str:
    return value.isoformat() if isinstance(value, date) else value


def _query(**values: Any) -> dict[str, str]:
    """Query parameters with None dropped and booleans spelled the way the API expects."""
    result: dict[str, str] = {}
    for key, value in values.items():
        if value is None:
            continue
        result[key] = ("true" if value else "false") if isinstance(value, bool) else str(value)
    return result


def _page_size(requested: int, bounds: tuple[int, int]) -> int:
    """The page size to send: the request moved into the endpoint's documented range.

    Below the minimum the platform answers a bigger page than asked for; callers that want fewer
    items slice it and resume inside the same page (tools/paging.py keeps an offset with the token),
    so no item is skipped the way trimming the page here and handing on its token would skip them.
    """
    low, high = bounds
    return max(low, min(requested, high))


def _fields(**values: Any) -> dict[str, Any]:
    """Body fields with None and empty lists dropped (no filters means no body at all)."""
    return {k: v for k, v in values.items() if v is not None and v != []}


@functools.cache
def _page_class(model: type[Any]) -> type[Page[Any]]:
    # pydantic holds parametrized generics only weakly; rebuilding Page[model] cost ~6 ms a call.
    return Page[model]  # type: ignore[valid-type]


class Listing(BaseModel, Generic[M]):
    """A response's ``data`` holding its items under one key: the shape a list endpoint's body
    is decoded into in one pass (see transport.decode_success); one per key from :func:`listing`.

    The paging fields stay as sent; :func:`_page` validates them as every page does.
    """

    key: ClassVar[str]
    item: ClassVar[type[BaseModel]]

    items: list[M] | None = None
    next_page_token: Any = None
    total_count: Any = None
    latest_available_date: Any = None

    @classmethod
    def from_data(cls, data: Mapping[str, Any]) -> Listing[Any]:
        """The listing of a ``data`` dict read item by item, for answers one-pass decoding left."""
        items: list[Any] = [cls.item.model_validate(item) for item in data.get(cls.key) or []]
        return cls.model_construct(
            items=items,
            next_page_token=data.get("next_page_token"),
            total_count=data.get("total_count"),
            latest_available_date=data.get("latest_available_date"),
        )


@functools.cache
def listing(model: type[M], key: str) -> type[Listing[M]]:
    """The listing shape of ``model`` items under ``key`` (built once per pair)."""

    class Shape(Listing[model]):  # type: ignore[valid-type]
        items: list[model] | None = Field(default=None, validation_alias=key)  # type: ignore[valid-type]

    Shape.__name__ = Shape.__qualname__ = f"{model.__name__}Listing"
    Shape.key, Shape.item = key, model
    return Shape


def _page(data: Listing[M]) -> Page[M]:
    return _page_class(data.item)(
        items=data.items or [],
        next_page_token=data.next_page_token,
        total_count=data.total_count,
        latest_available_date=data.latest_available_date,
    )


class TikTokShopClient:
    """Async TikTok Shop Partner API client (one app, every shop its token covers)."""

    def __init__(
        self,
        *,
        http: httpx.AsyncClient,
        app_key: str,
        app_secret: str,
        tokens: TokenManager,
        clock: Clock,
        default_shop: str | None = None,
        deadline_seconds: float = 45.0,
        limiter: RateLimiter | None = None,
        budget: RetryBudget | None = None,
        rng: random.Random | None = None,
    ) -> None:
        self._http = http
        self._app_key = app_key
        self._transport = SignedTransport(http, app_key, app_secret, clock)
        self.tokens = tokens
        self._clock = clock
        self._default_shop = default_shop
        self._deadline_seconds = deadline_seconds
        self.limiter = limiter or RateLimiter(clock, {}, TIKTOK_DEFAULT_PLAN)
        self.budget = budget or RetryBudget()
        self._rng = rng
        self._shops: list[Shop] | None = None
        self._shops_lock = asyncio.Lock()

    @classmethod
    def from_settings(
        cls,
        settings: Settings,
        *,
        store: StateStore,
        clock: Clock | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
        readiness: ChannelReadiness | None = None,
        limiter: RateLimiter | None = None,
        across_processes: CrossProcessFlight | None = None,
    ) -> TikTokShopClient:
        """Build a client from settings; raises NotConfigured naming the missing env vars.

        ``readiness``: the channel's readiness as the caller computed it with the store in view
        (:meth:`commerce_mcp.services.Services.readiness`); without it only the environment counts.
        """
        if readiness is None:
            readiness = tiktok_readiness(settings, has_stored_tokens=False)
        if readiness.channel != "tiktok":
            raise ValueError(f"readiness of {readiness.channel}, not tiktok")
        readiness.require()
        # Ready implies the app key and secret are set; the tokens come from env or the store.
        assert settings.tiktok_app_key is not None
        assert settings.tiktok_app_secret is not None
        clock = clock or SystemClock()
        http = httpx.AsyncClient(
            base_url=settings.tiktok_api_base_url.rstrip("/"),
            transport=transport,
            timeout=20.0,
            headers={"user-agent": "commerce-mcp"},
        )
        secret = settings.tiktok_app_secret.get_secret_value()
        auth = AuthClient(http, settings.tiktok_auth_base_url, settings.tiktok_app_key, secret)
        tokens = TokenManager(
            auth,
            TokenStore(store),
            settings.tiktok_app_key,
            clock,
            env_access_token=_secret(settings.tiktok_access_token),
            env_refresh_token=_secret(settings.tiktok_refresh_token),
            across_processes=across_processes,
        )
        return cls(
            http=http,
            app_key=settings.tiktok_app_key,
            app_secret=secret,
            tokens=tokens,
            clock=clock,
            default_shop=settings.tiktok_shop_id,
            deadline_seconds=settings.commerce_mcp_deadline_seconds,
            limiter=limiter,
        )

    async def aclose(self) -> None:
        """Stop the token custodian's background work and close the HTTP connection pool."""
        await self.tokens.aclose()
        await self._http.aclose()

    # ------------------------------------------------------------------------------ call core

    @overload
    async def _call(
        self,
        endpoint: ep.Endpoint,
        *,
        shop: Shop | None = None,
        path_args: Mapping[str, str] | None = None,
        query: Mapping[str, str] | None = None,
        body: Mapping[str, Any] | None = None,
        shape: None = None,
        sending: Callable[[], None] | None = None,
    ) -> dict[str, Any]: ...

    @overload
    async def _call(
        self,
        endpoint: ep.Endpoint,
        *,
        shop: Shop | None = None,
        path_args: Mapping[str, str] | None = None,
        query: Mapping[str, str] | None = None,
        body: Mapping[str, Any] | None = None,
        shape: type[Listing[M]],
        sending: Callable[[], None] | None = None,
    ) -> Listing[M]: ...

    async def _call(
        self,
        endpoint: ep.Endpoint,
        *,
        shop: Shop | None = None,
        path_args: Mapping[str, str] | None = None,
        query: Mapping[str, str] | None = None,
        body: Mapping[str, Any] | None = None,
        shape: type[Listing[M]] | None = None,
        sending: Callable[[], None] | None = None,
    ) -> Listing[M] | dict[str, Any]:
        """The envelope's ``data`` after retries; with ``shape``, as that listing. ``sending`` is
        told just before the first attempt leaves, once the rate limiter has let it go; if it
        raises, nothing is sent and its exception propagates."""
        if endpoint.shop_scoped and shop is None:
            raise errors.InvalidRequest(f"{endpoint.name} needs a shop", platform="tiktok")
        path = endpoint.template.format(
            **{key: quote(str(value), safe="") for key, value in (path_args or {}).items()}
        )
        cipher = shop.cipher if endpoint.shop_scoped and shop is not None else None
        request = ApiRequest(
            method=endpoint.method,
            path=path,
            template=endpoint.template,
            query=dict(query or {}),
            body=encode_body(body),
            shop_cipher=cipher,
        )
        used: list[str] = []

        async def attempt(info: Attempt) -> Listing[M] | dict[str, Any]:
            token = await self.tokens.access_token()
            used.append(token)
            if sending is not None and len(used) == 1:
                sending()
            return await self._transport.send(
                request, token, attempt_timeout=info.timeout, operation=endpoint.name, shape=shape
            )

        data = await call_with_retries(
            attempt,
            op=OperationSpec(endpoint.template, endpoint.idempotent),
            account=f"{self._app_key}:{cipher or '-'}",
            limiter=self.limiter,
            budget=self.budget,
            clock=self._clock,
            deadline=current_deadline(self._clock, self._deadline_seconds),
            refresh_credentials=self.tokens.expired_callback(lambda: used[-1] if used else None),
            rng=self._rng,
        )
        if shape is not None and isinstance(data, dict):
            # Read after the retry loop, as every dict answer is, so a bad item fails the same way.
            return shape.from_data(data)
        return data

    # ------------------------------------------------------------------------------ shops

    async def list_shops(self, *, refresh: bool = False) -> list[Shop]:
        """Shops the access token is authorized for, with their ciphers (cached)."""
        async with self._shops_lock:
            if self._shops is None or refresh:
                data = await self._call(ep.AUTHORIZED_SHOPS)
                self._shops = [Shop.model_validate(s) for s in data.get("shops") or []]
            return list(self._shops)

    async def resolve_shop(self, shop: str | None) -> Shop:
        """A shop by id or name (case-insensitive); None means the configured or the only shop."""
        shops = await self.list_shops()
        wanted = shop or self._default_shop
        if wanted is None:
            if len(shops) == 1:
                return shops[0]
            if not shops:
                raise errors.AuthError(
                    "the TikTok Shop token is not authorized for any shop",
                    platform="tiktok",
                    hint="have the seller authorize the app (`commerce-mcp tiktok authorize`)",
                )
        else:
            key = wanted.strip().casefold()
            for candidate in shops:
                if candidate.id == wanted.strip() or candidate.name.casefold() == key:
                    return candidate
        names = "; ".join(f"{s.name} (id {s.id})" for s in shops)
        what = (
            f"no authorized shop matches {wanted!r}" if wanted else "several shops are authorized"
        )
        raise errors.InvalidRequest(
            f"{what}: {names}",
            platform="tiktok",
            hint="pass shop= with one of these ids or names (or set TIKTOK_SHOP_ID)",
        )

    # ------------------------------------------------------------------------------ products

    async def search_products(
        self,
        shop: Shop,
        *,
        status: str | None = None,
        seller_skus: Sequence[str] | None = None,
        sku_ids: Sequence[str] | None = None,
        create_time_ge: int | None = None,
        create_time_le: int | None = None,
        update_time_ge: int | None = None,
        update_time_le: int | None = None,
        page_size: int = 20,
        page_token: str | None = None,
    ) -> Page[Product]:
        """Products by status, SKUs and time ranges (cursor paged; page_size 1-100)."""
        data = await self._call(
            ep.SEARCH_PRODUCTS,
            shop=shop,
            query=_query(page_size=page_size, page_token=page_token),
            body=_fields(
                status=status,
                seller_skus=list(seller_skus) if seller_skus else None,
                sku_ids=list(sku_ids) if sku_ids else None,
                create_time_ge=create_time_ge,
                create_time_le=create_time_le,
                update_time_ge=update_time_ge,
                update_time_le=update_time_le,
            ),
            shape=listing(Product, "products"),
        )
        return _page(data)

    async def get_product(self, shop: Shop, product_id: str) -> Product:
        """One product with description, images and SKUs."""
        data = await self._call(ep.GET_PRODUCT, shop=shop, path_args={"product_id": product_id})
        return Product.model_validate(data)

    async def search_inventory(
        self,
        shop: Shop,
        *,
        product_ids: Sequence[str] | None = None,
        sku_ids: Sequence[str] | None = None,
    ) -> list[ProductInventory]:
        """Stock per SKU and warehouse, by product ids or SKU ids (batched to the API's limits)."""
        if sku_ids:
            key, ids, size = "sku_ids", list(sku_ids), INVENTORY_SKU_BATCH
        elif product_ids:
            key, ids, size = "product_ids", list(product_ids), INVENTORY_PRODUCT_BATCH
        else:
            raise errors.InvalidRequest(
                "inventory search needs product_ids or sku_ids", platform="tiktok"
            )
        result: list[ProductInventory] = []
        for start in range(0, len(ids), size):
            data = await self._call(
                ep.SEARCH_INVENTORY, shop=shop, body={key: ids[start : start + size]}
            )
            result.extend(ProductInventory.model_validate(i) for i in data.get("inventory") or [])
        return result

    async def update_inventory(
        self,
        shop: Shop,
        product_id: str,
        skus: Sequence[SkuInventoryUpdate],
        *,
        sending: Callable[[], None] | None = None,
    ) -> InventoryUpdateResult:
        """Set absolute stock per warehouse; every warehouse of each SKU must be given.

        Each quantity must be in the documented [1, 99,999]: the endpoint cannot write 0, so a
        sold-out SKU is refused here, before anything is sent (see check_stock_levels). Per-SKU
        failures inside a successful envelope are raised as InvalidRequest. ``sending`` is told
        when the update leaves (after any wait for the rate limiter): from then on its outcome is
        TikTok's to tell. It may raise to keep the update from leaving (its exception propagates).
        """
        if not skus:
            raise errors.InvalidRequest("no SKUs to update", platform="tiktok")
        check_stock_levels(skus)
        body = {
            "skus": [
                {
                    "id": sku.sku_id,
                    "inventory": [
                        {"warehouse_id": level.warehouse_id, "quantity": level.quantity}
                        for level in sku.inventory
                    ],
                }
                for sku in skus
            ]
        }
        data = await self._call(
            ep.UPDATE_INVENTORY,
            shop=shop,
            path_args={"product_id": product_id},
            body=body,
            sending=sending,
        )
        failures = [ItemError.model_validate(e) for e in data.get("errors") or []]
        if failures:
            raise errors.InvalidRequest(
                "TikTok Shop rejected part of the inventory update: "
                + "; ".join(_describe_item_error(f) for f in failures),
                platform="tiktok",
                code=failures[0].code,
                operation=ep.UPDATE_INVENTORY.name,
                hint="fix the listed SKUs/warehouses (get_warehouses lists valid ids) and retry",
            )
        return InventoryUpdateResult(product_id=product_id, sku_ids=[s.sku_id for s in skus])

    # ------------------------------------------------------------------------------ orders

    async def search_orders(
        self,
        shop: Shop,
        *,
        status: str | None = None,
        create_time_ge: int | None = None,
        create_time_lt: int | None = None,
        update_time_ge: int | None = None,
        update_time_lt: int | None = None,
        shipping_type: str | None = None,
        buyer_user_id: str | None = None,
        warehouse_ids: Sequence[str] | None = None,
        sort_field: str | None = None,
        sort_order: str | None = None,
        page_size: int = 20,
        page_token: str | None = None,
    ) -> Page[Order]:
        """Orders by status and time ranges, newest first by default (cursor paged, 1-100)."""
        data = await self._call(
            ep.SEARCH_ORDERS,
            shop=shop,
            query=_query(
                page_size=page_size,
                page_token=page_token,
                sort_field=sort_field,
                sort_order=sort_order,
            ),
            body=_fields(
                order_status=status,
                create_time_ge=create_time_ge,
                create_time_lt=create_time_lt,
                update_time_ge=update_time_ge,
                update_time_lt=update_time_lt,
                shipping_type=shipping_type,
                buyer_user_id=buyer_user_id,
                warehouse_ids=list(warehouse_ids) if warehouse_ids else None,
            ),
            shape=listing(Order, "orders"),
        )
        return _page(data)

    async def get_orders(self, shop: Shop, order_ids: Sequence[str]) -> list[Order]:
        """Order details, in batches of 50 ids; unknown ids are simply absent."""
        unique = list(dict.fromkeys(order_ids))
        result: list[Order] = []
        for start in range(0, len(unique), ORDER_DETAIL_BATCH):
            batch = unique[start : start + ORDER_DETAIL_BATCH]
            data = await self._call(
                ep.GET_ORDERS,
                shop=shop,
                query={"ids": ",".join(batch)},
                shape=listing(Order, "orders"),
            )
            result.extend(data.items or [])
        return result

    async def search_returns(
        self,
        shop: Shop,
        *,
        order_ids: Sequence[str] | None = None,
        return_ids: Sequence[str] | None = None,
        return_status: Sequence[str] | None = None,
        return_types: Sequence[str] | None = None,
        create_time_ge: int | None = None,
        create_time_lt: int | None = None,
        update_time_ge: int | None = None,
        update_time_lt: int | None = None,
        sort_field: str | None = None,
        sort_order: str | None = None,
        page_size: int = 10,
        page_token: str | None = None,
    ) -> Page[ReturnRecord]:
        """Returns and refunds (cursor paged).

        page_size is sent within the documented [10, 50]: asking for fewer than 10 gets a page of
        10, which the caller slices (see _page_size).
        """
        data = await self._call(
            ep.SEARCH_RETURNS,
            shop=shop,
            query=_query(
                page_size=_page_size(page_size, RETURNS_PAGE_SIZE),
                page_token=page_token,
                sort_field=sort_field,
                sort_order=sort_order,
            ),
            body=_fields(
                order_ids=list(order_ids or []),
                return_ids=list(return_ids or []),
                return_status=list(return_status or []),
                return_types=list(return_types or []),
                create_time_ge=create_time_ge,
                create_time_lt=create_time_lt,
                update_time_ge=update_time_ge,
                update_time_lt=update_time_lt,
            ),
            shape=listing(ReturnRecord, "return_orders"),
        )
        return _page(data)

    async def search_cancellations(
        self,
        shop: Shop,
        *,
        order_ids: Sequence[str] | None = None,
        cancel_ids: Sequence[str] | None = None,
        cancel_status: Sequence[str] | None = None,
        cancel_types: Sequence[str] | None = None,
        create_time_ge: int | None = None,
        create_time_lt: int | None = None,
        update_time_ge: int | None = None,
        update_time_lt: int | None = None,
        sort_field: str | None = None,
        sort_order: str | None = None,
        page_size: int = 10,
        page_token: str | None = None,
    ) -> Page[Cancellation]:
        """Cancellation requests (cursor paged, page_size sent within the documented [1, 50])."""
        data = await self._call(
            ep.SEARCH_CANCELLATIONS,
            shop=shop,
            query=_query(
                page_size=_page_size(page_size, CANCELLATIONS_PAGE_SIZE),
                page_token=page_token,
                sort_field=sort_field,
                sort_order=sort_order,
            ),
            body=_fields(
                order_ids=list(order_ids or []),
                cancel_ids=list(cancel_ids or []),
                cancel_status=list(cancel_status or []),
                cancel_types=list(cancel_types or []),
                create_time_ge=create_time_ge,
                create_time_lt=create_time_lt,
                update_time_ge=update_time_ge,
                update_time_lt=update_time_lt,
            ),
            shape=listing(Cancellation, "cancellations"),
        )
        return _page(data)

    # ------------------------------------------------------------------------------ fulfillment

    async def get_warehouses(self, shop: Shop) -> list[Warehouse]:
        """The seller's warehouses (sales and returns)."""
        data = await self._call(ep.GET_WAREHOUSES, shop=shop)
        return [Warehouse.model_validate(w) for w in data.get("warehouses") or []]

    async def get_delivery_options(self, shop: Shop, warehouse_id: str) -> list[DeliveryOption]:
        """Delivery options offered from one warehouse."""
        data = await self._call(
            ep.GET_DELIVERY_OPTIONS, shop=shop, path_args={"warehouse_id": warehouse_id}
        )
        return [DeliveryOption.model_validate(o) for o in data.get("delivery_options") or []]

    async def get_shipping_providers(
        self, shop: Shop, delivery_option_id: str
    ) -> list[ShippingProvider]:
        """Carriers available for a delivery option (their ids are needed to mark shipped)."""
        data = await self._call(
            ep.GET_SHIPPING_PROVIDERS,
            shop=shop,
            path_args={"delivery_option_id": delivery_option_id},
        )
        return [ShippingProvider.model_validate(p) for p in data.get("shipping_providers") or []]

    async def mark_package_shipped(
        self,
        shop: Shop,
        order_id: str,
        tracking_number: str,
        shipping_provider_id: str,
        order_line_item_ids: Sequence[str] | None = None,
    ) -> ShippedPackage:
        """Tell TikTok Shop a seller-shipped package left, with its carrier and tracking number.

        Not retried after an ambiguous failure: check the order before sending it again.
        """
        data = await self._call(
            ep.MARK_PACKAGE_SHIPPED,
            shop=shop,
            path_args={"order_id": order_id},
            body=_fields(
                tracking_number=tracking_number,
                shipping_provider_id=shipping_provider_id,
                order_line_item_ids=list(order_line_item_ids or []),
            ),
        )
        return ShippedPackage.model_validate(data)

    async def get_order_tracking(self, shop: Shop, order_id: str) -> list[TrackingEvent]:
        """Carrier tracking events for an order, newest first."""
        data = await self._call(ep.GET_TRACKING, shop=shop, path_args={"order_id": order_id})
        return [TrackingEvent.model_validate(t) for t in data.get("tracking") or []]

    # ------------------------------------------------------------------------------ analytics

    async def _report(
        self,
        endpoint: ep.Endpoint,
        shop: Shop,
        start_date: DateLike,
        end_date: DateLike,
        *,
        path_args: Mapping[str, str] | None = None,
        **extra: Any,
    ) -> PerformanceReport:
        data = await self._call(
            endpoint,
            shop=shop,
            path_args=path_args,
            query=_query(start_date_ge=_day(start_date), end_date_lt=_day(end_date), **extra),
        )
        return PerformanceReport.model_validate(data)

    async def _ranking(
        self,
        endpoint: ep.Endpoint,
        shop: Shop,
        key: str,
        model: type[M],
        start_date: DateLike,
        end_date: DateLike,
        *,
        path_args: Mapping[str, str] | None = None,
        **extra: Any,
    ) -> Page[M]:
        data = await self._call(
            endpoint,
            shop=shop,
            path_args=path_args,
            query=_query(start_date_ge=_day(start_date), end_date_lt=_day(end_date), **extra),
            shape=listing(model, key),
        )
        return _page(data)

    async def shop_performance(
        self,
        shop: Shop,
        start_date: DateLike,
        end_date: DateLike,
        *,
        granularity: str = "ALL",
        with_comparison: bool = False,
        currency: str | None = None,
    ) -> PerformanceReport:
        """Shop GMV, orders, buyers, traffic; dates YYYY-MM-DD, end exclusive, shop timezone."""
        return await self._report(
            ep.SHOP_PERFORMANCE,
            shop,
            start_date,
            end_date,
            granularity=granularity,
            with_comparison=with_comparison,
            currency=currency,
        )

    async def product_performance_list(
        self,
        shop: Shop,
        start_date: DateLike,
        end_date: DateLike,
        *,
        sort_field: str | None = None,
        sort_order: str | None = None,
        currency: str | None = None,
        page_size: int = 10,
        page_token: str | None = None,
    ) -> Page[ProductPerformance]:
        """Products ranked by GMV (or orders, units, CTR) over a date window."""
        return await self._ranking(
            ep.PRODUCT_PERFORMANCE_LIST,
            shop,
            "products",
            ProductPerformance,
            start_date,
            end_date,
            sort_field=sort_field,
            sort_order=sort_order,
            currency=currency,
            page_size=page_size,
            page_token=page_token,
        )

    async def product_performance(
        self,
        shop: Shop,
        product_id: str,
        start_date: DateLike,
        end_date: DateLike,
        *,
        granularity: str = "ALL",
        with_comparison: bool = False,
        currency: str | None = None,
    ) -> PerformanceReport:
        """One product's performance series."""
        return await self._report(
            ep.PRODUCT_PERFORMANCE,
            shop,
            start_date,
            end_date,
            path_args={"product_id": product_id},
            granularity=granularity,
            with_comparison=with_comparison,
            currency=currency,
        )

    async def sku_performance_list(
        self,
        shop: Shop,
        start_date: DateLike,
        end_date: DateLike,
        *,
        product_id: str | None = None,
        sort_field: str | None = None,
        sort_order: str | None = None,
        currency: str | None = None,
        page_size: int = 10,
        page_token: str | None = None,
    ) -> Page[SkuPerformance]:
        """SKUs ranked by GMV, optionally for one product."""
        return await self._ranking(
            ep.SKU_PERFORMANCE_LIST,
            shop,
            "skus",
            SkuPerformance,
            start_date,
            end_date,
            product_id=product_id,
            sort_field=sort_field,
            sort_order=sort_order,
            currency=currency,
            page_size=page_size,
            page_token=page_token,
        )

    async def video_performance_list(
        self,
        shop: Shop,
        start_date: DateLike,
        end_date: DateLike,
        *,
        sort_field: str | None = None,
        sort_order: str | None = None,
        account_type: str | None = None,
        currency: str | None = None,
        page_size: int = 10,
        page_token: str | None = None,
    ) -> Page[VideoPerformance]:
        """Shoppable videos ranked by GMV (or orders, units, views, CTR)."""
        return await self._ranking(
            ep.VIDEO_PERFORMANCE_LIST,
            shop,
            "videos",
            VideoPerformance,
            start_date,
            end_date,
            sort_field=sort_field,
            sort_order=sort_order,
            account_type=account_type,
            currency=currency,
            page_size=page_size,
            page_token=page_token,
        )

    async def video_performance_overview(
        self,
        shop: Shop,
        start_date: DateLike,
        end_date: DateLike,
        *,
        granularity: str = "ALL",
        with_comparison: bool = False,
        currency: str | None = None,
    ) -> PerformanceReport:
        """All videos together, as a series."""
        return await self._report(
            ep.VIDEO_PERFORMANCE_OVERVIEW,
            shop,
            start_date,
            end_date,
            granularity=granularity,
            with_comparison=with_comparison,
            currency=currency,
        )

    async def video_performance_detail(
        self,
        shop: Shop,
        video_id: str,
        start_date: DateLike,
        end_date: DateLike,
        *,
        granularity: str = "ALL",
        with_comparison: bool = False,
        currency: str | None = None,
    ) -> PerformanceReport:
        """One video's series plus engagement (likes, shares, comments, views)."""
        return await self._report(
            ep.VIDEO_PERFORMANCE_DETAIL,
            shop,
            start_date,
            end_date,
            path_args={"video_id": video_id},
            granularity=granularity,
            with_comparison=with_comparison,
            currency=currency,
        )

    async def video_performance_products(
        self,
        shop: Shop,
        video_id: str,
        start_date: DateLike,
        end_date: DateLike,
        *,
        sort_field: str | None = None,
        sort_order: str | None = None,
        currency: str | None = None,
        page_size: int = 10,
        page_token: str | None = None,
    ) -> Page[VideoProductPerformance]:
        """Products featured in one video and what they sold through it."""
        return await self._ranking(
            ep.VIDEO_PERFORMANCE_PRODUCTS,
            shop,
            "products",
            VideoProductPerformance,
            start_date,
            end_date,
            path_args={"video_id": video_id},
            sort_field=sort_field,
            sort_order=sort_order,
            currency=currency,
            page_size=page_size,
            page_token=page_token,
        )

    async def live_performance_list(
        self,
        shop: Shop,
        start_date: DateLike,
        end_date: DateLike,
        *,
        sort_field: str | None = None,
        sort_order: str | None = None,
        account_type: str | None = None,
        currency: str | None = None,
        page_size: int = 10,
        page_token: str | None = None,
    ) -> Page[LiveSession]:
        """LIVE sessions in a window with sales and interaction metrics."""
        return await self._ranking(
            ep.LIVE_PERFORMANCE_LIST,
            shop,
            "live_stream_sessions",
            LiveSession,
            start_date,
            end_date,
            sort_field=sort_field,
            sort_order=sort_order,
            account_type=account_type,
            currency=currency,
            page_size=page_size,
            page_token=page_token,
        )

    async def live_performance_overview(
        self,
        shop: Shop,
        start_date: DateLike,
        end_date: DateLike,
        *,
        granularity: str = "ALL",
        with_comparison: bool = False,
        account_type: str | None = None,
        currency: str | None = None,
    ) -> PerformanceReport:
        """All LIVE sessions together, as a series."""
        return await self._report(
            ep.LIVE_PERFORMANCE_OVERVIEW,
            shop,
            start_date,
            end_date,
            granularity=granularity,
            with_comparison=with_comparison,
            account_type=account_type,
            currency=currency,
        )


def check_stock_levels(skus: Sequence[SkuInventoryUpdate]) -> None:
    """Refuse any quantity Update Inventory does not accept (documented range [1, 99,999]).

    Zero is the case that matters: "sold out" cannot be written through this endpoint, and since
    every warehouse of a SKU must be sent, neither can an empty warehouse next to a stocked one.
    """
    for sku in skus:
        for level in sku.inventory:
            if not MIN_STOCK_QUANTITY <= level.quantity <= MAX_STOCK_QUANTITY:
                raise errors.InvalidRequest(
                    f"TikTok Shop's inventory update takes {MIN_STOCK_QUANTITY}-"
                    f"{MAX_STOCK_QUANTITY:,} per warehouse, so SKU {sku.sku_id} cannot be set to "
                    f"{level.quantity} in warehouse {level.warehouse_id}",
                    platform="tiktok",
                    operation=ep.UPDATE_INVENTORY.name,
                    hint="give every warehouse of the SKU at least 1; to stop selling a sold-out "
                    "SKU, deactivate it in TikTok Shop Seller Center",
                )


def _secret(value: Any) -> str | None:
    return value.get_secret_value() if value is not None else None


def _describe_item_error(error: ItemError) -> str:
    detail = error.detail
    parts = [f"SKU {detail.sku_id}" if detail and detail.sku_id else "item"]
    extras = detail.extra_errors if detail else []
    reasons = [
        f"{e.message} (code {e.code}{', warehouse ' + e.warehouse_id if e.warehouse_id else ''})"
        for e in extras
    ] or [f"{error.message} (code {error.code})"]
    return f"{parts[0]}: {', '.join(reasons)}"
