"""The progress line and colour appear on a terminal only."""

from __future__ import annotations

import io

import pytest

from commerce_mcp.terminal import ProgressLine, paint, wants_colour
from tests.support.terminal import FakeTerminal


def test_progress_rewrites_one_line_in_place_on_a_terminal() -> None:
    terminal = FakeTerminal()
    progress = ProgressLine(3, terminal)
    progress.step("first")
    progress.step("second")
    progress.clear()
    assert terminal.getvalue() == "\r\x1b[K[1/3] first…\r\x1b[K[2/3] second…\r\x1b[K"


def test_progress_is_silent_on_a_pipe() -> None:
    pipe = io.StringIO()
    progress = ProgressLine(3, pipe)
    progress.step("first")
    progress.clear()
    assert pipe.getvalue() == ""


def test_progress_is_cut_to_the_terminal_width(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COLUMNS", "30")
    terminal = FakeTerminal()
    ProgressLine(9, terminal).step("a label far longer than thirty columns")
    line = terminal.getvalue().removeprefix("\r\x1b[K")
    assert len(line) == 29
    assert line.endswith("…")


def test_colour_only_on_a_terminal_without_no_color(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("NO_COLOR", raising=False)
    monkeypatch.setenv("TERM", "xterm")
    assert wants_colour(FakeTerminal())
    assert not wants_colour(io.StringIO())
    monkeypatch.setenv("NO_COLOR", "1")
    assert not wants_colour(FakeTerminal())
    assert paint("ok", "green", enabled=False) == "ok"
