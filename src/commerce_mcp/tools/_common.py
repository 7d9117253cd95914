"""Shared plumbing for every tool: the reply type, result shaping, error translation, deadlines.

A tool function returns a :class:`Reply`: its typed result plus the compact text the model reads. The
registry (``tools.registry``) turns that into the MCP result with :func:`respond`, inside
:func:`run_bounded`, which applies the deadline and turns every failure into a short tool error.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Generic, TypeVar

from mcp.server.mcpserver.exceptions import ToolError
from mcp.types import CallToolResult, TextContent, ToolAnnotations
from pydantic import BaseModel, ConfigDict, Field

from commerce_mcp.errors import CommerceError
from commerce_mcp.logsafe import traceback_without_messages
from commerce_mcp.resilience.deadline import deadline_scope
from commerce_mcp.services import Services

log = logging.getLogger(__name__)

#: About 20,000 tokens at ~4 characters a token: the most text one result may carry.
MAX_TEXT_CHARS = 80_000
SANDBOX_BANNER = "[SANDBOX: fake data from the embedded test platforms]"
#: The most text one error may carry. An error is read, then acted on: past a few sentences it only
#: costs tokens (an unbounded one once echoed a 1,000-item argument back as 213,000 characters).
MAX_ERROR_CHARS = 1_000
#: What a tool's own error message may use, leaving room for the SDK's "Error executing tool <name>: ".
_TOOL_ERROR_BODY_CHARS = MAX_ERROR_CHARS - 100

T = TypeVar("T")

READ = ToolAnnotations(read_only_hint=True, open_world_hint=True)


class ToolInput(BaseModel):
    """Base of every structured tool argument (an address, an order line).

    Unknown keys are refused rather than dropped: a misspelled field must not silently become "not
    given". The arguments model around them forbids unknown keys too (see ``tools._arguments``).
    """

    model_config = ConfigDict(extra="forbid")


class ToolResult(BaseModel):
    """Base of every tool's structured result."""

    sandbox: bool = Field(default=False, description="True: fake data from the embedded sandbox")


R = TypeVar("R", bound=ToolResult)


@dataclass(frozen=True)
class Reply(Generic[R]):
    """What a tool function answers: the typed result and the compact text the model reads."""

    result: R
    text: str


def respond(services: Services, result: ToolResult, text: str) -> CallToolResult:
    """Compact text for the model, the full typed result as structured content."""
    result.sandbox = services.settings.sandbox
    if result.sandbox:
        text = f"{SANDBOX_BANNER}\n{text}"
    if len(text) > MAX_TEXT_CHARS:
        text = (
            text[: MAX_TEXT_CHARS - 200]
            + "\n… output truncated to stay within the response budget; narrow the filters or"
            " lower `limit` and page with `cursor` to see the rest."
        )
    return CallToolResult(
        content=[TextContent(type="text", text=text)],
        structured_content=result.model_dump(mode="json"),
    )


def cap_error_text(text: str, max_chars: int = MAX_ERROR_CHARS) -> str:
    """Bound an error message, keeping its start (what failed) and its end (what to do next)."""
    if len(text) <= max_chars:
        return text
    marker = " … [error shortened] … "
    tail = min(300, (max_chars - len(marker)) // 3)
    head = max_chars - len(marker) - tail
    return text[:head] + marker + text[len(text) - tail :]


async def run_bounded(services: Services, name: str, call: Callable[[], Awaitable[T]]) -> T:
    """Run one tool call inside its deadline and turn every failure into an actionable tool error.

    Platform and validation failures already carry a message written for the reader; anything else is a
    bug, logged with its traceback to stderr and reported without internals.
    """
    try:
        async with deadline_scope(services.clock, services.settings.commerce_mcp_deadline_seconds):
            return await call()
    except ToolError:
        raise
    except CommerceError as exc:
        # The caller gets the message; the log gets what kind of failure it was.
        log.info("tool %s failed: %s", name, exc.for_the_log())
        raise tool_error(services, exc) from exc
    except Exception as exc:
        log.error("unexpected failure in tool %s\n%s", name, traceback_without_messages(exc))
        raise ToolError(
            f"{name} failed unexpectedly ({type(exc).__name__}). This is a bug in"
            " commerce-mcp, not in your request; the details are in the server log (stderr)."
            " Try again, or use another tool to get the same information."
        ) from exc


def error_result(name: str, error: ToolError) -> CallToolResult:
    """A tool error as the answer the SDK would make of it, for a tool to return instead of raise.

    The SDK logs a raised tool error's text (at INFO), and that text may quote the caller's
    arguments; returned, it reaches the caller only.
    """
    text = cap_error_text(f"Error executing tool {name}: {error}")
    return CallToolResult(content=[TextContent(type="text", text=text)], is_error=True)


def tool_error(services: Services | None, exc: CommerceError) -> ToolError:
    """A CommerceError as the short tool error the model reads (``services`` None: mode unknown)."""
    prefix = "[sandbox] " if services is not None and services.settings.sandbox else ""
    # describe() may quote platform text of any length; the hint at its end survives.
    return ToolError(cap_error_text(prefix + exc.describe(), _TOOL_ERROR_BODY_CHARS))
