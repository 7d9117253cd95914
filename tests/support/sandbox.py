"""Private fake platforms and the services that talk to them, for tests that change their state."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from commerce_mcp.config import load_settings
from commerce_mcp.services import Services

DAYS = 86_400.0


@contextmanager
def private_sandbox() -> Iterator[Any]:
    """Fresh fakes on loopback (about half a second), so a test's orders are its own."""
    from commerce_mcp.sandbox.runner import start_sandbox

    servers = start_sandbox()
    try:
        yield servers
    finally:
        servers.stop()


def live_env(sandbox: Any, state_dir: Path) -> dict[str, str]:
    """Environment for a spawned server in live mode (not --sandbox) aimed at ``sandbox``."""
    env = {key.upper(): str(value) for key, value in sandbox.settings_overrides().items()}
    env["COMMERCE_MCP_STATE_DIR"] = str(state_dir)
    env["COMMERCE_MCP_ALLOW_WRITES"] = "true"
    return env


def live_services(sandbox: Any, state_dir: Path, **overrides: Any) -> Services:
    """Live-mode services (writes on) aimed at ``sandbox``: what a separate process would build.

    Two of them on one ``state_dir`` behave like two server processes sharing a state directory.
    """
    settings, problems = load_settings(
        **sandbox.settings_overrides(),
        commerce_mcp_state_dir=state_dir,
        commerce_mcp_allow_writes=True,
        **overrides,
    )
    return Services(settings=settings, problems=problems)


def sandbox_services(sandbox: Any, **overrides: Any) -> Services:
    """Sandbox-mode services wired to ``sandbox`` with a fresh private store."""
    settings, problems = load_settings(
        commerce_mcp_sandbox=True, **{**sandbox.settings_overrides(), **overrides}
    )
    return Services(settings=settings, problems=problems, sandbox=sandbox)


def plentiful_skus(sandbox: Any) -> list[str]:
    """Amazon SKUs with plenty of fulfillable stock, most plentiful first."""
    from commerce_mcp.sandbox.catalog import build_catalog

    skus = [s for s in build_catalog().all_skus() if s.fba and s.fba.fulfillable >= 200]
    return [s.seller_sku for s in sorted(skus, key=lambda s: -s.fba.fulfillable)]


def shippable_tiktok_orders(sandbox: Any) -> list[str]:
    """TikTok orders awaiting shipment whose every line FBA can ship comfortably."""
    shop = sandbox.tiktok.shops[0]
    found = []
    for order_id, order in shop.orders.items():
        if order.get("status") != "AWAITING_SHIPMENT":
            continue
        if order.get("is_on_hold_order") or order.get("is_buyer_request_cancel"):
            continue
        need = Counter(item["seller_sku"] for item in order["line_items"])
        if all(sandbox.amazon.fulfillable(sku) >= qty + 5 for sku, qty in need.items()):
            found.append(order_id)
    return found


def recipient(name: str) -> dict[str, Any]:
    """A valid US recipient for create/preview calls."""
    return {
        "name": name,
        "address_line1": "1 Test Street",
        "city": "Austin",
        "state_or_region": "TX",
        "postal_code": "78701",
        "country_code": "US",
    }
