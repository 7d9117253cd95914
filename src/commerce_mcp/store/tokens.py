"""OAuth tokens per (platform, account), including refresh tokens a platform rotates."""

from __future__ import annotations

import hashlib

from commerce_mcp.store.base import Document, StateStore

NAMESPACE = "oauth_tokens"


def fingerprint(*secrets: str) -> str:
    """A short, non-reversible tag for one or more secrets (joined by newlines), to record which
    credentials a stored document came from without storing them twice."""
    return hashlib.sha256("\n".join(secrets).encode()).hexdigest()[:16]


class TokenStore:
    """One token document per (platform, account); each save replaces it atomically."""

    def __init__(self, store: StateStore) -> None:
        self._store = store

    @staticmethod
    def _key(platform: str, account: str) -> str:
        return f"{platform}:{account}"

    async def load(self, platform: str, account: str) -> Document | None:
        """The saved tokens, or None if this account never authorized."""
        return await self._store.get(NAMESPACE, self._key(platform, account))

    async def save(self, platform: str, account: str, tokens: Document) -> None:
        """Replace the saved tokens in one write, so a crash never leaves half a rotation behind."""
        await self._store.put(NAMESPACE, self._key(platform, account), tokens)

    async def replace(
        self, platform: str, account: str, expected: Document | None, tokens: Document
    ) -> bool:
        """Save ``tokens`` only if the saved document is still ``expected``; False if it changed."""
        return await self._store.compare_and_put(
            NAMESPACE, self._key(platform, account), expected, tokens
        )

    async def forget(self, platform: str, account: str) -> None:
        """Remove the saved tokens (the seller revoked access or re-authorizes from scratch)."""
        await self._store.delete(NAMESPACE, self._key(platform, account))
