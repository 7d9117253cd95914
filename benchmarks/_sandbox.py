"""The fake platforms for benchmarks: started in this process, reached by real clients over loopback.

Also counts every HTTP response the project's clients receive, by host and status, and keeps the bodies
when asked: the fakes expose no 429 counter, and the token benchmark needs the raw upstream JSON.
"""

from __future__ import annotations

import contextlib
import importlib.util
import json
import subprocess
import sys
import tempfile
from collections import Counter
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from benchmarks._stats import Skip


def require(*modules: str) -> None:
    """Raise :class:`Skip` naming the first module that does not exist yet."""
    for module in modules:
        try:
            found = importlib.util.find_spec(module) is not None
        except ModuleNotFoundError:
            found = False
        if not found:
            raise Skip(f"{module} has not landed yet")


@dataclass
class SandboxProcess:
    """The fakes, served by a child process; live-mode settings and services that point at them."""

    overrides: dict[str, Any]
    state_dir: Path
    child_pid: int = 0

    def env(self) -> dict[str, str]:
        """Env vars for a spawned live-mode server: settings names upper-cased, private state dir."""
        values = {key.upper(): str(value) for key, value in self.overrides.items()}
        values["COMMERCE_MCP_STATE_DIR"] = str(self.state_dir)
        return values

    def settings(self) -> Any:
        """Live-mode settings aimed at the fakes, as the clients' ``from_settings`` expect."""
        from commerce_mcp.config import load_settings

        settings, _ = load_settings(**self.overrides, commerce_mcp_state_dir=self.state_dir)
        return settings

    @property
    def pid(self) -> int:
        """The fakes' process, whose RSS is theirs and not the client's."""
        return self.child_pid

    def services(self) -> Any:
        """A live-mode :class:`Services` on these fakes (no sandbox banner, private state)."""
        from commerce_mcp.services import Services

        return Services(settings=self.settings())


@contextlib.contextmanager
def running_sandbox(**sizing: Any) -> Iterator[SandboxProcess]:
    """Both fakes on loopback ports, served by a child process, for the duration of the block.

    ``sizing`` (see :mod:`benchmarks._sandbox_process`) sizes their world and scales their plans.
    """
    with tempfile.TemporaryDirectory(prefix="commerce-mcp-bench-state-") as state_dir:
        child = subprocess.Popen(
            [sys.executable, "-m", "benchmarks._sandbox_process", json.dumps(sizing)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            cwd=Path(__file__).resolve().parents[1],
        )
        try:
            assert child.stdout is not None
            line = child.stdout.readline()
            if not line:
                raise RuntimeError(f"sandbox process exited with code {child.wait()}")
            yield SandboxProcess(json.loads(line), Path(state_dir), child.pid)
        finally:
            assert child.stdin is not None
            child.stdin.close()
            try:
                child.wait(timeout=15)
            except subprocess.TimeoutExpired:
                child.kill()
                child.wait()


@dataclass
class HttpTally:
    """Responses seen by any ``httpx.AsyncClient`` while installed: status counts and (opt.) bodies."""

    keep_bodies: bool = False
    statuses: Counter[int] = field(default_factory=Counter)
    paths: Counter[str] = field(default_factory=Counter)
    #: 429 responses per path: which bucket the limiter misjudged
    throttled: Counter[str] = field(default_factory=Counter)
    bodies: list[tuple[str, bytes]] = field(default_factory=list)

    @property
    def too_many_requests(self) -> int:
        return self.statuses[429]

    @property
    def requests(self) -> int:
        return sum(self.statuses.values())

    def record(self, request: httpx.Request, response: httpx.Response) -> None:
        self.statuses[response.status_code] += 1
        self.paths[request.url.path] += 1
        if response.status_code == 429:
            self.throttled[request.url.path] += 1
        if self.keep_bodies:
            self.bodies.append((request.url.path, response.content))

    def reset(self) -> None:
        self.statuses.clear()
        self.paths.clear()
        self.throttled.clear()
        self.bodies.clear()


@contextlib.asynccontextmanager
async def tally_http(keep_bodies: bool = False) -> AsyncIterator[HttpTally]:
    """Count every response any ``httpx.AsyncClient`` in this process receives inside the block.

    Wrapping ``AsyncClient.send`` (rather than one client's event hooks) sees the clients the project
    builds internally, without reaching into them.
    """
    tally = HttpTally(keep_bodies=keep_bodies)
    original = httpx.AsyncClient.send

    async def counted(self: httpx.AsyncClient, request: httpx.Request, **kwargs: Any) -> Any:
        response = await original(self, request, **kwargs)
        if keep_bodies and not kwargs.get("stream"):
            await response.aread()
        tally.record(request, response)
        return response

    httpx.AsyncClient.send = counted  # type: ignore[method-assign]
    try:
        yield tally
    finally:
        httpx.AsyncClient.send = original  # type: ignore[method-assign]
