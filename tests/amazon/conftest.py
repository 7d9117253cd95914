"""Shared fixtures for the Amazon client tests."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

REFERENCE = Path(__file__).resolve().parents[2] / ".." / "shared" / "reference" / "amazon-sp-api"


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture
def reference() -> Callable[[str], Any]:
    """Loader for files in the shared Amazon reference folder (skips when absent)."""
    return reference_json


def reference_json(name: str) -> Any:
    """A file from the shared Amazon reference folder, or skip when it is not checked out here."""
    path = REFERENCE / name
    if not path.exists():
        pytest.skip(f"reference file {name} not available at {REFERENCE} (../shared is absent)")
    return json.loads(path.read_text())
