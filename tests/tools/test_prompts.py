"""The prompts a client lists, and how their arguments (strings on the wire) are read."""

from __future__ import annotations

from typing import Any

import pytest
from mcp import MCPError
from tests.support.mcp import connect

pytestmark = pytest.mark.anyio


async def test_prompts_are_listed_with_their_arguments_and_render_a_count(sandbox: Any) -> None:
    async with connect(sandbox) as client:
        listed = {p.name: p for p in (await client.list_prompts()).prompts}
        shipped = await client.get_prompt("fulfill_awaiting_orders", {"max_orders": "3"})
        default = await client.get_prompt("restock_check", {})
    assert set(listed) == {"daily_operations_brief", "fulfill_awaiting_orders", "restock_check"}
    assert [a.name for a in listed["fulfill_awaiting_orders"].arguments or []] == ["max_orders"]
    assert not any(a.required for p in listed.values() for a in p.arguments or [])
    assert "Ship up to 3 TikTok Shop orders" in shipped.messages[0].content.text  # type: ignore[union-attr]
    assert "buffer=0" in default.messages[0].content.text  # type: ignore[union-attr]


async def test_a_count_that_is_not_a_whole_number_is_refused(sandbox: Any) -> None:
    async with connect(sandbox) as client:
        for bad in ("ten", "-1", "1e9"):
            with pytest.raises(MCPError):
                await client.get_prompt("fulfill_awaiting_orders", {"max_orders": bad})
