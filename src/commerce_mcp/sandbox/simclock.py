"""Simulated time for the fake platforms: real time plus an offset that tests and the demo can advance."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable


class SimClock:
    """Wall-clock seconds as the fake platforms see them.

    ``advance`` moves simulated time forward (orders progress, tokens expire) without sleeping. A
    ``source`` other than ``time.time`` lets a test pin the clock completely.
    """

    def __init__(self, source: Callable[[], float] = time.time) -> None:
        self._source = source
        self._offset = 0.0
        self._lock = threading.Lock()

    def now(self) -> float:
        with self._lock:
            return self._source() + self._offset

    def advance(self, seconds: float) -> float:
        """Move simulated time forward by ``seconds`` (never backwards); return the new time."""
        if seconds < 0:
            raise ValueError("simulated time only moves forward")
        with self._lock:
            self._offset += seconds
        return self.now()
