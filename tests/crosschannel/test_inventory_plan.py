"""Planned TikTok stock is always something Update Inventory accepts (1-99,999 in every warehouse)."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from commerce_mcp.crosschannel.inventory_sync import InventoryPlan, PlanRow, apply_plan
from commerce_mcp.tiktok.models import SkuInventoryUpdate

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
        self, shop: Any, product_id: str, skus: list[SkuInventoryUpdate]
    ) -> None:
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
    report = await apply_plan(tiktok=tiktok, shop=None, plan=plan)  # type: ignore[arg-type]
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
    report = await apply_plan(tiktok=tiktok, shop=None, plan=plan)  # type: ignore[arg-type]
    assert tiktok.sent == [] and report.updated == [] and list(report.failed) == ["SOLD-OUT"]
