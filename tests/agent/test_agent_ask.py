"""``commerce-mcp ask`` end to end: a real stdio server, the real anthropic SDK, a scripted API."""

from __future__ import annotations

import socket
import sys
from collections.abc import Callable
from pathlib import Path

import anyio
import pytest
from agent_support import DUMMY_KEY, ask
from fake_anthropic import (
    FakeAnthropic,
    Turn,
    answer,
    calls,
    failure,
    text,
    text_deltas,
    tool_use,
)

from commerce_mcp.agent import DEFAULT_MODEL, INSTALL_HINT

pytestmark = pytest.mark.anyio

FakeApi = Callable[[list[Turn]], FakeAnthropic]


async def test_answers_with_the_sandbox_server_over_stdio(fake_api: FakeApi) -> None:
    status_call = tool_use("get_connection_status", {"check_shops": True})
    fake = fake_api([calls(status_call), answer("Both channels are connected (sandbox).")])

    # No server_command: the default spawn of ``python -m commerce_mcp serve --sandbox``.
    outcome = await ask("What is connected?", sandbox=True, server_command=None)

    assert outcome.code == 0, outcome.err
    assert outcome.out.startswith("→ get_connection_status check_shops=true · ok: mode: sandbox;")
    assert outcome.out.rstrip().endswith("Both channels are connected (sandbox).")
    first = fake.requests[0]
    assert first["model"] == DEFAULT_MODEL
    assert first["messages"] == [{"role": "user", "content": "What is connected?"}]
    offered = {tool["name"]: tool for tool in first["tools"]}
    assert "check_shops" in offered["get_connection_status"]["input_schema"]["properties"]
    assert fake.requests[1]["messages"][1]["content"] == [status_call]
    [result] = fake.tool_results()
    assert result["tool_use_id"] == status_call["id"]
    assert not result.get("is_error")
    seen = result["content"][0]["text"]
    assert "mode: sandbox" in seen
    assert "Sandbox Glow Co" in seen, "the shop list came from the fake TikTok Shop"


async def test_tool_error_goes_back_to_the_model_as_an_error_result(fake_api: FakeApi) -> None:
    fake = fake_api(
        [calls(tool_use("lookup_widget", {"widget_id": "w-9"})), answer("There is no w-9.")]
    )

    outcome = await ask()

    assert outcome.code == 0, outcome.err
    [result] = fake.tool_results()
    assert result["is_error"] is True
    assert "no widget w-9; known: w-1, w-2" in result["content"][0]["text"]
    assert "→ lookup_widget widget_id=w-9 · error: no widget w-9; known: w-1, w-2\n" in outcome.out


async def test_write_is_refused_when_the_user_says_no(fake_api: FakeApi, widget_log: Path) -> None:
    prompts: list[str] = []

    def say_no(prompt: str) -> bool:
        prompts.append(prompt)
        return False

    fake = fake_api(
        [
            calls(
                tool_use("lookup_widget", {"widget_id": "w-1"}),
                tool_use("delete_widget", {"widget_id": "w-1"}),
            ),
            answer("I did not delete it."),
        ]
    )

    outcome = await ask(confirm=say_no)

    assert outcome.code == 0, outcome.err
    assert not await anyio.Path(widget_log).exists()
    assert len(prompts) == 1, "only the write asks"
    assert prompts[0].startswith('delete_widget can change data: {"widget_id":"w-1"}')
    read, write = fake.tool_results()
    assert not read.get("is_error")
    assert read["content"][0]["text"] == "red widget"
    assert write["is_error"] is True
    assert "user declined to run delete_widget" in write["content"][0]["text"]
    assert "declined" in outcome.out


async def test_write_is_refused_without_a_terminal(
    fake_api: FakeApi, widget_log: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Piped input, even a "y", is not a confirmation: only a terminal or --yes is.
    monkeypatch.setattr(sys, "stdin", _PipedStdin("y\n"))
    fake = fake_api(
        [calls(tool_use("delete_widget", {"widget_id": "w-2"})), answer("Not deleted.")]
    )

    outcome = await ask()

    assert outcome.code == 0
    assert not await anyio.Path(widget_log).exists()
    assert fake.tool_results()[0]["is_error"] is True


@pytest.mark.parametrize("approval", ["assume_yes", "confirm"])
async def test_write_runs_with_yes_or_a_confirmation(
    approval: str, fake_api: FakeApi, widget_log: Path
) -> None:
    fake = fake_api(
        [calls(tool_use("delete_widget", {"widget_id": "w-2"})), answer("Deleted w-2.")]
    )
    grant = {"assume_yes": True} if approval == "assume_yes" else {"confirm": lambda _: True}

    outcome = await ask(**grant)

    assert outcome.code == 0, outcome.err
    assert await anyio.Path(widget_log).read_text() == "w-2\n"
    [result] = fake.tool_results()
    assert not result.get("is_error")
    assert result["content"][0]["text"] == "deleted w-2"


async def test_preview_then_token_write_asks_once_on_the_real_call(
    fake_api: FakeApi, widget_log: Path
) -> None:
    prompts: list[str] = []

    def say_yes(prompt: str) -> bool:
        prompts.append(prompt)
        return True

    fake = fake_api(
        [
            calls(tool_use("ship_widget", {"widget_id": "w-1"})),
            calls(tool_use("ship_widget", {"widget_id": "w-1", "confirmation_token": "tok-w-1"})),
            answer("Shipped w-1."),
        ]
    )

    outcome = await ask(confirm=say_yes)

    assert outcome.code == 0, outcome.err
    assert len(prompts) == 1
    assert '"confirmation_token":"tok-w-1"' in prompts[0]
    assert "PREVIEW: would ship w-1" in fake.tool_results(1)[0]["content"][0]["text"]
    assert fake.tool_results(2)[0]["content"][0]["text"] == "shipped w-1"
    assert await anyio.Path(widget_log).read_text() == "shipped w-1\n"


async def test_model_comes_from_flag_then_environment(
    fake_api: FakeApi, monkeypatch: pytest.MonkeyPatch
) -> None:
    fake = fake_api([answer("one"), answer("two")])
    monkeypatch.setenv("ANTHROPIC_MODEL", "claude-from-env")

    await ask()
    await ask(model="claude-from-flag")

    assert [request["model"] for request in fake.requests] == [
        "claude-from-env",
        "claude-from-flag",
    ]


@pytest.mark.usefixtures("widget_log")
async def test_server_does_not_inherit_the_anthropic_credentials(fake_api: FakeApi) -> None:
    fake = fake_api(
        [
            calls(
                tool_use("environment_variable", {"name": "ANTHROPIC_API_KEY"}),
                tool_use("environment_variable", {"name": "WIDGET_LOG"}),
            ),
            answer("ok"),
        ]
    )

    await ask()

    key, other = fake.tool_results()
    assert key["content"][0]["text"] == "unset"
    assert other["content"][0]["text"] == "set", "the rest of the environment is passed on"


async def test_running_out_of_turns_is_an_error(fake_api: FakeApi) -> None:
    fake = fake_api(
        [
            calls(tool_use("lookup_widget", {"widget_id": "w-1"})),
            calls(tool_use("lookup_widget", {"widget_id": "w-2"})),
            answer("too late"),
        ]
    )

    outcome = await ask(max_turns=2)

    assert outcome.code == 1
    assert "no answer after 2 turns; ask a narrower question or raise --max-turns" in outcome.err
    assert len(fake.requests) == 2
    assert "too late" not in outcome.out


async def test_api_rejection_is_a_clear_message_without_the_key(fake_api: FakeApi) -> None:
    fake_api([failure(401, "authentication_error", "invalid x-api-key")])

    outcome = await ask()

    assert outcome.code == 1
    assert "401: invalid x-api-key. Check ANTHROPIC_API_KEY." in outcome.err
    assert "Traceback" not in outcome.printed
    assert DUMMY_KEY not in outcome.printed


async def test_unreachable_api_is_a_clear_message_without_credentials(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        closed_port = probe.getsockname()[1]
    monkeypatch.setenv("ANTHROPIC_BASE_URL", f"http://gateway:hunter2@127.0.0.1:{closed_port}")
    monkeypatch.setenv("ANTHROPIC_API_KEY", DUMMY_KEY)

    outcome = await ask()

    assert outcome.code == 1
    assert f"could not reach the Anthropic API at http://127.0.0.1:{closed_port}" in outcome.err
    assert "hunter2" not in outcome.printed
    assert DUMMY_KEY not in outcome.printed


async def test_max_turns_below_one_is_a_usage_error(fake_api: FakeApi) -> None:
    fake = fake_api([answer("unused")])

    outcome = await ask(max_turns=0)

    assert outcome.code == 2
    assert "--max-turns must be at least 1" in outcome.err
    assert fake.requests == []


async def test_server_that_cannot_start_is_a_clear_message(fake_api: FakeApi) -> None:
    fake = fake_api([answer("unused")])

    outcome = await ask(server_command=["/nonexistent/commerce-mcp"])

    assert outcome.code == 1
    assert "could not start the server (/nonexistent/commerce-mcp)" in outcome.err
    assert fake.requests == []


async def test_server_that_exits_at_once_is_a_clear_message(fake_api: FakeApi) -> None:
    fake = fake_api([answer("unused")])

    outcome = await ask(server_command=[sys.executable, "-c", "raise SystemExit(3)"])

    assert outcome.code == 1
    assert "error: the server failed: Connection closed" in outcome.err
    assert "Traceback" not in outcome.printed
    assert fake.requests == []


async def test_missing_api_key_says_how_to_set_it(
    fake_api: FakeApi, monkeypatch: pytest.MonkeyPatch
) -> None:
    fake = fake_api([answer("unused")])
    monkeypatch.delenv("ANTHROPIC_API_KEY")  # the fixture set one; this test is about its absence

    outcome = await ask()

    assert outcome.code == 2
    assert "ANTHROPIC_API_KEY is not set" in outcome.err
    assert "export ANTHROPIC_API_KEY=" in outcome.err
    assert fake.requests == []


async def test_missing_sdk_says_how_to_install_it(monkeypatch: pytest.MonkeyPatch) -> None:
    # A None entry in sys.modules makes ``import anthropic`` raise ImportError, as if not installed.
    monkeypatch.setitem(sys.modules, "anthropic", None)
    monkeypatch.setenv("ANTHROPIC_API_KEY", DUMMY_KEY)

    outcome = await ask()

    assert outcome.code == 2
    assert INSTALL_HINT in outcome.err
    assert INSTALL_HINT == 'pip install "commerce-mcp[agent]"'


class _PipedStdin:
    def __init__(self, data: str) -> None:
        self._data = data

    def isatty(self) -> bool:
        return False

    def readline(self) -> str:
        return self._data


async def test_the_answer_streams_in_as_it_arrives(fake_api: FakeApi) -> None:
    reply = "Widget w-1 is red, and w-2 is blue."
    fake = fake_api([answer(reply)])

    outcome = await ask()

    assert outcome.code == 0, outcome.err
    assert fake.requests[0]["stream"] is True
    # Each delta the API sends is written on its own, the moment it arrives.
    pieces = text_deltas(reply)
    assert len(pieces) > 1
    start = outcome.writes.index(pieces[0])
    assert outcome.writes[start : start + len(pieces)] == pieces
    assert outcome.out == reply + "\n"


async def test_the_transcript_is_claudes_words_and_one_line_per_tool_call(
    fake_api: FakeApi, widget_log: Path
) -> None:
    fake_api(
        [
            Turn(
                content=[
                    text("Let me look."),
                    tool_use("lookup_widget", {"widget_id": "w-1"}),
                    tool_use("lookup_widget", {"widget_id": "w-9"}),
                ]
            ),
            Turn(
                content=[
                    text("Deleting it."),
                    tool_use("delete_widget", {"widget_id": "w-1"}),
                ]
            ),
            answer("w-1 is red; w-9 does not exist. I did not delete w-1."),
        ]
    )

    outcome = await ask(confirm=lambda _: False)

    assert outcome.code == 0, outcome.err
    assert outcome.out == (
        "Let me look.\n"
        "→ lookup_widget widget_id=w-1 · ok: red widget\n"
        "→ lookup_widget widget_id=w-9 · error: no widget w-9; known: w-1, w-2\n"
        "Deleting it.\n"
        "→ delete_widget widget_id=w-1 · declined, not run\n"
        "w-1 is red; w-9 does not exist. I did not delete w-1.\n"
    )
    assert not await anyio.Path(widget_log).exists()


async def test_a_confirmation_token_is_not_printed_on_the_call_line(
    fake_api: FakeApi, widget_log: Path
) -> None:
    fake_api(
        [
            calls(tool_use("ship_widget", {"widget_id": "w-1", "confirmation_token": "tok-w-1"})),
            answer("Shipped."),
        ]
    )

    outcome = await ask(assume_yes=True)

    assert "→ ship_widget widget_id=w-1 confirmation_token=… · ok: shipped w-1\n" in outcome.out
    assert "tok-w-1" not in outcome.out
    assert await anyio.Path(widget_log).read_text() == "shipped w-1\n"


async def test_missing_api_key_does_not_mention_a_base_url_that_is_not_set(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("ANTHROPIC_BASE_URL", raising=False)

    outcome = await ask()

    assert outcome.code == 2
    assert outcome.err == (
        "error: ANTHROPIC_API_KEY is not set. Create a key at https://console.anthropic.com/ and"
        " run: export ANTHROPIC_API_KEY=...\n"
    )


async def test_missing_api_key_names_the_base_url_when_it_is_set(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("ANTHROPIC_BASE_URL", "https://gw:hunter2@gateway.example/anthropic")

    outcome = await ask()

    assert outcome.code == 2
    assert (
        "ANTHROPIC_BASE_URL points at https://gateway.example/anthropic: set the key" in outcome.err
    )
    assert "hunter2" not in outcome.err
