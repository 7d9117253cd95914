"""Fixtures for the agent tests: a scripted Anthropic API on loopback, the widget server's write log."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import ExitStack
from pathlib import Path

import pytest
from agent_support import DUMMY_KEY
from fake_anthropic import FakeAnthropic, Turn, serve_fake_anthropic


@pytest.fixture
def fake_api(monkeypatch: pytest.MonkeyPatch) -> Iterator[Callable[[list[Turn]], FakeAnthropic]]:
    """Start the fake API with a script and point the SDK at it (base URL + dummy key)."""
    with ExitStack() as stack:

        def start(script: list[Turn]) -> FakeAnthropic:
            fake = stack.enter_context(serve_fake_anthropic(script))
            monkeypatch.setenv("ANTHROPIC_BASE_URL", fake.url)
            monkeypatch.setenv("ANTHROPIC_API_KEY", DUMMY_KEY)
            return fake

        yield start


@pytest.fixture
def widget_log(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The file the widget server's destructive tool appends to (absent until it runs)."""
    path = tmp_path / "deleted-widgets.txt"
    monkeypatch.setenv("WIDGET_LOG", str(path))
    return path
