"""The registry is the one place that decides what a session sees, and where its services come from."""

from __future__ import annotations

from typing import Any

import pytest
from mcp import Client
from tests.support.mcp import error_text, ok
from tests.support.sandbox import sandbox_services

from commerce_mcp.config import load_settings
from commerce_mcp.server import build_server
from commerce_mcp.services import Services
from commerce_mcp.tools.registry import ToolSpec, all_tools, enabled, result_model

pytestmark = pytest.mark.anyio


def _names(specs: list[ToolSpec]) -> set[str]:
    return {spec.name for spec in specs}


def test_toolsets_and_writes_off_are_applied_by_the_registry() -> None:
    reads_only, _ = load_settings(commerce_mcp_toolsets="amazon")
    names = _names(enabled(all_tools(), reads_only))
    assert names == {
        "get_connection_status",
        "preview_mcf_order",
        "get_mcf_order",
        "list_mcf_orders",
        "get_mcf_tracking",
    }
    writes, _ = load_settings(
        commerce_mcp_toolsets="tiktok,crosschannel", commerce_mcp_allow_writes=True
    )
    names = _names(enabled(all_tools(), writes))
    assert {"get_inventory", "fulfill_tiktok_order_with_mcf", "update_tiktok_inventory"} <= names
    assert not names & {"preview_mcf_order", "create_mcf_order"}


def test_every_tool_is_a_plain_function_named_like_its_tool() -> None:
    specs = all_tools()
    assert len({spec.name for spec in specs}) == len(specs)
    for spec in specs:
        assert spec.fn.__name__ == spec.name
        assert spec.fn.__doc__, spec.name
        assert result_model(spec) is not None
        assert spec.writes == (spec.annotations.read_only_hint is not True)


async def test_get_inventory_is_listed_with_the_crosschannel_toolset(sandbox: Any) -> None:
    for toolsets, listed in (("tiktok,amazon", False), ("crosschannel", True)):
        services = sandbox_services(sandbox, commerce_mcp_toolsets=toolsets)
        async with Client(build_server(services)) as client:
            names = {t.name for t in (await client.list_tools()).tools}
        assert ("get_inventory" in names) is listed, toolsets


async def test_a_provider_supplies_services_per_call_and_visible_hides_per_request(
    sandbox: Any,
) -> None:
    services = sandbox_services(sandbox)
    asked: list[Services] = []

    async def provider() -> Services:
        asked.append(services)
        return services

    server = build_server(
        provider=provider, settings=services.settings, visible=lambda spec: not spec.writes
    )
    try:
        async with Client(server) as client:
            names = {t.name for t in (await client.list_tools()).tools}
            status = ok(await client.call_tool("get_connection_status", {"check_shops": False}))
            refused = error_text(
                await client.call_tool("cancel_mcf_order", {"seller_fulfillment_order_id": "x"})
            )
    finally:
        await services.aclose()
    assert "get_inventory" in names and not {"create_mcf_order", "cancel_mcf_order"} & names
    assert status["mode"] == "sandbox" and asked == [services]
    assert "Unknown tool: cancel_mcf_order" in refused


def test_a_provider_needs_settings_and_no_services() -> None:
    settings, _ = load_settings()
    with pytest.raises(TypeError):
        build_server(provider=lambda: Services(settings=settings))
