"""The default state store: one private SQLite file, shared safely by several processes.

WAL mode lets readers proceed while one process writes; ``busy_timeout`` makes a second writer wait
for the lock instead of failing; the conditional writes run in ``BEGIN IMMEDIATE`` transactions, so
the read-check-write is atomic across processes. Calls run in a worker thread to keep the event loop
free.
"""

from __future__ import annotations

import asyncio
import json
import os
import sqlite3
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TypeVar

from commerce_mcp.store.base import Document

T = TypeVar("T")

BUSY_TIMEOUT_MS = 10_000
_SCHEMA = """
CREATE TABLE IF NOT EXISTS documents (
    namespace TEXT NOT NULL,
    key TEXT NOT NULL,
    value TEXT NOT NULL,
    PRIMARY KEY (namespace, key)
) WITHOUT ROWID
"""


def _encode(value: Document) -> str:
    return json.dumps(value, separators=(",", ":"), sort_keys=True, allow_nan=False)


def _decode(text: str) -> Document:
    value: Document = json.loads(text)
    return value


def _create_private_file(path: Path) -> None:
    """Create the directory (0700, if we create it) and the file (0600) before SQLite opens it."""
    if not path.parent.exists():
        path.parent.mkdir(parents=True, mode=0o700)
        os.chmod(path.parent, 0o700)  # mkdir's mode is filtered by the umask
    descriptor = os.open(path, os.O_CREAT | os.O_RDWR, 0o600)
    os.close(descriptor)
    os.chmod(path, 0o600)


class SqliteStore:
    """A :class:`~commerce_mcp.store.base.StateStore` in a SQLite file."""

    def __init__(self, connection: sqlite3.Connection, path: Path) -> None:
        self._connection = connection
        self._lock = threading.Lock()
        self.path = path

    @classmethod
    def open(cls, path: Path) -> SqliteStore:
        """Open (creating if needed) the store at ``path``; the file is private to this user."""
        path = Path(path)
        _create_private_file(path)
        connection = sqlite3.connect(
            path, timeout=BUSY_TIMEOUT_MS / 1000, isolation_level=None, check_same_thread=False
        )
        connection.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        connection.execute("PRAGMA journal_mode = WAL")
        connection.execute("PRAGMA synchronous = NORMAL")
        connection.execute(_SCHEMA)
        return cls(connection, path)

    async def _run(self, work: Callable[[sqlite3.Connection], T]) -> T:
        def locked() -> T:
            with self._lock:
                return work(self._connection)

        return await asyncio.to_thread(locked)

    async def get(self, namespace: str, key: str) -> Document | None:
        def work(db: sqlite3.Connection) -> Document | None:
            return _read(db, namespace, key)

        return await self._run(work)

    async def put(self, namespace: str, key: str, value: Document) -> None:
        text = _encode(value)

        def work(db: sqlite3.Connection) -> None:
            db.execute(
                "INSERT INTO documents (namespace, key, value) VALUES (?, ?, ?) "
                "ON CONFLICT (namespace, key) DO UPDATE SET value = excluded.value",
                (namespace, key, text),
            )

        await self._run(work)

    async def put_if_absent(self, namespace: str, key: str, value: Document) -> Document | None:
        text = _encode(value)

        def work(db: sqlite3.Connection) -> Document | None:
            with _immediate(db):
                existing = _read(db, namespace, key)
                if existing is None:
                    db.execute(
                        "INSERT INTO documents (namespace, key, value) VALUES (?, ?, ?)",
                        (namespace, key, text),
                    )
                return existing

        return await self._run(work)

    async def compare_and_put(
        self, namespace: str, key: str, expected: Document | None, value: Document
    ) -> bool:
        text = _encode(value)

        def work(db: sqlite3.Connection) -> bool:
            with _immediate(db):
                if _read(db, namespace, key) != expected:
                    return False
                db.execute(
                    "INSERT INTO documents (namespace, key, value) VALUES (?, ?, ?) "
                    "ON CONFLICT (namespace, key) DO UPDATE SET value = excluded.value",
                    (namespace, key, text),
                )
                return True

        return await self._run(work)

    async def delete(self, namespace: str, key: str) -> None:
        def work(db: sqlite3.Connection) -> None:
            db.execute("DELETE FROM documents WHERE namespace = ? AND key = ?", (namespace, key))

        await self._run(work)

    async def list(self, namespace: str, prefix: str = "") -> list[tuple[str, Document]]:
        def work(db: sqlite3.Connection) -> list[tuple[str, Document]]:
            rows = db.execute(
                "SELECT key, value FROM documents WHERE namespace = ? AND substr(key, 1, ?) = ? "
                "ORDER BY key",
                (namespace, len(prefix), prefix),
            ).fetchall()
            return [(str(key), _decode(text)) for key, text in rows]

        return await self._run(work)

    async def close(self) -> None:
        def work(db: sqlite3.Connection) -> None:
            db.close()

        await self._run(work)


def _read(db: sqlite3.Connection, namespace: str, key: str) -> Document | None:
    row = db.execute(
        "SELECT value FROM documents WHERE namespace = ? AND key = ?", (namespace, key)
    ).fetchone()
    return _decode(row[0]) if row is not None else None


@contextmanager
def _immediate(db: sqlite3.Connection) -> Iterator[None]:
    """A write transaction that takes the write lock up front, so two writers never deadlock."""
    db.execute("BEGIN IMMEDIATE")
    try:
        yield
    except BaseException:
        db.execute("ROLLBACK")
        raise
    db.execute("COMMIT")
