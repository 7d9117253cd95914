"""``serve`` builds the server with the cyclic collector off, then serves with it on and start-up frozen."""

from __future__ import annotations

import gc
import logging
from collections.abc import Iterator
from typing import Any

import pytest

from commerce_mcp import cli
from commerce_mcp.tools._arguments import CommerceServer


@pytest.fixture(autouse=True)
def _restore_collector_and_logging() -> Iterator[None]:
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    yield
    gc.unfreeze()
    gc.enable()
    for handler in list(root.handlers):  # _serve configured logging as the real command does
        if handler not in handlers:
            root.removeHandler(handler)
    root.setLevel(level)


def test_serve_builds_without_the_collector_and_serves_with_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    seen: dict[str, Any] = {}
    import commerce_mcp.server as server_module

    real_build = server_module.build_server

    def build(*args: Any, **kwargs: Any) -> Any:
        seen["collector while building"] = gc.isenabled()
        return real_build(*args, **kwargs)

    def run(self: CommerceServer, transport: str) -> None:
        seen["collector while serving"] = gc.isenabled()
        seen["frozen objects"] = gc.get_freeze_count()

    monkeypatch.setattr(server_module, "build_server", build)
    monkeypatch.setattr(CommerceServer, "run", run)
    assert cli._serve(sandbox=False) == 0
    assert seen["collector while building"] is False
    assert seen["collector while serving"] is True
    assert seen["frozen objects"] > 0


def test_a_failed_build_leaves_the_collector_on(monkeypatch: pytest.MonkeyPatch) -> None:
    import commerce_mcp.server as server_module

    def broken(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("broken install")

    monkeypatch.setattr(server_module, "build_server", broken)
    with pytest.raises(RuntimeError, match="broken install"):
        cli._serve(sandbox=False)
    assert gc.isenabled()
