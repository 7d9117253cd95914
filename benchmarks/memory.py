"""Memory: resident set size of a ``commerce-mcp serve`` process idle and after 1,000 tool calls.

The server runs as a real stdio subprocess in live mode against fakes hosted by this process, so the
fakes' own state never counts against the server. Growth is measured from a warmed-up point (after the
first 100 calls: caches, lazily imported clients, connection pools) to the end.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import psutil  # type: ignore[import-untyped]

from benchmarks._sandbox import running_sandbox
from benchmarks._stats import figure, result
from benchmarks._stdio import StdioSession, clean_env, commerce_mcp_command

MIB = 2**20
GOAL_GROWTH_MIB = 5.0
#: Read-only calls that exercise the tool layer and, where landed, both clients. Cheap on rate plans.
PREFERRED_CALLS: tuple[tuple[str, dict[str, Any]], ...] = (
    ("list_tiktok_orders", {"limit": 20}),
    ("get_connection_status", {"check_shops": False}),
    ("list_tiktok_products", {"limit": 20}),
)
FALLBACK_CALL = ("get_connection_status", {"check_shops": False})


def _rss(session: StdioSession) -> float:
    return float(psutil.Process(session.process.pid).memory_info().rss) / MIB


def _call_plan(tool_names: set[str]) -> list[tuple[str, dict[str, Any]]]:
    plan = [call for call in PREFERRED_CALLS if call[0] in tool_names]
    return plan or [FALLBACK_CALL]


def one_run(calls: int, warmup: int, env: dict[str, str]) -> tuple[float, float, float, list[str]]:
    """(idle MiB, warmed-up MiB, final MiB, tools used) for one server process."""
    with StdioSession(commerce_mcp_command("serve"), env=env) as session:
        session.initialize()
        listed = session.request("tools/list")
        idle = _rss(session)
        plan = _call_plan({tool["name"] for tool in listed["tools"]})
        warm = idle
        for index in range(calls):
            name, arguments = plan[index % len(plan)]
            reply = session.call_tool(name, arguments)
            if reply.get("isError"):
                raise RuntimeError(f"{name} failed: {reply['content'][0].get('text', '')[:300]}")
            if index + 1 == warmup:
                warm = _rss(session)
        return idle, warm, _rss(session), [name for name, _ in plan]


def run(smoke: bool, *, progress: Callable[[str], None] = lambda _: None) -> dict[str, Any]:
    """Idle RSS, RSS after the calls, and growth after warm-up, over several server processes."""
    runs, calls, warmup = (1, 30, 10) if smoke else (3, 1000, 100)
    idle: list[float] = []
    final: list[float] = []
    growth: list[float] = []
    used: list[str] = []
    with running_sandbox() as handle:
        env = clean_env(handle.env())
        for _ in range(runs):
            before, warm, after, used = one_run(calls, warmup, env)
            idle.append(before)
            final.append(after)
            growth.append(after - warm)
    worst = max(growth)
    notes = [
        f"{runs} server process(es), {calls} sequential `tools/call` each over stdio, cycling "
        + ", ".join(f"`{name}`" for name in used)
        + f"; growth measured from call {warmup} to call {calls}, live mode against the loopback fakes.",
    ]
    figures = [
        figure("RSS idle (after tools/list)", idle, "MiB", spread="min–max"),
        figure(f"RSS after {calls} tool calls", final, "MiB", spread="min–max"),
        figure(
            f"RSS growth, call {warmup} → {calls}",
            growth,
            "MiB",
            goal=f"≤ {GOAL_GROWTH_MIB:g} MiB (noise)",
            passed=worst <= GOAL_GROWTH_MIB,
            spread="min–max",
        ),
    ]
    return result("memory", "Memory", figures, notes)
