"""The state store interface: namespaced JSON documents, small enough to implement on Redis too."""

from __future__ import annotations

from typing import Any, Protocol, runtime_checkable

Document = dict[str, Any]


@runtime_checkable
class StateStore(Protocol):
    """Namespaced JSON documents with the two atomic writes the ledger and token store need."""

    async def get(self, namespace: str, key: str) -> Document | None:
        """The document, or None when absent."""
        ...

    async def put(self, namespace: str, key: str, value: Document) -> None:
        """Write the document, replacing any previous one, atomically."""
        ...

    async def put_if_absent(self, namespace: str, key: str, value: Document) -> Document | None:
        """Write if absent and return None; if present, write nothing and return what is there.

        Atomic across processes sharing the store: of two concurrent callers exactly one writes.
        """
        ...

    async def compare_and_put(
        self, namespace: str, key: str, expected: Document | None, value: Document
    ) -> bool:
        """Write ``value`` only if the current document equals ``expected`` (None: absent)."""
        ...

    async def delete(self, namespace: str, key: str) -> None:
        """Remove the document if present."""
        ...

    async def list(self, namespace: str, prefix: str = "") -> list[tuple[str, Document]]:
        """All (key, document) pairs whose key starts with ``prefix``, sorted by key."""
        ...

    async def close(self) -> None:
        """Release connections; the store is unusable afterwards."""
        ...
