"""list_tiktok_returns pages through every return whatever the limit, though TikTok pages by >= 10."""

from __future__ import annotations

from typing import Any

import pytest
from mcp import Client
from tests.support.sandbox import sandbox_services

from commerce_mcp.server import build_server

pytestmark = pytest.mark.anyio


@pytest.mark.parametrize("limit", [3, 7, 10, 15])
async def test_small_limits_list_every_return_once_in_order(sandbox: Any, limit: int) -> None:
    shop = sandbox.tiktok.shops[0]
    expected = [
        r["return_id"]
        for r in sorted(
            shop.returns, key=lambda r: (r["create_time"], r["return_id"]), reverse=True
        )
    ]
    seen: list[str] = []
    cursor = None
    async with Client(build_server(sandbox_services(sandbox))) as client:
        for _ in range(len(expected) + 2):
            args: dict[str, Any] = {"kind": "returns", "limit": limit}
            if cursor:
                args["cursor"] = cursor
            result = await client.call_tool("list_tiktok_returns", args)
            assert result.is_error is False, result.content
            data = result.structured_content or {}
            assert len(data["items"]) <= limit
            seen += [item["id"] for item in data["items"]]
            cursor = data.get("next_cursor")
            if not cursor:
                break
    assert seen == expected
