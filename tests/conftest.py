"""Fixtures shared by the whole suite: a clean environment, one loopback sandbox, MCP clients."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from commerce_mcp.config import load_settings

#: Where the shared reference material lives when the work directory has it (tests skip otherwise).
SHARED = Path(__file__).resolve().parents[1].parent / "shared"

_OUR_PREFIXES = ("TIKTOK_", "AMAZON_", "COMMERCE_MCP_", "SP_API_", "LWA_", "ANTHROPIC_")


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """No test sees the developer's credentials, .env file or state directory."""
    for name in list(os.environ):
        if name.upper().startswith(_OUR_PREFIXES):
            monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("COMMERCE_MCP_STATE_DIR", str(tmp_path / "state"))
    return


@pytest.fixture(scope="session")
def redis_session(tmp_path_factory: pytest.TempPathFactory) -> Iterator[object]:
    """One real ``redis-server`` for the whole session, started only when a test asks for it.

    Tests share it safely by giving every store or limiter its own key prefix
    (:func:`tests.support.redis_server.fresh_prefix`). Skips when the binary is absent.
    """
    from tests.support.redis_server import RedisServer

    server = RedisServer(tmp_path_factory.mktemp("redis")).start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def sandbox() -> Iterator[object]:
    """Fake platforms on loopback, fresh for each test module (about half a second to start).

    Module scope keeps one module's writes (orders shipped, stock changed) out of another's counts,
    whatever order the modules run in.
    """
    from commerce_mcp.sandbox.runner import start_sandbox

    servers = start_sandbox()
    yield servers
    servers.stop()


def sandbox_services(sandbox: object, **overrides: object) -> object:
    """Services in sandbox mode wired to the session's fakes (a fresh store per call)."""
    from commerce_mcp.services import Services

    settings, problems = load_settings(
        commerce_mcp_sandbox=True,
        **sandbox.settings_overrides(),  # type: ignore[attr-defined]
        **overrides,
    )
    return Services(settings=settings, problems=problems, sandbox=sandbox)  # type: ignore[arg-type]


@pytest.fixture
async def sandbox_client(sandbox: object) -> AsyncIterator[object]:
    """An in-memory MCP client on a sandbox server (modern protocol era)."""
    from mcp import Client

    from commerce_mcp.server import build_server

    async with Client(build_server(sandbox_services(sandbox))) as client:  # type: ignore[arg-type]
        yield client
