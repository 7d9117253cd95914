"""API keys while the state store is down: a recently verified key still reaches its tool."""

from __future__ import annotations

from typing import Any

import pytest

from commerce_mcp.errors import StateStoreUnavailable
from commerce_mcp.hosting.api_keys import ApiKeys
from commerce_mcp.store.memory import MemoryStore

pytestmark = pytest.mark.anyio


class FlakyStore(MemoryStore):
    down = False

    async def get(self, namespace: str, key: str) -> Any:
        if self.down:
            raise StateStoreUnavailable("state store unavailable: Redis did not answer")
        return await super().get(namespace, key)


async def test_a_key_verified_before_an_outage_is_honoured_during_it_and_no_other_key_is() -> None:
    store = FlakyStore()
    keys = ApiKeys(store)
    known, unseen = await keys.issue("seller"), await keys.issue("other")
    assert (await keys.authenticate(known)) is not None
    store.down = True
    during = await keys.authenticate(known)
    assert during is not None and during.tenant == "seller"
    with pytest.raises(StateStoreUnavailable):
        await keys.authenticate(unseen)  # never verified here: the outage is the answer
    with pytest.raises(StateStoreUnavailable):
        await keys.authenticate(known[:-1] + ("A" if known[-1] != "A" else "B"))  # a forgery


async def test_a_key_revoked_and_seen_revoked_is_not_honoured_during_an_outage() -> None:
    store = FlakyStore()
    keys = ApiKeys(store)
    key = await keys.issue("seller")
    assert await keys.authenticate(key) is not None
    await keys.revoke(key)
    assert await keys.authenticate(key) is None
    store.down = True
    with pytest.raises(StateStoreUnavailable):
        await keys.authenticate(key)
