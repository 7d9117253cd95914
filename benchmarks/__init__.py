"""Release benchmarks for commerce-mcp: what users feel, measured against stated goals.

Run ``python -m benchmarks`` (full sizes; rewrites ``docs/benchmarks.md``) or ``python -m benchmarks
--smoke`` (tiny sizes; only checks that every benchmark runs). Each benchmark is a module with
``run(smoke: bool) -> dict`` returning the figures built by :mod:`benchmarks._stats`.
"""

from __future__ import annotations

#: Benchmark modules in the order they run and appear in the report.
BENCHMARKS: tuple[str, ...] = (
    "startup",
    "overhead",
    "throughput",
    "paging",
    "scaling",
    "scaleout",
    "tokens",
    "tool_list",
    "memory",
)
