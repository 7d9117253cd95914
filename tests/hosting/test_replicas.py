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
from collections.abc import Iterator
from typing import Any

import anyio
import httpx
import httpx2
import pytest
from cryptography.fernet import Fernet
from mcp import Client
from mcp.client.streamable_http import streamable_http_client

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
        urls = []
        for index in range(2):
            port = free_port()
            log = (root / f"replica-{index}.log").open("w")
            replicas.append(
                subprocess.Popen(
                    [
                        sys.executable,
                        "-m",
                        "commerce_mcp",
                        "serve",
                        "--transport",
                        "http",
                        "--port",
                        str(port),
                    ],
                    stdout=subprocess.DEVNULL,
                    stderr=log,
                    env=replica_env,
                )
            )
            urls.append(f"http://127.0.0.1:{port}")
        for url in urls:
            wait_for(lambda url=url: _up(f"{url}/readyz"), timeout=60)

        def start_replica(name: str) -> tuple[subprocess.Popen[bytes], str]:
            port = free_port()
            process = subprocess.Popen(
                [sys.executable, "-m", "commerce_mcp", "serve", "--transport", "http",
                 "--port", str(port)],
                stdout=subprocess.DEVNULL, stderr=(root / f"{name}.log").open("w"), env=replica_env,
            )  # fmt: skip
            replicas.append(process)
            wait_for(lambda: _up(f"http://127.0.0.1:{port}/readyz"), timeout=60)
            return process, f"http://127.0.0.1:{port}"

        try:
            yield {"fakes": fakes, "key": key, "urls": urls, "start_replica": start_replica}
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
    first, second = cluster["urls"]
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
        for url in cluster["urls"]:
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
    answer = call(cluster["urls"][1], args)  # another replica, a plain repeat of the request
    assert answer["status"] == "already_created"
    assert answer.get("confirmation_token") is None


def _swallow(call: Any, *args: Any) -> None:
    """The doomed replica's caller sees its connection die; that is the point, not a failure."""
    with contextlib.suppress(httpx.HTTPError, KeyError, ValueError):
        call(*args)
