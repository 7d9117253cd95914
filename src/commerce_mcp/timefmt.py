"""Times as the model reads them: UTC ISO 8601 with a ``Z``, one format for every tool."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Literal


def iso_utc(
    value: datetime | float | None, timespec: Literal["minutes", "seconds"] = "minutes"
) -> str | None:
    """``value`` (a datetime, or epoch seconds) as e.g. ``2026-01-31T08:00Z``; None or 0 gives None."""
    if value is None or (not isinstance(value, datetime) and not value):
        return None
    moment = (
        value.astimezone(UTC) if isinstance(value, datetime) else datetime.fromtimestamp(value, UTC)
    )
    return moment.isoformat(timespec=timespec).replace("+00:00", "Z")
