"""Saved OAuth tokens per platform and account."""

from __future__ import annotations

from pathlib import Path

import pytest

from commerce_mcp.store.memory import MemoryStore
from commerce_mcp.store.sqlite import SqliteStore
from commerce_mcp.store.tokens import TokenStore


@pytest.mark.anyio
async def test_tokens_are_saved_per_platform_and_account_and_rotation_replaces_them(
    tmp_path: Path,
) -> None:
    store = SqliteStore.open(tmp_path / "state.sqlite3")
    tokens = TokenStore(store)
    assert await tokens.load("tiktok", "shop-1") is None
    await tokens.save("tiktok", "shop-1", {"access_token": "a1", "refresh_token": "r1"})
    await tokens.save("tiktok", "shop-2", {"access_token": "b1", "refresh_token": "s1"})
    await tokens.save("tiktok", "shop-1", {"access_token": "a2", "refresh_token": "r2"})
    assert await tokens.load("tiktok", "shop-1") == {"access_token": "a2", "refresh_token": "r2"}
    assert await tokens.load("tiktok", "shop-2") == {"access_token": "b1", "refresh_token": "s1"}
    assert await tokens.load("amazon", "shop-1") is None
    await tokens.forget("tiktok", "shop-1")
    assert await tokens.load("tiktok", "shop-1") is None
    await store.close()


@pytest.mark.anyio
async def test_token_store_works_on_any_state_store() -> None:
    tokens = TokenStore(MemoryStore())
    await tokens.save("amazon", "seller", {"refresh_token": "Atzr|x"})
    assert await tokens.load("amazon", "seller") == {"refresh_token": "Atzr|x"}
