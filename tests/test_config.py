"""Configuration: loading never fails, missing pieces are named, secrets stay secret."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from commerce_mcp.config import load_settings
from commerce_mcp.readiness import tiktok_readiness


def test_empty_environment_loads_with_every_missing_variable_named() -> None:
    settings, problems = load_settings()
    assert problems == []
    assert tiktok_readiness(settings, has_stored_tokens=False).missing == (
        "TIKTOK_APP_KEY",
        "TIKTOK_APP_SECRET",
        "TIKTOK_ACCESS_TOKEN (or TIKTOK_REFRESH_TOKEN)",
    )
    assert settings.amazon_missing() == [
        "AMAZON_SP_API_CLIENT_ID",
        "AMAZON_SP_API_CLIENT_SECRET",
        "AMAZON_SP_API_REFRESH_TOKEN",
        "AMAZON_SELLER_ID",
    ]
    assert not settings.writes_enabled


def test_partial_tiktok_credentials_name_only_what_is_missing(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("TIKTOK_APP_KEY", "key")
    monkeypatch.setenv("TIKTOK_REFRESH_TOKEN", "refresh")
    settings, _ = load_settings()
    assert tiktok_readiness(settings, has_stored_tokens=False).missing == ("TIKTOK_APP_SECRET",)


def test_dotenv_file_is_read_and_blank_values_mean_unset(tmp_path: Path) -> None:
    (tmp_path / ".env").write_text(
        "AMAZON_SP_API_CLIENT_ID=amzn1.client\nAMAZON_SELLER_ID=\nAMAZON_SP_API_REGION=EU\n"
    )
    settings, problems = load_settings()
    assert problems == []
    assert settings.amazon_sp_api_client_id == "amzn1.client"
    assert "AMAZON_SELLER_ID" in settings.amazon_missing()
    assert settings.marketplace_id == "A1F83G8C2ARO7P"  # EU default (UK)


def test_unparseable_values_fall_back_to_defaults_and_are_reported(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("COMMERCE_MCP_ALLOW_WRITES", "maybe")
    monkeypatch.setenv("AMAZON_SP_API_REGION", "mars")
    monkeypatch.setenv("COMMERCE_MCP_DEADLINE_SECONDS", "-3")
    settings, problems = load_settings()
    assert not settings.commerce_mcp_allow_writes
    assert settings.amazon_sp_api_region == "na"
    assert settings.commerce_mcp_deadline_seconds == 45.0
    assert {p.variable for p in problems} == {
        "COMMERCE_MCP_ALLOW_WRITES",
        "AMAZON_SP_API_REGION",
        "COMMERCE_MCP_DEADLINE_SECONDS",
    }


def test_secrets_never_appear_in_repr(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TIKTOK_APP_SECRET", "s3cr3t-tiktok")
    monkeypatch.setenv("AMAZON_SP_API_REFRESH_TOKEN", "Atzr|s3cr3t")
    settings, _ = load_settings()
    assert "s3cr3t" not in repr(settings)
    assert "s3cr3t" not in str(settings.model_dump())


def test_sandbox_mode_enables_writes_and_toolsets_filter_unknown_names(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("COMMERCE_MCP_SANDBOX", "1")
    monkeypatch.setenv("COMMERCE_MCP_TOOLSETS", "TikTok, amazon ,ebay")
    settings, _ = load_settings()
    assert settings.writes_enabled
    assert settings.toolsets == {"tiktok", "amazon"}
    assert settings.unknown_toolsets == ["ebay"]


@given(st.text(max_size=40))
def test_any_log_level_string_loads_without_raising(value: str) -> None:
    settings, problems = load_settings(commerce_mcp_log_level=value)
    assert settings.commerce_mcp_log_level in {"DEBUG", "INFO", "WARNING", "ERROR"}
    assert problems or value.strip().upper() in {"DEBUG", "INFO", "WARNING", "ERROR", ""}


@pytest.mark.parametrize(
    ("sandbox", "allow", "enabled", "decided_by"),
    [
        (False, None, False, "default; COMMERCE_MCP_ALLOW_WRITES=true turns them on"),
        (True, None, True, "sandbox default; COMMERCE_MCP_ALLOW_WRITES=false turns them off"),
        (True, "false", False, "COMMERCE_MCP_ALLOW_WRITES=false"),
        (True, "", True, "sandbox default; COMMERCE_MCP_ALLOW_WRITES=false turns them off"),
        (False, "true", True, "COMMERCE_MCP_ALLOW_WRITES=true"),
        (False, "0", False, "COMMERCE_MCP_ALLOW_WRITES=false"),
    ],
)
def test_an_explicit_allow_writes_wins_over_the_sandbox_default(
    monkeypatch: pytest.MonkeyPatch,
    sandbox: bool,
    allow: str | None,
    enabled: bool,
    decided_by: str,
) -> None:
    if allow is not None:
        monkeypatch.setenv("COMMERCE_MCP_ALLOW_WRITES", allow)
    settings, problems = load_settings(commerce_mcp_sandbox=sandbox)
    assert problems == []
    assert settings.writes_enabled is enabled
    assert settings.writes_decided_by == decided_by


def test_a_blank_value_means_the_default_even_where_the_default_is_not_none(tmp_path: Path) -> None:
    (tmp_path / ".env").write_text("TIKTOK_API_BASE_URL=\nCOMMERCE_MCP_DEADLINE_SECONDS= \n")
    settings, problems = load_settings()
    assert problems == []
    assert settings.tiktok_api_base_url == "https://open-api.tiktokglobalshop.com"
    assert settings.commerce_mcp_deadline_seconds == 45.0
