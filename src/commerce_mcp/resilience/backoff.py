"""Backoff delays and server hints: full jitter, and a Retry-After parser that never goes wrong."""

from __future__ import annotations

import math
import random
import re
from email.utils import parsedate_to_datetime

_MAX_EXPONENT = 62  # 2**62 already dwarfs any cap; stops float overflow for absurd retry numbers
_MAX_RETRY_AFTER = 10.0**9  # about 30 years: anything longer is "not within this call" either way
_SECONDS = re.compile(r"[0-9]+")


def full_jitter(retry_number: int, base: float, cap: float, rng: random.Random) -> float:
    """Delay before retry ``retry_number`` (1-based), uniform in ``[0, min(cap, base*2**(n-1))]``."""
    exponent = min(max(retry_number, 1) - 1, _MAX_EXPONENT)
    ceiling = max(0.0, min(cap, base * float(2**exponent)))
    return rng.uniform(0.0, ceiling)


def parse_retry_after(value: str | None, now_wall: float) -> float | None:
    """Seconds to wait from a ``Retry-After`` value (delta-seconds or an HTTP-date), or ``None``.

    Like urllib3, only whole non-negative seconds or an HTTP-date are accepted (``-1``, ``+1``,
    ``1.5`` and
    garbage give ``None``); a date in the past gives ``0``. The result is never negative, NaN or
    infinite.
    """
    if value is None:
        return None
    text = value.strip()
    if not text:
        return None
    if _SECONDS.fullmatch(text):
        if len(text) > 10:
            return _MAX_RETRY_AFTER
        return min(float(int(text)), _MAX_RETRY_AFTER)
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
    return min(max(0.0, delay), _MAX_RETRY_AFTER)
