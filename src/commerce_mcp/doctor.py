"""``commerce-mcp doctor``: check each channel's configuration and connectivity; say how to fix it.

The checks report through a callback; the CLI decides where the lines go.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from commerce_mcp.errors import CommerceError
from commerce_mcp.readiness import TIKTOK_TOKEN_SETTING, ChannelReadiness, ReadinessState
from commerce_mcp.resilience.deadline import deadline_scope
from commerce_mcp.services import Services
from commerce_mcp.store.paths import check_state_dir

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

        # The state dir first: reading saved TikTok tokens below needs it, and must not create it
        # before we have said whether it exists.
        state = check_state_dir(services.state_dir())
        where = " (a temporary sandbox directory)" if settings.sandbox else ""
        report(state.ok, "state", state.detail + where)
        tiktok_ready = await services.readiness("tiktok")
        await _probe(services, tiktok_ready, tiktok_probe, report)
        await _probe(services, await services.readiness("amazon"), amazon_probe, report)
    finally:
        await services.aclose()
    emit("all checks passed" if not failures else f"{failures} check(s) failed")
    return 0 if not failures else 1


async def _probe(
    services: Services,
    readiness: ChannelReadiness,
    probe: Callable[[], Awaitable[str]],
    report: Callable[[bool, str, str], None],
) -> None:
    if not readiness.ready:
        step = readiness.summary()
        if TIKTOK_TOKEN_SETTING in readiness.missing:
            step += "; or run `commerce-mcp tiktok authorize` to save the seller's tokens"
        report(False, readiness.name, step)
        return
    via = (
        " (saved seller tokens)"
        if readiness.state is ReadinessState.READY_VIA_STORED_TOKENS
        else ""
    )
    try:
        async with deadline_scope(services.clock, PROBE_SECONDS):
            report(True, readiness.name, await probe() + via)
    except CommerceError as exc:
        report(False, readiness.name, exc.describe())
