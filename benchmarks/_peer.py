"""A peer MCP server to compare start-up with: ``tiktok-shop-mcp`` from PyPI, in a throwaway venv.

The venv lives in a cache directory under the system temp dir and is reused while it is complete (a
marker file is written only after a successful install), so the suite pays for the install once per
machine. It is built by the interpreter running the benchmarks, so both servers start on the same
Python; the peer brings its own dependencies, as it would for a user.
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

PEER = "tiktok-shop-mcp"
PEER_VERSION = "0.3.0"
#: Tools the peer lists (a sanity check that the right server answered).
PEER_TOOLS = 22
CACHE = Path(tempfile.gettempdir()) / "commerce-mcp-benchmarks" / f"{PEER}-{PEER_VERSION}"
_INSTALLED = CACHE / "installed"
#: Seconds the whole install may take before the peer is skipped.
INSTALL_TIMEOUT = 300


@dataclass(frozen=True)
class Peer:
    """The peer's command line (what its README tells MCP clients to spawn), or why there is none."""

    command: list[str] | None
    note: str


def peer() -> Peer:
    """The installed peer, installing it first if needed; never raises."""
    script = CACHE / "bin" / PEER
    if not (_INSTALLED.exists() and script.exists()):
        reason = _install()
        if reason is not None:
            return Peer(None, f"Peer `{PEER}` {PEER_VERSION} not measured: {reason}.")
    return Peer(
        [str(script)],
        f"Peer: `{PEER}` {PEER_VERSION} from PyPI ({PEER_TOOLS} tools), spawned as its README says"
        f" (`{PEER}`), from its own venv on the same Python ({CACHE}).",
    )


def _install() -> str | None:
    """Create the venv and pip-install the peer into it; None on success, else why it failed."""
    _INSTALLED.unlink(missing_ok=True)
    steps = [
        [sys.executable, "-m", "venv", "--clear", str(CACHE)],
        [
            str(CACHE / "bin" / "python"),
            "-m",
            "pip",
            "install",
            "--quiet",
            "--disable-pip-version-check",
            "--timeout",
            "30",
            "--retries",
            "1",
            f"{PEER}=={PEER_VERSION}",
        ],
    ]
    for step in steps:
        try:
            proc = subprocess.run(
                step, capture_output=True, text=True, timeout=INSTALL_TIMEOUT, check=False
            )
        except (OSError, subprocess.TimeoutExpired) as exc:
            return f"could not be installed ({type(exc).__name__})"
        if proc.returncode != 0:
            lines = [line for line in proc.stderr.splitlines() if line.startswith("ERROR")]
            detail = (lines or proc.stderr.strip().splitlines() or ["no output"])[-1][:160]
            return f"could not be installed ({step[2]}: {detail})"
    _INSTALLED.write_text(f"{PEER}=={PEER_VERSION}\n")
    return None
