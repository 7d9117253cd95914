"""A server process spoken to over a raw stdio pipe, so a test can SIGKILL it mid-call."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

PROTOCOL = "2025-11-25"


class StdioServer:
    """``commerce-mcp serve`` in a child process; requests are written, answers read by id."""

    def __init__(self, env: dict[str, str], log: Path, *args: str) -> None:
        import os

        self._log = log.open("a")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "commerce_mcp", "serve", *args],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self._log,
            text=True,
            env={**os.environ, **env},
        )
        self._next = 0
        self._answers: dict[int, dict[str, Any]] = {}
        answer = self.request(
            "initialize",
            {
                "protocolVersion": PROTOCOL,
                "capabilities": {},
                "clientInfo": {"name": "crash-test", "version": "0"},
            },
        )
        assert "result" in answer, answer
        self._send({"jsonrpc": "2.0", "method": "notifications/initialized"})

    def _send(self, message: dict[str, Any]) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.write(json.dumps(message) + "\n")
        self.proc.stdin.flush()

    def send(self, method: str, params: dict[str, Any]) -> int:
        """Write a request without waiting; returns its id."""
        self._next += 1
        self._send({"jsonrpc": "2.0", "id": self._next, "method": method, "params": params})
        return self._next

    def answer(self, ident: int) -> dict[str, Any]:
        """Block until the answer to ``ident`` arrives."""
        assert self.proc.stdout is not None
        while ident not in self._answers:
            line = self.proc.stdout.readline()
            if not line:
                raise AssertionError(f"server exited before answering request {ident}")
            message = json.loads(line)
            if "id" in message and ("result" in message or "error" in message):
                self._answers[int(message["id"])] = message
        return self._answers.pop(ident)

    def request(self, method: str, params: dict[str, Any]) -> dict[str, Any]:
        return self.answer(self.send(method, params))

    def call(self, tool: str, arguments: dict[str, Any]) -> dict[str, Any]:
        """tools/call; returns the CallToolResult as a dict."""
        answer = self.request("tools/call", {"name": tool, "arguments": arguments})
        assert "result" in answer, answer
        return dict(answer["result"])

    def kill(self) -> None:
        """SIGKILL: no cleanup, no flushing, exactly like a crash."""
        self.proc.kill()
        self.proc.wait(timeout=30)
        self._log.close()

    def close(self) -> None:
        if self.proc.poll() is None:
            assert self.proc.stdin is not None
            self.proc.stdin.close()
            self.proc.wait(timeout=30)
        self._log.close()


def wait_for(condition: Callable[[], bool], timeout: float = 30.0) -> None:
    """Wait for another process to reach a state (polling; never a fixed sleep)."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("the condition was not reached in time")
        time.sleep(0.01)
