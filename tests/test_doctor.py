"""`commerce-mcp doctor` checks the state directory it reports: exists, can be created, writable."""

from __future__ import annotations

import asyncio
import json
import tempfile
from pathlib import Path
from typing import Any

import pytest
from mcp import Client

from commerce_mcp.cli import main
from commerce_mcp.doctor import STEPS, run_doctor
from commerce_mcp.server import build_server
from commerce_mcp.services import Services
from commerce_mcp.store import paths
from commerce_mcp.terminal import ProgressLine
from tests.support.terminal import FakeTerminal


def doctor(monkeypatch: pytest.MonkeyPatch, state_dir: Path) -> tuple[int, str]:
    """Run doctor (no platform credentials) with COMMERCE_MCP_STATE_DIR = ``state_dir``."""
    monkeypatch.setenv("COMMERCE_MCP_STATE_DIR", str(state_dir))
    lines: list[str] = []
    code = asyncio.run(run_doctor(emit=lines.append))
    return code, "\n".join(lines)


class InstantClock:
    """Monotonic time that jumps forward when slept on."""

    def __init__(self) -> None:
        self.now = 1_000.0

    def monotonic(self) -> float:
        return self.now

    def wall(self) -> float:
        return 1_790_000_000.0 + self.now

    async def sleep(self, seconds: float) -> None:
        self.now += max(0.0, seconds)
        await asyncio.sleep(0)


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


def test_without_credentials_the_report_is_one_line_per_check_each_failure_saying_what_next(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    code, out = doctor(monkeypatch, tmp_path / "state")
    assert code == 1
    assert out.replace(str(tmp_path), "<tmp>") == "\n".join(
        [
            "[ok] mode: live; writes disabled (default; COMMERCE_MCP_ALLOW_WRITES=true turns them"
            " on)",
            "[ok] state: <tmp>/state does not exist yet; it will be created on first use",
            "[FAIL] TikTok Shop: not configured. Next: set TIKTOK_APP_KEY, TIKTOK_APP_SECRET,"
            " TIKTOK_ACCESS_TOKEN (or TIKTOK_REFRESH_TOKEN), or run `commerce-mcp tiktok"
            " authorize` to save the seller's tokens",
            "[FAIL] Amazon SP-API: not configured. Next: set AMAZON_SP_API_CLIENT_ID,"
            " AMAZON_SP_API_CLIENT_SECRET, AMAZON_SP_API_REFRESH_TOKEN, AMAZON_SELLER_ID",
            "2 check(s) failed: do what each FAIL line says next (settings go in the environment"
            " or a .env file; README, Configuration), then run `commerce-mcp doctor` again",
        ]
    )


def test_an_unreachable_platform_fails_with_the_error_and_what_to_do(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    for name, value in {
        "TIKTOK_APP_KEY": "k",
        "TIKTOK_APP_SECRET": "s",
        "TIKTOK_ACCESS_TOKEN": "a",
        "TIKTOK_API_BASE_URL": "http://127.0.0.1:9",
    }.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("COMMERCE_MCP_STATE_DIR", str(tmp_path / "state"))
    services = Services.from_env()
    services.clock = InstantClock()  # the client's backoff between attempts takes no real time
    lines: list[str] = []
    asyncio.run(run_doctor(emit=lines.append, services=services))
    out = "\n".join(lines)
    line = next(line for line in out.splitlines() if "TikTok Shop" in line)
    assert line.startswith("[FAIL] TikTok Shop: get_authorized_shops: could not reach TikTok Shop")
    assert line.endswith(
        "Next: check the network and TIKTOK_API_BASE_URL; the request was not sent"
    )


def test_a_setting_that_does_not_parse_is_a_failed_check_naming_it(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("COMMERCE_MCP_DEADLINE_SECONDS", "soon")
    code, out = doctor(monkeypatch, tmp_path / "state")
    assert code == 1
    line = out.splitlines()[0]
    assert line.startswith("[FAIL] COMMERCE_MCP_DEADLINE_SECONDS: ")
    assert "the default is used instead. Next: fix COMMERCE_MCP_DEADLINE_SECONDS" in line


def test_json_format_is_one_document_for_scripts(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("COMMERCE_MCP_STATE_DIR", str(tmp_path / "state"))
    lines: list[str] = []
    code = asyncio.run(run_doctor(emit=lines.append, fmt="json"))
    [document] = lines
    report = json.loads(document)
    assert code == 1
    assert report["ok"] is False
    assert report["failed"] == 2
    assert [check["name"] for check in report["checks"]] == [
        "mode",
        "state",
        "TikTok Shop",
        "Amazon SP-API",
    ]
    amazon = report["checks"][3]
    assert amazon == {
        "name": "Amazon SP-API",
        "ok": False,
        "detail": "not configured",
        "next": "set AMAZON_SP_API_CLIENT_ID, AMAZON_SP_API_CLIENT_SECRET,"
        " AMAZON_SP_API_REFRESH_TOKEN, AMAZON_SELLER_ID",
    }


def test_colour_marks_only_the_verdicts_when_asked(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("COMMERCE_MCP_STATE_DIR", str(tmp_path / "state"))
    lines: list[str] = []
    asyncio.run(run_doctor(emit=lines.append, colour=True))
    assert lines[0].startswith("[\x1b[32mok\x1b[0m] mode: ")
    assert lines[2].startswith("[\x1b[31mFAIL\x1b[0m] TikTok Shop: ")


def test_the_sandbox_passes_every_check_with_the_sandbox_seller(tmp_path: Path) -> None:
    lines: list[str] = []
    code = asyncio.run(run_doctor(sandbox=True, emit=lines.append))
    assert code == 0, lines
    assert lines[-1] == "all checks passed"
    amazon = next(line for line in lines if "Amazon SP-API" in line)
    assert "seller None" not in amazon
    assert amazon.startswith("[ok] Amazon SP-API: seller A1SANDBOXSELLER, marketplace ")


def test_progress_counts_the_steps_on_a_terminal_and_clears_itself(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("COMMERCE_MCP_STATE_DIR", str(tmp_path / "state"))
    terminal = FakeTerminal()
    asyncio.run(run_doctor(emit=lambda _: None, progress=ProgressLine(STEPS, terminal)))
    shown = terminal.getvalue()
    assert [part.split("]")[0] for part in shown.split("\r\x1b[K[")[1:]] == [
        "1/4",
        "2/4",
        "3/4",
        "4/4",
    ]
    assert "[3/4] asking TikTok Shop for the authorized shops…" in shown
    assert shown.endswith("\r\x1b[K"), "the last progress text is wiped before the report"


def test_no_progress_or_colour_reaches_a_pipe(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["doctor"])
    captured = capsys.readouterr()
    assert "\x1b" not in captured.out + captured.err
    assert "\r" not in captured.out + captured.err
    assert captured.out.startswith("[ok] mode: live")
