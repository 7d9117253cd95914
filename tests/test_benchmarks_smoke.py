"""The benchmark suite's arithmetic and report: bounds, percentiles, figures, the Markdown table.

Running the benchmarks themselves is CI's ``python -m benchmarks --smoke``; these pin the parts whose
mistakes would silently misreport a result.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

# `benchmarks/` is a top-level package next to `src/`, not installed; import it from the checkout.
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks._report import render
from benchmarks._stats import figure, percentile, result
from benchmarks.throughput import rate_bound, within


def test_rate_bound_is_zero_within_the_burst() -> None:
    assert rate_bound(2, rate=2.0, burst=2.0) == 0.0
    assert rate_bound(0, rate=2.0, burst=2.0) == 0.0


def test_rate_bound_spends_the_burst_then_the_rate() -> None:
    # 10 inventory calls at 2/s with a burst of 2: 8 calls wait for tokens, 0.5 s each.
    assert rate_bound(10, rate=2.0, burst=2.0) == pytest.approx(4.0)


def test_rate_bound_from_a_drained_bucket_pays_for_every_request() -> None:
    # Just drained by another process: no burst to spend, 10 calls at 2/s take 5 s.
    assert rate_bound(10, rate=2.0, burst=2.0, start=0.0) == pytest.approx(5.0)


def test_within_allows_five_percent_over_the_bound() -> None:
    assert within(4.2, 4.0)
    assert not within(4.21, 4.0)


@given(st.lists(st.floats(-1e6, 1e6, allow_nan=False), min_size=1, max_size=50))
def test_percentiles_are_ordered_and_within_the_data(values: list[float]) -> None:
    p10, p50, p90 = (percentile(values, f) for f in (0.1, 0.5, 0.9))
    assert min(values) <= p10 <= p50 <= p90 <= max(values)


def test_figure_reports_median_and_chosen_spread() -> None:
    row = figure("x", [5.0, 1.0, 3.0], "ms", goal="< 4 ms", passed=True, spread="min–max")
    assert (row["median"], row["low"], row["high"], row["runs"]) == (3.0, 1.0, 5.0, 3)


def test_report_shows_machine_goal_verdict_and_skips() -> None:
    rows = [figure("added at p50", [2.5], "ms", goal="< 2 ms", passed=False)]
    item = result("overhead", "Per-call overhead", rows, ["a note"])
    item["load"] = "1.50 / 1.20 / 1.00 at start, 2.00 / 1.30 / 1.00 at end"
    text = render(
        [item],
        {"tokens": "commerce_mcp.tools.tiktok has not landed yet"},
        {"CPU": "Test CPU (2 cores / 4 threads)", "Python": "CPython 3.11"},
        "python -m benchmarks",
    )
    assert "- **CPU:** Test CPU (2 cores / 4 threads)" in text
    assert "| added at p50 | 2.50 ms | 2.50–2.50 (p10–p90) | 1 | < 2 ms | **FAIL** |" in text
    assert "- a note" in text
    assert (
        "Machine load (1/5/15 min): 1.50 / 1.20 / 1.00 at start, 2.00 / 1.30 / 1.00 at end." in text
    )
    assert "`tokens`: commerce_mcp.tools.tiktok has not landed yet" in text
