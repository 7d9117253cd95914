"""Shared plumbing for every tool: result shaping, error translation, deadlines, sandbox labelling."""

from __future__ import annotations

import functools
import inspect
import json
import logging
from collections.abc import Awaitable, Callable
from typing import Any, ParamSpec

from mcp.server.mcpserver.exceptions import ToolError
from mcp.types import CallToolResult, TextContent, ToolAnnotations
from pydantic import BaseModel, ConfigDict, Field

from commerce_mcp.errors import CommerceError
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

P = ParamSpec("P")

READ = ToolAnnotations(read_only_hint=True, open_world_hint=True)
READ_LOCAL = ToolAnnotations(read_only_hint=True, open_world_hint=False)


def write_annotations(*, idempotent: bool, destructive: bool = True) -> ToolAnnotations:
    """Annotations for a tool that changes something on a platform."""
    return ToolAnnotations(
        read_only_hint=False,
        destructive_hint=destructive,
        idempotent_hint=idempotent,
        open_world_hint=True,
    )


class ToolInput(BaseModel):
    """Base of every structured tool argument (an address, an order line).

    Unknown keys are refused rather than dropped: a misspelled field must not silently become "not
    given". The arguments model around them forbids unknown keys too (see ``tools._arguments``).
    """

    model_config = ConfigDict(extra="forbid")


class ToolResult(BaseModel):
    """Base of every tool's structured result."""

    sandbox: bool = Field(
        default=False, description="True when the data came from the embedded sandbox (fake data)."
    )


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


def compact_json(value: Any) -> str:
    """JSON without whitespace, for the rare text that is best left as data."""
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False, default=str)


def cap_error_text(text: str, max_chars: int = MAX_ERROR_CHARS) -> str:
    """Bound an error message, keeping its start (what failed) and its end (what to do next)."""
    if len(text) <= max_chars:
        return text
    marker = " … [error shortened] … "
    tail = min(300, (max_chars - len(marker)) // 3)
    head = max_chars - len(marker) - tail
    return text[:head] + marker + text[len(text) - tail :]


def tool_boundary(
    services: Services,
) -> Callable[[Callable[P, Awaitable[CallToolResult]]], Callable[P, Awaitable[CallToolResult]]]:
    """Run a tool inside its deadline and turn every failure into an actionable tool error.

    Platform and validation failures already carry a message written for the reader; anything else is a
    bug, logged with its traceback to stderr and reported without internals.
    """

    def decorate(
        fn: Callable[P, Awaitable[CallToolResult]],
    ) -> Callable[P, Awaitable[CallToolResult]]:
        @functools.wraps(fn)
        async def wrapper(*args: P.args, **kwargs: P.kwargs) -> CallToolResult:
            try:
                async with deadline_scope(
                    services.clock, services.settings.commerce_mcp_deadline_seconds
                ):
                    return await fn(*args, **kwargs)
            except ToolError:
                raise
            except CommerceError as exc:
                prefix = "[sandbox] " if services.settings.sandbox else ""
                # describe() may quote platform text of any length; the hint at its end survives.
                raise ToolError(
                    cap_error_text(prefix + exc.describe(), _TOOL_ERROR_BODY_CHARS)
                ) from exc
            except Exception as exc:
                log.exception("unexpected failure in tool %s", fn.__name__)
                raise ToolError(
                    f"{fn.__name__} failed unexpectedly ({type(exc).__name__}). This is a bug in"
                    " commerce-mcp, not in your request; the details are in the server log (stderr)."
                    " Try again, or use another tool to get the same information."
                ) from exc

        # Tool descriptions come from docstrings; dedent them so the model reads clean text.
        wrapper.__doc__ = inspect.cleandoc(fn.__doc__ or "")
        return wrapper

    return decorate
