"""Fixtures for the TikTok Shop client tests: the sandbox over loopback and a sandbox-bound clock."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from tiktok_helpers import SandboxClock

from commerce_mcp.config import Settings
from commerce_mcp.sandbox.runner import SandboxServers, start_sandbox


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture(scope="module")
def sandbox() -> Iterator[SandboxServers]:
    servers = start_sandbox()
    yield servers
    servers.stop()


@pytest.fixture
def sandbox_clock(sandbox: SandboxServers) -> SandboxClock:
    return SandboxClock(sandbox)


@pytest.fixture
def sandbox_settings(sandbox: SandboxServers) -> Settings:
    return Settings(**sandbox.settings_overrides())
