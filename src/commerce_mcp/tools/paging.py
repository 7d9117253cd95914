"""Opaque cursors and the shared list parameters (``limit``, ``cursor``, ``response_format``).

A cursor wraps the platform's page token plus an offset into that page, so a tool can hand out pages of
``limit`` items whatever page size the platform uses. It is base64url JSON tagged with the tool it came
from: it means nothing to the model and cannot be replayed into a different tool by mistake.
"""

from __future__ import annotations

import base64
import binascii
import json
from dataclasses import dataclass
from typing import Annotated, Literal

from pydantic import Field

from commerce_mcp.errors import InvalidRequest, PaginationStopped

#: No description: its bounds and default say it all, in every list tool's schema.
Limit = Annotated[int, Field(ge=1, le=100)]
Cursor = Annotated[
    str | None,
    Field(
        # Our cursors wrap the platform's page token; 4,096 leaves room for the longest seen.
        max_length=4096,
        description="next_cursor from the previous page",
    ),
]
ResponseFormat = Annotated[
    Literal["concise", "detailed"],
    Field(description="detailed: all fields and ids"),
]


@dataclass(frozen=True)
class PagePosition:
    """Where a page starts: the platform's token (None = first page) and an offset into that page.

    ``anchor`` is fixed when a listing starts (e.g. its query start date) and kept by every later
    cursor, so that re-reading the first page asks the same question rather than one moved by "now".
    """

    token: str | None = None
    offset: int = 0
    anchor: str | None = None


def encode_cursor(tool: str, position: PagePosition) -> str:
    fields = {"k": tool, "t": position.token, "o": position.offset}
    if position.anchor is not None:
        fields["a"] = position.anchor
    raw = json.dumps(fields, separators=(",", ":"))
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def decode_cursor(tool: str, cursor: str | None) -> PagePosition:
    """Read a cursor this tool issued; anything else is a clear error, never an upstream call."""
    if not cursor:
        return PagePosition()
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        data = json.loads(base64.urlsafe_b64decode(padded.encode()))
        if data.get("k") != tool:
            raise ValueError("cursor from another tool")
        token = data.get("t")
        offset = int(data.get("o", 0))
        anchor = data.get("a")
        if (token is not None and not isinstance(token, str)) or offset < 0:
            raise ValueError("bad cursor fields")
        if anchor is not None and not isinstance(anchor, str):
            raise ValueError("bad cursor anchor")
    except (ValueError, binascii.Error, json.JSONDecodeError, AttributeError, TypeError):
        raise InvalidRequest(
            "cursor is not a next_cursor issued by this tool",
            hint=f"pass the next_cursor value returned by {tool} exactly, or omit it to start over",
        ) from None
    return PagePosition(token=token, offset=offset, anchor=anchor)


def next_position(
    position: PagePosition, page_size: int, limit: int, upstream_next: str | None
) -> PagePosition | None:
    """Where the following page starts, given a platform page of ``page_size`` items.

    A platform that answers a page token with that same token would hand the agent the same
    cursor forever; that is refused with PaginationStopped.
    """
    end = position.offset + limit
    if end < page_size:
        return PagePosition(position.token, end, position.anchor)
    if upstream_next and upstream_next == position.token:
        raise PaginationStopped(
            "the platform returned the page token it was just given, so the next cursor would "
            "repeat this page forever",
            hint="the platform's paging is misbehaving; use the items returned so far, or try "
            "again later",
        )
    if upstream_next:
        return PagePosition(upstream_next, 0, position.anchor)
    return None
