"""One tenant's view of a shared state store: every namespace is prefixed with the tenant.

Tokens, the order-intent ledger, cross-channel links and confirmation claims all live in namespaces,
so keying the namespace keys all of them: tenant A's code cannot name tenant B's documents.
"""

from __future__ import annotations

from commerce_mcp.store.base import Document, StateStore


class PrefixedStore:
    """A :class:`StateStore` whose namespaces are ``tenant/<name>/<namespace>`` in ``inner``."""

    def __init__(self, inner: StateStore, tenant: str) -> None:
        if not tenant or "/" in tenant:
            raise ValueError("a tenant name must be non-empty and contain no '/'")
        self._inner = inner
        self._prefix = f"tenant/{tenant}/"

    @property
    def inner(self) -> StateStore:
        """The shared store this view writes into (rate-limit buckets are shared across tenants)."""
        return self._inner

    @property
    def prefix(self) -> str:
        """The namespace prefix of this view (``tenant/<name>/``)."""
        return self._prefix

    def _ns(self, namespace: str) -> str:
        return self._prefix + namespace

    async def get(self, namespace: str, key: str) -> Document | None:
        return await self._inner.get(self._ns(namespace), key)

    async def put(self, namespace: str, key: str, value: Document) -> None:
        await self._inner.put(self._ns(namespace), key, value)

    async def put_if_absent(self, namespace: str, key: str, value: Document) -> Document | None:
        return await self._inner.put_if_absent(self._ns(namespace), key, value)

    async def compare_and_put(
        self, namespace: str, key: str, expected: Document | None, value: Document
    ) -> bool:
        return await self._inner.compare_and_put(self._ns(namespace), key, expected, value)

    async def delete(self, namespace: str, key: str) -> None:
        await self._inner.delete(self._ns(namespace), key)

    async def list(self, namespace: str, prefix: str = "") -> list[tuple[str, Document]]:
        return await self._inner.list(self._ns(namespace), prefix)

    async def close(self) -> None:
        """The shared store outlives any one tenant: closing a view closes nothing."""
