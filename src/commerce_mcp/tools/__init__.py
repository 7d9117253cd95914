"""The MCP tool surface: thin, typed, annotated. No HTTP here.

``register_all`` decides what a session sees: the toolsets in ``COMMERCE_MCP_TOOLSETS`` and, when writes
are disabled, no write tools at all (get_connection_status says how to enable them).
"""

from __future__ import annotations

from mcp.server import MCPServer

from commerce_mcp.services import Services


def register_all(server: MCPServer[Services], services: Services) -> None:
    """Register every tool and prompt the configuration allows."""
    from commerce_mcp.tools import status

    status.register(server, services)
