"""Compact schemas say the same in fewer bytes: output schemas accept exactly what they accepted,
argument schemas at most what the arguments model accepts, and shared pieces are written once."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from jsonschema import Draft202012Validator
from tests.support.mcp import connect, error_text

from commerce_mcp.tools.schema_compact import SHARED, compact_schema

pytestmark = pytest.mark.anyio

# Schemas of the shapes pydantic writes, with derived titles, null defaults and nullable unions -----

_NAMES = st.sampled_from(["a", "b", "title", "default", "type"])
_LEAVES = st.one_of(
    st.just({"type": "string", "title": "S"}),
    st.builds(lambda n: {"type": "string", "maxLength": n}, st.integers(0, 3)),
    st.just({"type": "string", "pattern": "^a+$"}),
    st.builds(lambda n: {"type": "integer", "minimum": n}, st.integers(-1, 1)),
    st.just({"type": "number"}),
    st.just({"type": "boolean"}),
    st.just({"enum": ["a", "ab"], "type": "string"}),
    st.just({"anyOf": [{"type": "number"}, {"type": "string"}], "title": "N"}),
)


def _nullable(node: dict[str, Any]) -> dict[str, Any]:
    return {"anyOf": [node, {"type": "null"}], "default": None, "title": "X", "description": "d"}


def _object(properties: dict[str, dict[str, Any]], required: list[str]) -> dict[str, Any]:
    return {
        "type": "object",
        "title": "Model",
        "properties": properties,
        "required": [name for name in required if name in properties],
    }


_SCHEMAS = st.recursive(
    _LEAVES | _LEAVES.map(_nullable),
    lambda inner: st.one_of(
        inner.map(_nullable),
        inner.map(lambda node: {"type": "array", "items": node, "title": "L"}),
        st.builds(
            _object, st.dictionaries(_NAMES, inner, max_size=3), st.lists(_NAMES, max_size=3)
        ),
    ),
    max_leaves=6,
)
_INSTANCES = st.recursive(
    st.none() | st.booleans() | st.integers(-2, 2) | st.sampled_from(["", "a", "ab", "aaaa", "b"]),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(_NAMES, inner, max_size=3),
    max_leaves=6,
)


_SCALARS: list[Any] = [None, "", "a", "ab", "aaaa", 0, -1, 1.5, True, [], {}]


def _near(schema: dict[str, Any]) -> list[Any]:
    """Values at the edges of ``schema``: random values rarely fit a nested schema, these often do."""
    found = list(_SCALARS)
    for option in schema.get("anyOf", ()):
        found += _near(option)
    if "items" in schema:
        found += [[value] for value in _near(schema["items"])[:12]]
    properties = schema.get("properties", {})
    for name, sub in properties.items():
        others = {other: "a" for other in properties if other != name}
        found += [{**others, name: value} for value in _near(sub)[:12]]
    return found


@settings(max_examples=300)
@given(_SCHEMAS, st.lists(_INSTANCES, max_size=4))
def test_a_compact_output_schema_accepts_exactly_what_the_original_accepts(
    schema: dict[str, Any], instances: list[Any]
) -> None:
    original, compact = Draft202012Validator(schema), Draft202012Validator(compact_schema(schema))
    for instance in [*_near(schema), *instances]:
        assert original.is_valid(instance) == compact.is_valid(instance), instance


@settings(max_examples=300)
@given(_SCHEMAS, st.lists(_INSTANCES, max_size=4))
def test_a_compact_argument_schema_accepts_nothing_the_original_refuses(
    schema: dict[str, Any], instances: list[Any]
) -> None:
    original = Draft202012Validator(schema)
    compact = Draft202012Validator(compact_schema(schema, arguments=True))
    for instance in [*_near(schema), *instances]:
        if compact.is_valid(instance):
            assert original.is_valid(instance), instance


def test_derived_titles_and_null_defaults_go_but_a_property_named_title_stays() -> None:
    schema = _object({"title": {"type": "string", "title": "Title", "default": None}}, [])
    assert compact_schema(schema) == {
        "type": "object",
        "properties": {"title": {"type": "string"}},
        "required": [],
    }


def test_a_nullable_string_becomes_one_node_and_a_nullable_enum_admits_null() -> None:
    text = _nullable({"type": "string", "maxLength": 60})
    choice = _nullable({"enum": ["a", "b"], "type": "string"})
    assert compact_schema(text) == {"type": ["string", "null"], "maxLength": 60, "description": "d"}
    assert compact_schema(choice) == {
        "enum": ["a", "b", None],
        "type": ["string", "null"],
        "description": "d",
    }


def test_an_optional_argument_is_offered_without_null_and_a_required_one_keeps_it() -> None:
    schema = _object({"a": _nullable({"type": "string"}), "b": _nullable({"type": "string"})}, [])
    schema["properties"]["b"].pop("default")
    schema["required"] = ["b"]
    properties = compact_schema(schema, arguments=True)["properties"]
    assert properties["a"] == {"type": "string", "description": "d"}
    assert properties["b"] == {"type": ["string", "null"], "description": "d"}


def test_a_marked_piece_used_twice_is_written_once_and_one_used_once_stays_inline() -> None:
    when = {"type": "string", "maxLength": 25, "description": "when", SHARED: "When"}
    twice = compact_schema(_object({"a": dict(when), "b": dict(when)}, []))
    once = compact_schema(_object({"a": dict(when)}, []))
    assert twice["$defs"] == {"When": {"type": "string", "maxLength": 25, "description": "when"}}
    assert twice["properties"] == {"a": {"$ref": "#/$defs/When"}, "b": {"$ref": "#/$defs/When"}}
    assert once == {
        "type": "object",
        "properties": {"a": {"type": "string", "maxLength": 25, "description": "when"}},
        "required": [],
    }


def test_two_different_pieces_marked_with_one_name_are_refused() -> None:
    schema = _object(
        {"a": {"type": "string", SHARED: "When"}, "b": {"type": "integer", SHARED: "When"}}, []
    )
    with pytest.raises(ValueError, match="differ"):
        compact_schema(schema)


async def test_list_tiktok_orders_shares_its_four_dates_and_a_bad_one_still_says_what_fits(
    sandbox: Any,
) -> None:
    async with connect(sandbox) as client:
        tools = {tool.name: tool for tool in (await client.list_tools()).tools}
        text = error_text(await client.call_tool("list_tiktok_orders", {"created_to": "yesterday"}))
    schema = tools["list_tiktok_orders"].input_schema
    dates = ("created_from", "created_to", "updated_from", "updated_to")
    assert all(schema["properties"][name] == {"$ref": "#/$defs/When"} for name in dates)
    assert "'created_to': String should match pattern" in text
    assert "expected ISO date or time" in text
