"""``commerce-mcp doctor``: check each channel's configuration and connectivity; say how to fix it.

Each check becomes a :class:`Check`; :func:`run_doctor` prints them one line each (or one JSON document
for scripts) through a callback, so the CLI decides where the lines go and tests collect them.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from dataclasses import asdict, dataclass
from typing import Literal

from commerce_mcp.errors import CommerceError
from commerce_mcp.readiness import TIKTOK_TOKEN_SETTING, ChannelReadiness, ReadinessState
from commerce_mcp.resilience.deadline import deadline_scope
from commerce_mcp.services import Services
from commerce_mcp.store.paths import check_state_dir
from commerce_mcp.terminal import ProgressLine, paint

PROBE_SECONDS = 15.0
#: The shops named on the TikTok line; more are counted, so the line stays one terminal line.
SHOWN_SHOPS = 3
#: Mode, state directory, TikTok Shop, Amazon: the steps the progress line counts.
STEPS = 4

Format = Literal["text", "json"]


@dataclass(frozen=True)
class Check:
    """One thing doctor looked at: what, whether it works, what it found, what to do if not."""

    name: str
    ok: bool
    detail: str
    next: str | None = None

    def line(self, *, colour: bool = False) -> str:
        """``[ok] name: detail`` or ``[FAIL] name: detail. Next: …`` on one line."""
        mark = (
            paint("ok", "green", enabled=colour)
            if self.ok
            else paint("FAIL", "red", enabled=colour)
        )
        text = f"[{mark}] {self.name}: {self.detail}"
        return f"{text}. Next: {self.next}" if self.next else text


async def run_checks(
    *,
    sandbox: bool = False,
    progress: ProgressLine | None = None,
    services: Services | None = None,
) -> list[Check]:
    """Look at the configuration, the state directory and both channels; never raises for a finding.

    ``services`` (default: from the environment) is closed when the checks are done.
    """
    progress = progress or ProgressLine(STEPS, enabled=False)
    services = services or Services.from_env(sandbox=sandbox)
    checks = [
        Check(
            problem.variable,
            False,
            f"{problem.message}; the default is used instead",
            f"fix {problem.variable} in the environment or .env, or remove it",
        )
        for problem in services.problems
    ]
    try:
        progress.step("reading the settings" + (" and starting the sandbox" if sandbox else ""))
        await services.ensure_sandbox()
        settings = services.settings  # after ensure_sandbox, which points it at the fakes
        mode = "sandbox (embedded fake platforms)" if settings.sandbox else "live"
        writes = "enabled" if settings.writes_enabled else "disabled"
        checks.append(
            Check("mode", True, f"{mode}; writes {writes} ({settings.writes_decided_by})")
        )

        # The state dir first: reading saved TikTok tokens below needs it, and must not create it
        # before we have said whether it exists.
        progress.step("checking the state directory")
        state = check_state_dir(services.state_dir())
        where = " (a temporary sandbox directory)" if settings.sandbox else ""
        checks.append(Check("state", state.ok, state.detail + where))

        async def tiktok_probe() -> str:
            shops = await (await services.tiktok()).list_shops()
            names = ", ".join(shop.name for shop in shops[:SHOWN_SHOPS])
            more = f" and {len(shops) - SHOWN_SHOPS} more" if len(shops) > SHOWN_SHOPS else ""
            return f"{len(shops)} authorized shop(s): {names}{more}"

        async def amazon_probe() -> str:
            client = await services.amazon()
            page = await client.get_inventory_summaries()
            return (
                f"seller {settings.amazon_seller_id}, marketplace {settings.marketplace_id};"
                f" FBA inventory readable ({len(page.items)} SKU(s) on the first page)"
            )

        progress.step("asking TikTok Shop for the authorized shops")
        checks.append(await _probe(services, await services.readiness("tiktok"), tiktok_probe))
        progress.step("reading FBA inventory from Amazon")
        checks.append(await _probe(services, await services.readiness("amazon"), amazon_probe))
    finally:
        progress.clear()
        await services.aclose()
    return checks


async def run_doctor(
    *,
    sandbox: bool = False,
    emit: Callable[[str], None],
    fmt: Format = "text",
    colour: bool = False,
    progress: ProgressLine | None = None,
    services: Services | None = None,
) -> int:
    """Run the checks and report them through ``emit``; 0 when everything works, 1 otherwise.

    ``text`` is one line per check and a closing verdict; ``json`` is one document:
    ``{"ok": bool, "failed": int, "checks": [{"name", "ok", "detail", "next"}]}``.
    """
    checks = await run_checks(sandbox=sandbox, progress=progress, services=services)
    failed = sum(not check.ok for check in checks)
    if fmt == "json":
        emit(
            json.dumps(
                {"ok": not failed, "failed": failed, "checks": [asdict(c) for c in checks]},
                ensure_ascii=False,
            )
        )
    else:
        for check in checks:
            emit(check.line(colour=colour))
        emit(
            "all checks passed"
            if not failed
            else f"{failed} check(s) failed: do what each FAIL line says next (settings go in the"
            " environment or a .env file; README, Configuration), then run `commerce-mcp doctor` again"
        )
    return 0 if not failed else 1


async def _probe(
    services: Services, readiness: ChannelReadiness, probe: Callable[[], Awaitable[str]]
) -> Check:
    if not readiness.ready:
        step = f"set {', '.join(readiness.missing)}"
        if TIKTOK_TOKEN_SETTING in readiness.missing:
            step += ", or run `commerce-mcp tiktok authorize` to save the seller's tokens"
        detail = "not configured" + (f" ({readiness.note})" if readiness.note else "")
        return Check(readiness.name, False, detail, step)
    via = (
        " (saved seller tokens)"
        if readiness.state is ReadinessState.READY_VIA_STORED_TOKENS
        else ""
    )
    try:
        async with deadline_scope(services.clock, PROBE_SECONDS):
            return Check(readiness.name, True, await probe() + via)
    except CommerceError as exc:
        # describe() ends with ". Next: <hint>" when the error knows what to do; keep that apart.
        detail = exc.describe().removesuffix(f". Next: {exc.hint}") if exc.hint else exc.describe()
        step = exc.hint or (
            f"check the {readiness.name} credentials and the network, then run doctor again"
        )
        return Check(readiness.name, False, detail, step)
