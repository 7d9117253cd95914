"""A stream that says it is a terminal, to see what the commands print for a person at a TTY."""

from __future__ import annotations

import io


class FakeTerminal(io.StringIO):
    """Collects what is written, like a terminal that keeps every byte (escape sequences included)."""

    def isatty(self) -> bool:
        return True
