"""One progress scale for a tool call made of stages (plan, then apply).

MCP requires each progress notification of a call to carry a larger value than the last. A stage
counts its own steps from zero, so a later stage continues from where the earlier ones ended.
"""

from __future__ import annotations

from commerce_mcp.tools.registry import Progress


class Stages:
    """Wraps a call's progress reporter; ``report`` is what each stage is given."""

    def __init__(self, progress: Progress) -> None:
        self._progress = progress
        self._before = 0.0  # steps of the finished stages
        self._total = 0.0  # steps of the current stage, as last reported

    async def report(self, done: float, total: float, message: str) -> None:
        """Report the current stage's ``done`` of ``total`` on the call's scale."""
        self._total = total
        await self._progress(self._before + done, self._before + total, message)

    def next(self) -> None:
        """The current stage is over; the next one counts on from its total."""
        self._before += self._total
        self._total = 0.0
