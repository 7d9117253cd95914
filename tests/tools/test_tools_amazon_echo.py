"""Text Amazon echoes back (SKUs, reason codes, carriers, ids) is cleaned before the model sees it.

The caller can no longer send a SKU with hidden characters (see test_tools_inputs.py), but Amazon
returns what its catalog holds; the renderers must not pass a bidi override or an escape sequence on.
"""

from __future__ import annotations

import json

from hypothesis import given
from hypothesis import strategies as st

from commerce_mcp.amazon.models import FulfillmentOrderDetail, FulfillmentPreview
from commerce_mcp.tools.amazon import (
    order_view,
    render_order,
    render_preview,
    summarize_order,
    summarize_preview,
)

HIDDEN = "\u202e\x00\x1b\u200b\u2066\ufeff\x85"
hidden_text = st.builds(
    lambda a, bad, b: a + bad + b,
    st.text(max_size=10),
    st.sampled_from(HIDDEN),
    st.text(max_size=10),
)


def _preview(sku: str, reason: str) -> FulfillmentPreview:
    return FulfillmentPreview.model_validate(
        {
            "shippingSpeedCategory": "Standard",
            "isFulfillable": False,
            "estimatedFees": [{"name": reason, "amount": {"currencyCode": "USD", "value": "1"}}],
            "unfulfillablePreviewItems": [
                {"sellerSku": sku, "quantity": 1, "itemUnfulfillableReasons": [reason]}
            ],
            "orderUnfulfillableReasons": [reason],
        }
    )


def _detail(text: str) -> FulfillmentOrderDetail:
    return FulfillmentOrderDetail.model_validate(
        {
            "fulfillmentOrder": {
                "sellerFulfillmentOrderId": "cmcp-1",
                "displayableOrderId": text,
                "fulfillmentOrderStatus": "Processing",
                "shippingSpeedCategory": "Standard",
                "destinationAddress": {"city": text, "countryCode": "US"},
            },
            "fulfillmentOrderItems": [{"sellerSku": text, "quantity": 1}],
            "fulfillmentShipments": [
                {
                    "fulfillmentShipmentStatus": "SHIPPED",
                    "fulfillmentShipmentPackage": [
                        {"packageNumber": 1, "carrierCode": text, "trackingNumber": text}
                    ],
                }
            ],
        }
    )


def _visible(*texts: str) -> None:
    for text in texts:
        assert not any(ch in text for ch in HIDDEN), repr(text)


def test_the_issue_example_is_cleaned() -> None:
    view = summarize_preview(_preview("TS-\u202e1\x00\x1b[31m", "InvalidSKU"))
    assert view.unfulfillable == ["TS-1[31m: InvalidSKU"]


@given(sku=hidden_text, reason=hidden_text)
def test_previews_never_echo_hidden_characters(sku: str, reason: str) -> None:
    view = summarize_preview(_preview(sku, reason))
    _visible(render_preview(view), json.dumps(view.model_dump(mode="json"), ensure_ascii=False))


@given(text=hidden_text)
def test_orders_never_echo_hidden_characters(text: str) -> None:
    detail = _detail(text)
    order = order_view(detail)
    summary = summarize_order(detail.fulfillment_order)
    _visible(
        render_order(order),
        json.dumps(order.model_dump(mode="json"), ensure_ascii=False),
        json.dumps(summary.model_dump(mode="json"), ensure_ascii=False),
    )
