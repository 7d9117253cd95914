"""The agent's small decisions: which tools ask first, how the terminal is asked, what is printed."""

from __future__ import annotations

import sys

import pytest
from hypothesis import given
from hypothesis import strategies as st
from mcp.types import Tool, ToolAnnotations

from commerce_mcp.agent import (
    ARGUMENTS_PREVIEW_CHARS,
    DEFAULT_MODEL,
    confirm_in_terminal,
    default_server_command,
    is_preview_call,
    needs_confirmation,
    preview,
)
from commerce_mcp.cli import main


def _tool(annotations: ToolAnnotations | None) -> Tool:
    return Tool(name="t", input_schema={"type": "object"}, annotations=annotations)


@pytest.mark.parametrize(
    ("annotations", "asks"),
    [
        (ToolAnnotations(read_only_hint=True), False),
        (ToolAnnotations(read_only_hint=False, destructive_hint=True), True),
        (ToolAnnotations(read_only_hint=False, destructive_hint=False), True),
        # MCP's defaults for an unannotated tool are "not read-only, destructive".
        (ToolAnnotations(), True),
        (None, True),
    ],
)
def test_only_tools_marked_read_only_skip_confirmation(
    annotations: ToolAnnotations | None, asks: bool
) -> None:
    assert needs_confirmation(_tool(annotations)) is asks


def test_a_call_without_the_token_of_a_token_taking_tool_is_a_preview() -> None:
    with_token = Tool(
        name="create_mcf_order",
        input_schema={"type": "object", "properties": {"sku": {}, "confirmation_token": {}}},
    )
    plain = Tool(name="delete", input_schema={"type": "object", "properties": {"sku": {}}})
    assert is_preview_call(with_token, {"sku": "A"})
    assert is_preview_call(with_token, {"sku": "A", "confirmation_token": None})
    assert not is_preview_call(with_token, {"sku": "A", "confirmation_token": "cf-1-abc"})
    assert not is_preview_call(plain, {"sku": "A"})


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(), inner, max_size=4),
    max_leaves=20,
)


@given(value=json_values, limit=st.integers(min_value=2, max_value=200))
def test_preview_is_one_line_within_the_limit(value: object, limit: int) -> None:
    line = preview(value, limit)
    assert len(line) <= limit
    assert "\n" not in line


def test_preview_keeps_short_arguments_whole_and_marks_cuts() -> None:
    assert preview({"sku": "A-1", "qty": 2}) == '{"sku":"A-1","qty":2}'
    long = preview({"note": "x" * 500})
    assert len(long) == ARGUMENTS_PREVIEW_CHARS
    assert long.endswith("…")


def test_terminal_confirmation_accepts_only_yes(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sys, "stdin", _Terminal())
    answers = iter(["y", " YES ", "", "n", "sure"])
    monkeypatch.setattr("builtins.input", lambda _prompt: next(answers))
    assert [confirm_in_terminal("ok? ") for _ in range(5)] == [True, True, False, False, False]


def test_terminal_confirmation_treats_end_of_input_as_no(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sys, "stdin", _Terminal())

    def closed(_prompt: str) -> str:
        raise EOFError

    monkeypatch.setattr("builtins.input", closed)
    assert confirm_in_terminal("ok? ") is False


def test_without_a_terminal_confirmation_is_no_and_says_why(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(sys, "stdin", _Pipe())
    monkeypatch.setattr("builtins.input", lambda _prompt: "y")
    assert confirm_in_terminal("ok? ") is False
    assert "--yes" in capsys.readouterr().err


def test_default_server_is_this_interpreter_running_serve() -> None:
    assert default_server_command(False) == [sys.executable, "-m", "commerce_mcp", "serve"]
    assert default_server_command(True)[-2:] == ["serve", "--sandbox"]


def test_default_model_is_not_deprecated_by_the_sdk() -> None:
    from anthropic._data import DEPRECATED_MODELS

    assert DEFAULT_MODEL not in DEPRECATED_MODELS


def test_cli_ask_without_a_key_exits_2_with_advice(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["ask", "Which orders are waiting?"])
    assert exited.value.code == 2
    assert "ANTHROPIC_API_KEY is not set" in capsys.readouterr().err


class _Terminal:
    def isatty(self) -> bool:
        return True


class _Pipe:
    def isatty(self) -> bool:
        return False
