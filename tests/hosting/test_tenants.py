"""Tenant settings: nothing leaks from the operator's environment or between tenants."""

from __future__ import annotations

import pytest

from commerce_mcp.config import load_settings
from commerce_mcp.hosting.tenants import TenantConfig


def test_tenants_sign_confirmations_with_keys_of_their_own_that_every_replica_agrees_on() -> None:
    base, _ = load_settings(commerce_mcp_confirmation_secret="operator-secret-" + "x" * 20)
    a1, a2 = TenantConfig("a").settings(base), TenantConfig("a").settings(base)
    b = TenantConfig("b").settings(base)
    secret = lambda s: s.commerce_mcp_confirmation_secret.get_secret_value()  # noqa: E731
    assert secret(a1) == secret(a2)  # two replicas, one tenant: one key
    assert secret(a1) != secret(b)  # two tenants: never one key
    assert "operator-secret" not in secret(a1)


def test_a_tenant_never_inherits_the_operators_platform_credentials(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("TIKTOK_APP_KEY", "operators-app")
    monkeypatch.setenv("AMAZON_SELLER_ID", "OPERATOR")
    base, _ = load_settings()
    tenant = TenantConfig("t", {"amazon_seller_id": "TENANT"}).settings(base)
    assert tenant.tiktok_app_key is None
    assert tenant.amazon_seller_id == "TENANT"
