"""The ``commerce-mcp`` command line: serve, tools, call, doctor, demo, ask, tiktok authorize|shops.

Heavy imports (the MCP client, sp_api, uvicorn, anthropic) happen inside the subcommands, so ``serve``
starts as fast as the server itself allows.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import sys
from collections.abc import Sequence
from typing import Any

from commerce_mcp import __version__


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="commerce-mcp",
        description="MCP server for TikTok Shop + Amazon Multi-Channel Fulfillment sellers.",
    )
    parser.add_argument("--version", action="version", version=f"commerce-mcp {__version__}")
    sub = parser.add_subparsers(dest="command")

    def with_sandbox(p: argparse.ArgumentParser) -> argparse.ArgumentParser:
        p.add_argument(
            "--sandbox",
            action="store_true",
            help="use the embedded fake TikTok Shop and Amazon (no accounts needed)",
        )
        return p

    with_sandbox(sub.add_parser("serve", help="run the MCP server over stdio (default)"))
    with_sandbox(sub.add_parser("tools", help="list the tools, one line each"))
    call = with_sandbox(sub.add_parser("call", help="call one tool and print what the model sees"))
    call.add_argument("tool", help="tool name, e.g. get_connection_status")
    call.add_argument(
        "--arg",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="an argument; VALUE is parsed as JSON when it can be (numbers, true, lists)",
    )
    call.add_argument("--json", dest="json_args", help="all arguments as one JSON object")
    call.add_argument(
        "--format",
        choices=("text", "json"),
        default="text",
        help="text the model reads, or the structured result",
    )
    with_sandbox(sub.add_parser("doctor", help="check configuration and connectivity"))
    sub.add_parser("demo", help="run the whole cross-channel workflow on the sandbox")
    ask = with_sandbox(
        sub.add_parser("ask", help="ask Claude a question; it answers with the tools")
    )
    ask.add_argument("question", help='e.g. "Which TikTok orders are waiting to ship?"')
    ask.add_argument(
        "--model", default=None, help="Claude model (default: $ANTHROPIC_MODEL or built-in)"
    )
    ask.add_argument("--max-turns", type=int, default=12, help="tool-use rounds before giving up")
    ask.add_argument("--yes", action="store_true", help="run write tools without asking y/N")
    return parser


def main(argv: Sequence[str] | None = None) -> None:
    """Entry point of the console script."""
    args = _parser().parse_args(argv)
    command = args.command or "serve"
    sandbox = bool(getattr(args, "sandbox", False))
    if command == "serve":
        raise SystemExit(_serve(sandbox))
    if command == "tools":
        raise SystemExit(asyncio.run(_tools(sandbox)))
    if command == "call":
        try:
            arguments = parse_call_arguments(args.arg, args.json_args)
        except ValueError as exc:
            print(f"error: {exc}", file=sys.stderr)
            raise SystemExit(2) from None
        raise SystemExit(asyncio.run(_call(args.tool, arguments, args.format, sandbox)))
    if command == "doctor":
        from commerce_mcp.doctor import run_doctor

        raise SystemExit(asyncio.run(run_doctor(sandbox=sandbox)))
    if command == "demo":
        from commerce_mcp.demo import run_demo

        _services(True)  # logging to stderr, like every other command
        raise SystemExit(asyncio.run(run_demo()))
    if command == "ask":
        from commerce_mcp.agent import run_ask

        raise SystemExit(
            asyncio.run(
                run_ask(
                    args.question,
                    model=args.model,
                    max_turns=args.max_turns,
                    sandbox=sandbox,
                    assume_yes=args.yes,
                )
            )
        )
    raise SystemExit(2)


def parse_call_arguments(pairs: Sequence[str], json_args: str | None) -> dict[str, Any]:
    """Merge ``--json`` and ``--arg key=value`` pairs; values are JSON when they parse, else strings."""
    arguments: dict[str, Any] = {}
    if json_args:
        try:
            loaded = json.loads(json_args)
        except json.JSONDecodeError as exc:
            raise ValueError(f"--json is not valid JSON: {exc.msg} at position {exc.pos}") from None
        if not isinstance(loaded, dict):
            raise ValueError("--json must be a JSON object, e.g. '{\"limit\": 5}'")
        arguments.update(loaded)
    for pair in pairs:
        key, sep, raw = pair.partition("=")
        if not sep or not key.strip():
            raise ValueError(f"--arg {pair!r} is not KEY=VALUE")
        try:
            arguments[key.strip()] = json.loads(raw)
        except json.JSONDecodeError:
            arguments[key.strip()] = raw
    return arguments


def _services(sandbox: bool) -> Any:
    from commerce_mcp.server import configure_logging
    from commerce_mcp.services import Services

    services = Services.from_env(sandbox=sandbox)
    configure_logging(services.settings.commerce_mcp_log_level)
    return services


def _serve(sandbox: bool) -> int:
    from commerce_mcp.server import build_server

    server = build_server(_services(sandbox))
    with contextlib.suppress(KeyboardInterrupt):
        server.run("stdio")
    return 0


async def _tools(sandbox: bool) -> int:
    from mcp import Client

    from commerce_mcp.server import build_server

    async with Client(build_server(_services(sandbox))) as client:
        listed = await client.list_tools()
    width = max((len(tool.name) for tool in listed.tools), default=0)
    for tool in listed.tools:
        summary = (tool.description or "").strip().splitlines()[0] if tool.description else ""
        print(f"{tool.name.ljust(width)}  {summary}")
    return 0


async def _call(tool: str, arguments: dict[str, Any], fmt: str, sandbox: bool) -> int:
    from mcp import Client

    from commerce_mcp.server import build_server

    async with Client(build_server(_services(sandbox))) as client:
        result = await client.call_tool(tool, arguments)
    if fmt == "json" and result.structured_content is not None and not result.is_error:
        print(json.dumps(result.structured_content, indent=2, ensure_ascii=False))
    else:
        for block in result.content:
            text = getattr(block, "text", None)
            print(text if text is not None else block.model_dump_json())
    return 1 if result.is_error else 0
