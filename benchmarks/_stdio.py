"""Raw JSON-RPC over a subprocess's stdin/stdout: no client library between the stopwatch and the server."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

#: Env var prefixes removed so a spawned server sees no credentials and no project configuration.
_CONFIG_PREFIXES = ("TIKTOK_", "AMAZON_", "COMMERCE_MCP_", "ANTHROPIC_", "MARKETPLACE_")
PROTOCOL_VERSION = "2025-11-25"


def clean_env(extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """The current environment minus credentials/configuration, plus ``extra``.

    Bytecode caching is left on even where this shell turns it off (``PYTHONDONTWRITEBYTECODE``): an
    installed package has its modules compiled, so a spawn that recompiled every one of our modules
    from source would time a cost no user pays (the first, unmeasured spawn writes the cache).
    """
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.upper().startswith(_CONFIG_PREFIXES) and k != "PYTHONDONTWRITEBYTECODE"
    }
    env.update(extra or {})
    return env


def commerce_mcp_command(*args: str) -> list[str]:
    """How an MCP client spawns us: the console script next to this interpreter, else ``-m``."""
    script = Path(sys.executable).parent / "commerce-mcp"
    if script.exists():
        return [str(script), *args]
    return [sys.executable, "-m", "commerce_mcp", *args]


def bare_server_command() -> list[str]:
    """The one-tool baseline server, run by the same interpreter."""
    return [sys.executable, str(Path(__file__).with_name("bare_server.py"))]


class StdioSession:
    """A spawned MCP server spoken to line by line; ``request`` blocks until the matching reply."""

    def __init__(self, command: Sequence[str], env: Mapping[str, str] | None = None) -> None:
        # A scratch cwd keeps any ./.env of the checkout out of the server's settings.
        self._cwd = tempfile.TemporaryDirectory(prefix="commerce-mcp-bench-")
        self.process = subprocess.Popen(
            list(command),
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
            bufsize=1,
            env=dict(env) if env is not None else clean_env(),
            cwd=self._cwd.name,
        )
        self._next_id = 0

    def notify(self, method: str, params: Mapping[str, Any] | None = None) -> None:
        message: dict[str, Any] = {"jsonrpc": "2.0", "method": method}
        if params is not None:
            message["params"] = dict(params)
        self._write(message)

    def request(self, method: str, params: Mapping[str, Any] | None = None) -> dict[str, Any]:
        """Send one request and return its ``result`` (raise on a JSON-RPC error or a dead server)."""
        self._next_id += 1
        ident = self._next_id
        self._write({"jsonrpc": "2.0", "id": ident, "method": method, "params": dict(params or {})})
        assert self.process.stdout is not None
        while True:
            line = self.process.stdout.readline()
            if not line:
                raise RuntimeError(
                    f"server exited (code {self.process.poll()}) before answering {method}"
                )
            try:
                reply = json.loads(line)
            except json.JSONDecodeError:
                continue  # a server that prints a banner on stdout (clients skip such lines too)
            if not isinstance(reply, dict) or reply.get("id") != ident:
                continue  # a notification or log message
            if "error" in reply:
                raise RuntimeError(f"{method} failed: {reply['error']}")
            result: dict[str, Any] = reply["result"]
            return result

    def initialize(self) -> dict[str, Any]:
        """The legacy handshake every stdio client still performs first."""
        result = self.request(
            "initialize",
            {
                "protocolVersion": PROTOCOL_VERSION,
                "capabilities": {},
                "clientInfo": {"name": "commerce-mcp-benchmarks", "version": "0"},
            },
        )
        self.notify("notifications/initialized")
        return result

    def call_tool(self, name: str, arguments: Mapping[str, Any] | None = None) -> dict[str, Any]:
        return self.request("tools/call", {"name": name, "arguments": dict(arguments or {})})

    def close(self) -> None:
        """Close stdin (the stdio way to say goodbye) and reap the process."""
        if self.process.stdin is not None and not self.process.stdin.closed:
            self.process.stdin.close()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        if self.process.stdout is not None:
            self.process.stdout.close()
        self._cwd.cleanup()

    def _write(self, message: Mapping[str, Any]) -> None:
        assert self.process.stdin is not None
        self.process.stdin.write(json.dumps(message) + "\n")
        self.process.stdin.flush()

    def __enter__(self) -> StdioSession:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
