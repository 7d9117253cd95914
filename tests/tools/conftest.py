"""The protocol-era fixture for tool tests (helpers live in tests.support.mcp)."""

from __future__ import annotations

import pytest
from tests.support.mcp import ERAS


@pytest.fixture(params=ERAS)
def era(request: pytest.FixtureRequest) -> str:
    """Run the test once per protocol era."""
    return str(request.param)
