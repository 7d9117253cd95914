"""Tool arguments through a real MCP client: bounded schemas, unknown keys refused, short refusals."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated, Any

import pytest
from anyio.from_thread import BlockingPortal, start_blocking_portal
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from mcp import Client
from mcp.types import CallToolResult
from tests.support.mcp import connect, error_text, ok, services_for, text_of

from commerce_mcp.errors import InvalidRequest
from commerce_mcp.server import build_server
from commerce_mcp.tools._common import MAX_ERROR_CHARS, ToolResult, cap_error_text, run_bounded
from commerce_mcp.tools.manifest import built_server
from commerce_mcp.tools.schema_compact import compact_schema

pytestmark = pytest.mark.anyio

PYDANTIC_DUMP_MARKERS = ("errors.pydantic.dev", "input_value=", "validation error for")


def _assert_short_and_clean(text: str) -> None:
    assert len(text) <= MAX_ERROR_CHARS, len(text)
    for marker in PYDANTIC_DUMP_MARKERS:
        assert marker not in text, text


# Refusals are short and say what to fix ------------------------------------------------------------


async def test_a_thousand_item_list_is_refused_in_a_few_lines(sandbox: Any, era: str) -> None:
    async with connect(sandbox, era) as client:
        result = await client.call_tool(
            "sync_mcf_tracking_to_tiktok", {"order_ids": [{"id": n} for n in range(1000)]}
        )
    text = error_text(result)
    assert len(text) < 1_100, len(text)
    _assert_short_and_clean(text)
    assert "order_ids" in text and "at most 100" in text and "1000" in text
    assert "call sync_mcf_tracking_to_tiktok again" in text


async def test_a_thousand_bad_nested_items_name_the_first_few_and_count_the_rest(
    sandbox: Any,
) -> None:
    recipient = {
        "name": "A",
        "address_line1": "1 St",
        "city": "Austin",
        "state_or_region": "TX",
        "postal_code": "78701",
    }
    items = [{"seller_sku": "S" * 5000, "quantity": -n} for n in range(100)]
    async with connect(sandbox) as client:
        result = await client.call_tool(
            "preview_mcf_order", {"items": items, "recipient": recipient}
        )
    text = error_text(result)
    _assert_short_and_clean(text)
    assert "items[0].seller_sku" in text and "at most 50 characters" in text
    assert "more problems" in text
    assert "S" * 41 not in text  # only a bounded prefix of the bad value is quoted


async def test_a_bad_value_is_quoted_only_as_a_clean_bounded_prefix(sandbox: Any) -> None:
    secret_tail = "TAIL-THAT-MUST-NOT-APPEAR"
    async with connect(sandbox) as client:
        long_id = await client.call_tool("get_order", {"order_id": "7" * 5000 + secret_tail})
        bidi = await client.call_tool("get_order", {"order_id": "12\u202e34\x1b[31m"})
    text = error_text(long_id)
    _assert_short_and_clean(text)
    assert secret_tail not in text and "5025 characters" in text
    assert "order_id" in text and "at most 30 characters" in text
    bidi_text = error_text(bidi)
    assert "\u202e" not in bidi_text and "\x1b" not in bidi_text
    assert '"1234[31m", with the hidden character U+202E' in bidi_text
    assert "TikTok numeric id" in bidi_text  # what is allowed, from the argument's description


async def test_a_missing_argument_is_named(sandbox: Any) -> None:
    async with connect(sandbox) as client:
        text = error_text(await client.call_tool("get_mcf_order", {}))
    _assert_short_and_clean(text)
    assert "missing required argument 'seller_fulfillment_order_id'" in text


# Unknown arguments are refused, not ignored --------------------------------------------------------


async def test_a_misspelled_argument_is_refused_with_a_suggestion(sandbox: Any, era: str) -> None:
    async with connect(sandbox, era) as client:
        result = await client.call_tool("list_tiktok_orders", {"stauts": "AWAITING_SHIPMENT"})
    text = error_text(result)
    _assert_short_and_clean(text)
    assert "unknown argument 'stauts'; did you mean 'status'?" in text


async def test_an_unknown_argument_with_no_lookalike_lists_the_allowed_ones(sandbox: Any) -> None:
    async with connect(sandbox) as client:
        text = error_text(await client.call_tool("get_mcf_tracking", {"zzz": 1}))
    assert "unknown argument 'zzz' (allowed: package_number)" in text


async def test_unknown_fields_in_nested_inputs_are_refused(sandbox: Any, era: str) -> None:
    args = {
        "items": [{"seller_sku": "SKU-1", "quantity": 1, "qty": 3}],
        "recipient": {
            "name": "A",
            "nmae": "B",
            "address_line1": "1 St",
            "city": "Austin",
            "state_or_region": "TX",
            "postal_code": "78701",
        },
    }
    async with connect(sandbox, era) as client:
        text = error_text(await client.call_tool("preview_mcf_order", args))
    assert "unknown field 'qty' in 'items[0]'" in text
    assert "unknown field 'nmae' in 'recipient'; did you mean 'name'?" in text


async def test_list_arguments_sent_as_json_text_are_still_accepted(sandbox: Any) -> None:
    # Some clients send lists as JSON strings; the SDK re-parses them before our stricter model runs.
    async with connect(sandbox) as client:
        result = await client.call_tool("get_inventory", {"seller_skus": '["NO-SUCH-SKU"]'})
    ok(result)


# Every input schema is bounded and closed ----------------------------------------------------------


def _schema_problems(node: Any, path: str) -> list[str]:
    problems: list[str] = []
    if isinstance(node, dict):
        kind = node.get("type")
        # A nullable value is published as a type list (["string", "null"]).
        kinds = set(kind) if isinstance(kind, list) else {kind}
        if "string" in kinds and "maxLength" not in node and not {"enum", "const"} & node.keys():
            problems.append(f"{path}: string without maxLength")
        if "array" in kinds and "maxItems" not in node:
            problems.append(f"{path}: array without maxItems")
        if ("object" in kinds or "properties" in node) and node.get(
            "additionalProperties"
        ) is not False:
            problems.append(f"{path}: object without additionalProperties false")
        for key, child in node.items():
            problems.extend(_schema_problems(child, f"{path}/{key}"))
    elif isinstance(node, list):
        for index, child in enumerate(node):
            problems.extend(_schema_problems(child, f"{path}[{index}]"))
    return problems


async def test_every_input_schema_bounds_strings_and_lists_and_refuses_extra_keys(
    sandbox: Any,
) -> None:
    async with connect(sandbox) as client:
        tools = (await client.list_tools()).tools
    assert len(tools) >= 20  # every toolset, writes included
    problems = [p for tool in tools for p in _schema_problems(tool.input_schema, tool.name)]
    assert not problems, "\n".join(problems)
    names = {tool.name: tool.input_schema["properties"] for tool in tools}
    for tool in (
        "fulfill_tiktok_order_with_mcf",
        "sync_mcf_tracking_to_tiktok",
        "sync_inventory_to_tiktok",
    ):
        assert names[tool]["shop"]["maxLength"] == 100
    assert names["sync_mcf_tracking_to_tiktok"]["order_ids"]["items"]["maxLength"]


def test_the_advertised_schema_is_exactly_the_strict_models_schema_compacted() -> None:
    """CommerceServer adds additionalProperties to the SDK's schema instead of regenerating it, then
    publishes it compacted (tools.schema_compact)."""
    server = built_server()
    tools = server._tool_manager.list_tools()  # the SDK's Tool objects; no public accessor exists
    assert tools
    for tool in tools:
        assert tool.fn_metadata.arg_model.model_config.get("extra") == "forbid", tool.name
        strict = tool.fn_metadata.arg_model.model_json_schema(by_alias=True)
        assert tool.parameters == compact_schema(strict, arguments=True), tool.name


async def test_a_tool_added_later_is_closed_too_and_its_errors_are_capped(sandbox: Any) -> None:
    """Unknown keys are refused for every tool the server registers, and a long CommerceError is cut."""
    services = services_for(sandbox)
    server = build_server(services)

    @server.tool(name="explode", title="Explode", description="Fails with a very long message.")
    async def explode(
        reason: Annotated[str, "why"] = "x",
    ) -> Annotated[CallToolResult, ToolResult]:
        async def fail() -> CallToolResult:
            raise InvalidRequest(
                "upstream said: " + "blah " * 50_000, hint="shorten the request and try again"
            )

        return await run_bounded(services, "explode", fail)

    async with Client(server) as client:
        schema = next(t for t in (await client.list_tools()).tools if t.name == "explode")
        refused = error_text(await client.call_tool("explode", {"reasn": "y"}))
        failed = error_text(await client.call_tool("explode", {}))
        unknown_tool = error_text(await client.call_tool("no_such_tool_" + "z" * 50_000, {}))
    assert schema.input_schema["additionalProperties"] is False
    assert "unknown argument 'reasn'; did you mean 'reason'?" in refused
    _assert_short_and_clean(failed)
    assert failed.startswith("Error executing tool explode: [sandbox] upstream said: blah")
    assert failed.endswith("Next: shorten the request and try again")
    assert len(unknown_tool) <= MAX_ERROR_CHARS


# Laws -----------------------------------------------------------------------------------------------

_json = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=3000),
    lambda inner: st.lists(inner, max_size=120) | st.dictionaries(st.text(max_size=20), inner),
    max_leaves=150,
)
_targets = st.sampled_from(
    [
        ("list_tiktok_orders", "status"),
        ("list_tiktok_orders", "created_from"),
        ("list_tiktok_orders", "limit"),
        ("get_order", "order_id"),
        ("get_inventory", "seller_skus"),
        ("preview_mcf_order", "items"),
        ("preview_mcf_order", "recipient"),
        ("sync_mcf_tracking_to_tiktok", "order_ids"),
        ("get_tiktok_shop_performance", "start_date"),
        ("list_mcf_orders", "cursor"),
    ]
)


@pytest.fixture
def shared_client(sandbox: Any) -> Iterator[tuple[BlockingPortal, Client]]:
    """One client for every Hypothesis example: a server per example would cost ~0.3 s each."""
    with (
        start_blocking_portal() as portal,
        portal.wrap_async_context_manager(connect(sandbox)) as client,
    ):
        yield portal, client


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(target=_targets, value=_json, stray=st.none() | st.text(min_size=1, max_size=2000))
def test_any_bad_argument_gets_a_short_clean_refusal(
    shared_client: tuple[BlockingPortal, Client],
    target: tuple[str, str],
    value: Any,
    stray: str | None,
) -> None:
    portal, client = shared_client
    tool, argument = target
    arguments: dict[str, Any] = {argument: value}
    if stray is not None and stray != argument:
        arguments[stray] = value
    result = portal.call(client.call_tool, tool, arguments)
    if result.is_error:
        _assert_short_and_clean(text_of(result))


@given(text=st.text(max_size=5000), cap=st.integers(min_value=100, max_value=2000))
def test_capped_error_text_is_bounded_and_keeps_both_ends(text: str, cap: int) -> None:
    capped = cap_error_text(text, cap)
    assert len(capped) <= cap
    if len(text) <= cap:
        assert capped == text
    else:
        assert capped.startswith(text[: cap // 3]) and capped.endswith(text[-(cap // 6) :])
