"""The Redis store across replicas: atomic races, a Redis crash mid-run, and AOF durability.

Every test runs against a real ``redis-server`` (skipped, with the reason, only when the binary is
absent). Two ``RedisStore`` objects with their own connection pools stand for two replicas.
"""

from __future__ import annotations

import asyncio
import contextlib
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from tests.support.redis_server import RedisServer, fresh_prefix, redis_server

from commerce_mcp.config import load_settings
from commerce_mcp.errors import StateStoreUnavailable
from commerce_mcp.services import Services
from commerce_mcp.store.redis import RedisStore
from commerce_mcp.store.sqlite import SqliteStore

# One replica's script: put_if_absent on a key, or an increment of a shared counter.
_steps = st.lists(
    st.one_of(st.tuples(st.just("claim"), st.integers(0, 5)), st.just(("inc", 0))),
    min_size=1,
    max_size=12,
)


async def _increment(store: RedisStore, key: str) -> None:
    """Read-modify-write through compare_and_put: retried until it lands, never lost."""
    while True:
        current = await store.get("race", key)
        value = {"n": (current or {"n": 0})["n"] + 1}
        if await store.compare_and_put("race", key, current, value):
            return


async def _replica(store: RedisStore, name: str, steps: list[tuple[str, int]]) -> dict[int, bool]:
    won: dict[int, bool] = {}
    for step, key in steps:
        if step == "claim":
            existing = await store.put_if_absent("race", f"k{key}", {"by": name})
            if existing is None:
                won[key] = True
            else:
                assert existing["by"] != name or won.get(key)  # a loser sees the winner's doc
        else:
            await _increment(store, "counter")
    return won


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(first=_steps, second=_steps)
def test_two_replicas_racing_claims_and_increments_never_double_win_or_lose_an_update(
    redis_session: RedisServer, first: list[tuple[str, int]], second: list[tuple[str, int]]
) -> None:
    async def race() -> None:
        prefix = fresh_prefix("race")
        one = RedisStore.from_url(redis_session.url, prefix=prefix)
        two = RedisStore.from_url(redis_session.url, prefix=prefix)
        try:
            won_one, won_two = await asyncio.gather(
                _replica(one, "one", first), _replica(two, "two", second)
            )
            claimed = {key for step, key in first + second if step == "claim"}
            assert set(won_one) | set(won_two) == claimed
            assert not set(won_one) & set(won_two)
            for key in claimed:
                doc = await one.get("race", f"k{key}")
                assert doc == {"by": "one" if key in won_one else "two"}
            increments = sum(1 for step, _ in first + second if step == "inc")
            counter = await two.get("race", "counter")
            assert (counter or {"n": 0})["n"] == increments
        finally:
            await one.close()
            await two.close()

    asyncio.run(race())


@pytest.mark.anyio
async def test_fifty_concurrent_increments_from_two_replicas_all_land(
    redis_session: RedisServer,
) -> None:
    prefix = fresh_prefix("cas")
    one = RedisStore.from_url(redis_session.url, prefix=prefix)
    two = RedisStore.from_url(redis_session.url, prefix=prefix)
    await asyncio.gather(*(_increment(store, "c") for store in [one, two] * 25))
    assert await one.get("race", "c") == {"n": 50}
    await one.close()
    await two.close()


@pytest.mark.anyio
async def test_unreachable_redis_is_a_clear_state_store_error_without_the_password() -> None:
    store = RedisStore.from_url("redis://:hunter2-secret@127.0.0.1:1/0", prefix=fresh_prefix())
    with pytest.raises(StateStoreUnavailable) as caught:
        await store.get("ns", "k")
    text = caught.value.describe()
    assert "state store unavailable" in text
    assert "127.0.0.1:1/0" in text
    assert "COMMERCE_MCP_STATE_URL" in text
    assert "hunter2" not in text
    await store.close()


@pytest.mark.anyio
async def test_services_use_redis_when_the_state_url_is_set(redis_session: RedisServer) -> None:
    settings, problems = load_settings(commerce_mcp_state_url=redis_session.url)
    assert problems == []
    services = Services(settings=settings)
    store = await services.store()
    assert isinstance(store, RedisStore)
    await services.aclose()

    default = Services(settings=load_settings()[0])
    assert isinstance(await default.store(), SqliteStore)
    await default.aclose()


@pytest.mark.anyio
async def test_services_refuse_to_start_a_call_when_redis_is_down() -> None:
    settings, _ = load_settings(commerce_mcp_state_url="redis://127.0.0.1:1/0")
    services = Services(settings=settings)
    with pytest.raises(StateStoreUnavailable, match="state store unavailable"):
        await services.store()
    await services.aclose()


def test_a_state_url_that_is_not_redis_is_a_config_problem_that_does_not_echo_it() -> None:
    settings, problems = load_settings(commerce_mcp_state_url="postgres://u:pw-secret@db/x")
    assert settings.state_url is None
    assert [problem.variable for problem in problems] == ["COMMERCE_MCP_STATE_URL"]
    assert "redis://" in problems[0].message
    assert "pw-secret" not in problems[0].message


async def _writer(
    store: RedisStore,
    first: int,
    acked: list[int],
    errors: list[BaseException],
    busy: asyncio.Event,
) -> None:
    """Write numbered documents until Redis fails; remember exactly which writes were acknowledged."""
    for n in range(first, first + 1_000_000):
        try:
            await store.put("acked", f"{n:07d}", {"n": n})
        except BaseException as exc:
            errors.append(exc)
            return
        acked.append(n)
        if len(acked) >= 200:
            busy.set()


@pytest.mark.anyio
@pytest.mark.timeout(90)
async def test_redis_killed_mid_run_fails_clearly_recovers_and_keeps_every_acknowledged_write(
    tmp_path: Path,
) -> None:
    """SIGKILL Redis while four writers are busy: each in-flight call fails with
    StateStoreUnavailable (nothing else, no hang); after a restart on the same data directory the
    same store object works again and every acknowledged write is there (AOF, everysec)."""
    with redis_server(tmp_path / "redis") as server:
        store = RedisStore.from_url(server.url, prefix=fresh_prefix("crash"))
        acked: list[int] = []
        errors: list[BaseException] = []
        claimed = await store.put_if_absent("claims", "order-1", {"by": "before-kill"})
        assert claimed is None
        busy = asyncio.Event()
        writers = [
            asyncio.create_task(_writer(store, w * 1_000_000, acked, errors, busy))
            for w in range(4)
        ]
        await busy.wait()  # the writers are going against the live server
        await asyncio.to_thread(server.kill)
        await asyncio.wait_for(asyncio.gather(*writers), timeout=30)
        assert len(errors) == 4
        for error in errors:
            assert isinstance(error, StateStoreUnavailable), repr(error)
            assert "state store unavailable" in error.describe()
        with pytest.raises(StateStoreUnavailable):
            await store.get("claims", "order-1")

        await asyncio.to_thread(server.start)  # same port, same directory: replays the AOF
        assert await store.get("claims", "order-1") == {"by": "before-kill"}
        # Claims stay single after the restart: the replayed claim still wins.
        assert await store.put_if_absent("claims", "order-1", {"by": "after"}) == {
            "by": "before-kill"
        }
        stored = {doc["n"] for _, doc in await store.list("acked")}
        missing = set(acked) - stored
        assert not missing, f"{len(missing)} acknowledged writes lost"
        await store.close()


@pytest.mark.anyio
async def test_conditional_writes_are_not_retried_behind_the_callers_back(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A put_if_absent whose connection drops must surface the doubt, not re-run and answer "someone
    else holds this" for what may be our own write."""
    with redis_server(tmp_path / "redis") as server:
        store = RedisStore.from_url(server.url, prefix=fresh_prefix())
        calls: list[Any] = []
        original = store._put_if_absent

        async def dropped(*args: Any, **kwargs: Any) -> Any:
            from redis.exceptions import ConnectionError as RedisConnectionError

            calls.append(await original(*args, **kwargs))  # applied ...
            raise RedisConnectionError("Connection closed by server.")  # ... but the reply lost

        monkeypatch.setattr(store, "_put_if_absent", dropped)
        with pytest.raises(StateStoreUnavailable):
            await store.put_if_absent("ns", "k", {"v": 1})
        assert calls == [None]  # ran once
        monkeypatch.undo()
        with contextlib.suppress(Exception):
            await store.close()
