"""``commerce-mcp doctor``: check each channel's configuration and connectivity; say how to fix it.

The checks report through a callback; the CLI decides where the lines go.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from commerce_mcp.errors import CommerceError
from commerce_mcp.resilience.deadline import deadline_scope
from commerce_mcp.services import Services

PROBE_SECONDS = 15.0


async def run_doctor(*, sandbox: bool = False, emit: Callable[[str], None]) -> int:
    """Report one line per check through ``emit``; return 0 when everything works, 1 otherwise."""
    services = Services.from_env(sandbox=sandbox)
    failures = 0

    def report(ok: bool, what: str, detail: str) -> None:
        nonlocal failures
        failures += 0 if ok else 1
        emit(f"[{'ok' if ok else 'FAIL'}] {what}: {detail}")

    try:
        for problem in services.problems:
            report(
                False, problem.variable, f"{problem.message} (fix it; using the default for now)"
            )
        await services.ensure_sandbox()
        settings = services.settings
        mode = "sandbox (embedded fake platforms)" if settings.sandbox else "live"
        report(
            True, "mode", f"{mode}; writes {'enabled' if settings.writes_enabled else 'disabled'}"
        )

        async def tiktok_probe() -> str:
            shops = await (await services.tiktok()).list_shops()
            return f"{len(shops)} authorized shop(s): " + ", ".join(s.name for s in shops)

        async def amazon_probe() -> str:
            client = await services.amazon()
            page = await client.get_inventory_summaries()
            return (
                f"seller {settings.amazon_seller_id}, marketplace {settings.marketplace_id};"
                f" FBA inventory readable ({len(page.items)} SKU(s) on the first page)"
            )

        await _probe(services, "TikTok Shop", settings.tiktok_missing(), tiktok_probe, report)
        await _probe(services, "Amazon SP-API", settings.amazon_missing(), amazon_probe, report)
        state_dir = "temporary (sandbox)" if settings.sandbox else str(services._state_dir())
        report(True, "state", f"store in {state_dir}")
    finally:
        await services.aclose()
    emit("all checks passed" if not failures else f"{failures} check(s) failed")
    return 0 if not failures else 1


async def _probe(
    services: Services,
    name: str,
    missing: list[str],
    probe: Callable[[], Awaitable[str]],
    report: Callable[[bool, str, str], None],
) -> None:
    if missing:
        report(False, name, f"not configured; set {', '.join(missing)}")
        return
    try:
        async with deadline_scope(services.clock, PROBE_SECONDS):
            report(True, name, await probe())
    except CommerceError as exc:
        report(False, name, exc.describe())
