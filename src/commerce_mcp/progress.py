"""How far long work has got: the callback a job reports to, which the MCP layer turns into progress
notifications (``tools.registry`` injects it as a tool's ``progress``).

MCP requires each progress notification of a call to carry a larger value than the last. A job made of
stages (an inventory sync plans, then applies) reports through :class:`Stages`, where each stage counts
its own steps from zero and a later stage continues from where the earlier ones ended.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

#: ``progress(done, total, message)``.
Progress = Callable[[float, float, str], Awaitable[None]]


async def no_progress(done: float, total: float, message: str) -> None:
    """Report to nobody: for callers that do not follow progress."""
    return None


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
