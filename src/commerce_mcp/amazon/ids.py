"""Seller fulfillment order ids: the only idempotency handle MCF has, so they must be safe and stable.

Amazon has no idempotency header for createFulfillmentOrder; the ``sellerFulfillmentOrderId`` *is* the
handle. Ids are kept to ``[A-Za-z0-9_-]`` because a ``+`` comes back as a space and a double space is
answered with FORBIDDEN upstream.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping
from typing import Any

MAX_ORDER_ID_LENGTH = 40
ORDER_ID_PATTERN = re.compile(r"^[A-Za-z0-9_-]{1,40}$")
_UNSAFE = re.compile(r"[^A-Za-z0-9-]+")
_DIGEST_LENGTH = 10


def order_id_problem(value: object) -> str | None:
    """Why ``value`` cannot be a sellerFulfillmentOrderId, or None when it can."""
    if not isinstance(value, str):
        return "must be a string"
    if not value:
        return "must not be empty"
    if len(value) > MAX_ORDER_ID_LENGTH:
        return f"must be at most {MAX_ORDER_ID_LENGTH} characters (got {len(value)})"
    if not ORDER_ID_PATTERN.match(value):
        return "may only contain letters A-Z/a-z, digits, '-' and '_'"
    return None


def deterministic_order_id(prefix: str, source_id: str) -> str:
    """A stable, Amazon-safe order id for ``source_id`` (e.g. ``tts-<tiktok order id>``).

    The same inputs always give the same id. When the raw ``prefix-source_id`` is already safe and fits in
    40 characters it is used as is; otherwise unsafe characters are replaced and a short digest of the
    original is appended, so two different sources never collapse onto one id.
    """
    if not source_id:
        raise ValueError("source_id must not be empty")
    raw = f"{prefix}-{source_id}" if prefix else source_id
    if ORDER_ID_PATTERN.match(raw) and "_" not in raw:
        return raw
    digest = hashlib.sha256(raw.encode("utf-8")).hexdigest()[:_DIGEST_LENGTH]
    cleaned = _UNSAFE.sub("-", raw).strip("-") or "order"
    room = MAX_ORDER_ID_LENGTH - _DIGEST_LENGTH - 1
    return f"{cleaned[:room].rstrip('-')}-{digest}"


def derive_order_id(payload: Mapping[str, Any]) -> str:
    """A stable id for a direct create's payload, so the same request never creates two orders.

    The intent ledger keys on this id (and hashes the same canonical payload), so the derivation lives
    with the other order-id rules rather than in a tool.
    """
    canonical = json.dumps(payload, sort_keys=True, separators=(",", ":"), default=str)
    return deterministic_order_id("cmcp", hashlib.sha256(canonical.encode()).hexdigest()[:20])
