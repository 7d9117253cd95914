"""The TikTok Shop Partner API operations this client calls: method, path template, and the two facts
the call machinery needs about each -- whether it is shop-scoped (takes ``shop_cipher``) and whether
repeating it is harmless (reads and absolute-state writes are; shipping a package is not).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Endpoint:
    """One API operation. ``template`` is also the rate-limit operation key."""

    name: str
    method: str
    template: str
    shop_scoped: bool = True
    idempotent: bool = True


AUTHORIZED_SHOPS = Endpoint(
    "get_authorized_shops", "GET", "/authorization/202309/shops", shop_scoped=False
)
SEARCH_PRODUCTS = Endpoint("search_products", "POST", "/product/202502/products/search")
GET_PRODUCT = Endpoint("get_product", "GET", "/product/202309/products/{product_id}")
SEARCH_INVENTORY = Endpoint("search_inventory", "POST", "/product/202309/inventory/search")
UPDATE_INVENTORY = Endpoint(
    "update_inventory", "POST", "/product/202309/products/{product_id}/inventory/update"
)
SEARCH_ORDERS = Endpoint("search_orders", "POST", "/order/202309/orders/search")
GET_ORDERS = Endpoint("get_orders", "GET", "/order/202507/orders")
SEARCH_RETURNS = Endpoint("search_returns", "POST", "/return_refund/202309/returns/search")
SEARCH_CANCELLATIONS = Endpoint(
    "search_cancellations", "POST", "/return_refund/202309/cancellations/search"
)
GET_WAREHOUSES = Endpoint("get_warehouses", "GET", "/logistics/202309/warehouses")
GET_DELIVERY_OPTIONS = Endpoint(
    "get_delivery_options", "GET", "/logistics/202309/warehouses/{warehouse_id}/delivery_options"
)
GET_SHIPPING_PROVIDERS = Endpoint(
    "get_shipping_providers",
    "GET",
    "/logistics/202309/delivery_options/{delivery_option_id}/shipping_providers",
)
MARK_PACKAGE_SHIPPED = Endpoint(
    "mark_package_shipped",
    "POST",
    "/fulfillment/202309/orders/{order_id}/packages",
    idempotent=False,
)
GET_TRACKING = Endpoint(
    "get_order_tracking", "GET", "/fulfillment/202309/orders/{order_id}/tracking"
)
SHOP_PERFORMANCE = Endpoint("shop_performance", "GET", "/analytics/202405/shop/performance")
PRODUCT_PERFORMANCE_LIST = Endpoint(
    "product_performance_list", "GET", "/analytics/202405/shop_products/performance"
)
PRODUCT_PERFORMANCE = Endpoint(
    "product_performance", "GET", "/analytics/202405/shop_products/{product_id}/performance"
)
SKU_PERFORMANCE_LIST = Endpoint(
    "sku_performance_list", "GET", "/analytics/202406/shop_skus/performance"
)
VIDEO_PERFORMANCE_LIST = Endpoint(
    "video_performance_list", "GET", "/analytics/202409/shop_videos/performance"
)
VIDEO_PERFORMANCE_OVERVIEW = Endpoint(
    "video_performance_overview", "GET", "/analytics/202409/shop_videos/overview_performance"
)
VIDEO_PERFORMANCE_DETAIL = Endpoint(
    "video_performance_detail", "GET", "/analytics/202409/shop_videos/{video_id}/performance"
)
VIDEO_PERFORMANCE_PRODUCTS = Endpoint(
    "video_performance_products",
    "GET",
    "/analytics/202409/shop_videos/{video_id}/products/performance",
)
LIVE_PERFORMANCE_LIST = Endpoint(
    "live_performance_list", "GET", "/analytics/202508/shop_lives/performance"
)
LIVE_PERFORMANCE_OVERVIEW = Endpoint(
    "live_performance_overview", "GET", "/analytics/202508/shop_lives/overview_performance"
)
