"""``commerce-mcp demo`` as a seller reads it: every step's outcome, and a summary of what happened.

The demo runs once for the module, on fakes whose clock stands still at a fixed instant and moves only
when the clients wait (rate limits, backoff): the text is the same on any day, and no real time is
slept. The golden file holds the text whole; ``UPDATE_GOLDEN=1 pytest tests/test_demo.py`` rewrites
it (review the diff like any text change).
"""

from __future__ import annotations

import asyncio
import io
import os
import re
from dataclasses import dataclass
from pathlib import Path

import pytest

from commerce_mcp.demo import STEPS, run_demo
from commerce_mcp.sandbox.runner import SandboxServers, start_sandbox
from commerce_mcp.sandbox.simclock import SimClock
from commerce_mcp.terminal import ProgressLine
from tests.support.terminal import FakeTerminal

GOLDEN = Path(__file__).with_name("golden") / "demo.txt"
#: 2026-06-01T09:00:00Z, a Monday: the practice shop's "now" when the run starts.
PINNED_START = 1_780_304_400.0


class SandboxTime:
    """The clients' clock is the fakes' simulated clock; waiting advances it instead of sleeping."""

    def __init__(self, servers: SandboxServers) -> None:
        self._servers = servers

    def monotonic(self) -> float:
        return self._servers.clock.now()

    def wall(self) -> float:
        return self._servers.clock.now()

    async def sleep(self, seconds: float) -> None:
        if seconds > 0:
            self._servers.advance(seconds)
        await asyncio.sleep(0)


@dataclass(frozen=True)
class DemoRun:
    code: int
    out: str
    progress: str


class TwoAndAHalfSeconds:
    """A timer that says each run took 2.5 s, so the summary's duration is part of the golden text."""

    def __init__(self) -> None:
        self.calls = 0

    def __call__(self) -> float:
        self.calls += 1
        return 100.0 + 2.5 * (self.calls - 1)


@pytest.fixture(scope="module")
def demo_run() -> DemoRun:
    servers = start_sandbox(SimClock(source=lambda: PINNED_START))
    # The client's own rate limiter still paces the calls (in virtual time); the fake's enforcement
    # would answer 429 to retries whose random backoff lands too early, which makes the text vary.
    servers.amazon.enforce_rate_limits = False
    out, terminal = io.StringIO(), FakeTerminal()
    try:
        code = asyncio.run(
            run_demo(
                out,
                progress=ProgressLine(STEPS, terminal),
                sandbox=servers,
                timer=TwoAndAHalfSeconds(),
                clock=SandboxTime(servers),
            )
        )
    finally:
        servers.stop()
    return DemoRun(code, out.getvalue(), terminal.getvalue())


def test_the_demo_reads_as_the_golden_text(demo_run: DemoRun) -> None:
    assert demo_run.code == 0, demo_run.out
    if os.environ.get("UPDATE_GOLDEN"):
        GOLDEN.write_text(demo_run.out, encoding="utf-8")
    assert demo_run.out == GOLDEN.read_text(encoding="utf-8")


def test_every_step_shows_its_call_and_an_outcome_of_one_or_two_lines(demo_run: DemoRun) -> None:
    steps = re.split(r"\n\n(?=\[\d+/\d+\] )", demo_run.out.split("\n\nSummary")[0])[1:]
    assert [step.split("]")[0] for step in steps] == [f"[{n}/{STEPS}" for n in range(1, 11)]
    for step in steps:
        _, *body = step.splitlines()
        calls = [line for line in body if line.lstrip().startswith("→ ")]
        outcome = [line for line in body if line.startswith("      ") and line[6] not in "→ "]
        assert calls, step
        # The preview step says one line per order it asked about; every other step one or two.
        assert 1 <= len(outcome) <= (5 if "preview" in step.splitlines()[0] else 2), step


def test_the_summary_says_what_was_created_refused_and_how_long_it_took(
    demo_run: DemoRun,
) -> None:
    # Continuation lines are indented under the text; join them back to one line per row.
    summary = re.sub(r"\n {16}", " ", demo_run.out.split("\nSummary")[1])
    assert summary.startswith(" (2.5 s)\n")
    assert "\n  Created:      Amazon order tts-" in summary
    assert "\n  Refused:      TikTok order " in summary
    assert "nothing was sent to Amazon." in summary
    assert "nothing was changed." in summary


def test_the_output_has_no_terminal_codes_and_the_progress_counts_every_step(
    demo_run: DemoRun,
) -> None:
    assert "\x1b" not in demo_run.out and "\r" not in demo_run.out
    counts = re.findall(r"\r\x1b\[K\[(\d+)/10\]", demo_run.progress)
    assert counts == [str(n) for n in range(1, 11)]
    assert demo_run.progress.endswith("\r\x1b[K")
