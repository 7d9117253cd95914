"""A one-paragraph description of the machine the figures come from."""

from __future__ import annotations

import os
import platform
from pathlib import Path

import psutil  # type: ignore[import-untyped]


def cpu_model() -> str:
    """The CPU's marketing name where the OS tells us, else the architecture."""
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.exists():
        for line in cpuinfo.read_text(errors="replace").splitlines():
            if line.lower().startswith("model name"):
                return line.split(":", 1)[1].strip()
    return platform.processor() or platform.machine()


def load_average() -> str:
    """The 1/5/15-minute load averages, e.g. ``1.52 / 1.10 / 0.98``."""
    return " / ".join(f"{x:.2f}" for x in psutil.getloadavg())


def describe_machine() -> dict[str, str]:
    """CPU, cores, RAM, OS, Python and current load, as strings for the report header."""
    memory = psutil.virtual_memory().total / 2**30
    logical = os.cpu_count() or 0
    physical = psutil.cpu_count(logical=False) or logical
    return {
        "CPU": f"{cpu_model()} ({physical} cores / {logical} threads)",
        "RAM": f"{memory:.1f} GiB",
        "OS": f"{platform.system()} {platform.release()} ({platform.machine()})",
        "Python": f"{platform.python_implementation()} {platform.python_version()}",
        # A shared machine's other work shows up in every latency figure; say how busy it was.
        "Load average at start (1/5/15 min)": load_average(),
    }
