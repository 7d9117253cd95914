"""API keys while the state store is down: no key is accepted unchecked, not even a recent one."""

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


async def test_no_key_is_accepted_while_the_store_cannot_say_whether_it_was_revoked() -> None:
    store = FlakyStore()
    here, elsewhere = ApiKeys(store), ApiKeys(store)  # two replicas sharing the store
    key = await here.issue("seller")
    assert await here.authenticate(key) is not None
    await elsewhere.revoke(key)  # revoked on another replica just before the outage
    store.down = True
    with pytest.raises(StateStoreUnavailable):
        await here.authenticate(key)
    store.down = False
    assert await here.authenticate(key) is None
