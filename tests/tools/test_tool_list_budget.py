"""The tool list stays small: what the model reads of each tool, and the whole tools/list answer.

The goals and the measure are the benchmark's (``benchmarks/tool_list.py``), so the test and the
report cannot disagree about what is counted. A change that pushes either over its budget fails here:
trim a description or an argument's prose, or share a repeated sub-schema, rather than raise the goal.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import pytest
from mcp.types import Tool
from tests.support.mcp import connect

from commerce_mcp.tools.registry import all_tools

# `benchmarks/` is a top-level package next to `src/`, not installed; import it from the checkout.
sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from benchmarks.tool_list import (
    MODEL_READ_GOAL,
    TOOLS_LIST_GOAL,
    ToolListSize,
    measure,
    model_read_bytes,
)

pytestmark = pytest.mark.anyio


async def _size(sandbox: Any) -> ToolListSize:
    async with connect(sandbox) as client:
        size = measure(await client.list_tools())
    # Every tool, writes included: a budget met by listing fewer tools would prove nothing.
    assert set(size.model_read) == {spec.name for spec in all_tools()}
    return size


async def test_what_the_model_reads_is_at_most_a_kilobyte_per_tool_on_average(
    sandbox: Any,
) -> None:
    size = await _size(sandbox)
    largest = sorted(size.model_read.items(), key=lambda item: -item[1])[:5]
    assert size.model_read_mean <= MODEL_READ_GOAL, (
        f"name + description + input schema average {size.model_read_mean:,.0f} bytes a tool"
        f" (goal {MODEL_READ_GOAL:,}); largest: {largest}"
    )


async def test_the_whole_tools_list_answer_is_at_most_60_kb(sandbox: Any) -> None:
    size = await _size(sandbox)
    assert size.tools_list <= TOOLS_LIST_GOAL, (
        f"tools/list answer is {size.tools_list:,} bytes (goal {TOOLS_LIST_GOAL:,})"
    )


def test_model_read_bytes_count_name_description_and_input_schema_as_compact_utf8() -> None:
    tool = Tool(name="t", description="é", input_schema={"type": "object"})
    expected = '{"name":"t","description":"é","inputSchema":{"type":"object"}}'
    assert model_read_bytes(tool) == len(expected.encode())
