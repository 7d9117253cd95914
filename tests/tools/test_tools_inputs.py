"""Caller-supplied text and dates are checked before any upstream call (issue 12, items 9 to 11).

Every refusal is asserted through a real in-memory MCP client, and "before any upstream call" is
asserted by a Services whose platform clients count how often they were asked for: a refused call
never obtains one.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from tests.support.mcp import connect, error_text, ok, services_for, text_of

from commerce_mcp.countries import ISO_COUNTRY_CODES
from commerce_mcp.sandbox.catalog import build_catalog
from commerce_mcp.services import Services
from commerce_mcp.tools.inputs import EARLIEST_DATE, FUTURE_ALLOWANCE

pytestmark = pytest.mark.anyio

#: One of each kind the issue names (RLO, NUL, ESC), plus the other invisible families.
UNSAFE = "\u202e\x00\x1b\u200b\u2066\ufeff\x7f\x85\t\n"
#: Hypothesis runs each example through a fresh in-memory client: keep the counts modest.
FEW = settings(
    max_examples=15,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


class Counting:
    """Sandbox services that count every request for a platform client (the only way upstream)."""

    def __init__(self, sandbox: Any) -> None:
        self.services: Services = services_for(sandbox)
        self.asked: list[str] = []
        real_tiktok, real_amazon = self.services.tiktok, self.services.amazon

        async def tiktok() -> Any:
            self.asked.append("tiktok")
            return await real_tiktok()

        async def amazon() -> Any:
            self.asked.append("amazon")
            return await real_amazon()

        self.services.tiktok = tiktok  # type: ignore[method-assign]
        self.services.amazon = amazon  # type: ignore[method-assign]


def _recipient(**changes: str) -> dict[str, Any]:
    return {
        "name": "Pat Buyer",
        "address_line1": "1 Test Street",
        "city": "Austin",
        "state_or_region": "TX",
        "postal_code": "78701",
        "country_code": "US",
        **changes,
    }


def _fba_sku() -> str:
    return next(s.seller_sku for s in build_catalog().all_skus() if s.fba and s.fba.fulfillable)


def _sandbox_today(sandbox: Any) -> date:
    return datetime.fromtimestamp(sandbox.clock.now(), UTC).date()


# Strings that are fine except for one hidden character somewhere (no ',' so get_inventory's own
# pattern never fires first; short enough for every SKU field).
_visible = st.text(
    alphabet=st.characters(
        codec="utf-8", categories=("L", "N", "P", "S", "Zs"), exclude_characters=","
    ),
    max_size=15,
)
tainted = st.builds(
    lambda head, bad, tail: head + bad + tail, _visible, st.sampled_from(UNSAFE), _visible
)


def _sku_calls(sku: str) -> list[tuple[str, dict[str, Any]]]:
    """Every tool argument that names a seller SKU, each carrying ``sku``."""
    line = {"seller_sku": sku, "quantity": 1}
    return [
        ("preview_mcf_order", {"items": [line], "recipient": _recipient()}),
        ("create_mcf_order", {"items": [line], "recipient": _recipient()}),
        ("get_inventory", {"seller_skus": ["TS-OK", sku]}),
        ("list_tiktok_products", {"seller_skus": [sku]}),
        ("update_tiktok_inventory", {"items": [line]}),
        ("sync_inventory_to_tiktok", {"skus": [sku]}),
        ("sync_mcf_tracking_to_tiktok", {"order_ids": [sku]}),
    ]


@FEW
@given(sku=tainted, which=st.integers(min_value=0, max_value=6))
async def test_a_hidden_character_in_a_sku_is_refused_before_any_upstream_call(
    sandbox: Any, sku: str, which: int
) -> None:
    counting = Counting(sandbox)
    tool, arguments = _sku_calls(sku)[which]
    async with connect(sandbox, services=counting.services) as client:
        text = error_text(await client.call_tool(tool, arguments))
    assert counting.asked == [], f"{tool} reached a platform before refusing"
    assert "U+" in text, text
    # The refusal itself never carries the hidden character back into the model's context.
    assert not any(ch in text for ch in UNSAFE if ch != "\n"), repr(text)


async def test_the_refusal_names_the_argument_and_the_character(sandbox: Any, era: str) -> None:
    counting = Counting(sandbox)
    async with connect(sandbox, era, services=counting.services) as client:
        text = error_text(
            await client.call_tool("get_inventory", {"seller_skus": ["TS-1", "TS-\u202e2"]})
        )
    assert "seller_skus[1]" in text and "U+202E" in text and counting.asked == []


@FEW
@given(
    field=st.sampled_from(
        [
            "name",
            "address_line1",
            "address_line2",
            "city",
            "state_or_region",
            "postal_code",
            "phone",
        ]
    ),
    value=tainted.filter(lambda v: 1 <= len(v) <= 20),
)
async def test_recipient_fields_with_control_characters_are_refused(
    sandbox: Any, field: str, value: str
) -> None:
    counting = Counting(sandbox)
    arguments = {
        "items": [{"seller_sku": _fba_sku(), "quantity": 1}],
        "recipient": _recipient(**{field: value}),
    }
    async with connect(sandbox, services=counting.services) as client:
        text = error_text(await client.call_tool("preview_mcf_order", arguments))
    assert counting.asked == [] and "U+" in text, text


@pytest.mark.parametrize(
    ("code", "expected"),
    [("UK", "did you mean GB"), ("ZZ", "not an assigned ISO 3166-1"), ("AA", "ISO 3166-1")],
)
async def test_country_codes_must_be_assigned_iso_codes(
    sandbox: Any, era: str, code: str, expected: str
) -> None:
    counting = Counting(sandbox)
    arguments = {
        "items": [{"seller_sku": _fba_sku(), "quantity": 1}],
        "recipient": _recipient(country_code=code),
    }
    async with connect(sandbox, era, services=counting.services) as client:
        text = error_text(await client.call_tool("preview_mcf_order", arguments))
    assert expected in text and counting.asked == []


async def test_an_assigned_country_code_other_than_us_is_accepted(sandbox: Any) -> None:
    arguments = {
        "items": [{"seller_sku": _fba_sku(), "quantity": 1}],
        "recipient": _recipient(country_code="CA", state_or_region="ON", postal_code="M5V 2T6"),
    }
    async with connect(sandbox) as client:
        result = await client.call_tool("preview_mcf_order", arguments)
    assert result.is_error is False, text_of(result)


def test_the_embedded_country_list_is_the_249_assigned_codes() -> None:
    assert len(ISO_COUNTRY_CODES) == 249
    assert {"US", "GB", "DE", "SS", "CW", "SX", "BQ"} <= ISO_COUNTRY_CODES
    assert not {"UK", "EU", "XK", "AN", "YU"} & ISO_COUNTRY_CODES  # reserved or withdrawn


# Dates -----------------------------------------------------------------------------------------

ANALYTICS = (
    "get_tiktok_shop_performance",
    "get_tiktok_product_performance",
    "get_tiktok_content_performance",
)


@pytest.mark.parametrize("value", [0, "0", "1970-01-01", "1999-12-31", "2206-01-01"])
async def test_out_of_range_end_date_is_a_range_error_not_1970(
    sandbox: Any, era: str, value: Any
) -> None:
    counting = Counting(sandbox)
    async with connect(sandbox, era, services=counting.services) as client:
        text = error_text(
            await client.call_tool("get_tiktok_shop_performance", {"end_date": value})
        )
    assert "2000-01-01" in text, text  # the allowed range is stated
    assert "1970" not in text.replace("1970-01-01 is out of range", "")  # never read as 1970
    assert counting.asked == []


@FEW
@given(
    tool=st.sampled_from(ANALYTICS),
    which=st.sampled_from(["start_date", "end_date"]),
    day=st.one_of(
        st.dates(max_value=EARLIEST_DATE - timedelta(days=1)),
        st.dates(min_value=date(2030, 1, 1)).filter(lambda d: d.year >= 2030),
    ),
)
async def test_any_analytics_date_outside_the_range_is_refused(
    sandbox: Any, tool: str, which: str, day: date
) -> None:
    if day <= _sandbox_today(sandbox) + FUTURE_ALLOWANCE and day >= EARLIEST_DATE:
        return  # inside the range after all (the sandbox clock is ahead of real time)
    counting = Counting(sandbox)
    async with connect(sandbox, services=counting.services) as client:
        text = error_text(await client.call_tool(tool, {which: day.isoformat()}))
    assert f"{which}={day.isoformat()} is out of range" in text and "2000-01-01" in text
    assert counting.asked == []


@pytest.mark.parametrize(
    ("tool", "argument"),
    [
        ("list_tiktok_orders", "created_from"),
        ("list_tiktok_orders", "created_to"),
        ("list_tiktok_orders", "updated_from"),
        ("list_tiktok_orders", "updated_to"),
        ("list_tiktok_products", "updated_since"),
        ("list_tiktok_returns", "created_from"),
    ],
)
@pytest.mark.parametrize("value", ["1999-12-31", "1970-01-01T00:00Z", "9999d", "2999-01-01"])
async def test_list_filters_refuse_dates_outside_the_range(
    sandbox: Any, tool: str, argument: str, value: str
) -> None:
    counting = Counting(sandbox)
    async with connect(sandbox, services=counting.services) as client:
        text = error_text(await client.call_tool(tool, {argument: value}))
    assert "is out of range" in text and "2000-01-01" in text, text
    assert counting.asked == []


async def test_dates_inside_the_range_still_answer(sandbox: Any, era: str) -> None:
    today = _sandbox_today(sandbox)
    async with connect(sandbox, era) as client:
        old = ok(
            await client.call_tool(
                "get_tiktok_shop_performance",
                {"start_date": "2000-01-01", "end_date": "2000-01-08"},
            )
        )
        ahead = ok(
            await client.call_tool(
                "get_tiktok_shop_performance",
                {"start_date": today.isoformat(), "end_date": (today + timedelta(30)).isoformat()},
            )
        )
        videos = ok(
            await client.call_tool(
                "get_tiktok_content_performance",
                {"start_date": "2000-01-01", "end_date": "2000-01-08"},
            )
        )
        orders = ok(await client.call_tool("list_tiktok_orders", {"created_from": "2000-01-01"}))
    # Before the shop had data, and in the future: empty, not a "temporary failure".
    assert old["intervals"][0]["orders"] == 0 and ahead["intervals"][0]["orders"] == 0
    assert all(float(item["gmv"] or 0) == 0 for item in videos["items"])
    assert orders["orders"]


# sync_inventory_to_tiktok scope ------------------------------------------------------------------


async def test_sync_inventory_with_an_empty_sku_list_is_an_error_not_every_sku(
    sandbox: Any, era: str
) -> None:
    counting = Counting(sandbox)
    async with connect(sandbox, era, services=counting.services) as client:
        text = error_text(await client.call_tool("sync_inventory_to_tiktok", {"skus": []}))
        tools = {t.name: t for t in (await client.list_tools()).tools}
    assert "pass no skus argument to plan every mapped SKU" in text
    assert counting.asked == []  # nothing planned, nothing read
    # The argument itself says so, where a model choosing its value reads it.
    skus = tools["sync_inventory_to_tiktok"].input_schema["properties"]["skus"]["description"]
    assert "empty is refused" in skus and "omit for every mapped SKU" in skus


async def test_sync_inventory_without_skus_still_plans_every_mapped_sku(sandbox: Any) -> None:
    async with connect(sandbox) as client:
        plan = ok(await client.call_tool("sync_inventory_to_tiktok", {}))
    assert plan["status"] in ("plan", "nothing_to_do")
    assert len(plan["changes"]) + plan["unchanged"] > 10
