"""Background work a tool call starts: its own deadline, found by key until it ends."""

from __future__ import annotations

import asyncio
import contextlib
import logging

import pytest

from commerce_mcp.config import load_settings
from commerce_mcp.errors import NotFound
from commerce_mcp.resilience.deadline import current_deadline, deadline_scope
from commerce_mcp.resilience.testing import VirtualClock
from commerce_mcp.services import Services

pytestmark = pytest.mark.anyio


async def test_background_work_outlives_the_deadline_of_the_call_that_started_it() -> None:
    clock = VirtualClock()
    services = Services(settings=load_settings()[0], clock=clock)

    async def read() -> float:
        await clock.sleep(5)  # page 1's deadline has long passed by now
        return current_deadline(clock).remaining()

    async with deadline_scope(clock, 1):
        services.start_background("snapshot", read(), within=150)
        task = services.background("snapshot")
    assert task is not None
    assert await task == 145
    assert services.background("snapshot") is None


async def test_failed_background_work_is_logged_without_its_message(
    caplog: pytest.LogCaptureFixture,
) -> None:
    clock = VirtualClock()
    services = Services(settings=load_settings()[0], clock=clock)

    async def read() -> None:
        raise NotFound("order 'Jane Doe, 1 Main St' was not found", platform="tiktok", code=404)

    services.start_background("snapshot", read(), within=150)
    task = services.background("snapshot")
    assert task is not None
    with caplog.at_level(logging.WARNING), contextlib.suppress(NotFound):
        await task
    await asyncio.sleep(0)  # done callbacks run on the next loop turn
    assert "background work snapshot failed: not_found, tiktok, code 404" in caplog.text
    assert "Jane Doe" not in caplog.text
