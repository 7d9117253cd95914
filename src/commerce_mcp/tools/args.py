"""Argument types several tools share, declared once so they read the same in every tool's schema.

The list parameters (``limit``, ``cursor``, ``response_format``) live with the cursors in ``paging``.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import Field

ShopArg = Annotated[
    str | None,
    Field(max_length=100, description="TikTok shop id or name; omit if only one"),
]
ConfirmationToken = Annotated[
    str | None,
    Field(
        max_length=256,
        description="From this tool's preview, to execute it",
    ),
]
