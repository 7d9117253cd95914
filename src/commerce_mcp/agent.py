"""``commerce-mcp ask``: Claude answers a question with this server's tools, over stdio like any agent.

The server runs as a subprocess reached through the official MCP client, exactly as an agent framework
would reach it. Tool definitions and results cross over through the anthropic SDK's MCP helpers
(``anthropic.lib.tools.mcp``) and its tool runner drives the tool-use loop. Between the two sits
:class:`ToolGate`, which asks before any tool that is not marked read-only and prints each call as one
line (name, arguments, outcome). Claude's own words stream to the terminal as they arrive.

``anthropic`` is an optional extra, so it is imported only inside :func:`run_ask`.
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any, TextIO, cast
from urllib.parse import urlsplit, urlunsplit

if TYPE_CHECKING:
    from mcp import Client
    from mcp.types import CallToolResult, Tool

#: Used when neither ``--model`` nor ``ANTHROPIC_MODEL`` names one: the newest Sonnet the installed
#: SDK knows (claude-sonnet-4-5 is deprecated there).
DEFAULT_MODEL = "claude-sonnet-5-5"
#: The variables ``ask`` (through the anthropic SDK) reads; environment only, never ``.env``.
ENVIRONMENT = ("ANTHROPIC_API_KEY", "ANTHROPIC_AUTH_TOKEN", "ANTHROPIC_BASE_URL", "ANTHROPIC_MODEL")
INSTALL_HINT = 'pip install "commerce-mcp[agent]"'
MAX_TOKENS = 4096
#: commerce-mcp's write tools only preview until called again with the token their preview issued.
PREVIEW_TOKEN_ARGUMENT = "confirmation_token"
#: How much of a tool's arguments (and of an error) the transcript shows.
ARGUMENTS_PREVIEW_CHARS = 120
#: The arguments and the outcome on a tool call's transcript line.
ARGUMENTS_LINE_CHARS = 80
OUTCOME_CHARS = 100

SYSTEM_PROMPT = (
    "You are an operations assistant for a seller on TikTok Shop who fulfils orders from Amazon FBA "
    "through Multi-Channel Fulfillment. Answer with the tools provided; call get_connection_status "
    "first if you are unsure what is connected. Prefer read-only tools. Before a tool that changes "
    "data, say what it will do; if the user declines it, do not retry it. Keep answers short and "
    "concrete (order ids, SKUs, quantities)."
)

Confirm = Callable[[str], bool]


async def run_ask(
    question: str,
    *,
    model: str | None,
    max_turns: int,
    sandbox: bool,
    assume_yes: bool,
    out: TextIO | None = None,
    confirm: Confirm | None = None,
    err: TextIO | None = None,
    server_command: Sequence[str] | None = None,
    max_retries: int = 2,
) -> int:
    """Answer ``question`` with Claude and the server's tools; return the process exit code.

    0: an answer was printed. 1: the API failed, the server could not start, or the model ran out of
    turns. 2: the agent extra or the API key is missing. ``server_command`` replaces the default
    ``python -m commerce_mcp serve [--sandbox]``; ``confirm`` replaces the terminal y/N prompt.
    """
    out = out or sys.stdout
    err = err or sys.stderr
    try:
        import anthropic
        from anthropic.lib.tools.mcp import async_mcp_tool
        from anthropic.types.beta import BetaUserMessageParam
    except ImportError:
        print(f"error: `ask` needs the anthropic SDK. Install it with: {INSTALL_HINT}", file=err)
        return 2
    if not (os.environ.get("ANTHROPIC_API_KEY") or os.environ.get("ANTHROPIC_AUTH_TOKEN")):
        print(missing_key_message(os.environ.get("ANTHROPIC_BASE_URL")), file=err)
        return 2
    if max_turns < 1:
        print("error: --max-turns must be at least 1", file=err)
        return 2

    from mcp import Client, MCPError, StdioServerParameters

    command = list(server_command or default_server_command(sandbox))
    params = StdioServerParameters(command=command[0], args=command[1:], env=_server_environment())
    chosen_model = model or os.environ.get("ANTHROPIC_MODEL") or DEFAULT_MODEL
    try:
        async with (
            anthropic.AsyncAnthropic(max_retries=max_retries) as claude,
            Client(params) as mcp_client,
        ):
            listed = await mcp_client.list_tools()
            transcript = Transcript(out)
            gate = ToolGate(
                mcp_client,
                listed.tools,
                out=transcript,
                confirm=confirm,
                assume_yes=assume_yes,
            )
            runner = claude.beta.messages.tool_runner(
                model=chosen_model,
                max_tokens=MAX_TOKENS,
                system=SYSTEM_PROMPT,
                # The helper only ever calls ``call_tool(name=..., arguments=...)`` on its client.
                tools=[async_mcp_tool(tool, cast(Any, gate)) for tool in listed.tools],
                messages=[BetaUserMessageParam(role="user", content=question)],
                max_iterations=max_turns,
                # The whole history on every turn works with any Messages API behind
                # ANTHROPIC_BASE_URL, including gateways that know nothing of message threads.
                thread=False,
                # Each turn arrives as a stream, so the answer shows as Claude writes it.
                stream=True,
            )
            final = None
            async for turn in runner:
                async for chunk in turn.text_stream:
                    transcript.text(chunk)
                final = await turn.get_final_message()
    except Exception as exc:
        # The MCP client's task group may wrap the real failure in an exception group.
        cause = _innermost(exc)
        if isinstance(cause, anthropic.APIStatusError):
            print(f"error: {_describe_status_error(cause)}", file=err)
        elif isinstance(cause, anthropic.APIConnectionError):
            where = _without_userinfo(os.environ.get("ANTHROPIC_BASE_URL") or "api.anthropic.com")
            print(
                f"error: could not reach the Anthropic API at {where} (network or proxy?)", file=err
            )
        elif isinstance(cause, MCPError):
            print(f"error: the server failed: {cause} (its own log, if any, is above)", file=err)
        elif isinstance(cause, OSError):
            print(f"error: could not start the server ({' '.join(command)}): {cause}", file=err)
        else:
            raise
        return 1
    return _report(final, max_turns, transcript=transcript, err=err)


def default_server_command(sandbox: bool) -> list[str]:
    """How ``ask`` starts the server: this interpreter, so it runs the installed commerce-mcp."""
    return [sys.executable, "-m", "commerce_mcp", "serve", *(["--sandbox"] if sandbox else [])]


def needs_confirmation(tool: Tool) -> bool:
    """True unless the server marks the tool read-only (the MCP default for a tool is "may write")."""
    return not (tool.annotations is not None and tool.annotations.read_only_hint is True)


def is_preview_call(tool: Tool, arguments: dict[str, Any]) -> bool:
    """True for a call that can only preview: the tool takes a confirmation token and none was given."""
    properties = tool.input_schema.get("properties") or {}
    return PREVIEW_TOKEN_ARGUMENT in properties and not arguments.get(PREVIEW_TOKEN_ARGUMENT)


def confirm_in_terminal(prompt: str) -> bool:
    """Ask y/N on the terminal; without a terminal, answer no (``--yes`` is the way to allow writes)."""
    if not sys.stdin.isatty():
        print(
            "not a terminal, so the write was not run; pass --yes to allow writes", file=sys.stderr
        )
        return False
    try:
        return input(prompt).strip().lower() in {"y", "yes"}
    except EOFError:
        return False


def missing_key_message(base_url: str | None) -> str:
    """What to do without a key; mentions ANTHROPIC_BASE_URL only when it is set."""
    text = (
        "error: ANTHROPIC_API_KEY is not set. Create a key at https://console.anthropic.com/ and "
        "run: export ANTHROPIC_API_KEY=..."
    )
    if base_url:
        text += (
            f" (ANTHROPIC_BASE_URL points at {_without_userinfo(base_url)}: set the key, or"
            " ANTHROPIC_AUTH_TOKEN, that endpoint expects)"
        )
    return text


def call_line(name: str, arguments: dict[str, Any]) -> str:
    """``→ name key=value …`` for the transcript: the arguments compact, a confirmation token elided."""
    parts = []
    for key, value in arguments.items():
        if key == PREVIEW_TOKEN_ARGUMENT and value:
            shown = "…"
        elif isinstance(value, str) and value and not any(c.isspace() for c in value):
            shown = value
        else:
            shown = json.dumps(value, ensure_ascii=False, separators=(",", ":"))
        parts.append(f"{key}={shown}")
    return f"→ {name} {preview(' '.join(parts), ARGUMENTS_LINE_CHARS)}".rstrip()


def result_summary(name: str, result: CallToolResult) -> str:
    """The outcome of a call in a few words: ``ok: <first line>`` or ``error: <message>``."""
    text = "\n".join(getattr(block, "text", "") for block in result.content)
    if result.is_error:
        # The SDK prefixes tool errors with "Error executing tool <name>: "; the line already names it.
        message = text.removeprefix(f"Error executing tool {name}: ")
        return f"error: {preview(message, OUTCOME_CHARS)}"
    lines = [line for line in text.splitlines() if line.strip() and not line.startswith("[SANDBOX")]
    return f"ok: {preview(lines[0], OUTCOME_CHARS)}" if lines else "ok"


def preview(value: object, limit: int = ARGUMENTS_PREVIEW_CHARS) -> str:
    """One compact line for the transcript, cut to ``limit`` characters."""
    line = (
        value
        if isinstance(value, str)
        else json.dumps(value, ensure_ascii=False, separators=(",", ":"))
    )
    line = " ".join(line.split())
    return line if len(line) <= limit else line[: limit - 1] + "…"


class Transcript:
    """What a person sees: Claude's text as it streams, and one line per tool call between."""

    def __init__(self, out: TextIO) -> None:
        self.out = out
        self.at_line_start = True
        self.streamed = ""

    def text(self, chunk: str) -> None:
        """Claude's words, written the moment they arrive."""
        if not chunk:
            return
        self.out.write(chunk)
        self.out.flush()
        self.streamed += chunk
        self.at_line_start = chunk.endswith("\n")

    def line(self, text: str) -> None:
        """A line of its own, after whatever was streamed."""
        prefix = "" if self.at_line_start else "\n"
        print(f"{prefix}{text}", file=self.out, flush=True)
        self.at_line_start = True

    def end(self) -> None:
        """Finish the streamed text with a newline."""
        if not self.at_line_start:
            print(file=self.out, flush=True)
            self.at_line_start = True


class ToolGate:
    """Stands in for the MCP client in the SDK's tool helpers: prints each call, confirms writes.

    A declined write comes back as an error result, which the helper hands to the model as an
    ``is_error`` tool_result, the same path a failing tool takes. A preview call of a write tool (see
    :func:`is_preview_call`) changes nothing, so the person is asked once, when the token comes back.
    """

    def __init__(
        self,
        client: Client,
        tools: Sequence[Tool],
        *,
        out: Transcript,
        confirm: Confirm | None,
        assume_yes: bool,
    ) -> None:
        self._client = client
        self._writes = {tool.name: tool for tool in tools if needs_confirmation(tool)}
        self._out = out
        self._confirm = confirm or confirm_in_terminal
        self._assume_yes = assume_yes

    async def call_tool(self, name: str, arguments: dict[str, Any] | None = None) -> CallToolResult:
        """Ask first if it writes, run it on the server, then print one line: call and outcome."""
        from mcp.types import CallToolResult, TextContent

        arguments = arguments or {}
        line = call_line(name, arguments)
        if self._must_ask(name, arguments):
            self._out.end()
            prompt = f"{name} can change data: {preview(arguments, 400)}\nRun it? [y/N] "
            if not await asyncio.to_thread(self._confirm, prompt):
                self._out.line(f"{line} · declined, not run")
                refusal = (
                    f"The user declined to run {name}; it was not executed. Do not retry it; "
                    "explain what it would have done and let the user decide."
                )
                return CallToolResult(
                    content=[TextContent(type="text", text=refusal)], is_error=True
                )
        result = await self._client.call_tool(name, arguments)
        self._out.line(f"{line} · {result_summary(name, result)}")
        return result

    def _must_ask(self, name: str, arguments: dict[str, Any]) -> bool:
        tool = self._writes.get(name)
        return tool is not None and not self._assume_yes and not is_preview_call(tool, arguments)


def _server_environment() -> dict[str, str]:
    # The server needs the seller's settings but has no use for the Anthropic credentials.
    return {key: value for key, value in os.environ.items() if not key.startswith("ANTHROPIC_")}


def _without_userinfo(url: str) -> str:
    # A base URL may carry gateway credentials (https://user:token@host); show only where it points.
    parts = urlsplit(url)
    return urlunsplit(parts._replace(netloc=parts.netloc.rpartition("@")[2]))


def _report(final: Any, max_turns: int, *, transcript: Transcript, err: TextIO) -> int:
    transcript.end()
    if final is None:
        print("error: the model sent no reply", file=err)
        return 1
    if final.stop_reason == "tool_use":
        print(
            f"error: no answer after {max_turns} turns; ask a narrower question or raise --max-turns",
            file=err,
        )
        return 1
    answer = "\n".join(block.text for block in final.content if block.type == "text").strip()
    if not answer:
        print(f"error: the model stopped ({final.stop_reason}) without an answer", file=err)
        return 1
    return 0  # the answer has been printed as it streamed


def _describe_status_error(exc: Any) -> str:
    detail = str(exc.message)
    if isinstance(exc.body, dict) and isinstance(exc.body.get("error"), dict):
        detail = str(exc.body["error"].get("message") or detail)
    advice = {
        401: " Check ANTHROPIC_API_KEY.",
        403: " The key lacks access to this model or endpoint.",
        404: " Check --model / ANTHROPIC_MODEL and ANTHROPIC_BASE_URL.",
        429: " Rate limited; wait and try again.",
    }.get(exc.status_code, "")
    return f"the Anthropic API answered {exc.status_code}: {detail.rstrip('.')}.{advice}"


def _innermost(exc: BaseException) -> BaseException:
    while isinstance(exc, BaseExceptionGroup) and exc.exceptions:
        exc = exc.exceptions[0]
    return exc
