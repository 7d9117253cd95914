"""Published JSON schemas without the bytes that say nothing.

pydantic writes schemas for a person reading one in isolation; a model reads every tool's schemas in
every session, so each byte costs tokens in every conversation. :func:`compact_schema` rewrites one:

* the ``title`` pydantic derives from every field and model name (``"Seller Sku"``) is dropped: the
  property name already says it, and a tool's root title (``create_mcf_orderArguments``) is noise;
* ``"default": null`` is dropped: leaving a property out of ``required`` already says it is optional;
* a nullable union (``anyOf: [{"type": "string", "maxLength": 60}, {"type": "null"}]``) becomes one
  node, ``"type": ["string", "null"]`` (an ``enum`` gains ``null``), the form JSON Schema has for it;
* for arguments, an optional property whose default is null loses its ``null`` type: leaving it out
  means the same, and one way to say "none" is easier to follow than two;
* a sub-schema marked ``{SHARED: "Name"}`` (via ``json_schema_extra``) and used more than once in one
  schema is written once under ``$defs`` and referenced (the same date argument four times).

Output schemas keep exactly the instances they accepted: the SDK *client* validates every
``structuredContent`` against ``outputSchema``. Argument schemas accept a subset of what the arguments
model accepts (no explicit nulls); the server validates calls with the model, never with the schema.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

#: Mark a sub-schema to be shared: ``Field(json_schema_extra={SHARED: "When"})``.
SHARED = "x-shared"
#: Keywords whose value is one sub-schema.
_ONE = ("items", "additionalProperties", "not", "contains", "propertyNames")
#: Keywords whose value is a list of sub-schemas.
_MANY = ("anyOf", "oneOf", "allOf", "prefixItems")
#: Keywords whose value maps names to sub-schemas (the names are data, never keywords).
_NAMED = ("properties", "$defs", "patternProperties")
_NULL = {"type": "null"}
#: Keywords that only constrain a value of their own type, so adding "null" to the type is exact.
_TYPED_ONLY = frozenset(
    {
        "type", "enum", "format", "pattern", "minLength", "maxLength", "minimum", "maximum",
        "exclusiveMinimum", "exclusiveMaximum", "minItems", "maxItems", "items", "description",
        "additionalProperties", "properties", "required",
    }
)  # fmt: skip


def compact_schema(schema: Mapping[str, Any], *, arguments: bool = False) -> dict[str, Any]:
    """``schema`` in its compact form (see the module docstring); ``arguments`` for input schemas."""
    return _share_marked(_compact(schema, arguments))


def _compact(node: Mapping[str, Any], arguments: bool) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in node.items():
        if key == "title" and isinstance(value, str):
            continue
        if key == "default" and value is None:
            continue
        if key in _ONE and isinstance(value, Mapping):
            out[key] = _compact(value, arguments)
        elif key in _MANY and isinstance(value, list):
            out[key] = [_compact(v, arguments) if isinstance(v, Mapping) else v for v in value]
        elif key in _NAMED and isinstance(value, Mapping):
            out[key] = {
                name: _compact(sub, arguments) if isinstance(sub, Mapping) else sub
                for name, sub in value.items()
            }
        else:
            out[key] = value
    if arguments and isinstance(node.get("properties"), Mapping):
        required = set(node.get("required", ()))
        for name, sub in node["properties"].items():
            if name not in required and isinstance(sub, Mapping) and _defaults_to_null(sub):
                out["properties"][name] = _without_null(out["properties"][name])
    return _fold_nullable(out)


def _defaults_to_null(node: Mapping[str, Any]) -> bool:
    return "default" in node and node["default"] is None


def _without_null(node: dict[str, Any]) -> dict[str, Any]:
    """An already-compacted optional argument, without its null alternative."""
    types = node.get("type")
    if isinstance(types, list) and "null" in types:
        kept = [kind for kind in types if kind != "null"]
        out = {**node, "type": kept[0] if len(kept) == 1 else kept}
        if isinstance(node.get("enum"), list):
            out["enum"] = [value for value in node["enum"] if value is not None]
        return out
    options = node.get("anyOf")
    if isinstance(options, list) and _NULL in options:
        others = [option for option in options if option != _NULL]
        rest = {key: value for key, value in node.items() if key != "anyOf"}
        if len(others) == 1 and not set(others[0]) & set(rest):
            return {**others[0], **rest}
        return {**rest, "anyOf": others}
    return node


def _fold_nullable(node: dict[str, Any]) -> dict[str, Any]:
    """``anyOf: [X, {"type": "null"}]`` as X with ``null`` added to its type (and enum), when exact."""
    options = node.get("anyOf")
    if not isinstance(options, list) or _NULL not in options or len(options) < 2:
        return node
    others = [option for option in options if option != _NULL]
    if all(set(option) == {"type"} and isinstance(option["type"], str) for option in others):
        # Bare types only (number | string | null): one type list says the same.
        merged: dict[str, Any] = {"type": [option["type"] for option in others] + ["null"]}
    elif (
        len(others) == 1
        and isinstance(others[0].get("type"), str)
        and set(others[0]) <= _TYPED_ONLY
    ):
        merged = {**others[0], "type": [others[0]["type"], "null"]}
        if "enum" in merged:
            merged["enum"] = [*merged["enum"], None]
    else:
        return node
    rest = {key: value for key, value in node.items() if key != "anyOf"}
    if set(merged) & set(rest):
        return node
    return {**merged, **rest}


# Shared definitions --------------------------------------------------------------------------------


def _share_marked(schema: dict[str, Any]) -> dict[str, Any]:
    """Write each :data:`SHARED` sub-schema used more than once under ``$defs``; inline the others."""
    found: dict[str, list[str]] = {}
    _collect_marked(schema, found)
    defs: dict[str, Any] = {}
    for name, uses in found.items():
        if len(set(uses)) > 1:
            raise ValueError(f"sub-schemas marked {SHARED}={name!r} differ within one schema")
        if len(uses) > 1:
            defs[name] = json.loads(uses[0])
    out: dict[str, Any] = _replace_marked(schema, defs)
    if defs:
        existing = out.get("$defs", {})
        clash = set(existing) & set(defs)
        if clash:
            raise ValueError(f"shared definition names already used in $defs: {sorted(clash)}")
        out["$defs"] = {**existing, **defs}
    return out


def _collect_marked(node: Any, found: dict[str, list[str]]) -> None:
    if isinstance(node, Mapping):
        name = node.get(SHARED)
        if isinstance(name, str):
            found.setdefault(name, []).append(_key(_unmarked(node)))
        for value in node.values():
            _collect_marked(value, found)
    elif isinstance(node, list):
        for item in node:
            _collect_marked(item, found)


def _replace_marked(node: Any, defs: Mapping[str, Any]) -> Any:
    if isinstance(node, Mapping):
        name = node.get(SHARED)
        if isinstance(name, str):
            return {"$ref": f"#/$defs/{name}"} if name in defs else _unmarked(node)
        return {key: _replace_marked(value, defs) for key, value in node.items()}
    if isinstance(node, list):
        return [_replace_marked(item, defs) for item in node]
    return node


def _unmarked(node: Mapping[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in node.items() if key != SHARED}


def _key(node: Mapping[str, Any]) -> str:
    return json.dumps(node, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
