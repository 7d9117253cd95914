"""Several replicas act as one server: real HTTP processes sharing one Redis and one set of fakes.

The fakes run in this test process (a separate process from every replica), so a duplicate order is
visible at the "platform" whichever replica sent it.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from typing import Any

import anyio
import httpx
import httpx2
import pytest
from cryptography.fernet import Fernet
from mcp import Client
from mcp.client.streamable_http import streamable_http_client

from tests.support.http import free_port
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
        try:
            yield {"fakes": fakes, "key": key, "urls": urls}
        finally:
            for replica in replicas:
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
