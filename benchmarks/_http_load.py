"""A load generator that costs next to nothing: JSON-RPC ``tools/call`` over raw HTTP/1.1 keep-alive.

The scale-out benchmark measures replicas, so the process sending the calls must not compete with
them for the machine's few cores. httpx spent ~2.4 ms of CPU per call (request building, header
models, its connection pool, response decoding); this client writes bytes encoded once per
(replica, tool, arguments) and reads the answer by HTTP framing (``Content-Length`` or chunked),
then still checks that the answer is a successful JSON-RPC result, with the tests' own parser.

Only what the replicas send is understood: HTTP/1.1, a status line, headers, then a body framed by
``Content-Length`` or ``Transfer-Encoding: chunked``. Anything else is an error, not a guess.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

IDLE_REOPEN_SECONDS = 4.0
"""uvicorn closes a keep-alive connection idle for 5 s; one idle for 4 s is reopened instead of
reused, so a request never races the server's close."""


class _Connection:
    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader = reader
        self.writer = writer
        self.used = time.monotonic()

    def close(self) -> None:
        self.writer.close()


class KeepAliveCaller:
    """``tools/call`` requests to replicas over pooled keep-alive connections, one pool per replica.

    ``check(content_type, body)`` returns the JSON-RPC answer in a response body (the tests'
    :func:`tests.support.http.jsonrpc_answer_in`); a call fails unless it is a result without
    ``isError``.
    """

    def __init__(self, key: str, check: Callable[[str, str], dict[str, Any]]) -> None:
        self._key = key
        self._check = check
        self._idle: dict[str, list[_Connection]] = {}
        self._encoded: dict[tuple[str, str, str], bytes] = {}

    def _request(self, url: str, name: str, arguments: dict[str, Any]) -> bytes:
        # Stateless server, one call per request: the same id every time is a valid request.
        arguments_text = json.dumps(arguments, sort_keys=True)
        cache_key = (url, name, arguments_text)
        encoded = self._encoded.get(cache_key)
        if encoded is None:
            parts = urlsplit(url)
            body = json.dumps(
                {
                    "jsonrpc": "2.0",
                    "id": 1,
                    "method": "tools/call",
                    "params": {"name": name, "arguments": arguments},
                },
                separators=(",", ":"),
            ).encode()
            head = (
                f"POST /mcp HTTP/1.1\r\nhost: {parts.netloc}\r\n"
                f"authorization: Bearer {self._key}\r\n"
                "accept: application/json, text/event-stream\r\n"
                f"content-type: application/json\r\ncontent-length: {len(body)}\r\n\r\n"
            )
            encoded = self._encoded[cache_key] = head.encode() + body
        return encoded

    async def _connection(self, url: str) -> _Connection:
        idle = self._idle.setdefault(url, [])
        while idle:
            connection = idle.pop()
            if time.monotonic() - connection.used < IDLE_REOPEN_SECONDS:
                return connection
            connection.close()
        parts = urlsplit(url)
        reader, writer = await asyncio.open_connection(parts.hostname, parts.port)
        return _Connection(reader, writer)

    async def call(self, url: str, name: str, arguments: dict[str, Any]) -> None:
        connection = await self._connection(url)
        try:
            connection.writer.write(self._request(url, name, arguments))
            status, content_type, body, keep = await _read_response(connection.reader)
        except BaseException:
            connection.close()
            raise
        if keep:
            connection.used = time.monotonic()
            self._idle[url].append(connection)
        else:
            connection.close()
        text = body.decode()
        try:
            answer = self._check(content_type, text)
        except (AssertionError, ValueError) as exc:
            raise RuntimeError(f"{name} on {url}: HTTP {status}, unreadable answer: {exc}") from exc
        result = answer.get("result") or {}
        if status != 200 or "error" in answer or result.get("isError"):
            raise RuntimeError(f"{name} on {url} failed (HTTP {status}): {str(answer)[:300]}")

    async def aclose(self) -> None:
        for connections in self._idle.values():
            for connection in connections:
                connection.close()
        self._idle.clear()


async def _read_response(reader: asyncio.StreamReader) -> tuple[int, str, bytes, bool]:
    """(status, content type, body, whether the connection may be reused) of one HTTP/1.1 response."""
    head = await reader.readuntil(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    version, status, *_ = lines[0].split(" ", 2)
    if not version.startswith("HTTP/1."):
        raise RuntimeError(f"not an HTTP/1.x response: {lines[0][:80]!r}")
    headers: dict[str, str] = {}
    for line in lines[1:]:
        if line:
            field, _, value = line.partition(":")
            headers[field.strip().lower()] = value.strip()
    keep = headers.get("connection", "").lower() != "close" and version == "HTTP/1.1"
    if "content-length" in headers:
        body = await reader.readexactly(int(headers["content-length"]))
    elif headers.get("transfer-encoding", "").lower() == "chunked":
        chunks = []
        while True:
            size = int((await reader.readline()).split(b";", 1)[0], 16)
            if size == 0:
                # Trailers (none expected) end with an empty line.
                while (await reader.readline()) not in (b"\r\n", b"\n", b""):
                    pass
                break
            chunks.append((await reader.readexactly(size + 2))[:-2])
        body = b"".join(chunks)
    else:
        raise RuntimeError("response has neither Content-Length nor chunked framing")
    return int(status), headers.get("content-type", ""), body, keep
