"""Figures (median and spread over several runs, with a goal) and the result shape every benchmark returns."""

from __future__ import annotations

import statistics
from collections.abc import Sequence
from typing import Any


class Skip(Exception):
    """A benchmark cannot run here (a piece it needs has not landed); the message says why."""


def percentile(values: Sequence[float], fraction: float) -> float:
    """Linear-interpolated percentile, ``fraction`` in [0, 1]."""
    if not values:
        raise ValueError("no values")
    ordered = sorted(values)
    position = (len(ordered) - 1) * fraction
    low = int(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def figure(
    metric: str,
    values: Sequence[float],
    unit: str,
    *,
    goal: str | None = None,
    passed: bool | None = None,
    spread: str = "p10–p90",
) -> dict[str, Any]:
    """One row of the report: the median of ``values`` and their spread (p10–p90 or min–max)."""
    if spread == "min–max":
        low, high = min(values), max(values)
    else:
        low, high = percentile(values, 0.10), percentile(values, 0.90)
    return {
        "metric": metric,
        "unit": unit,
        "median": statistics.median(values),
        "low": low,
        "high": high,
        "spread": spread,
        "runs": len(values),
        "goal": goal,
        "passed": passed,
    }


def result(
    name: str, title: str, figures: list[dict[str, Any]], notes: Sequence[str] = ()
) -> dict[str, Any]:
    """What ``run()`` returns: a titled list of figures plus free-text notes for the report."""
    return {"name": name, "title": title, "figures": figures, "notes": list(notes)}
