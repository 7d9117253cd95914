"""Start-up: spawn -> initialize -> tools/list over stdio, ``commerce-mcp serve`` against a bare server
and a peer.

MCP clients spawn the server per session and wait for ``tools/list``, so this is latency users feel on
every new chat. Runs alternate between the servers so that drift on a shared machine hits all alike.
The peer (``tiktok-shop-mcp`` from PyPI, see ``_peer``) is what a seller could run instead.
``-X importtime`` names the modules we import that the bare server does not, and a fresh interpreter
times each phase of ``serve``. ``serve`` imports and builds with the cyclic garbage collector paused
(``commerce_mcp.startup``); the bare server and the peer run as their authors wrote them.
"""

from __future__ import annotations

import re
import statistics
import subprocess
import sys
import time
from collections import defaultdict
from collections.abc import Sequence
from typing import Any

from benchmarks._peer import PEER, peer
from benchmarks._stats import figure, result
from benchmarks._stdio import (
    StdioSession,
    bare_server_command,
    clean_env,
    commerce_mcp_command,
)

GOAL_RATIO = 1.05
_IMPORTTIME = re.compile(r"import time:\s+(\d+)\s+\|\s+(\d+)\s+\|(\s*)(\S+)")


def time_to_tools_list(command: Sequence[str]) -> float:
    """Seconds from spawning ``command`` to receiving its ``tools/list`` answer."""
    started = time.perf_counter()
    with StdioSession(command) as session:
        session.initialize()
        tools = session.request("tools/list")
        elapsed = time.perf_counter() - started
    if not tools.get("tools"):
        raise RuntimeError(f"{command[0]} listed no tools")
    return elapsed


def self_import_times(python_args: Sequence[str]) -> dict[str, int]:
    """Module -> self import time (µs) for ``python -X importtime <python_args>``, stdin at EOF."""
    proc = subprocess.run(
        [sys.executable, "-X", "importtime", *python_args],
        input="",
        capture_output=True,
        text=True,
        timeout=120,
        env=clean_env(),
    )
    times: dict[str, int] = {}
    for line in proc.stderr.splitlines():
        match = _IMPORTTIME.match(line)
        if match:
            times[match.group(4)] = int(match.group(1))
    return times


def extra_import_offenders(limit: int = 12) -> list[tuple[str, float]]:
    """Top-level packages we import beyond the bare server, by summed self time (ms), largest first."""
    ours = self_import_times(["-m", "commerce_mcp", "serve"])
    bare = self_import_times(bare_server_command()[1:])
    by_package: dict[str, float] = defaultdict(float)
    for module, micros in ours.items():
        if module in bare:
            continue
        parts = module.split(".")
        # Group our own modules one level deeper: that is the level at which laziness is decided.
        key = ".".join(parts[:2]) if parts[0] == "commerce_mcp" else parts[0]
        by_package[key] += micros / 1000
    return sorted(by_package.items(), key=lambda item: item[1], reverse=True)[:limit]


#: Times the phases of ``serve`` in a fresh interpreter (prints JSON): where start-up goes. Like
#: ``serve``, it runs with the garbage collector paused (``commerce_mcp.startup``).
_PHASES_SCRIPT = """
import json, time
from commerce_mcp import startup
startup.pause_collector()
t0 = time.perf_counter()
import mcp.server
t1 = time.perf_counter()
from commerce_mcp import cli
t2 = time.perf_counter()
from commerce_mcp.server import build_server
from commerce_mcp.services import Services
t3 = time.perf_counter()
services = Services.from_env()
t4 = time.perf_counter()
from commerce_mcp.tools.manifest import published_tools
published_tools()
t5 = time.perf_counter()
build_server(services)
t6 = time.perf_counter()
print(json.dumps({"import mcp.server": t1 - t0, "import the command line": t2 - t1,
                  "import server and services": t3 - t2, "load settings": t4 - t3,
                  "load the tool manifest": t5 - t4, "build the server": t6 - t5}))
"""


def startup_phases(runs: int = 3) -> dict[str, float]:
    """Median milliseconds per phase of building the server, each run in a fresh interpreter."""
    import json

    samples: dict[str, list[float]] = defaultdict(list)
    for _ in range(runs):
        proc = subprocess.run(
            [sys.executable, "-c", _PHASES_SCRIPT],
            capture_output=True,
            text=True,
            timeout=120,
            env=clean_env(),
            check=True,
        )
        for phase, seconds in json.loads(proc.stdout.strip().splitlines()[-1]).items():
            samples[phase].append(seconds * 1000)
    return {phase: statistics.median(values) for phase, values in samples.items()}


def run(smoke: bool) -> dict[str, Any]:
    """Median start-up of each server over ``runs`` alternating spawns, and the ratios."""
    runs = 2 if smoke else 25
    the_peer = peer()
    commands = {"bare": bare_server_command(), "ours": commerce_mcp_command("serve")}
    if the_peer.command is not None:
        commands["peer"] = the_peer.command
    # One unmeasured spawn each warms the OS page cache and the .pyc files.
    for command in commands.values():
        time_to_tools_list(command)
    samples: dict[str, list[float]] = {name: [] for name in commands}
    ratios: list[float] = []
    for index in range(runs):
        # Rotate the order too, so no server always runs right after the same one.
        names = list(commands)
        names = names[index % len(names) :] + names[: index % len(names)]
        for name in names:
            samples[name].append(time_to_tools_list(commands[name]) * 1000)
        ratios.append(samples["ours"][-1] / samples["bare"][-1])
    bare, ours = samples["bare"], samples["ours"]
    ratio = statistics.median(ours) / statistics.median(bare)
    passed = ratio <= GOAL_RATIO
    notes = [
        "`commerce-mcp serve` without credentials (what an MCP client spawns) vs "
        "`benchmarks/bare_server.py` (one-tool `MCPServer`), same interpreter; raw JSON-RPC over the "
        f"pipe; {runs} rounds after one warm-up each, each round spawning every server once in "
        f"rotating order. Ratio of medians: {ratio:.2f}x. Our modules' bytecode is cached, as for"
        " an installed package (the warm-up spawn writes it even where the shell sets"
        " PYTHONDONTWRITEBYTECODE). `serve` imports and builds with the cyclic garbage collector"
        " paused (`commerce_mcp.startup`), which is why it can start faster than the bare server;"
        " the bare server and the peer run as their authors wrote them.",
        the_peer.note,
    ]
    figures = [
        figure("bare MCPServer, spawn → tools/list", bare, "ms"),
        figure("commerce-mcp serve, spawn → tools/list", ours, "ms"),
        figure(
            "ratio commerce-mcp / bare (per run pair)",
            ratios,
            "x",
            goal=f"≤ {GOAL_RATIO:.2f}x (ratio of medians {ratio:.2f}x)",
            passed=passed,
        ),
    ]
    if "peer" in samples:
        theirs = samples["peer"]
        faster = statistics.median(ours) < statistics.median(theirs)
        figures.append(figure(f"peer `{PEER}`, spawn → tools/list", theirs, "ms"))
        figures.append(
            figure(
                f"ratio commerce-mcp / `{PEER}` (per run)",
                [a / b for a, b in zip(ours, theirs, strict=True)],
                "x",
                goal=f"< 1.00x (ratio of medians {statistics.median(ours) / statistics.median(theirs):.2f}x)",
                passed=faster,
            )
        )
    if not smoke:
        offenders = extra_import_offenders()
        listed = ", ".join(f"`{name}` {ms:.1f} ms" for name, ms in offenders)
        notes.append(f"Imported at start-up beyond the bare server (self time): {listed}.")
        phases = ", ".join(f"{phase} {ms:.1f} ms" for phase, ms in startup_phases().items())
        notes.append(
            f"Where `serve` spends its start-up (median of 3 fresh interpreters): {phases}."
        )
    return result("startup", "Start-up over stdio", figures, notes)
