"""Several replicas act as one server: real HTTP processes sharing one Redis and one set of fakes.

The fakes run in this test process (a separate process from every replica), so a duplicate order is
visible at the "platform" whichever replica sent it.
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
import threading
from collections import Counter
from collections.abc import Iterator
from typing import Any

import anyio
import anyio.lowlevel
import httpx
import httpx2
import pytest
from cryptography.fernet import Fernet
from mcp import Client
from mcp.client.streamable_http import streamable_http_client
from mcp.shared.exceptions import MCPError

from tests.support.http import free_port, jsonrpc_answer
from tests.support.redis_server import RedisServer
from tests.support.sandbox import plentiful_skus, private_sandbox, recipient
from tests.support.stdio import wait_for


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    """Fakes, Redis, one tenant with an API key, and two replicas serving HTTP on loopback."""
    root = tmp_path_factory.mktemp("cluster")
    redis = RedisServer(root / "redis").start()
    replicas: list[subprocess.Popen[bytes]] = []
    with private_sandbox() as fakes:
        env = {
            **os.environ,
            "COMMERCE_MCP_STATE_URL": redis.url,
            "COMMERCE_MCP_ENCRYPTION_KEY": Fernet.generate_key().decode(),
            "COMMERCE_MCP_CONFIRMATION_SECRET": "shared-by-every-replica-" + "x" * 16,
            **{k.upper(): str(v) for k, v in fakes.settings_overrides().items()},
        }
        added = subprocess.run(
            [sys.executable, "-m", "commerce_mcp", "tenants", "add", "seller", "--from-env",
             "--allow-writes"],
            capture_output=True, text=True, env=env, timeout=60,
        )  # fmt: skip
        assert added.returncode == 0, added.stderr
        key = added.stdout.strip().splitlines()[-1]
        # The replicas hold no platform credentials of their own: only the tenant's.
        replica_env = {k: v for k, v in env.items() if not k.startswith(("TIKTOK_", "AMAZON_"))}
        urls: list[str] = []

        def start_replica(name: str) -> tuple[subprocess.Popen[bytes], str]:
            port = free_port()
            process = subprocess.Popen(
                [sys.executable, "-m", "commerce_mcp", "serve", "--transport", "http",
                 "--port", str(port)],
                stdout=subprocess.DEVNULL, stderr=(root / f"{name}.log").open("w"), env=replica_env,
            )  # fmt: skip
            replicas.append(process)
            return process, f"http://127.0.0.1:{port}"

        def serving(count: int) -> list[str]:
            """The first ``count`` replicas' URLs, starting (in parallel) any not running yet."""
            started = [start_replica(f"replica-{i}")[1] for i in range(len(urls), count)]
            for url in started:
                wait_for(lambda url=url: _up(f"{url}/readyz"), timeout=60)
            urls.extend(started)
            return urls[:count]

        def start_alone(name: str) -> tuple[subprocess.Popen[bytes], str]:
            process, url = start_replica(name)
            wait_for(lambda: _up(f"{url}/readyz"), timeout=60)
            return process, url

        serving(2)
        try:
            yield {
                "fakes": fakes,
                "key": key,
                "serving": serving,
                "start_replica": start_alone,
                "redis": redis,
            }
        finally:
            for replica in replicas:
                if replica.poll() is None:
                    replica.terminate()
                    replica.wait(30)
            redis.stop()


def _up(url: str) -> bool:
    try:
        return httpx.get(url, timeout=1).status_code == 200
    except httpx.HTTPError:
        return False


def _client(url: str, key: str) -> Client:
    http = httpx2.AsyncClient(headers={"Authorization": f"Bearer {key}"}, timeout=60)
    return Client(streamable_http_client(f"{url}/mcp", http_client=http))


def _args(cluster: dict[str, Any], name: str) -> dict[str, Any]:
    sku = plentiful_skus(cluster["fakes"])[0]
    return {"items": [{"seller_sku": sku, "quantity": 1}], "recipient": recipient(name)}


@pytest.mark.anyio
async def test_preview_on_one_replica_confirms_on_another_and_only_once(
    cluster: dict[str, Any],
) -> None:
    first, second = cluster["serving"](2)
    args = _args(cluster, "Across Replicas")
    async with _client(first, cluster["key"]) as a, _client(second, cluster["key"]) as b:
        preview = (await a.call_tool("create_mcf_order", args)).structured_content or {}
        confirmed = {**args, "confirmation_token": preview["confirmation_token"]}
        on_b = await b.call_tool("create_mcf_order", confirmed)
        again_on_a = await a.call_tool("create_mcf_order", confirmed)
    assert not on_b.is_error and (on_b.structured_content or {})["status"] == "created"
    assert again_on_a.is_error and "already used" in again_on_a.content[0].text


@pytest.mark.anyio
async def test_identical_creates_on_two_replicas_make_one_order(cluster: dict[str, Any]) -> None:
    fakes = cluster["fakes"]
    args = _args(cluster, "Raced Across Replicas")
    before = set(fakes.amazon.order_ids())
    statuses: list[str] = []

    async def create_on(url: str) -> None:
        async with _client(url, cluster["key"]) as client:
            preview = (await client.call_tool("create_mcf_order", args)).structured_content or {}
            token = preview.get("confirmation_token")
            done = await client.call_tool("create_mcf_order", {**args, "confirmation_token": token})
            statuses.append((done.structured_content or {}).get("status", done.content[0].text))

    async with anyio.create_task_group() as group:
        for url in cluster["serving"](2):
            group.start_soon(create_on, url)
    assert sorted(statuses) == ["already_created", "created"]
    assert len(set(fakes.amazon.order_ids()) - before) == 1


def test_a_replica_killed_mid_create_is_reconciled_by_the_next_call_elsewhere(
    cluster: dict[str, Any],
) -> None:
    fakes, key = cluster["fakes"], cluster["key"]
    doomed, doomed_url = cluster["start_replica"]("doomed")
    args = _args(cluster, "Killed Mid Create")
    headers = {
        "authorization": f"Bearer {key}",
        "content-type": "application/json",
        "accept": "application/json, text/event-stream",
    }

    def call(url: str, arguments: dict[str, Any]) -> dict[str, Any]:
        body = {"jsonrpc": "2.0", "id": 1, "method": "tools/call",
                "params": {"name": "create_mcf_order", "arguments": arguments}}  # fmt: skip
        answer = jsonrpc_answer(httpx.post(f"{url}/mcp", json=body, headers=headers, timeout=60))
        return dict(answer["result"]["structuredContent"])

    preview = call(doomed_url, args)
    fakes.amazon_faults.inject(
        "/fba/outbound/2020-07-01/fulfillmentOrders", "slow", method="POST", delay=5.0
    )
    before = fakes.amazon.create_calls
    confirm = {**args, "confirmation_token": preview["confirmation_token"]}
    in_flight = threading.Thread(target=lambda: _swallow(call, doomed_url, confirm), daemon=True)
    in_flight.start()
    try:
        wait_for(lambda: fakes.amazon.create_calls > before)
        doomed.kill()  # SIGKILL while Amazon holds the order and the answer is still dripping
        doomed.wait(30)
    finally:
        fakes.amazon_faults.clear()
    held = [o for o in fakes.amazon.order_ids() if o == preview["seller_fulfillment_order_id"]]
    assert held == [preview["seller_fulfillment_order_id"]]
    answer = call(cluster["serving"](2)[1], args)  # another replica, a plain repeat of the request
    assert answer["status"] == "already_created"
    assert answer.get("confirmation_token") is None


def _swallow(call: Any, *args: Any) -> None:
    """The doomed replica's caller sees its connection die; that is the point, not a failure."""
    with contextlib.suppress(httpx.HTTPError, KeyError, ValueError):
        call(*args)


# 200 mixed calls round-robin over 2 and 4 replicas ------------------------------------------------

#: Read tools in the mix and the one upstream request each makes (path, answered 200), so the
#: fakes' counts can be checked call for call. Amazon's MCF plan (2/s) is the scarce one: few calls.
_READS: list[tuple[str, dict[str, Any], str | None]] = [
    ("list_tiktok_orders", {"limit": 5}, "/order/202309/orders/search"),
    ("list_tiktok_products", {"limit": 5}, "/product/202502/products/search"),
    ("get_connection_status", {"check_shops": False}, None),
]
_MCF_LIST = ("list_mcf_orders", {}, "/fba/outbound/2020-07-01/fulfillmentOrders")
_MCF_LISTS = 6
_CALLS = 200


def _traffic_delta(
    before: dict[tuple[str, str, int], int], after: dict[tuple[str, str, int], int]
) -> Counter[tuple[str, str, int]]:
    return Counter({key: after.get(key, 0) - before.get(key, 0) for key in after}) - Counter()


def _texts(result: Any) -> str:
    return " ".join(getattr(item, "text", "") for item in result.content)


@pytest.mark.anyio
@pytest.mark.parametrize("count", [2, 4])
async def test_mixed_calls_round_robin_over_replicas_stay_inside_the_rate_plans(
    cluster: dict[str, Any], count: int
) -> None:
    """One seller, 200 concurrent calls spread round-robin over ``count`` replicas, the platforms'
    tokens expired a third of the way through, identical creates raced on every replica: no 429
    from either platform, every read answered, exactly one TikTok and one LWA refresh, one order.

    Throughput against the rate-plan bound is a benchmark figure (``benchmarks/scaleout.py``): a
    wall-clock goal does not belong in a test on a shared 2-core machine.
    """
    fakes, key = cluster["fakes"], cluster["key"]
    urls = cluster["serving"](count)
    creates = _args(cluster, f"Raced On {count} Replicas")
    reads = [_READS[i % len(_READS)] for i in range(_CALLS - 2 * count - _MCF_LISTS)]
    reads += [_MCF_LIST] * _MCF_LISTS
    expired = anyio.Event()
    done = 0
    results: list[tuple[str, Any]] = []
    statuses: list[str] = []

    async with contextlib.AsyncExitStack() as stack:
        clients = [await stack.enter_async_context(_client(url, key)) for url in urls]
        # Every replica holds valid tokens first, so the refreshes counted below are the expiry's.
        for client in clients:
            for name, args, _ in (*_READS, _MCF_LIST):
                assert not (await client.call_tool(name, args)).is_error
        orders_before = set(fakes.amazon.order_ids())
        tiktok_tokens = len(fakes.tiktok.token_requests)
        lwa_tokens = fakes.amazon.token_requests
        tiktok_before = fakes.tiktok_traffic.snapshot()
        amazon_before = fakes.amazon_traffic.snapshot()

        async def read(index: int, name: str, args: dict[str, Any]) -> None:
            nonlocal done
            if index >= len(reads) // 3:  # the last two thirds start after the expiry
                await expired.wait()
            result = await clients[index % count].call_tool(name, args)
            results.append((name, result))
            done += 1
            if done == len(reads) // 3:
                fakes.tiktok.expire_access_tokens()
                fakes.amazon.expire_access_tokens()
                expired.set()

        async def create(index: int) -> None:
            await expired.wait()
            client = clients[index]
            preview = (await client.call_tool("create_mcf_order", creates)).structured_content
            token = (preview or {}).get("confirmation_token")
            answer = await client.call_tool(
                "create_mcf_order", {**creates, "confirmation_token": token}
            )
            statuses.append((answer.structured_content or {}).get("status", _texts(answer)))

        async with anyio.create_task_group() as group:
            for index, (name, args, _) in enumerate(reads):
                group.start_soon(read, index, name, args)
            for index in range(count):
                group.start_soon(create, index)

    failed = [(name, _texts(result)) for name, result in results if result.is_error]
    assert failed == []
    assert len(results) + 2 * len(statuses) == _CALLS
    tiktok = _traffic_delta(tiktok_before, fakes.tiktok_traffic.snapshot())
    amazon = _traffic_delta(amazon_before, fakes.amazon_traffic.snapshot())
    assert [k for k in (*tiktok, *amazon) if k[2] == 429] == []
    for name, _, path in (*_READS, _MCF_LIST):
        if path is not None:
            calls = sum(1 for called, _ in results if called == name)
            assert (
                tiktok[("POST", path, 200)]
                + tiktok[("GET", path, 200)]
                + amazon[("GET", path, 200)]
                == calls
            ), (name, tiktok, amazon)
    assert fakes.tiktok.token_requests[tiktok_tokens:] == ["refresh"]
    assert fakes.amazon.token_requests == lwa_tokens + 1
    assert sorted(statuses) == ["already_created"] * (count - 1) + ["created"]
    assert len(set(fakes.amazon.order_ids()) - orders_before) == 1


# Redis killed mid-run and restarted --------------------------------------------------------------

_UNAVAILABLE = "state store unavailable"


async def _outcome(client: Client, name: str, args: dict[str, Any]) -> Any:
    """The tool's result, or the text of the error the server answered the request with instead
    (a 503 while the key cannot be checked)."""
    try:
        return await client.call_tool(name, args)
    except MCPError as exc:
        return str(exc)


def _status(url: str) -> int:
    try:
        return httpx.get(f"{url}/readyz", timeout=5).status_code
    except httpx.HTTPError:
        return 0


@pytest.mark.anyio
async def test_redis_killed_mid_run_fails_calls_clearly_and_the_replicas_recover_by_themselves(
    cluster: dict[str, Any],
) -> None:
    """SIGKILL Redis while calls are in flight on two replicas, then start it again (AOF everysec).

    In flight and while it is down, a call either succeeds or says "state store unavailable" (never
    a traceback, never a wrong answer); the raced create says "nothing was sent" only if no order
    was created, else it answers "created" or "outcome unknown"; /readyz says not ready. After the
    restart the replicas serve again on their own, nothing acknowledged before the kill is gone (the
    used confirmation token is still used, the API key and tenant still work), and the order raced
    with the kill exists at most once, found by a plain repeat.
    """
    fakes, key, redis = cluster["fakes"], cluster["key"], cluster["redis"]
    urls = cluster["serving"](2)
    before = _args(cluster, "Before The Kill")
    during = _args(cluster, "During The Kill")
    async with _client(urls[0], key) as a, _client(urls[1], key) as b:
        preview = (await a.call_tool("create_mcf_order", before)).structured_content or {}
        confirmed = {**before, "confirmation_token": preview["confirmation_token"]}
        created = await a.call_tool("create_mcf_order", confirmed)
        assert (created.structured_content or {})["status"] == "created"
        raced = (await b.call_tool("create_mcf_order", during)).structured_content or {}
        raced_args = {**during, "confirmation_token": raced["confirmation_token"]}
        orders_before = set(fakes.amazon.order_ids())

        answers: list[tuple[str, Any]] = []

        async def call(client: Client, name: str, args: dict[str, Any]) -> None:
            answers.append((name, await _outcome(client, name, args)))

        async with anyio.create_task_group() as group:
            group.start_soon(call, b, "create_mcf_order", raced_args)
            for index in range(30):
                name, args, _ = _READS[index % len(_READS)]
                group.start_soon(call, (a, b)[index % 2], name, args)
            await anyio.lowlevel.checkpoint()  # let the calls leave before the kill
            redis.kill()
        down = [await _outcome(client, *_MCF_LIST[:2]) for client in (a, b)]
        readiness = [_status(url) for url in urls]
        redis.start()
        for url in urls:
            wait_for(lambda url=url: _status(url) == 200, timeout=30)
        # Many at once, so the pool hands out the connections it kept from before the kill (dead,
        # and reused last-in first-out): none of them may fail a call.
        after: list[Any] = []

        async def list_orders(client: Client) -> None:
            after.append(await client.call_tool("list_tiktok_orders", {"limit": 5}))

        async with anyio.create_task_group() as group:
            for index in range(24):
                group.start_soon(list_orders, (a, b)[index % 2])
        reused = await b.call_tool("create_mcf_order", confirmed)
        repeated = await a.call_tool("create_mcf_order", during)

    new_orders = set(fakes.amazon.order_ids()) - orders_before
    for name, answer in [*answers, *(("down", answer) for answer in down)]:
        if isinstance(answer, str):  # refused with a 503 before any tool ran
            assert _UNAVAILABLE in answer and "nothing was sent" in answer, answer
            continue
        text = _texts(answer)
        assert "Traceback" not in text
        if not answer.is_error:
            continue
        if name == "create_mcf_order":
            assert _UNAVAILABLE in text or "could not confirm" in text, text
            if "nothing was sent" in text:
                assert not new_orders, text
        else:
            assert _UNAVAILABLE in text, text
    assert all(isinstance(answer, str) or answer.is_error for answer in down)
    assert readiness == [503, 503]
    assert not any(answer.is_error for answer in after)
    assert reused.is_error and "already used" in _texts(reused)
    assert new_orders <= {raced["seller_fulfillment_order_id"]}
    repeated_status = (repeated.structured_content or {}).get("status")
    if new_orders:  # the create reached Amazon before the kill: a repeat finds it, never resends
        assert repeated_status == "already_created"
    else:  # it never left: the repeat is a fresh preview, and nothing was created behind our back
        assert repeated_status == "preview"
    assert set(fakes.amazon.order_ids()) - orders_before == new_orders
