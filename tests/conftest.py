"""Fixtures shared by the whole suite: a clean environment, one loopback sandbox, MCP clients."""

from __future__ import annotations

import os
from collections import Counter
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from tests.support.reference import MISSING, SHARED, SHARED_ENV

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


@pytest.fixture
async def sandbox_client(sandbox: object) -> AsyncIterator[object]:
    """An in-memory MCP client on a sandbox server (modern protocol era)."""
    from mcp import Client

    from commerce_mcp.server import build_server
    from tests.support.sandbox import sandbox_services

    async with Client(build_server(sandbox_services(sandbox))) as client:
        yield client


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    """Say once which reference files are missing, instead of one skip line per test that needs them.

    Runs before pytest's short summary (``-ra``), so the skips it explains are folded there into one
    line pointing here; the count of skipped tests stays as it was.
    """
    reports = [
        report
        for report in terminalreporter.stats.get("skipped", [])
        if isinstance(report.longrepr, tuple) and MISSING in str(report.longrepr[2])
    ]
    if not reports:
        return
    missing: Counter[str] = Counter()
    for report in reports:
        assert isinstance(report.longrepr, tuple)
        reason = str(report.longrepr[2])
        missing[reason.split(f"{MISSING}: ", 1)[1].split(" (not found under", 1)[0]] += 1
        report.longrepr = (
            str(Path(__file__)),
            pytest_terminal_summary.__code__.co_firstlineno,
            f"Skipped: {MISSING}; see 'reference material missing' above",
        )
    write = terminalreporter.write_line
    terminalreporter.section("reference material missing", sep="-")
    where = "is not there" if not SHARED.is_dir() else "lacks these files"
    write(
        f"{len(reports)} test(s) skipped: they compare the code with official samples and schemas"
        f" from {SHARED}, which {where}:"
    )
    for name, count in sorted(missing.items()):
        write(f"  {name}  ({count} test(s))")
    write(
        "That folder is kept outside the project on purpose. To run these tests, put the shared"
        f" folder next to the repository, or set {SHARED_ENV} to a copy of it."
    )
