"""The shared reference material (official samples and schemas) that some tests compare against.

It lives outside the project, in ``../shared`` next to the repository, and may be absent; the tests that
need it skip through :func:`require`, which gives every such skip the same recognisable reason so the
suite can report the missing files once (see ``pytest_terminal_summary`` in ``tests/conftest.py``).
``COMMERCE_TESTS_SHARED_DIR`` points the suite at another copy (or, in a test, at none).
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

#: Set to another folder to use it as ``../shared``.
SHARED_ENV = "COMMERCE_TESTS_SHARED_DIR"
SHARED = Path(
    os.environ.get(SHARED_ENV) or Path(__file__).resolve().parents[2].parent / "shared"
).resolve()
REFERENCE = SHARED / "reference"
#: Every skip for missing reference material starts with this; the summary hook looks for it.
MISSING = "reference material missing"


def require(path: Path) -> Path:
    """``path`` (under :data:`SHARED`) when it exists; otherwise skip the calling test, naming it."""
    if not path.exists():
        try:
            shown = str(path.relative_to(SHARED))
        except ValueError:
            shown = str(path)
        pytest.skip(f"{MISSING}: {shown} (not found under {SHARED})")
    return path
