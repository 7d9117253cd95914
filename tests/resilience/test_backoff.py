"""Backoff delays and the Retry-After parser."""

from __future__ import annotations

import math
import random
from datetime import UTC, datetime
from email.utils import format_datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from commerce_mcp.resilience.backoff import RETRY_AFTER_CAP, full_jitter, parse_retry_after

NOW = 1_767_225_600.0


@given(
    retry_number=st.integers(min_value=1, max_value=5000),
    base=st.floats(min_value=0, max_value=100, allow_nan=False),
    cap=st.floats(min_value=0, max_value=1000, allow_nan=False),
    seed=st.integers(),
)
def test_full_jitter_stays_within_its_exponential_ceiling(
    retry_number: int, base: float, cap: float, seed: int
) -> None:
    """Property: 0 <= delay <= min(cap, base * 2**(n-1)), even for absurd retry numbers."""
    delay = full_jitter(retry_number, base, cap, random.Random(seed))
    ceiling = min(cap, base * 2.0 ** min(retry_number - 1, 1000))
    assert 0.0 <= delay <= ceiling
    assert math.isfinite(delay)


def test_full_jitter_uses_the_whole_range() -> None:
    rng = random.Random(7)
    delays = [full_jitter(3, 0.25, 20, rng) for _ in range(2000)]
    assert max(delays) <= 1.0
    assert min(delays) < 0.05
    assert max(delays) > 0.95


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("7", 7.0),
        (" 7 ", 7.0),
        ("0", 0.0),
        ("3600", 3600.0),
        ("99999", RETRY_AFTER_CAP),
        ("1e12", None),
        ("inf", None),
        ("Infinity", None),
        ("nan", None),
        ("-1", None),
        ("+1", None),
        ("1.5", None),
        ("abc", None),
        ("", None),
        (None, None),
        ("Wed, 21 Oct 2015 07:28:00", None),
    ],
)
def test_retry_after_seconds_and_invalid_values(value: str | None, expected: float | None) -> None:
    """Matrix #15 (parser): whole seconds are honoured; -1, garbage and zone-less dates are ignored."""
    assert parse_retry_after(value, NOW) == expected


def test_retry_after_http_date_waits_until_that_date() -> None:
    """Matrix #15: an HTTP-date gives the seconds until then; a past date gives zero."""
    later = format_datetime(datetime.fromtimestamp(NOW + 30, tz=UTC), usegmt=True)
    assert parse_retry_after(later, NOW) == pytest.approx(30.0)
    earlier = format_datetime(datetime.fromtimestamp(NOW - 30, tz=UTC), usegmt=True)
    assert parse_retry_after(earlier, NOW) == 0.0


def test_retry_after_huge_values_are_bounded() -> None:
    """A wait longer than the cap is a broken header: believed only up to the cap (an hour)."""
    assert RETRY_AFTER_CAP == 3600.0
    assert parse_retry_after("9" * 400, NOW) == RETRY_AFTER_CAP
    assert parse_retry_after("1000000000000", NOW) == RETRY_AFTER_CAP
    far = format_datetime(datetime(2099, 1, 1, tzinfo=UTC), usegmt=True)
    assert parse_retry_after(far, NOW) == RETRY_AFTER_CAP
    assert parse_retry_after("120", NOW, cap=60.0) == 60.0


@given(
    value=st.one_of(
        st.text(max_size=60),
        st.integers().map(str),
        st.floats().map(str),
        st.datetimes(timezones=st.just(UTC)).map(lambda d: format_datetime(d, usegmt=True)),
    ),
    now=st.floats(min_value=0, max_value=4e9),
    cap=st.floats(min_value=0, max_value=1e6, allow_nan=False),
)
def test_retry_after_is_none_or_within_zero_and_the_cap(value: str, now: float, cap: float) -> None:
    """Law: any header value gives None or a finite float in [0, cap] (never negative, NaN, inf)."""
    delay = parse_retry_after(value, now, cap=cap)
    assert delay is None or (math.isfinite(delay) and 0.0 <= delay <= cap)
    default = parse_retry_after(value, now)
    assert default is None or 0.0 <= default <= RETRY_AFTER_CAP


@given(
    when=st.datetimes(
        min_value=datetime(1970, 1, 2), max_value=datetime(2100, 1, 1), timezones=st.just(UTC)
    ),
    now=st.floats(min_value=0, max_value=4e9),
)
def test_retry_after_dates_are_never_negative(when: datetime, now: float) -> None:
    delay = parse_retry_after(format_datetime(when, usegmt=True), now)
    assert delay is not None
    assert delay >= 0.0
    assert math.isfinite(delay)
