"""What the commands print on a terminal and nowhere else: an in-place progress line and colour.

Both are decided by whether the stream is a terminal, so pipes, files, CI logs and captured test output
get plain lines with no escape sequences.
"""

from __future__ import annotations

import os
import shutil
import sys
from typing import TextIO

_CLEAR_LINE = "\r\x1b[K"
_COLOURS = {"green": "32", "red": "31", "yellow": "33", "bold": "1", "dim": "2"}


def is_terminal(stream: TextIO) -> bool:
    """True when ``stream`` is an interactive terminal (a closed or odd stream counts as not)."""
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError):
        return False


def wants_colour(stream: TextIO) -> bool:
    """Colour only on a terminal, and never when NO_COLOR is set (https://no-color.org)."""
    return (
        is_terminal(stream) and not os.environ.get("NO_COLOR") and os.environ.get("TERM") != "dumb"
    )


def paint(text: str, colour: str, *, enabled: bool) -> str:
    """``text`` in ``colour`` (a name from ``_COLOURS``) when ``enabled``, else unchanged."""
    return f"\x1b[{_COLOURS[colour]}m{text}\x1b[0m" if enabled else text


class ProgressLine:
    """``[3/7] what is happening…`` on one terminal line, rewritten in place as work moves on.

    Silent unless the stream is a terminal. Call :meth:`clear` before printing anything else to the
    same terminal, so a result never lands on top of the progress text.
    """

    def __init__(self, total: int, stream: TextIO | None = None, *, enabled: bool | None = None):
        self.stream = stream if stream is not None else sys.stderr
        self.enabled = is_terminal(self.stream) if enabled is None else enabled
        self.total = total
        self.done = 0
        self._showing = False

    def step(self, label: str) -> None:
        """Count one more step and show it with ``label``."""
        self.done += 1
        self.show(label)

    def show(self, label: str) -> None:
        """Show ``label`` against the current count without counting a step."""
        if not self.enabled:
            return
        line = f"[{min(self.done, self.total)}/{self.total}] {label}…"
        width = max(shutil.get_terminal_size((80, 24)).columns - 1, 10)
        if len(line) > width:
            line = line[: width - 1] + "…"
        self.stream.write(_CLEAR_LINE + line)
        self.stream.flush()
        self._showing = True

    def clear(self) -> None:
        """Remove the progress text, leaving the cursor at the start of an empty line."""
        if self._showing:
            self.stream.write(_CLEAR_LINE)
            self.stream.flush()
            self._showing = False
