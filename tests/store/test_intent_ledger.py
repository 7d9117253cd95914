"""The order-intent ledger."""

from __future__ import annotations

from pathlib import Path

import pytest

from commerce_mcp.resilience.testing import VirtualClock
from commerce_mcp.store.ledger import (
    IntentConflict,
    IntentLedger,
    IntentStatus,
    payload_hash,
)
from commerce_mcp.store.memory import MemoryStore
from commerce_mcp.store.sqlite import SqliteStore


def test_payload_hash_ignores_key_order_but_not_content() -> None:
    a = {"sku": "X", "qty": 1, "address": {"city": "Austin", "zip": "78701"}}
    b = {"address": {"zip": "78701", "city": "Austin"}, "qty": 1, "sku": "X"}
    assert payload_hash(a) == payload_hash(b)
    assert payload_hash(a) != payload_hash({**a, "qty": 2})


@pytest.mark.anyio
async def test_begin_records_a_pending_intent_once(tmp_path: Path) -> None:
    clock = VirtualClock(wall_start=1000.0)
    ledger = IntentLedger(SqliteStore.open(tmp_path / "s.sqlite3"), clock)
    intent, started = await ledger.begin("tts-1", "h1")
    assert started
    assert intent.status is IntentStatus.PENDING
    assert intent.created_at == 1000.0
    again, started_again = await ledger.begin("tts-1", "h2")
    assert not started_again
    assert again.payload_hash == "h1"
    assert [i.key for i in await ledger.pending()] == ["tts-1"]


@pytest.mark.anyio
async def test_created_intents_keep_their_result_and_leave_the_pending_list() -> None:
    clock = VirtualClock()
    ledger = IntentLedger(MemoryStore(), clock)
    await ledger.begin("k", "h")
    await ledger.note_attempt("k")
    clock.advance(3)
    done = await ledger.mark_created("k", {"id": "k"}, reconciled=True)
    assert done.status is IntentStatus.CREATED
    assert done.reconciled
    assert done.attempts == 1
    assert done.updated_at - done.created_at == 3
    assert await ledger.get("k") == done
    assert await ledger.pending() == []


@pytest.mark.anyio
async def test_only_a_failed_intent_can_restart_and_only_once() -> None:
    ledger = IntentLedger(MemoryStore(), VirtualClock())
    intent, _ = await ledger.begin("k", "h1")
    with pytest.raises(ValueError, match="failed"):
        await ledger.restart(intent, "h2")
    failed = await ledger.mark_failed("k", "InvalidInput: bad address")
    restarted = await ledger.restart(failed, "h2")
    assert restarted.status is IntentStatus.PENDING
    assert restarted.payload_hash == "h2"
    assert restarted.error is None
    with pytest.raises(IntentConflict):
        await ledger.restart(failed, "h3")


@pytest.mark.anyio
async def test_updating_an_unknown_intent_is_an_error() -> None:
    ledger = IntentLedger(MemoryStore(), VirtualClock())
    with pytest.raises(KeyError):
        await ledger.mark_created("missing", {})
