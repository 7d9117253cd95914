"""Request models are strict (and produce schema-valid bodies); response models are lenient."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError

from commerce_mcp.amazon.ids import deterministic_order_id, order_id_problem
from commerce_mcp.amazon.models import (
    CreateFulfillmentOrderRequest,
    FulfillmentOrderDetail,
    FulfillmentOrderPage,
    FulfillmentPreviewRequest,
    FulfillmentPreviewResult,
    InventoryPage,
    PackageTracking,
)

Loader = Callable[[str], Any]

ADDRESS = {
    "name": "Ada Buyer",
    "address_line1": "1 Main St",
    "city": "Seattle",
    "state_or_region": "WA",
    "postal_code": "98101",
    "country_code": "US",
}


def order(**overrides: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "seller_fulfillment_order_id": "tts-576461",
        "displayable_order_id": "TT 576461",
        "displayable_order_date": datetime(2026, 11, 1, tzinfo=UTC),
        "displayable_order_comment": "Thanks for your order!",
        "shipping_speed_category": "Standard",
        "destination_address": ADDRESS,
        "items": [{"seller_sku": "TS-0001-BLA", "seller_fulfillment_order_item_id": "1",
                   "quantity": 2, "per_unit_price": {"currency_code": "USD", "value": "9.99"}}],
        "fulfillment_policy": "FillOrKill",
    }  # fmt: skip
    base.update(overrides)
    return base


def validator_for(reference: Loader, definition: str) -> Any:
    jsonschema = pytest.importorskip("jsonschema")
    model = reference("fulfillmentOutbound_2020-07-01.json")
    return jsonschema.Draft4Validator(
        {"$ref": f"#/definitions/{definition}", "definitions": model["definitions"]},
        format_checker=jsonschema.FormatChecker(),
    )


def test_create_body_is_camel_case_with_money_as_strings() -> None:
    body = CreateFulfillmentOrderRequest.model_validate(order()).to_wire()
    assert body["sellerFulfillmentOrderId"] == "tts-576461"
    assert body["displayableOrderDate"] == "2026-11-01T00:00:00Z"
    assert body["destinationAddress"]["addressLine1"] == "1 Main St"
    assert body["items"][0]["perUnitPrice"] == {"currencyCode": "USD", "value": "9.99"}
    assert "marketplaceId" not in body  # no nulls on the wire


def test_create_body_validates_against_the_official_schema(reference: Loader) -> None:
    body = CreateFulfillmentOrderRequest.model_validate(
        order(notification_emails=["ops@example.com"], fulfillment_action="Ship")
    ).to_wire()
    errors = [
        e.message
        for e in validator_for(reference, "CreateFulfillmentOrderRequest").iter_errors(body)
    ]
    assert errors == []


def test_preview_body_validates_against_the_official_schema(reference: Loader) -> None:
    body = FulfillmentPreviewRequest.model_validate({
        "address": ADDRESS,
        "items": [{"seller_sku": "A", "seller_fulfillment_order_item_id": "1", "quantity": 1}],
        "shipping_speed_categories": ["Standard", "Priority"],
        "marketplace_id": "ATVPDKIKX0DER",
    }).to_wire()  # fmt: skip
    errors = [
        e.message
        for e in validator_for(reference, "GetFulfillmentPreviewRequest").iter_errors(body)
    ]
    assert errors == []
    assert body["address"]["countryCode"] == "US"


def test_schema_validator_is_not_vacuous(reference: Loader) -> None:
    body = CreateFulfillmentOrderRequest.model_validate(order()).to_wire()
    del body["destinationAddress"]["postalCode"]
    body["shippingSpeedCategory"] = "Warp"
    assert (
        len(list(validator_for(reference, "CreateFulfillmentOrderRequest").iter_errors(body))) == 2
    )


@pytest.mark.parametrize(
    "bad_id",
    ["A+B", "A B", "A  B", "x" * 41, "order-😀", "", "a/b", "ü-123"],
)
def test_unsafe_order_ids_are_rejected_locally(bad_id: str) -> None:
    with pytest.raises(ValidationError, match="sellerFulfillmentOrderId"):
        CreateFulfillmentOrderRequest.model_validate(order(seller_fulfillment_order_id=bad_id))


@pytest.mark.parametrize("shown", ["TT  1", "", "x" * 41, "order 😀", " lead"])
def test_bad_displayable_order_ids_are_rejected(shown: str) -> None:
    with pytest.raises(ValidationError):
        CreateFulfillmentOrderRequest.model_validate(order(displayable_order_id=shown))


@pytest.mark.parametrize("quantity", [0, -1, "2", 2.0, True, 251])
def test_quantities_must_be_positive_integers(quantity: object) -> None:
    items = [{"seller_sku": "A", "seller_fulfillment_order_item_id": "1", "quantity": quantity}]
    with pytest.raises(ValidationError):
        CreateFulfillmentOrderRequest.model_validate(order(items=items))


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("shipping_speed_category", "Overnight"),
        ("fulfillment_policy", "FillSome"),
        ("fulfillment_action", "Ship it"),
        ("destination_address", {**ADDRESS, "country_code": "USA"}),
        ("destination_address", {k: v for k, v in ADDRESS.items() if k != "postal_code"}),
        ("destination_address", {k: v for k, v in ADDRESS.items() if k != "state_or_region"}),
        ("destination_address", {k: v for k, v in ADDRESS.items() if k != "name"}),
        ("items", []),
    ],
)
def test_enums_and_required_fields_are_enforced(field: str, value: object) -> None:
    with pytest.raises(ValidationError):
        CreateFulfillmentOrderRequest.model_validate(order(**{field: value}))


@pytest.mark.parametrize(("code", "why"), [("UN", "not an assigned"), ("UK", "did you mean GB")])
def test_a_destination_country_must_be_an_assigned_code(code: str, why: str) -> None:
    # "UN" is what the first two letters of "United States" make: it must never reach Amazon.
    with pytest.raises(ValidationError, match=why):
        CreateFulfillmentOrderRequest.model_validate(
            order(destination_address={**ADDRESS, "country_code": code})
        )


def test_duplicate_line_ids_are_rejected() -> None:
    line = {"seller_sku": "A", "seller_fulfillment_order_item_id": "1", "quantity": 1}
    with pytest.raises(ValidationError, match="unique"):
        CreateFulfillmentOrderRequest.model_validate(order(items=[line, line]))


def test_hold_is_not_allowed_with_scheduled_delivery() -> None:
    with pytest.raises(ValidationError, match="Hold"):
        CreateFulfillmentOrderRequest.model_validate(
            order(shipping_speed_category="ScheduledDelivery", fulfillment_action="Hold")
        )


@given(st.text(min_size=1, max_size=80))
def test_deterministic_ids_are_always_amazon_safe_and_stable(source: str) -> None:
    made = deterministic_order_id("tts", source)
    assert order_id_problem(made) is None
    assert made == deterministic_order_id("tts", source)


@given(st.text(min_size=1, max_size=60), st.text(min_size=1, max_size=60))
def test_deterministic_ids_do_not_collide(first: str, second: str) -> None:
    if first != second:
        assert deterministic_order_id("tts", first) != deterministic_order_id("tts", second)


def test_deterministic_id_keeps_simple_ids_readable() -> None:
    assert deterministic_order_id("tts", "576461882341") == "tts-576461882341"


# Responses ---------------------------------------------------------------------------------------


def test_every_current_example_parses(reference: Loader) -> None:
    examples = reference("fixtures_current_examples.json")["fbaOutbound_2020-07-01"]
    preview = FulfillmentPreviewResult.model_validate(
        examples["getFulfillmentPreview"]["200"]["payload"]
    )
    assert preview.fulfillment_previews[0].total_fees == Decimal("19.71")
    detail = FulfillmentOrderDetail.model_validate(
        examples["getFulfillmentOrder"]["200"]["payload"]
    )
    assert detail.fulfillment_order.fulfillment_order_status == "Processing"  # was PROCESSING
    page = FulfillmentOrderPage.model_validate(
        examples["listAllFulfillmentOrders"]["200"]["payload"]
    )
    assert page.fulfillment_orders[0].fulfillment_order_status == "Received"  # was RECEIVED
    assert page.fulfillment_orders[0].marketplace_id is None  # missing upstream, still parses
    tracking = PackageTracking.model_validate(
        examples["getPackageTrackingDetails"]["200"]["payload"]
    )
    assert tracking.tracking_events


def test_every_historical_sandbox_response_parses(reference: Loader) -> None:
    history = reference("fixtures_historical_static_sandbox.json")
    parsers = {
        "getFulfillmentPreview": FulfillmentPreviewResult,
        "listAllFulfillmentOrders": FulfillmentOrderPage,
        "getFulfillmentOrder": FulfillmentOrderDetail,
        "getPackageTrackingDetails": PackageTracking,
    }
    parsed = 0
    for api in history.values():
        for name, cases in api.items():
            operation = name.rsplit("(", 1)[-1].rstrip(")")
            for case in cases.get("200", []):
                response = case["response"]
                if operation == "getInventorySummaries":
                    page = InventoryPage.model_validate({
                        **response["payload"],
                        "nextToken": response.get("pagination", {}).get("nextToken"),
                    })  # fmt: skip
                    assert page.inventory_summaries
                    assert page.next_token == "seed"
                    parsed += 1
                elif operation in parsers:
                    parsers[operation].model_validate(response["payload"])
                    parsed += 1
    assert parsed >= 5


def test_unknown_enum_values_are_kept() -> None:
    page = FulfillmentOrderPage.model_validate({
        "fulfillmentOrders": [{"sellerFulfillmentOrderId": "x", "fulfillmentOrderStatus": "Teleported",
                               "shippingSpeedCategory": "EXPEDITED", "receivedDate": "not a date"}]
    })  # fmt: skip
    first = page.fulfillment_orders[0]
    assert first.fulfillment_order_status == "Teleported"
    assert first.shipping_speed_category == "Expedited"
    assert first.received_date is None
