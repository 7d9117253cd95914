"""The state stores: the same contract for SQLite, memory and Redis, plus SQLite's file and process
safety (Redis's own cross-replica tests are in test_redis_store.py)."""

from __future__ import annotations

import asyncio
import json
import stat
import subprocess
import sys
import textwrap
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from tests.support.redis_server import fresh_prefix

from commerce_mcp.config import load_settings
from commerce_mcp.store.base import StateStore
from commerce_mcp.store.memory import MemoryStore
from commerce_mcp.store.paths import default_database_path, default_state_dir
from commerce_mcp.store.redis import RedisStore
from commerce_mcp.store.sqlite import SqliteStore


@pytest.fixture(params=["sqlite", "memory", "redis"])
async def store(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[StateStore]:
    opened: StateStore
    if request.param == "sqlite":
        opened = SqliteStore.open(tmp_path / "state" / "db.sqlite3")
    elif request.param == "redis":
        server = request.getfixturevalue("redis_session")
        opened = RedisStore.from_url(server.url, prefix=fresh_prefix())
    else:
        opened = MemoryStore()
    yield opened
    await opened.close()


@pytest.mark.anyio
async def test_documents_round_trip_per_namespace(store: StateStore) -> None:
    doc = {"a": 1, "nested": {"list": [1, "two", None], "unicode": "café ✓"}, "f": 1.5}
    await store.put("ns", "k", doc)
    assert await store.get("ns", "k") == doc
    assert await store.get("other", "k") is None
    await store.put("ns", "k", {"replaced": True})
    assert await store.get("ns", "k") == {"replaced": True}
    await store.delete("ns", "k")
    assert await store.get("ns", "k") is None
    await store.delete("ns", "k")


@pytest.mark.anyio
async def test_returned_documents_are_copies(store: StateStore) -> None:
    doc = {"items": [1]}
    await store.put("ns", "k", doc)
    doc["items"].append(2)
    fetched = await store.get("ns", "k")
    assert fetched == {"items": [1]}
    assert fetched is not None
    fetched["items"].append(3)
    assert await store.get("ns", "k") == {"items": [1]}


@pytest.mark.anyio
async def test_put_if_absent_writes_once_and_returns_the_existing_document(
    store: StateStore,
) -> None:
    assert await store.put_if_absent("ns", "k", {"v": 1}) is None
    assert await store.put_if_absent("ns", "k", {"v": 2}) == {"v": 1}
    assert await store.get("ns", "k") == {"v": 1}


@pytest.mark.anyio
async def test_compare_and_put_only_writes_over_the_expected_document(store: StateStore) -> None:
    assert await store.compare_and_put("ns", "k", None, {"v": 1})
    assert not await store.compare_and_put("ns", "k", None, {"v": 9})
    assert not await store.compare_and_put("ns", "k", {"v": 0}, {"v": 9})
    assert await store.compare_and_put("ns", "k", {"v": 1}, {"v": 2})
    assert await store.get("ns", "k") == {"v": 2}


@pytest.mark.anyio
async def test_compare_and_put_compares_documents_not_their_spelling(store: StateStore) -> None:
    """1 and 1.0 are the same JSON number to Python; key order never matters."""
    await store.put("ns", "k", {"n": 1.0, "a": {"y": 2, "x": 1}})
    assert await store.compare_and_put("ns", "k", {"a": {"x": 1, "y": 2}, "n": 1}, {"n": 2})
    assert await store.get("ns", "k") == {"n": 2}


@pytest.mark.anyio
async def test_list_treats_glob_characters_in_prefixes_literally(store: StateStore) -> None:
    for key in ["a*b", "a?c", "a[1]", "a\\d", "abc"]:
        await store.put("ns", key, {})
    assert [key for key, _ in await store.list("ns", "a*")] == ["a*b"]
    assert [key for key, _ in await store.list("ns", "a[")] == ["a[1]"]
    assert [key for key, _ in await store.list("ns", "a\\")] == ["a\\d"]


@pytest.mark.anyio
async def test_list_filters_by_namespace_and_prefix_in_key_order(store: StateStore) -> None:
    for key in ["b:2", "a:1", "b:1", "b_%"]:
        await store.put("ns", key, {"key": key})
    await store.put("other", "b:3", {})
    assert [key for key, _ in await store.list("ns", "b:")] == ["b:1", "b:2"]
    assert [key for key, _ in await store.list("ns", "b_")] == ["b_%"]
    assert [key for key, _ in await store.list("ns")] == ["a:1", "b:1", "b:2", "b_%"]


@pytest.mark.anyio
async def test_sqlite_file_is_private_to_the_user(tmp_path: Path) -> None:
    path = tmp_path / "fresh" / "state.sqlite3"
    store = SqliteStore.open(path)
    await store.put("ns", "k", {"v": 1})
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    for sidecar in path.parent.glob("state.sqlite3-*"):
        assert stat.S_IMODE(sidecar.stat().st_mode) & 0o077 == 0
    await store.close()


@pytest.mark.anyio
async def test_sqlite_data_survives_reopening(tmp_path: Path) -> None:
    path = tmp_path / "state.sqlite3"
    first = SqliteStore.open(path)
    await first.put("tokens", "tiktok:shop", {"refresh_token": "r1"})
    await first.close()
    second = SqliteStore.open(path)
    assert await second.get("tokens", "tiktok:shop") == {"refresh_token": "r1"}
    await second.close()


@pytest.mark.anyio
async def test_two_connections_see_each_others_writes(tmp_path: Path) -> None:
    path = tmp_path / "state.sqlite3"
    one, two = SqliteStore.open(path), SqliteStore.open(path)
    assert await one.put_if_absent("ns", "k", {"by": "one"}) is None
    assert await two.put_if_absent("ns", "k", {"by": "two"}) == {"by": "one"}
    assert not await two.compare_and_put("ns", "k", {"by": "two"}, {"by": "x"})
    await one.close()
    await two.close()


_RACER = textwrap.dedent(
    """
    import asyncio, json, sys
    from pathlib import Path
    from commerce_mcp.store.sqlite import SqliteStore

    async def main(path, name, keys):
        store = SqliteStore.open(Path(path))
        won = []
        for key in range(keys):
            if await store.put_if_absent("race", str(key), {"by": name}) is None:
                won.append(key)
        # Read-modify-write through compare_and_put: every increment must survive.
        for _ in range(50):
            while True:
                current = await store.get("race", "counter")
                value = {"n": (current or {"n": 0})["n"] + 1}
                if await store.compare_and_put("race", "counter", current, value):
                    break
        await store.close()
        print(json.dumps(won))

    asyncio.run(main(sys.argv[1], sys.argv[2], int(sys.argv[3])))
    """
)


@pytest.mark.timeout(60)
def test_put_if_absent_is_atomic_across_processes(tmp_path: Path) -> None:
    """Three processes race put_if_absent over 200 keys (each key won exactly once) and increment a
    shared counter through compare_and_put (no lost update)."""
    path = tmp_path / "shared.sqlite3"
    asyncio.run(SqliteStore.open(path).close())  # create the schema before the race
    keys = 200
    racers = [
        subprocess.Popen(
            [sys.executable, "-c", _RACER, str(path), name, str(keys)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for name in ("p1", "p2", "p3")
    ]
    outputs = [racer.communicate(timeout=50) for racer in racers]
    for racer, (_, err) in zip(racers, outputs, strict=True):
        assert racer.returncode == 0, err
    won = [set(json.loads(out)) for out, _ in outputs]
    assert set.union(*won) == set(range(keys))
    assert sum(len(w) for w in won) == keys
    asyncio.run(check_race(path, won, keys))


async def check_race(path: Path, won: list[set[int]], keys: int) -> None:
    store = SqliteStore.open(path)
    assert await store.get("race", "counter") == {"n": 150}
    for key in range(keys):
        doc = await store.get("race", str(key))
        assert doc is not None
        assert key in won[["p1", "p2", "p3"].index(doc["by"])]
    await store.close()


def test_state_dir_comes_from_the_environment_or_the_platform(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    settings, _ = load_settings(commerce_mcp_state_dir=str(tmp_path / "custom"))
    assert default_state_dir(settings) == tmp_path / "custom"
    assert default_database_path(settings) == tmp_path / "custom" / "state.sqlite3"
    monkeypatch.delenv("COMMERCE_MCP_STATE_DIR", raising=False)
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg"))
    settings, _ = load_settings()
    assert default_state_dir(settings).name == "commerce-mcp"
    if sys.platform.startswith("linux"):
        assert default_state_dir(settings) == tmp_path / "xdg" / "commerce-mcp"
