"""The MCP tool surface: thin, typed, annotated. No HTTP here.

``register_all`` decides what a session sees: the toolsets in ``COMMERCE_MCP_TOOLSETS`` and, when writes
are disabled, no write tools at all (get_connection_status says how to enable them).
"""

from __future__ import annotations

import importlib

from mcp.server import MCPServer

from commerce_mcp.services import Services
from commerce_mcp.tools.confirmation import ConfirmationBook

#: Toolset name -> the modules that register it, in listing order.
TOOLSET_MODULES = {
    "tiktok": ("commerce_mcp.tools.tiktok",),
    "amazon": ("commerce_mcp.tools.amazon",),
    "crosschannel": ("commerce_mcp.tools.crosschannel",),
}


def register_all(server: MCPServer[Services], services: Services) -> None:
    """Register every tool and prompt the configuration allows."""
    from commerce_mcp.tools import prompts, status

    secret = services.settings.commerce_mcp_confirmation_secret
    book = ConfirmationBook(
        lambda: services.clock.wall(),
        services.store,
        secret=secret.get_secret_value().encode() if secret else None,
    )
    status.register(server, services)
    for toolset, modules in TOOLSET_MODULES.items():
        if toolset not in services.settings.toolsets:
            continue
        for name in modules:
            try:
                module = importlib.import_module(name)
            except ModuleNotFoundError as exc:
                if exc.name != name:
                    raise
                continue
            module.register(server, services, book)
    prompts.register(server, services)
