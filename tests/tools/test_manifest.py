"""Listing tools needs neither the tool modules nor the clients behind them; a first call is as strict."""

from __future__ import annotations

import json
import subprocess
import sys
from typing import Any

import pytest
from tests.support.mcp import connect, error_text, ok, services_for

from commerce_mcp.tools.confirmation import NOT_ASKED

pytestmark = pytest.mark.anyio

#: Imported by a server that has answered tools/list, in a fresh interpreter: what it loaded.
_LIST_AND_REPORT = """
import json, sys
import anyio
from commerce_mcp.server import build_server
from commerce_mcp.services import Services
server = build_server(Services.from_env())
assert len(anyio.run(server.list_tools)) >= 20
print(json.dumps(sorted(sys.modules)))
"""


def test_listing_tools_imports_no_tool_module_client_or_settings_framework(tmp_path: Any) -> None:
    env = {"PATH": "", "COMMERCE_MCP_ALLOW_WRITES": "true"}
    proc = subprocess.run(
        [sys.executable, "-c", _LIST_AND_REPORT],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
        env=env,
        cwd=tmp_path,  # no .env of the checkout
    )
    loaded = set(json.loads(proc.stdout))
    heavy = {
        "commerce_mcp.tools.tiktok",
        "commerce_mcp.tools.amazon",
        "commerce_mcp.tools.crosschannel",
        "commerce_mcp.tools.inventory",
        "commerce_mcp.tiktok.client",
        "commerce_mcp.amazon.client",
        "commerce_mcp.crosschannel.fulfill",
        "sp_api",
        "httpx",
        "pydantic_settings",
    }
    assert not heavy & loaded, sorted(heavy & loaded)


async def test_the_first_call_of_a_tool_validates_exactly_like_later_ones(sandbox: Any) -> None:
    bad = {"limit": 20, "stauts": "AWAITING_SHIPMENT"}
    firsts: list[str] = []
    for _ in range(2):  # two fresh servers: the refusal is each one's first call of the tool
        async with connect(sandbox) as client:
            firsts.append(error_text(await client.call_tool("list_tiktok_orders", bad)))
            again = error_text(await client.call_tool("list_tiktok_orders", bad))
            ok(await client.call_tool("list_tiktok_orders", {"limit": 1}))
    assert firsts[0] == firsts[1] == again
    assert "unknown argument 'stauts'; did you mean 'status'?" in again


async def test_a_manifest_card_that_calls_a_write_tool_a_read_is_refused_not_run(
    sandbox: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Writes are off, so only read tools are listed; a stale card claiming a write tool only reads
    # would list it, and the call must then stop before anything reaches the platform.
    from dataclasses import replace

    from commerce_mcp.tools import manifest
    from commerce_mcp.tools._common import READ

    stale = tuple(
        replace(tool, annotations=READ) if tool.name == "update_tiktok_inventory" else tool
        for tool in manifest.published_tools()
    )
    monkeypatch.setattr(manifest, "published_tools", lambda: stale)
    services = services_for(sandbox, commerce_mcp_allow_writes=False)
    mark = len(sandbox.tiktok_traffic)
    async with connect(sandbox, services=services) as client:
        listed = {tool.name for tool in (await client.list_tools()).tools}
        args = {"items": [{"seller_sku": "ANY-1", "quantity": 1}]}
        refused = error_text(await client.call_tool("update_tiktok_inventory", args))
    assert "update_tiktok_inventory" in listed  # what the stale card allowed
    assert refused == "Error executing tool update_tiktok_inventory"
    assert sandbox.tiktok_traffic.since(mark) == []


async def test_a_write_tool_reached_with_writes_off_changes_nothing(sandbox: Any) -> None:
    from commerce_mcp.errors import PermissionDenied
    from commerce_mcp.tools.confirmation import ConfirmationBook, WriteGate

    services = services_for(sandbox, commerce_mcp_allow_writes=False)
    gate = WriteGate(ConfirmationBook.for_secret(None), services, "cancel_mcf_order")
    executed: list[str] = []

    async def execute() -> str:
        executed.append("sent")
        return "sent"

    async def preview(issue: Any) -> str:
        return issue()

    with pytest.raises(PermissionDenied, match=r"writes are off .*nothing was changed"):
        await gate.run(
            bound={}, approval=NOT_ASKED, token=None, preview=preview, declined=str, execute=execute
        )
    assert executed == []


@pytest.mark.parametrize("stray", [None, "notes.json"])
def test_a_missing_or_stray_manifest_fails_start_up_loudly(
    tmp_path: Any, monkeypatch: pytest.MonkeyPatch, stray: str | None
) -> None:
    from commerce_mcp.tools import manifest

    if stray is not None:
        (tmp_path / stray).write_text('{"name": "something else"}')
    monkeypatch.setattr(manifest, "DIRECTORY", tmp_path)
    manifest.published_tools.cache_clear()
    try:
        with pytest.raises(RuntimeError, match="reinstall" if stray is None else "notes.json"):
            manifest.published_tools()
    finally:
        manifest.published_tools.cache_clear()
