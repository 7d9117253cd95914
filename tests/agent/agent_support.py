"""Helpers shared by the agent tests: run ``ask`` against a stdio server and capture what it prints."""

from __future__ import annotations

import io
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from commerce_mcp.agent import run_ask

#: A dummy key; tests assert it never shows up in anything the agent prints.
DUMMY_KEY = "sk-ant-test-0123456789-do-not-print"
#: The test-only server with read tools and one destructive tool.
WIDGET_SERVER = [sys.executable, str(Path(__file__).with_name("write_tool_server.py"))]


class RecordingStream(io.StringIO):
    """A StringIO that also keeps each write apart, to see text arrive piece by piece."""

    def __init__(self) -> None:
        super().__init__()
        self.writes: list[str] = []

    def write(self, text: str) -> int:
        self.writes.append(text)
        return super().write(text)


@dataclass
class AskOutcome:
    code: int
    out: str
    err: str
    writes: list[str]

    @property
    def printed(self) -> str:
        return self.out + self.err


async def ask(question: str = "What about the widgets?", **overrides: Any) -> AskOutcome:
    """Run ``run_ask`` (against the widget server unless overridden), capturing both streams."""
    out, err = RecordingStream(), io.StringIO()
    options: dict[str, Any] = {
        "model": None,
        "max_turns": 6,
        "sandbox": False,
        "assume_yes": False,
        "server_command": WIDGET_SERVER,
        "max_retries": 0,
    }
    options.update(overrides)
    code = await run_ask(question, out=out, err=err, **options)
    return AskOutcome(code, out.getvalue(), err.getvalue(), out.writes)
