"""A checked-in snapshot of tools/list, so every change to a tool's contract is deliberate.

Regenerate after an intended change with ``UPDATE_TOOLSNAPS=1 pytest tests/tools/test_toolsnaps.py``
and review the diff like any API change.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest
from tests.tools.conftest import connect

pytestmark = pytest.mark.anyio

SNAPSHOT = Path(__file__).parent / "toolsnaps" / "tools_list.json"
#: Parameters still lacking a description, owned by other modules; remove entries as they are fixed.
UNDESCRIBED_KNOWN: set[tuple[str, str]] = set()


async def _tools_list(sandbox: Any) -> list[dict[str, Any]]:
    async with connect(sandbox) as client:
        tools = (await client.list_tools()).tools
    snapshot = []
    for tool in sorted(tools, key=lambda t: t.name):
        wire = tool.model_dump(mode="json", by_alias=True, exclude_none=True)
        snapshot.append(
            {
                key: wire[key]
                for key in (
                    "name",
                    "title",
                    "description",
                    "inputSchema",
                    "outputSchema",
                    "annotations",
                )
                if key in wire
            }
        )
    return snapshot


async def test_tools_list_matches_the_snapshot(sandbox: Any) -> None:
    current = await _tools_list(sandbox)
    rendered = json.dumps(current, indent=2, sort_keys=True, ensure_ascii=False) + "\n"
    if os.environ.get("UPDATE_TOOLSNAPS") == "1" or not SNAPSHOT.exists():
        SNAPSHOT.parent.mkdir(parents=True, exist_ok=True)
        SNAPSHOT.write_text(rendered, encoding="utf-8")
        if os.environ.get("UPDATE_TOOLSNAPS") != "1":
            pytest.fail(f"no snapshot existed; wrote {SNAPSHOT}. Review and commit it.")
    expected = json.loads(SNAPSHOT.read_text(encoding="utf-8"))
    changed = sorted(
        {t["name"] for t in current} ^ {t["name"] for t in expected}
        | {
            new["name"]
            for new in current
            for old in expected
            if new["name"] == old["name"] and new != old
        }
    )
    assert not changed, (
        f"tool contract changed for {changed}; if intended, rerun with UPDATE_TOOLSNAPS=1"
        " and commit tests/tools/toolsnaps/tools_list.json"
    )


async def test_every_tool_is_documented_annotated_and_typed(sandbox: Any) -> None:
    for tool in await _tools_list(sandbox):
        assert tool.get("title"), tool["name"]
        assert len(tool.get("description", "")) > 80, tool["name"]
        assert "annotations" in tool and "readOnlyHint" in tool["annotations"], tool["name"]
        assert tool.get("outputSchema", {}).get("type") == "object", tool["name"]
        for name, schema in tool["inputSchema"].get("properties", {}).items():
            if name not in ("limit", "cursor", "response_format") and (
                (tool["name"], name) not in UNDESCRIBED_KNOWN
            ):
                assert "description" in schema or "$ref" in schema or "anyOf" in schema, (
                    tool["name"],
                    name,
                )
