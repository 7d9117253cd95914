"""The ``commerce-mcp`` command line: serve, tools, call, doctor, demo, ask, tiktok authorize|shops.

Heavy imports (the MCP client, sp_api, uvicorn, anthropic) happen inside the subcommands, so ``serve``
starts as fast as the server itself allows. The command lines MCP clients spawn (``commerce-mcp``,
``commerce-mcp serve [--sandbox]``) do not even build the full parser: a dozen subcommands cost every
spawn a few milliseconds that the user waits for.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from commerce_mcp import __version__, startup

if TYPE_CHECKING:
    import argparse

#: What MCP clients spawn -> whether it is sandbox mode; served over stdio without the full parser.
SPAWNED = {(): False, ("serve",): False, ("serve", "--sandbox"): True}


def _parser() -> argparse.ArgumentParser:
    import argparse

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

    serve = with_sandbox(sub.add_parser("serve", help="run the MCP server (stdio by default)"))
    serve.add_argument(
        "--transport",
        choices=("stdio", "http"),
        default=os.environ.get("COMMERCE_MCP_TRANSPORT", "stdio"),
        help="stdio (one client) or streamable HTTP (hosted; see README 'Hosting')",
    )
    serve.add_argument("--host", help="HTTP bind address (default 127.0.0.1)")
    serve.add_argument("--port", type=int, help="HTTP port (default 8000)")
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
    doctor = with_sandbox(sub.add_parser("doctor", help="check configuration and connectivity"))
    doctor.add_argument(
        "--format",
        choices=("text", "json"),
        default="text",
        help="one line per check, or one JSON document for scripts",
    )
    sub.add_parser("demo", help="run the whole cross-channel workflow on the sandbox")
    tiktok = sub.add_parser("tiktok", help="TikTok Shop authorization")
    tiktok_sub = tiktok.add_subparsers(dest="tiktok_command", required=True)
    authorize = with_sandbox(
        tiktok_sub.add_parser("authorize", help="authorize a seller and store the tokens")
    )
    authorize.add_argument(
        "--code", help="the auth code, or the whole redirect URL, if you already have it"
    )
    authorize.add_argument(
        "--callback-port",
        type=int,
        help="wait for the consent redirect on http://127.0.0.1:PORT/ (register it as redirect URL)",
    )
    authorize.add_argument("--timeout", type=float, default=600.0, help="seconds to wait")
    authorize.add_argument(
        "--tenant", help="hosted mode: store the tokens for this tenant (its TikTok app)"
    )
    shops = with_sandbox(tiktok_sub.add_parser("shops", help="list the authorized shops"))
    shops.add_argument("--tenant", help="hosted mode: this tenant's shops")
    ask = with_sandbox(
        sub.add_parser("ask", help="ask Claude a question; it answers with the tools")
    )
    ask.add_argument("question", help='e.g. "Which TikTok orders are waiting to ship?"')
    ask.add_argument(
        "--model", default=None, help="Claude model (default: $ANTHROPIC_MODEL or built-in)"
    )
    ask.add_argument("--max-turns", type=int, default=12, help="tool-use rounds before giving up")
    ask.add_argument("--yes", action="store_true", help="run write tools without asking y/N")
    from commerce_mcp.hosting.cli import add_parser as add_tenants_parser

    add_tenants_parser(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> None:
    """Entry point of the console script."""
    spawned = SPAWNED.get(tuple(sys.argv[1:] if argv is None else argv))
    if spawned is not None and os.environ.get("COMMERCE_MCP_TRANSPORT", "stdio") == "stdio":
        raise SystemExit(_serve(spawned))
    args = _parser().parse_args(argv)
    command = args.command or "serve"
    sandbox = bool(getattr(args, "sandbox", False))
    if command == "serve" and getattr(args, "transport", "stdio") == "http":
        from commerce_mcp.hosting.serve import run_http

        raise SystemExit(run_http(sandbox=sandbox, host=args.host, port=args.port))
    if command == "serve":
        raise SystemExit(_serve(sandbox))
    if command == "tenants":
        from commerce_mcp.hosting import cli as tenants_cli

        raise SystemExit(asyncio.run(tenants_cli.run(args)))
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
        raise SystemExit(asyncio.run(_doctor(sandbox, args.format)))
    if command == "tiktok":
        if args.tiktok_command == "authorize":
            raise SystemExit(
                asyncio.run(
                    _tiktok_authorize(
                        sandbox, args.code, args.callback_port, args.timeout, args.tenant
                    )
                )
            )
        raise SystemExit(asyncio.run(_tiktok_shops(sandbox, args.tenant)))
    if command == "demo":
        from commerce_mcp.demo import STEPS, run_demo
        from commerce_mcp.terminal import ProgressLine

        _services(True)  # logging to stderr, like every other command
        raise SystemExit(asyncio.run(run_demo(progress=ProgressLine(STEPS, sys.stderr))))
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


async def _doctor(sandbox: bool, fmt: Any) -> int:
    from commerce_mcp.doctor import STEPS, run_doctor
    from commerce_mcp.terminal import ProgressLine, wants_colour

    return await run_doctor(
        sandbox=sandbox,
        emit=print,
        fmt=fmt,
        colour=fmt == "text" and wants_colour(sys.stdout),
        progress=ProgressLine(STEPS, sys.stderr),
    )


def _serve(sandbox: bool) -> int:
    startup.pause_collector()
    try:
        from commerce_mcp.server import build_server

        server = build_server(_services(sandbox))
    finally:
        startup.settle()
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


async def _tiktok_shops(sandbox: bool, tenant: str | None = None) -> int:
    from commerce_mcp.errors import CommerceError

    services = _services(sandbox)
    try:
        if tenant is not None:
            from commerce_mcp.hosting.tenants import services_of_tenant

            services = await services_of_tenant(services, tenant)
        shops = await (await services.tiktok()).list_shops(refresh=True)
    except CommerceError as exc:
        print(f"error: {exc.describe()}", file=sys.stderr)
        return 1
    finally:
        await services.aclose()
    for shop in shops:
        print(f"{shop.id}  {shop.name}  region {shop.region or '?'}  code {shop.code or '-'}")
    if len(shops) > 1:
        print("several shops: set TIKTOK_SHOP_ID or pass shop= to pick one", file=sys.stderr)
    return 0


async def _tiktok_authorize(
    sandbox: bool,
    code: str | None,
    callback_port: int | None,
    wait_seconds: float,
    tenant: str | None = None,
) -> int:
    """Print the consent link, take the code (flag, loopback redirect or paste), store the tokens."""
    import secrets

    import httpx

    from commerce_mcp.errors import CommerceError
    from commerce_mcp.readiness import tiktok_authorize_missing
    from commerce_mcp.store.tokens import TokenStore
    from commerce_mcp.tiktok.auth import (
        AuthClient,
        TokenManager,
        consent_url,
        parse_redirect,
        wait_for_callback,
    )

    services = _services(sandbox)
    try:
        if tenant is not None:
            from commerce_mcp.hosting.tenants import services_of_tenant

            services = await services_of_tenant(services, tenant)
        await services.ensure_sandbox()
        settings = services.settings
        missing = tiktok_authorize_missing(settings)
        if missing:
            print(f"error: set {', '.join(missing)} first (Partner Center > App)", file=sys.stderr)
            return 2
        assert settings.tiktok_app_key and settings.tiktok_app_secret and settings.tiktok_service_id
        state = secrets.token_urlsafe(16)
        redirect = f"http://127.0.0.1:{callback_port}/" if callback_port else None
        link = consent_url(
            settings.tiktok_service_id,
            region=settings.tiktok_region,
            consent_base_url=settings.tiktok_consent_base_url,
            state=state,
            redirect_uri=redirect,
        )
        print(f"Open this link as the seller and approve the app:\n\n  {link}\n")
        if code:
            auth_code = parse_redirect(code)
        elif callback_port:
            print(f"Waiting for the redirect on {redirect} ...")
            auth_code = await wait_for_callback("127.0.0.1", callback_port, state, wait_seconds)
        else:
            prompt = "Paste the redirect URL (or just the code): "
            pasted = (await asyncio.to_thread(input, prompt)).strip()
            auth_code = parse_redirect(pasted, expected_state=state if "state=" in pasted else None)
        async with httpx.AsyncClient(timeout=10.0) as http:
            auth = AuthClient(
                http,
                settings.tiktok_auth_base_url,
                settings.tiktok_app_key,
                settings.tiktok_app_secret.get_secret_value(),
            )
            grant = await auth.exchange_code(auth_code)
            manager = TokenManager(
                auth,
                TokenStore(await services.store()),
                settings.tiktok_app_key,
                services.clock,
            )
            await manager.save_grant(grant)
        print(f"Authorized seller {grant.seller_name or ''}; tokens saved in the state store.")
        shops = await (await services.tiktok()).list_shops(refresh=True)
        for shop in shops:
            print(f"  shop {shop.id}  {shop.name}  region {shop.region or '?'}")
        return 0
    except (CommerceError, ValueError) as exc:
        detail = exc.describe() if isinstance(exc, CommerceError) else str(exc)
        print(f"error: {detail}", file=sys.stderr)
        return 1
    finally:
        await services.aclose()
