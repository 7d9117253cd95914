"""Without the shared reference folder, the skips are explained once in the summary, not per test."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from tests.support.reference import SHARED_ENV

ROOT = Path(__file__).resolve().parents[1]


def test_missing_reference_files_are_named_once_in_the_summary(tmp_path: Path) -> None:
    absent = tmp_path / "no-shared-here"
    env = {**os.environ, SHARED_ENV: str(absent)}
    run = subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:randomly", "-p", "no:cacheprovider",
         "tests/tiktok/test_tiktok_samples.py"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    out = run.stdout
    assert run.returncode == 0, out + run.stderr
    assert out.count("reference material missing ---") == 1
    assert (
        f"47 test(s) skipped: they compare the code with official samples and schemas from"
        f" {absent}, which is not there:"
    ) in out
    assert "  reference/tiktok-shop/samples  (47 test(s))" in out
    assert f"set {SHARED_ENV} to a copy of it" in out
    skipped_lines = [line for line in out.splitlines() if line.startswith("SKIPPED")]
    assert len(skipped_lines) == 1
    assert skipped_lines[0].startswith("SKIPPED [47] tests/conftest.py:")
    assert "47 skipped" in out.splitlines()[-1], "the count of skipped tests is unchanged"
