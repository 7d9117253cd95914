"""The order-intent ledger: what we meant to create, recorded before the first byte is sent.

An intent is PENDING from before the first create request until we know the outcome: CREATED (with
the
platform's answer) or FAILED (the platform definitely did not create it). A PENDING intent found
later
means "the outcome is unknown; reconcile before sending anything".
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass, replace
from enum import StrEnum
from typing import Any

from commerce_mcp.resilience.clock import Clock, SystemClock
from commerce_mcp.store.base import Document, StateStore

NAMESPACE = "order_intents"
_CAS_ROUNDS = 8


def payload_hash(payload: Mapping[str, Any]) -> str:
    """A stable hash of a request payload: same content, any key order, same hash."""
    canonical = json.dumps(
        payload, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str
    )
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


class IntentStatus(StrEnum):
    PENDING = "pending"
    CREATED = "created"
    FAILED = "failed"


@dataclass(frozen=True)
class Intent:
    """One recorded intent to create something under an idempotency ``key``."""

    key: str
    payload_hash: str
    status: IntentStatus
    created_at: float
    updated_at: float
    result: dict[str, Any] | None = None
    reconciled: bool = False
    error: str | None = None
    attempts: int = 0

    def to_document(self) -> Document:
        return {
            "key": self.key,
            "payload_hash": self.payload_hash,
            "status": self.status.value,
            "created_at": self.created_at,
            "updated_at": self.updated_at,
            "result": self.result,
            "reconciled": self.reconciled,
            "error": self.error,
            "attempts": self.attempts,
        }

    @classmethod
    def from_document(cls, doc: Document) -> Intent:
        return cls(
            key=str(doc["key"]),
            payload_hash=str(doc["payload_hash"]),
            status=IntentStatus(doc["status"]),
            created_at=float(doc["created_at"]),
            updated_at=float(doc["updated_at"]),
            result=doc.get("result"),
            reconciled=bool(doc.get("reconciled", False)),
            error=doc.get("error"),
            attempts=int(doc.get("attempts", 0)),
        )


class IntentConflict(Exception):
    """The intent changed under us (another process); the caller should re-read and decide again."""


class IntentLedger:
    """Intent records in a :class:`~commerce_mcp.store.base.StateStore`."""

    def __init__(
        self, store: StateStore, clock: Clock | None = None, *, namespace: str = NAMESPACE
    ) -> None:
        self._store = store
        self._clock = clock or SystemClock()
        self._namespace = namespace

    async def get(self, key: str) -> Intent | None:
        """The intent recorded under ``key``, if any."""
        doc = await self._store.get(self._namespace, key)
        return Intent.from_document(doc) if doc is not None else None

    async def begin(self, key: str, hash_: str) -> tuple[Intent, bool]:
        """Record a PENDING intent unless one exists; returns (intent, whether we created it)."""
        now = self._clock.wall()
        fresh = Intent(key, hash_, IntentStatus.PENDING, created_at=now, updated_at=now)
        existing = await self._store.put_if_absent(self._namespace, key, fresh.to_document())
        if existing is None:
            return fresh, True
        return Intent.from_document(existing), False

    async def restart(self, intent: Intent, hash_: str) -> Intent:
        """Turn a FAILED intent back into PENDING (possibly with a corrected payload).

        Raises :class:`IntentConflict` if someone else changed it first.
        """
        if intent.status is not IntentStatus.FAILED:
            raise ValueError("only a failed intent can be restarted")
        renewed = replace(
            intent,
            payload_hash=hash_,
            status=IntentStatus.PENDING,
            updated_at=self._clock.wall(),
            error=None,
            result=None,
            reconciled=False,
        )
        if not await self._store.compare_and_put(
            self._namespace, intent.key, intent.to_document(), renewed.to_document()
        ):
            raise IntentConflict(intent.key)
        return renewed

    async def note_attempt(self, key: str) -> Intent:
        """Count one create request about to be sent (kept for diagnosis)."""
        return await self._update(key, lambda intent: replace(intent, attempts=intent.attempts + 1))

    async def mark_created(
        self, key: str, result: dict[str, Any], *, reconciled: bool = False
    ) -> Intent:
        """The platform has the object: store its answer for replays."""
        return await self._update(
            key,
            lambda intent: replace(
                intent,
                status=IntentStatus.CREATED,
                result=dict(result),
                reconciled=reconciled,
                error=None,
            ),
        )

    async def mark_failed(self, key: str, error: str) -> Intent:
        """The platform definitely did not create it (rejected, or never reached)."""
        return await self._update(
            key, lambda intent: replace(intent, status=IntentStatus.FAILED, error=error[:500])
        )

    async def pending(self) -> list[Intent]:
        """Every intent whose outcome is still unknown (for a status tool or a reconciler)."""
        docs = await self._store.list(self._namespace)
        intents = [Intent.from_document(doc) for _, doc in docs]
        return [intent for intent in intents if intent.status is IntentStatus.PENDING]

    async def _update(self, key: str, change: Any) -> Intent:
        for _ in range(_CAS_ROUNDS):
            doc = await self._store.get(self._namespace, key)
            if doc is None:
                raise KeyError(key)
            updated: Intent = change(Intent.from_document(doc))
            updated = replace(updated, updated_at=self._clock.wall())
            if await self._store.compare_and_put(self._namespace, key, doc, updated.to_document()):
                return updated
        raise IntentConflict(key)
