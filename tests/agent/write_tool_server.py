"""A tiny stdio MCP server for the agent's confirmation tests: read tools and destructive tools.

It keeps those tests independent of which product tools exist. ``delete_widget`` appends the widget id
to the file named by ``WIDGET_LOG``, so a test can tell whether the write really ran; ``ship_widget`` follows commerce-mcp's
preview-then-token convention.
"""

from __future__ import annotations

import os
from pathlib import Path

from mcp.server import MCPServer
from mcp.server.mcpserver.exceptions import ToolError
from mcp.types import ToolAnnotations

WIDGETS = {"w-1": "red widget", "w-2": "blue widget"}

server = MCPServer("widgets")


@server.tool(annotations=ToolAnnotations(read_only_hint=True))
def lookup_widget(widget_id: str) -> str:
    """Describe one widget."""
    if widget_id not in WIDGETS:
        raise ToolError(f"no widget {widget_id}; known: {', '.join(WIDGETS)}")
    return WIDGETS[widget_id]


@server.tool(annotations=ToolAnnotations(read_only_hint=True))
def environment_variable(name: str) -> str:
    """Whether the server process can see an environment variable (never its value)."""
    return "set" if name in os.environ else "unset"


@server.tool(annotations=ToolAnnotations(read_only_hint=False, destructive_hint=True))
def delete_widget(widget_id: str) -> str:
    """Delete one widget for good."""
    with Path(os.environ["WIDGET_LOG"]).open("a", encoding="utf-8") as log:
        log.write(f"{widget_id}\n")
    return f"deleted {widget_id}"


@server.tool(annotations=ToolAnnotations(read_only_hint=False, destructive_hint=True))
def ship_widget(widget_id: str, confirmation_token: str | None = None) -> str:
    """Ship a widget: without confirmation_token only a preview, then call again with the token."""
    token = f"tok-{widget_id}"
    if confirmation_token is None:
        return f"PREVIEW: would ship {widget_id}; call again with confirmation_token={token}"
    if confirmation_token != token:
        raise ToolError("confirmation_token does not match")
    with Path(os.environ["WIDGET_LOG"]).open("a", encoding="utf-8") as log:
        log.write(f"shipped {widget_id}\n")
    return f"shipped {widget_id}"


if __name__ == "__main__":
    server.run("stdio")
