"""`commerce-mcp doctor` checks the state directory it reports: exists, can be created, writable."""

from __future__ import annotations

import asyncio
import tempfile
from pathlib import Path
from typing import Any

import pytest
from mcp import Client

from commerce_mcp.doctor import run_doctor
from commerce_mcp.server import build_server
from commerce_mcp.services import Services
from commerce_mcp.store import paths


def doctor(monkeypatch: pytest.MonkeyPatch, state_dir: Path) -> tuple[int, str]:
    """Run doctor (no platform credentials) with COMMERCE_MCP_STATE_DIR = ``state_dir``."""
    monkeypatch.setenv("COMMERCE_MCP_STATE_DIR", str(state_dir))
    lines: list[str] = []
    code = asyncio.run(run_doctor(emit=lines.append))
    return code, "\n".join(lines)


def state_line(text: str) -> str:
    return next(line for line in text.splitlines() if "] state:" in line)


def test_a_missing_state_dir_is_reported_as_to_be_created_and_left_alone(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    target = tmp_path / "not" / "yet"
    _, out = doctor(monkeypatch, target)
    line = state_line(out)
    assert line.startswith("[ok] state:")
    assert str(target) in line
    assert "does not exist yet" in line
    assert "will be created" in line
    assert not target.exists()  # a check, not a side effect


def test_an_existing_writable_state_dir_says_so(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    target = tmp_path / "state-ok"
    target.mkdir()
    _, out = doctor(monkeypatch, target)
    assert state_line(out) == f"[ok] state: {target} exists and is writable"


def test_a_file_where_the_state_dir_should_be_fails_with_what_to_do(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    target = tmp_path / "a-file"
    target.write_text("not a directory")
    code, out = doctor(monkeypatch, target)
    line = state_line(out)
    assert code == 1
    assert line.startswith("[FAIL] state:")
    assert "not a directory" in line
    assert "COMMERCE_MCP_STATE_DIR" in line


def test_a_state_dir_that_cannot_be_created_fails(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    blocker = tmp_path / "blocker"
    blocker.write_text("")
    code, out = doctor(monkeypatch, blocker / "state")
    line = state_line(out)
    assert code == 1
    assert line.startswith("[FAIL] state:")
    assert "cannot be created" in line
    assert str(blocker) in line


def test_an_unwritable_state_dir_fails(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Permission bits do not stop root (which runs CI here), so the write probe is made to fail
    the way a read-only directory makes it fail."""
    target = tmp_path / "read-only"
    target.mkdir()
    real = tempfile.TemporaryFile

    def refuse(*args: Any, **kwargs: Any) -> Any:
        if Path(str(kwargs.get("dir", ""))) == target:
            raise PermissionError(13, "Permission denied")
        return real(*args, **kwargs)

    monkeypatch.setattr(paths.tempfile, "TemporaryFile", refuse)
    code, out = doctor(monkeypatch, target)
    line = state_line(out)
    assert code == 1
    assert line.startswith("[FAIL] state:")
    assert "not writable (Permission denied)" in line
    assert "fix its permissions" in line


def test_a_tool_that_needs_an_unusable_store_says_where_and_what_to_do(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """Not "a bug in commerce-mcp": the error names the state store and COMMERCE_MCP_STATE_DIR."""
    blocker = tmp_path / "blocker"
    blocker.write_text("")
    monkeypatch.setenv("COMMERCE_MCP_STATE_DIR", str(blocker / "state"))
    for name, value in {
        "TIKTOK_APP_KEY": "k",
        "TIKTOK_APP_SECRET": "s",
        "TIKTOK_ACCESS_TOKEN": "a",
        "TIKTOK_API_BASE_URL": "http://127.0.0.1:9",
    }.items():
        monkeypatch.setenv(name, value)

    async def call() -> str:
        services = Services.from_env()
        try:
            async with Client(build_server(services)) as client:
                result = await client.call_tool("list_tiktok_orders", {})
        finally:
            await services.aclose()
        assert result.is_error is True
        return "\n".join(getattr(block, "text", "") for block in result.content)

    text = asyncio.run(call())
    assert "state store" in text
    assert "COMMERCE_MCP_STATE_DIR" in text
    assert "bug" not in text
