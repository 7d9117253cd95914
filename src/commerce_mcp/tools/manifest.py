"""What tools/list publishes, generated from the code and checked in, so start-up builds no schema.

Building the tool list from the code means importing every tool module (and through them the platform
clients and their models) and having pydantic generate two JSON schemas per tool: most of what start-up
added to a bare MCP server's (about 220 ms), paid on every new session before the client sees a tool. The
server lists tools from these files instead (one per tool, ``toolsnaps/<tool>.json``, so a diff names
the tool) and builds a tool from its code on its first call, so arguments are validated by the code's
model, never by these files.

``tests/tools/test_toolsnaps.py`` proves the files identical to what the code builds. After changing a
tool, its docstring or a model it publishes, regenerate them and review the diff like any API change::

    python -m commerce_mcp.tools.manifest
"""

from __future__ import annotations

import asyncio
import functools
import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mcp.types import Tool as MCPTool
from mcp.types import ToolAnnotations

from commerce_mcp.config import TOOLSETS
from commerce_mcp.tools.registry import PublishedTool

if TYPE_CHECKING:
    from commerce_mcp.tools._arguments import CommerceServer

DIRECTORY = Path(__file__).with_name("toolsnaps")
#: The tools/list keys each file keeps (the ones the code decides); "toolset" and "module" are added.
WIRE_KEYS = ("name", "title", "description", "inputSchema", "outputSchema", "annotations")


@functools.cache
def published_tools() -> tuple[PublishedTool, ...]:
    """Every tool as published, in listing order: status, then the TikTok, Amazon, cross-channel tools."""
    entries = stored_entries()
    rank: dict[str | None, int] = {toolset: index for index, toolset in enumerate(TOOLSETS)}
    rank[None] = -1  # get_connection_status first: every session should start there
    # A broken install must fail loudly at start-up, not serve a server with no or odd tools.
    if not entries:
        raise RuntimeError(f"no tool manifest in {DIRECTORY}; reinstall commerce-mcp")
    for stem, entry in entries.items():
        if entry.get("name") != stem or entry.get("toolset", "?") not in rank:
            raise RuntimeError(f"{DIRECTORY / stem}.json is not a tool manifest entry")
    tools = [_published(entry) for entry in entries.values()]
    return tuple(sorted(tools, key=lambda tool: (rank[tool.toolset], tool.name)))


def _published(entry: dict[str, Any]) -> PublishedTool:
    listed = MCPTool.model_validate({key: entry[key] for key in WIRE_KEYS if key in entry})
    return PublishedTool(
        name=listed.name,
        title=listed.title or listed.name,
        toolset=entry["toolset"],
        annotations=listed.annotations or ToolAnnotations(),
        module=entry["module"],
        tool=listed,
    )


def built_server() -> CommerceServer:
    """A server with every tool registered from its code now (imports every tool module)."""
    from commerce_mcp.tools._arguments import CommerceServer
    from commerce_mcp.tools.confirmation import ConfirmationBook
    from commerce_mcp.tools.registry import add_tool, all_tools

    def no_services() -> Any:
        raise RuntimeError("this server only lists its tools")

    server = CommerceServer("commerce-mcp")
    book = ConfirmationBook.for_secret(None)
    for spec in all_tools():
        add_tool(server, spec, no_services, book)
    return server


async def built_entries() -> dict[str, dict[str, Any]]:
    """Tool name -> its manifest entry as the code builds it now."""
    from commerce_mcp.tools.registry import all_tools

    specs = {spec.name: spec for spec in all_tools()}
    entries: dict[str, dict[str, Any]] = {}
    for tool in await built_server().list_tools():
        wire = tool.model_dump(mode="json", by_alias=True, exclude_none=True)
        spec = specs[tool.name]
        entries[tool.name] = {key: wire[key] for key in WIRE_KEYS if key in wire} | {
            "toolset": spec.toolset,
            "module": spec.module,
        }
    return entries


def stored_entries() -> dict[str, dict[str, Any]]:
    """Tool name -> its entry as checked in."""
    return {path.stem: json.loads(path.read_bytes()) for path in DIRECTORY.glob("*.json")}


def render(entry: dict[str, Any]) -> str:
    """One file's text: stable key order, so a regenerated file differs only where the tool did."""
    return json.dumps(entry, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


async def write() -> list[str]:
    """Rewrite the manifest from the code; the names of the tools whose entry changed (or went)."""
    built = await built_entries()
    stored = stored_entries()
    DIRECTORY.mkdir(exist_ok=True)
    for name, entry in built.items():
        if stored.get(name) != entry:
            (DIRECTORY / f"{name}.json").write_text(render(entry), encoding="utf-8")
    for name in set(stored) - set(built):
        (DIRECTORY / f"{name}.json").unlink()
    return sorted(name for name in set(built) | set(stored) if built.get(name) != stored.get(name))


def main() -> None:
    """``python -m commerce_mcp.tools.manifest``: regenerate, and say which tools changed."""
    import sys

    changed = asyncio.run(write())
    sys.stderr.write(
        f"manifest: {len(changed)} tool(s) changed: {', '.join(changed)}\n"
        if changed
        else "manifest: up to date\n"
    )


if __name__ == "__main__":
    main()
