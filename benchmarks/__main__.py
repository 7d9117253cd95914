"""``python -m benchmarks [--smoke] [--only NAME]``: run the suite, print a summary, write the report.

Exit status is non-zero only when a benchmark crashes; a missed goal is reported, not fatal, and a
benchmark whose prerequisites have not landed is skipped with its reason.
"""

from __future__ import annotations

import argparse
import importlib
import sys
import time
import traceback
from pathlib import Path
from typing import Any

from benchmarks import BENCHMARKS
from benchmarks._machine import describe_machine, load_average
from benchmarks._report import render
from benchmarks._stats import Skip

REPORT = Path(__file__).resolve().parents[1] / "docs" / "benchmarks.md"


def _summary(item: dict[str, Any]) -> None:
    for row in item["figures"]:
        verdict = "" if row["passed"] is None else (" PASS" if row["passed"] else " FAIL")
        goal = f"  goal {row['goal']}" if row["goal"] else ""
        print(
            f"  {row['metric']}: {row['median']:.3g} {row['unit']} "
            f"[{row['low']:.3g}–{row['high']:.3g}] n={row['runs']}{goal}{verdict}"
        )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__)
    parser.add_argument("--smoke", action="store_true", help="tiny sizes; check that each runs")
    parser.add_argument("--only", action="append", choices=BENCHMARKS, help="run only NAME")
    parser.add_argument(
        "--no-report", action="store_true", help="do not rewrite docs/benchmarks.md"
    )
    args = parser.parse_args(argv)
    names = [name for name in BENCHMARKS if not args.only or name in args.only]
    results: list[dict[str, Any]] = []
    skipped: dict[str, str] = {}
    crashed: list[str] = []
    for name in names:
        print(f"== {name}{' (smoke)' if args.smoke else ''}", flush=True)
        started = time.perf_counter()
        load_before = load_average()
        try:
            module = importlib.import_module(f"benchmarks.{name}")
            item = module.run(args.smoke)
            # Other engineers' work on a shared machine shows in every figure: say how busy it was.
            item["load"] = f"{load_before} at start, {load_average()} at end"
        except Skip as reason:
            skipped[name] = str(reason)
            print(f"  skipped: {reason}")
            continue
        except Exception:
            crashed.append(name)
            traceback.print_exc()
            continue
        results.append(item)
        _summary(item)
        print(f"  ({time.perf_counter() - started:.1f} s)", flush=True)
    # Only a complete, full-size run describes the product; partial or smoke runs leave the report alone.
    if not args.smoke and not args.only and not args.no_report and not crashed:
        command = "python -m benchmarks"
        REPORT.parent.mkdir(parents=True, exist_ok=True)
        REPORT.write_text(render(results, skipped, describe_machine(), command))
        print(f"wrote {REPORT}")
    if crashed:
        print(f"crashed: {', '.join(crashed)}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
