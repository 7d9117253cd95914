"""Backoff delays and server hints: full jitter, and a Retry-After parser that never goes wrong."""

from __future__ import annotations

import math
import random
import re
from email.utils import parsedate_to_datetime

_MAX_EXPONENT = 62  # 2**62 already dwarfs any cap; stops float overflow for absurd retry numbers
RETRY_AFTER_CAP = 3600.0
"""The longest ``Retry-After`` believed, in seconds. A tool call waits at most its deadline (45 s by
default), so a longer hint only ever reaches the agent as "retry after N s"; an hour is already far
past any throttling window either platform documents, and a bigger number (``99999999``, a date years
away) is a broken header, not advice worth repeating to a person."""
_SECONDS = re.compile(r"[0-9]+")


def full_jitter(retry_number: int, base: float, cap: float, rng: random.Random) -> float:
    """Delay before retry ``retry_number`` (1-based), uniform in ``[0, min(cap, base*2**(n-1))]``."""
    exponent = min(max(retry_number, 1) - 1, _MAX_EXPONENT)
    ceiling = max(0.0, min(cap, base * float(2**exponent)))
    return rng.uniform(0.0, ceiling)


def parse_retry_after(
    value: str | None, now_wall: float, *, cap: float = RETRY_AFTER_CAP
) -> float | None:
    """Seconds to wait from a ``Retry-After`` value (delta-seconds or an HTTP-date), or ``None``.

    The one parser for every platform's ``Retry-After``. Like urllib3, only whole non-negative
    seconds or an HTTP-date are accepted (``-1``, ``+1``, ``1.5``, ``1e12``, ``inf`` and garbage give
    ``None``); a date in the past gives ``0``. ``now_wall`` is the caller's wall clock (epoch
    seconds), so a virtual clock in tests moves HTTP-dates too. The result is ``None`` or a finite
    float in ``[0, cap]``.
    """
    cap = max(0.0, cap) if math.isfinite(cap) else RETRY_AFTER_CAP
    if value is None:
        return None
    text = value.strip()
    if not text:
        return None
    if _SECONDS.fullmatch(text):
        if len(text) > 10:  # don't build a huge int just to throw it away
            return cap
        return min(float(int(text)), cap)
    try:
        when = parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    if when is None or when.tzinfo is None:
        # An HTTP-date is always GMT; a date without a zone is not one.
        return None
    delay = when.timestamp() - now_wall
    if math.isnan(delay):
        return None
    return min(max(0.0, delay), cap)
