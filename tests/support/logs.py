"""The server's stderr log as ``commerce-mcp serve`` configures it, captured for a test to read."""

from __future__ import annotations

import contextlib
import io
import logging
import sys
from collections.abc import Iterator

import pytest

from commerce_mcp.server import configure_logging


@contextlib.contextmanager
def server_log(monkeypatch: pytest.MonkeyPatch, level: str = "DEBUG") -> Iterator[io.StringIO]:
    """What the server's stderr handler writes at ``level``; the root logger is restored after."""
    stream = io.StringIO()
    monkeypatch.setattr(sys, "stderr", stream)
    root = logging.getLogger()
    before = (list(root.handlers), root.level)
    # configure_logging also raises the floor of chatty loggers (httpx, uvicorn.access...): kept,
    # it would hide their records from a later test that reads the log for leaks.
    levels = {name: logger.level for name, logger in _loggers()}
    # An earlier test's `serve` set-up may have left its handler (on that test's stderr): configure
    # would keep it rather than add ours.
    for handler in before[0]:
        if getattr(handler, "_commerce_mcp", False):
            root.removeHandler(handler)
    configure_logging(level)
    try:
        yield stream
    finally:
        for handler in list(root.handlers):
            if handler not in before[0]:
                root.removeHandler(handler)
        for handler in before[0]:
            if handler not in root.handlers:
                root.addHandler(handler)
        root.setLevel(before[1])
        for name, logger in _loggers():
            logger.setLevel(levels.get(name, logging.NOTSET))


def _loggers() -> list[tuple[str, logging.Logger]]:
    return [
        (name, logger)
        for name, logger in logging.Logger.manager.loggerDict.items()
        if isinstance(logger, logging.Logger)
    ]
