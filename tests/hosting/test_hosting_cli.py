"""The hosted-mode commands as a user runs them: serve over HTTP, SIGTERM, tenants and keys."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import anyio
import httpx
from cryptography.fernet import Fernet
from mcp import Client

from tests.support.http import free_port
from tests.support.stdio import wait_for


def _cli(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "commerce_mcp", *args],
        capture_output=True,
        text=True,
        env={**os.environ, **env},
        timeout=120,
    )


def _up(url: str) -> bool:
    try:
        return httpx.get(url, timeout=1).status_code == 200
    except httpx.HTTPError:
        return False


async def _list_and_call(url: str) -> tuple[int, bool]:
    async with Client(url) as client:
        tools = (await client.list_tools()).tools
        status = await client.call_tool("get_connection_status", {})
    return len(tools), bool(status.is_error)


def test_sandbox_over_http_on_loopback_needs_no_credentials_and_drains_on_sigterm(
    tmp_path: Path,
) -> None:
    port = free_port()
    log = (tmp_path / "server.log").open("w")
    server = subprocess.Popen(
        [sys.executable, "-m", "commerce_mcp", "serve", "--sandbox", "--transport", "http",
         "--port", str(port)],
        stdout=subprocess.PIPE, stderr=log, env={**os.environ},
    )  # fmt: skip
    try:
        wait_for(lambda: _up(f"http://127.0.0.1:{port}/healthz"), timeout=60)
        count, failed = anyio.run(_list_and_call, f"http://127.0.0.1:{port}/mcp")
        assert count > 15 and not failed
    finally:
        server.send_signal(signal.SIGTERM)
        code = server.wait(timeout=60)
        log.close()
    # uvicorn shuts down gracefully, then re-raises the signal so the exit status reports it.
    assert code in (0, -signal.SIGTERM)
    assert "Traceback" not in (tmp_path / "server.log").read_text()
    assert server.stdout is not None and server.stdout.read() == b""  # nothing on stdout


def test_a_public_bind_without_authentication_refuses_to_start(tmp_path: Path) -> None:
    done = _cli(
        "serve", "--transport", "http", "--host", "0.0.0.0",
        env={"COMMERCE_MCP_API_KEYS": "false", "COMMERCE_MCP_STATE_DIR": str(tmp_path)},
    )  # fmt: skip
    assert done.returncode == 2
    assert "not starting" in done.stderr and "COMMERCE_MCP_OAUTH_ISSUER" in done.stderr
    assert done.stdout == ""


def test_tenants_add_list_key_revoke_and_remove(tmp_path: Path) -> None:
    env = {
        "COMMERCE_MCP_STATE_DIR": str(tmp_path),
        "COMMERCE_MCP_ENCRYPTION_KEY": Fernet.generate_key().decode(),
        "TIKTOK_APP_KEY": "app-key-1",
        "TIKTOK_APP_SECRET": "very-secret-value",
    }
    added = _cli("tenants", "add", "shop-one", "--from-env", "--allow-writes", env=env)
    assert added.returncode == 0, added.stderr
    key = added.stdout.strip().splitlines()[-1]
    assert key.startswith("cmcp_")
    database = (tmp_path / "state.sqlite3").read_bytes()
    assert b"very-secret-value" not in database and key.encode() not in database

    listed = _cli("tenants", "list", env=env)
    prefix = key.split("_")[1]
    assert f"shop-one: writes on; channels tiktok; keys cmcp_{prefix}" in listed.stdout
    assert _cli("tenants", "revoke", prefix, env=env).returncode == 0
    assert "(revoked)" in _cli("tenants", "list", env=env).stdout
    assert _cli("tenants", "remove", "shop-one", env=env).returncode == 0
    assert _cli("tenants", "list", env=env).stdout == ""
    refused = _cli("tenants", "add", "bad name!", env=env)
    assert refused.returncode == 1 and "not a valid tenant name" in refused.stderr


def test_tiktok_authorize_for_a_tenant_stores_tokens_only_that_tenant_sees(
    tmp_path: Path,
) -> None:
    from commerce_mcp.sandbox import credentials
    from tests.support.sandbox import private_sandbox

    with private_sandbox() as fakes:
        app = {
            name.upper(): str(value)
            for name, value in fakes.settings_overrides().items()
            if name.startswith("tiktok_") and not name.endswith(("access_token", "refresh_token"))
        }
        env = {
            "COMMERCE_MCP_STATE_DIR": str(tmp_path),
            "COMMERCE_MCP_ENCRYPTION_KEY": Fernet.generate_key().decode(),
        }
        for name in ("shop-one", "shop-two"):
            assert _cli("tenants", "add", name, "--from-env", env={**env, **app}).returncode == 0
        authorized = _cli(
            "tiktok", "authorize", "--tenant", "shop-one", "--code", credentials.TIKTOK_AUTH_CODE,
            env=env,
        )  # fmt: skip
        assert authorized.returncode == 0, authorized.stderr
        assert "Authorized seller" in authorized.stdout
        one = _cli("tiktok", "shops", "--tenant", "shop-one", env=env)
        two = _cli("tiktok", "shops", "--tenant", "shop-two", env=env)
    assert one.returncode == 0 and "Sandbox Glow Co" in one.stdout
    assert two.returncode != 0 and "tiktok authorize" in (two.stdout + two.stderr)
