"""Tool-list size: what a model reads of every tool, and the whole ``tools/list`` answer.

A client puts each tool's name, description and input schema in front of the model in every
conversation, before the first question; the answer as a whole (with output schemas and annotations)
is what a client downloads and parses at every start. Both are measured through a real MCP client
against ``build_server`` in sandbox mode with writes on, so every tool is listed. Sizes are bytes of
compact JSON (UTF-8), as the SDK sends it. The figures are exact: one run says it all.

``tests/tools/test_tool_list_budget.py`` fails when either goal is missed.
"""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass
from typing import Any

from benchmarks._stats import figure, result

#: Mean bytes of name + description + input schema per tool.
MODEL_READ_GOAL = 1_000
#: Bytes of the whole tools/list result.
TOOLS_LIST_GOAL = 60_000


@dataclass(frozen=True)
class ToolListSize:
    """Per tool, what the model reads (bytes); and the whole answer's bytes."""

    model_read: dict[str, int]
    tools_list: int

    @property
    def model_read_mean(self) -> float:
        return sum(self.model_read.values()) / len(self.model_read)


def model_read_bytes(tool: Any) -> int:
    """Bytes of the tool's name, description and input schema as compact JSON."""
    read = {"name": tool.name, "description": tool.description, "inputSchema": tool.input_schema}
    return len(json.dumps(read, separators=(",", ":"), ensure_ascii=False).encode())


def measure(listed: Any) -> ToolListSize:
    """The sizes of one ``tools/list`` result (an ``mcp.types.ListToolsResult``)."""
    wire = listed.model_dump_json(by_alias=True, exclude_none=True)
    return ToolListSize(
        model_read={tool.name: model_read_bytes(tool) for tool in listed.tools},
        tools_list=len(wire.encode()),
    )


async def _listed() -> Any:
    from mcp import Client

    from commerce_mcp.config import load_settings
    from commerce_mcp.server import build_server
    from commerce_mcp.services import Services

    settings, problems = load_settings(commerce_mcp_sandbox=True, commerce_mcp_writes_enabled=True)
    async with Client(build_server(Services(settings=settings, problems=problems))) as client:
        return await client.list_tools()


def run(smoke: bool) -> dict[str, Any]:
    """Mean model-read bytes per tool and the whole answer's bytes, each against its goal."""
    size = measure(asyncio.run(_listed()))
    mean = size.model_read_mean
    largest = sorted(size.model_read.items(), key=lambda item: -item[1])[:3]
    figures = [
        figure(
            f"what the model reads per tool, mean of {len(size.model_read)} tools",
            [mean],
            "B",
            goal=f"≤ {MODEL_READ_GOAL:,} B",
            passed=mean <= MODEL_READ_GOAL,
            spread="min–max",
        ),
        figure(
            "what the model reads, all tools",
            [float(sum(size.model_read.values()))],
            "B",
            spread="min–max",
        ),
        figure(
            "tools/list answer, whole",
            [float(size.tools_list)],
            "B",
            goal=f"≤ {TOOLS_LIST_GOAL:,} B",
            passed=size.tools_list <= TOOLS_LIST_GOAL,
            spread="min–max",
        ),
    ]
    notes = [
        "What the model reads: each tool's name, description and input schema as compact JSON. "
        "The whole answer adds titles, output schemas and annotations.",
        "Per tool, smallest to largest: "
        f"{min(size.model_read.values()):,}–{max(size.model_read.values()):,} B; largest: "
        + ", ".join(f"`{name}` {bytes_:,} B" for name, bytes_ in largest)
        + ".",
    ]
    return result("tool_list", "Tool list size", figures, notes)
