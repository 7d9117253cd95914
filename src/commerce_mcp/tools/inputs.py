"""Checks on what the caller sends, applied before any upstream call.

Marketplace text coming *back* is cleaned for display (:mod:`commerce_mcp.tools.text`); text going *out*
is refused instead when it cannot be right. A SKU, an id or an address line never legitimately holds a
control or bidirectional-override character: sending one upstream would at best fail there with a less
clear message and at worst be echoed back into the model's context where it hides or reorders text.

Dates are refused outside a plausible window (2000-01-01 to a year from today) so that a stray ``0`` is
not read as 1970 and a typo such as 2206 is not sent to a platform that answers with nothing useful.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from datetime import date, timedelta
from typing import Any, TypeVar

from pydantic import BeforeValidator

from commerce_mcp.errors import InvalidRequest

T = TypeVar("T")

# Text ----------------------------------------------------------------------------------------------

#: C0/C1 controls (tab and newline included: no SKU, id or address field holds them), zero-width and
#: bidi formatting characters, word joiners and isolates, BOM and interlinear annotation anchors.
_UNSAFE = re.compile(
    "[\u0000-\u001f\u007f-\u009f\u200b-\u200f\u202a-\u202e\u2060-\u2069\ufeff\ufff9-\ufffb]"
)


def unsafe_character(value: str) -> str | None:
    """The first control, bidi or unpaired-surrogate character of ``value`` as a code point
    (e.g. ``U+202E``), or None when there is none."""
    match = _UNSAFE.search(value)
    if match is not None:
        return f"U+{ord(match.group()):04X}"
    for ch in value:
        if unicodedata.category(ch) == "Cs":
            return f"U+{ord(ch):04X}"
    return None


def unsafe_problem(value: str) -> str | None:
    """Why ``value`` cannot be sent upstream (a sentence fragment), or None when it is plain text."""
    found = unsafe_character(value)
    if found is None:
        return None
    return (
        f"contains the invisible control or text-direction character {found}; only visible"
        " characters and spaces are allowed"
    )


def require_plain(value: T) -> T:
    """Validator body: raise ValueError for a string with a control/bidi character (None passes)."""
    if isinstance(value, str):
        problem = unsafe_problem(value)
        if problem:
            raise ValueError(problem)
    return value


def refuse_unsafe_text(**arguments: str | Iterable[str] | None) -> None:
    """Raise InvalidRequest naming the first argument (or list element) with a control/bidi character.

    For tool arguments that are plain strings or lists of strings; call it before any upstream call.
    """
    for name, value in arguments.items():
        if value is None:
            continue
        values = [(name, value)] if isinstance(value, str) else [
            (f"{name}[{i}]", item) for i, item in enumerate(value)
        ]  # fmt: skip
        for where, text in values:
            problem = unsafe_problem(text)
            if problem:
                raise InvalidRequest(
                    f"{where} {problem}",
                    hint="retype the value without hidden characters (copy it from"
                    " list_tiktok_products or get_inventory if unsure)",
                )


# Dates ---------------------------------------------------------------------------------------------

#: Nothing any platform here holds is older (TikTok Shop opened in 2021, MCF in 2006).
EARLIEST_DATE = date(2000, 1, 1)
#: How far ahead a date may reach: enough for an exclusive end date or a planning window.
FUTURE_ALLOWANCE = timedelta(days=366)
_ISO_DAY = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def allowed_dates(today: date) -> str:
    """The allowed date range, in words, for error messages."""
    return f"from {EARLIEST_DATE.isoformat()} to {(today + FUTURE_ALLOWANCE).isoformat()}"


def check_date(name: str, value: date, today: date, given: str | None = None) -> None:
    """Raise InvalidRequest when ``value`` lies outside EARLIEST_DATE .. today + FUTURE_ALLOWANCE.

    ``given`` is the argument as the caller wrote it (e.g. "9999d"), when that differs from the date.
    """
    if EARLIEST_DATE <= value <= today + FUTURE_ALLOWANCE:
        return
    shown = f"{given[:30]} ({value.isoformat()})" if given else value.isoformat()
    raise InvalidRequest(
        f"{name}={shown} is out of range: dates must be {allowed_dates(today)}"
        " (about a year ahead at most)",
        hint=f"pass {name} as YYYY-MM-DD within that range, or omit it for the default",
    )


def _iso_day(value: Any) -> Any:
    """Accept a date or a YYYY-MM-DD string only: pydantic would read 0 or "0" as 1970-01-01."""
    if value is None or isinstance(value, date):
        return value
    if isinstance(value, str) and _ISO_DAY.match(value.strip()):
        return value.strip()
    raise ValueError(
        f"expected a date as YYYY-MM-DD from {EARLIEST_DATE.isoformat()} to about a year from"
        f" today, got {str(value)[:20]!r}"
    )


#: Add to an ``Annotated[date | None, ...]`` argument: only ISO dates, never numbers read as epochs.
IsoDay = BeforeValidator(_iso_day)
