"""One answer to "is this channel configured?": after `commerce-mcp tiktok authorize` saved the
seller's tokens, the client, get_connection_status and doctor all say TikTok Shop is configured."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from mcp import Client

from commerce_mcp.cli import main
from commerce_mcp.config import load_settings
from commerce_mcp.readiness import (
    TIKTOK_TOKEN_SETTING,
    ReadinessState,
    amazon_readiness,
    tiktok_readiness,
)
from commerce_mcp.sandbox import credentials
from commerce_mcp.sandbox.runner import SandboxServers, start_sandbox
from commerce_mcp.server import build_server
from commerce_mcp.services import Services
from commerce_mcp.store.paths import DATABASE_NAME


def run(argv: list[str]) -> int:
    with pytest.raises(SystemExit) as exit_info:
        main(argv)
    return int(exit_info.value.code or 0)


@pytest.fixture(scope="module")
def fakes() -> Iterator[SandboxServers]:
    """Private fakes: live mode signs with real time, so the fakes' clock must not have moved."""
    servers = start_sandbox()
    yield servers
    servers.stop()


@pytest.fixture
def live_env_without_tiktok_tokens(fakes: SandboxServers, monkeypatch: pytest.MonkeyPatch) -> None:
    """Live mode aimed at the fakes: the TikTok app is configured, but no token is in the env."""
    for name, value in fakes.settings_overrides().items():
        if name in ("tiktok_access_token", "tiktok_refresh_token"):
            continue
        monkeypatch.setenv(name.upper(), str(value))


def test_authorize_then_status_and_doctor_both_say_tiktok_is_configured(
    live_env_without_tiktok_tokens: None, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # Before: no tokens anywhere, and every view says what to do about it.
    settings, _ = load_settings()
    before = tiktok_readiness(settings, has_stored_tokens=False)
    assert before.missing == (TIKTOK_TOKEN_SETTING,)
    assert run(["doctor"]) == 1
    assert "tiktok authorize" in capsys.readouterr().out

    # The seller authorizes: tokens go to the state store, not the environment.
    assert run(["tiktok", "authorize", "--code", credentials.TIKTOK_AUTH_CODE]) == 0
    capsys.readouterr()
    assert (tmp_path / "state" / DATABASE_NAME).exists()

    async def status() -> dict[str, Any]:
        services = Services.from_env()
        try:
            async with Client(build_server(services)) as client:
                result = await client.call_tool("get_connection_status", {})
        finally:
            await services.aclose()
        assert result.is_error is False
        assert result.structured_content is not None
        text = "\n".join(getattr(block, "text", "") for block in result.content)
        return {"text": text, **result.structured_content}

    answer = asyncio.run(status())
    tiktok = answer["channels"][0]
    assert tiktok["channel"] == "tiktok"
    assert tiktok["configured"] is True
    assert tiktok["readiness"] == "ready_via_stored_tokens"
    assert tiktok["missing"] == []
    assert any("Sandbox Glow Co" in shop for shop in tiktok["shops"])  # the client works too
    assert "tiktok: configured" in answer["text"]
    assert not any(step.startswith("tiktok:") for step in answer["next_steps"])

    assert run(["doctor"]) == 0
    out = capsys.readouterr().out
    assert "[ok] TikTok Shop: " in out
    assert "saved seller tokens" in out
    assert "all checks passed" in out


def test_the_readiness_states() -> None:
    settings, _ = load_settings(tiktok_app_key="k", tiktok_app_secret="s")
    assert tiktok_readiness(settings, has_stored_tokens=True).state is (
        ReadinessState.READY_VIA_STORED_TOKENS
    )
    missing = tiktok_readiness(settings, has_stored_tokens=False)
    assert not missing.ready
    assert missing.missing == (TIKTOK_TOKEN_SETTING,)
    with_env, _ = load_settings(tiktok_app_key="k", tiktok_app_secret="s", tiktok_refresh_token="r")
    assert tiktok_readiness(with_env, has_stored_tokens=False).state is ReadinessState.READY
    assert amazon_readiness(with_env).missing[0] == "AMAZON_SP_API_CLIENT_ID"


def test_not_configured_says_to_authorize_when_only_the_tokens_are_missing() -> None:
    from commerce_mcp.errors import NotConfigured

    settings, _ = load_settings(tiktok_app_key="k", tiktok_app_secret="s")
    with pytest.raises(NotConfigured) as caught:
        tiktok_readiness(settings, has_stored_tokens=False).require()
    assert "commerce-mcp tiktok authorize" in caught.value.describe()
