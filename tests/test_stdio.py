"""A real subprocess over stdio: stdout carries only JSON-RPC, the server survives bad calls."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest


def _rpc(method: str, params: dict[str, object], ident: int) -> str:
    return json.dumps({"jsonrpc": "2.0", "id": ident, "method": method, "params": params})


def test_every_stdout_line_is_a_json_rpc_message(tmp_path: Path) -> None:
    """initialize + tools/list + a tool call + a bad call, over a raw pipe to `serve --sandbox`."""
    messages = [
        _rpc(
            "initialize",
            {
                "protocolVersion": "2025-11-25",
                "capabilities": {},
                "clientInfo": {"name": "stdio-test", "version": "0"},
            },
            1,
        ),
        json.dumps({"jsonrpc": "2.0", "method": "notifications/initialized"}),
        _rpc("tools/list", {}, 2),
        _rpc("tools/call", {"name": "get_connection_status", "arguments": {}}, 3),
        _rpc("tools/call", {"name": "get_connection_status", "arguments": {"check_shops": "x"}}, 4),
    ]
    env = {**os.environ, "COMMERCE_MCP_LOG_LEVEL": "DEBUG"}
    # stderr to a file: a full pipe of DEBUG logs would otherwise block the server.
    stderr_file = (tmp_path / "stderr.log").open("w")
    proc = subprocess.Popen(
        [sys.executable, "-m", "commerce_mcp", "serve", "--sandbox"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=stderr_file,
        text=True,
        env=env,
    )
    assert proc.stdin is not None and proc.stdout is not None
    proc.stdin.write("\n".join(messages) + "\n")
    proc.stdin.flush()
    stdout_lines: list[str] = []
    # Keep stdin open until every request is answered: EOF means "shut down" to a stdio server.
    while len([ln for ln in stdout_lines if '"id"' in ln]) < 4:
        line = proc.stdout.readline()
        if not line:
            break
        stdout_lines.append(line)
    proc.stdin.close()
    rest = proc.stdout.read()
    proc.wait(timeout=60)
    stderr_file.close()
    stderr = (tmp_path / "stderr.log").read_text()
    stdout = "".join(stdout_lines) + rest
    lines = [line for line in stdout.splitlines() if line.strip()]
    replies = [json.loads(line) for line in lines]  # any stray print would fail here
    assert all(reply.get("jsonrpc") == "2.0" for reply in replies)
    by_id = {reply["id"]: reply for reply in replies if "id" in reply}
    assert set(by_id) == {1, 2, 3, 4}
    assert any(t["name"] == "get_connection_status" for t in by_id[2]["result"]["tools"])
    status = by_id[3]["result"]
    assert status["isError"] is False
    assert status["structuredContent"]["mode"] == "sandbox"
    assert status["content"][0]["text"].startswith("[SANDBOX")
    assert by_id[4]["result"]["isError"] is True
    assert "sandbox-tiktok-app-secret" not in stdout + stderr


@pytest.mark.anyio
async def test_sdk_stdio_client_lists_and_calls_tools() -> None:
    from mcp import Client, StdioServerParameters

    params = StdioServerParameters(
        command=sys.executable,
        args=["-m", "commerce_mcp", "serve", "--sandbox"],
        env=dict(os.environ),
    )
    async with Client(params) as client:
        tools = await client.list_tools()
        assert "get_connection_status" in {tool.name for tool in tools.tools}
        result = await client.call_tool("get_connection_status", {})
        assert result.is_error is False
        assert result.structured_content is not None
        assert result.structured_content["sandbox"] is True
