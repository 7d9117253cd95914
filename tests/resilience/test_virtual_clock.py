"""The virtual clock that every other resilience test relies on."""

from __future__ import annotations

import asyncio

import pytest

from commerce_mcp.resilience.testing import VirtualClock


@pytest.mark.anyio
async def test_sleep_advances_virtual_time_instantly() -> None:
    clock = VirtualClock()
    await clock.sleep(3600)
    assert clock.monotonic() == 3600
    assert clock.sleeps == [3600]


@pytest.mark.anyio
async def test_concurrent_sleepers_wake_in_time_order() -> None:
    clock = VirtualClock()
    woke: list[tuple[str, float]] = []

    async def sleeper(name: str, seconds: float) -> None:
        await clock.sleep(seconds)
        woke.append((name, clock.monotonic()))

    await asyncio.gather(sleeper("c", 3), sleeper("a", 1), sleeper("b", 2))
    assert woke == [("a", 1), ("b", 2), ("c", 3)]


@pytest.mark.anyio
async def test_time_does_not_jump_while_another_task_can_still_run() -> None:
    clock = VirtualClock()
    seen: list[float] = []

    async def busy() -> None:
        for _ in range(50):
            seen.append(clock.monotonic())
            await asyncio.sleep(0)

    await asyncio.gather(clock.sleep(10), busy())
    assert seen == [0.0] * 50
    assert clock.monotonic() == 10


@pytest.mark.anyio
async def test_cancelled_sleeper_does_not_move_time() -> None:
    clock = VirtualClock()
    task = asyncio.create_task(clock.sleep(100))
    await asyncio.sleep(0)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    await clock.sleep(1)
    assert clock.monotonic() == 1


def test_wall_time_moves_with_monotonic_time() -> None:
    clock = VirtualClock(wall_start=1000.0)
    clock.advance(5)
    assert clock.wall() == 1005.0
    with pytest.raises(ValueError, match="forward"):
        clock.advance(-1)


@pytest.mark.anyio
async def test_time_stands_still_while_real_io_is_in_flight() -> None:
    """A task awaiting a socket looks blocked; real_io keeps the driver from jumping past it."""
    clock = VirtualClock()
    reply: asyncio.Future[float] = asyncio.get_running_loop().create_future()

    async def round_trip() -> float:
        async with clock.real_io():
            decided = clock.monotonic()
            await reply  # the "socket": answered from outside the loop's ready queue
            return clock.monotonic() - decided

    async def sleeper() -> None:
        await clock.sleep(5)

    trip = asyncio.create_task(round_trip())
    sleeping = asyncio.create_task(sleeper())
    await asyncio.sleep(0)
    asyncio.get_running_loop().call_later(0.01, reply.set_result, 0.0)
    assert await trip == 0.0
    await sleeping
    assert clock.monotonic() == 5
