"""Start-up without the cyclic garbage collector, then keep what start-up built out of later collections.

Importing the SDK builds several hundred thousand long-lived objects (a pydantic model and validator for
every protocol type, in two protocol versions). The collector runs by allocation count, so during those
imports it walks the same young, live objects over and over and finds almost nothing to free: measured
here, about a tenth of a spawn's time to ``tools/list`` (``benchmarks/startup.py``), and fewer than a
thousand garbage objects (a few hundred kB) left at the end. An MCP client spawns the server for every
session and waits for it, so start-up runs with the collector off.

Once the server is built, :func:`settle` freezes everything alive (and the little import-time garbage)
into the permanent generation, so a long-running server's full collections no longer re-scan every
module, class and schema (measured on a bulk order read: about a fifth of the client's CPU), then turns
the collector back on. No collection before the freeze: it would cost start-up about 40 ms to reclaim a
few hundred kB once.

Nothing here imports ``mcp``: :func:`pause_collector` must run before the SDK is imported. The hosted
HTTP server, long-running, only settles.
"""

from __future__ import annotations

import gc


def pause_collector() -> None:
    """Turn the cyclic collector off for start-up; :func:`settle` turns it back on."""
    gc.disable()


def settle() -> None:
    """Freeze what start-up built out of future collections, then collect as usual again.

    Call it once, after the server is built and before it serves.
    """
    gc.freeze()
    gc.enable()
