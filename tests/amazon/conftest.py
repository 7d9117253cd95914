"""Shared fixtures for the Amazon client tests."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
from tests.support.reference import REFERENCE as SHARED_REFERENCE
from tests.support.reference import require

REFERENCE = SHARED_REFERENCE / "amazon-sp-api"


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture
def reference() -> Callable[[str], Any]:
    """Loader for files in the shared Amazon reference folder (skips when absent)."""
    return reference_json


def reference_json(name: str) -> Any:
    """A file from the shared Amazon reference folder, or skip when it is not checked out here."""
    return json.loads(require(REFERENCE / name).read_text())
