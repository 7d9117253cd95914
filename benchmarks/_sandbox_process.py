"""Serve the fake platforms from their own process until stdin closes.

Benchmarks measure the client side; fakes running in a thread of the measuring process would compete
with it for the GIL and blur every latency figure. Prints one JSON line: the settings overrides.
"""

from __future__ import annotations

import json
import sys

from commerce_mcp.sandbox.runner import start_sandbox


def main() -> None:
    handle = start_sandbox()
    try:
        print(json.dumps(handle.settings_overrides()), flush=True)
        sys.stdin.read()  # the parent closes our stdin when it is done
    finally:
        handle.stop()


if __name__ == "__main__":
    main()
