"""Serve the fake platforms from their own process until stdin closes.

Benchmarks measure the client side; fakes running in a thread of the measuring process would compete
with it for the GIL and blur every latency figure. Prints one JSON line: the settings overrides.
An optional JSON argument sizes the world: ``{"products": N, "tiktok_orders": [main, outlet],
"rate_scale": k, "tiktok_qps": q}`` (``tiktok_qps`` sets TikTok's rate and burst outright).
"""

from __future__ import annotations

import json
import sys

from commerce_mcp.sandbox.runner import start_sandbox


def main() -> None:
    sizing = json.loads(sys.argv[1]) if len(sys.argv) > 1 else {}
    orders = sizing.get("tiktok_orders")
    handle = start_sandbox(
        products=sizing.get("products"),
        tiktok_orders=tuple(orders) if orders else None,
        rate_scale=float(sizing.get("rate_scale", 1.0)),
    )
    if "tiktok_qps" in sizing:
        handle.tiktok.config.qps = handle.tiktok.config.burst = float(sizing["tiktok_qps"])
    try:
        print(json.dumps(handle.settings_overrides()), flush=True)
        sys.stdin.read()  # the parent closes our stdin when it is done
    finally:
        handle.stop()


if __name__ == "__main__":
    main()
