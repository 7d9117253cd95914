"""An in-process store for tests and throw-away sessions (sandbox mode)."""

from __future__ import annotations

import copy
import json

from commerce_mcp.store.base import Document


def _snapshot(value: Document) -> Document:
    # Round-trip through JSON so callers get the same guarantees (and failures) as a real store.
    loaded: Document = json.loads(json.dumps(value))
    return loaded


class MemoryStore:
    """A :class:`~commerce_mcp.store.base.StateStore` in a dict, private to one process."""

    def __init__(self) -> None:
        self._data: dict[tuple[str, str], Document] = {}
        self.closed = False

    async def get(self, namespace: str, key: str) -> Document | None:
        value = self._data.get((namespace, key))
        return copy.deepcopy(value) if value is not None else None

    async def put(self, namespace: str, key: str, value: Document) -> None:
        self._data[(namespace, key)] = _snapshot(value)

    async def put_if_absent(self, namespace: str, key: str, value: Document) -> Document | None:
        existing = self._data.get((namespace, key))
        if existing is not None:
            return copy.deepcopy(existing)
        self._data[(namespace, key)] = _snapshot(value)
        return None

    async def compare_and_put(
        self, namespace: str, key: str, expected: Document | None, value: Document
    ) -> bool:
        if self._data.get((namespace, key)) != expected:
            return False
        self._data[(namespace, key)] = _snapshot(value)
        return True

    async def delete(self, namespace: str, key: str) -> None:
        self._data.pop((namespace, key), None)

    async def list(self, namespace: str, prefix: str = "") -> list[tuple[str, Document]]:
        return sorted(
            (key, copy.deepcopy(value))
            for (space, key), value in self._data.items()
            if space == namespace and key.startswith(prefix)
        )

    async def close(self) -> None:
        self.closed = True
