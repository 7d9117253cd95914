"""An inventory update tells its caller the moment it leaves, once, whatever retries follow (respx
for TikTok, virtual clock: no real sleeps)."""

from __future__ import annotations

import httpx
import pytest
import respx
from tests.tiktok.tiktok_helpers import MOCKED_BASE, mocked_client

from commerce_mcp import errors
from commerce_mcp.resilience.testing import VirtualClock
from commerce_mcp.tiktok.models import InventoryLevel, Shop, SkuInventoryUpdate

pytestmark = pytest.mark.anyio

SHOP = Shop(id="1", name="S", cipher="ROW_c")
UPDATE = f"{MOCKED_BASE}/product/202309/products/P1/inventory/update"
THROTTLED = {"code": 36009002, "message": "Too many requests.", "data": None, "request_id": "R"}
DONE = {"code": 0, "message": "Success", "data": {}, "request_id": "R2"}


def stock(quantity: int) -> list[SkuInventoryUpdate]:
    return [
        SkuInventoryUpdate(
            sku_id="S1", inventory=[InventoryLevel(warehouse_id="W", quantity=quantity)]
        )
    ]


@respx.mock
async def test_sending_is_told_once_before_the_first_request_leaves_and_not_again_on_a_retry() -> (
    None
):
    client = mocked_client(VirtualClock())
    told: list[str] = []
    told_when_sent: list[int] = []

    def answer(request: httpx.Request) -> httpx.Response:
        told_when_sent.append(len(told))
        return (
            httpx.Response(429, json=THROTTLED)
            if len(told_when_sent) == 1
            else httpx.Response(200, json=DONE)
        )

    respx.post(UPDATE).mock(side_effect=answer)
    try:
        await client.update_inventory(SHOP, "P1", stock(5), sending=lambda: told.append("sent"))
    finally:
        await client.aclose()
    assert told_when_sent == [1, 1] and told == ["sent"]


@respx.mock
async def test_an_update_refused_before_sending_never_says_it_was_sent() -> None:
    client = mocked_client(VirtualClock())
    route = respx.post(UPDATE).mock(return_value=httpx.Response(200, json=DONE))
    told: list[str] = []
    try:
        with pytest.raises(errors.InvalidRequest):
            await client.update_inventory(SHOP, "P1", stock(0), sending=lambda: told.append("sent"))
    finally:
        await client.aclose()
    assert told == [] and route.call_count == 0


@respx.mock
async def test_a_sending_hook_that_raises_keeps_the_update_from_leaving() -> None:
    client = mocked_client(VirtualClock())
    route = respx.post(UPDATE).mock(return_value=httpx.Response(200, json=DONE))

    class Stop(Exception):
        pass

    def stop() -> None:
        raise Stop

    try:
        with pytest.raises(Stop):
            await client.update_inventory(SHOP, "P1", stock(5), sending=stop)
    finally:
        await client.aclose()
    assert route.call_count == 0
