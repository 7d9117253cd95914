"""Driving the tool surface through a real in-memory MCP client, on both protocol eras."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from mcp import Client
from mcp.types import CallToolResult

from commerce_mcp.config import load_settings
from commerce_mcp.server import build_server
from commerce_mcp.services import Services

#: The eras the SDK serves: "modern" negotiates 2026-07-28, "legacy" the 2025-11-25 handshake.
ERAS = ("modern", "legacy")


def services_for(sandbox: Any, **overrides: Any) -> Services:
    """Sandbox-mode services wired to the session's fakes, with a fresh store."""
    settings, problems = load_settings(
        commerce_mcp_sandbox=True, **{**sandbox.settings_overrides(), **overrides}
    )
    return Services(settings=settings, problems=problems, sandbox=sandbox)


@asynccontextmanager
async def connect(
    sandbox: Any, era: str = "modern", *, services: Any = None, **client_options: Any
) -> AsyncIterator[Client]:
    """An in-memory client on a fresh sandbox server (or on the given services)."""
    server = build_server(services or services_for(sandbox))
    if era == "legacy":
        client_options["mode"] = "legacy"
    async with Client(server, **client_options) as client:
        yield client


def text_of(result: CallToolResult) -> str:
    """The text the model reads."""
    return "\n".join(getattr(block, "text", "") for block in result.content)


def ok(result: CallToolResult) -> dict[str, Any]:
    """Structured content of a successful call (fails the test with the error text otherwise)."""
    assert result.is_error is False, text_of(result)
    assert result.structured_content is not None
    return dict(result.structured_content)


def error_text(result: CallToolResult) -> str:
    """Text of a failed call (fails the test when the call succeeded)."""
    assert result.is_error is True, json.dumps(result.structured_content)[:500]
    return text_of(result)
