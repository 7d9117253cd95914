"""A scripted stand-in for the Anthropic Messages API, served on loopback for the agent's tests.

anthropic 2.x talks through httpx2, which respx cannot intercept, so the SDK has to reach a real socket:
this serves a tiny Starlette app with uvicorn on 127.0.0.1 in a background thread. Each POST to
``/v1/messages`` records the request body and answers with the next scripted turn: one JSON message, or,
when the request asks for ``"stream": true``, the same message as server-sent events, text cut into
word-sized deltas the way the real API sends it.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import re
import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

_ids = itertools.count(1)


def tool_use(name: str, arguments: dict[str, Any] | None = None) -> dict[str, Any]:
    """A tool_use content block with a fresh id."""
    return {
        "type": "tool_use",
        "id": f"toolu_{next(_ids):04d}",
        "name": name,
        "input": arguments or {},
    }


def text(value: str) -> dict[str, Any]:
    """A text content block."""
    return {"type": "text", "text": value}


@dataclass(frozen=True)
class Turn:
    """One scripted reply: content blocks, or an HTTP error when ``status`` is not 200."""

    content: list[dict[str, Any]] = field(default_factory=list)
    status: int = 200
    error_type: str = "api_error"
    error_message: str = ""

    @property
    def stop_reason(self) -> str:
        return (
            "tool_use" if any(block["type"] == "tool_use" for block in self.content) else "end_turn"
        )


def calls(*blocks: dict[str, Any]) -> Turn:
    """A reply asking for the given tool calls."""
    return Turn(content=list(blocks))


def answer(value: str) -> Turn:
    """A final reply with text only."""
    return Turn(content=[text(value)])


def failure(status: int, error_type: str, message: str) -> Turn:
    """A reply that is an API error (the SDK does not retry 4xx other than 408/409/429)."""
    return Turn(status=status, error_type=error_type, error_message=message)


@dataclass
class FakeAnthropic:
    """The running fake: its base URL, the remaining script, and every request body it received."""

    script: list[Turn]
    url: str = ""
    requests: list[dict[str, Any]] = field(default_factory=list)
    headers: list[dict[str, str]] = field(default_factory=list)

    def tool_results(self, request_index: int = -1) -> list[dict[str, Any]]:
        """The tool_result blocks of the last user message of one request."""
        last = self.requests[request_index]["messages"][-1]
        assert last["role"] == "user"
        return [block for block in last["content"] if block.get("type") == "tool_result"]

    async def _messages(self, request: Request) -> Response:
        body = await request.json()
        self.requests.append(body)
        self.headers.append(dict(request.headers))
        if not self.script:
            return _error(400, "invalid_request_error", "fake script exhausted: no more turns")
        turn = self.script.pop(0)
        if turn.status != 200:
            return _error(turn.status, turn.error_type, turn.error_message)
        message = {
            "id": f"msg_{len(self.requests):04d}",
            "type": "message",
            "role": "assistant",
            "model": body.get("model", "unknown"),
            "content": turn.content,
            "stop_reason": turn.stop_reason,
            "stop_sequence": None,
            "usage": {"input_tokens": 10, "output_tokens": 5},
        }
        if body.get("stream"):
            events = "".join(_sse(name, data) for name, data in _stream_events(message))
            return StreamingResponse(iter([events]), media_type="text/event-stream")
        return JSONResponse(message)


def text_deltas(value: str) -> list[str]:
    """How the fake cuts a text block into stream deltas: a word and the space after it."""
    return re.findall(r"\S+\s*|\s+", value)


def _stream_events(message: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
    """The Messages streaming protocol for one complete message."""
    start = {**message, "content": [], "stop_reason": None}
    yield "message_start", {"type": "message_start", "message": start}
    for index, block in enumerate(message["content"]):
        if block["type"] == "text":
            opened = {"type": "text", "text": ""}
            deltas = [{"type": "text_delta", "text": part} for part in text_deltas(block["text"])]
        else:
            opened = {**block, "input": {}}
            deltas = [{"type": "input_json_delta", "partial_json": json.dumps(block["input"])}]
        yield (
            "content_block_start",
            {
                "type": "content_block_start",
                "index": index,
                "content_block": opened,
            },
        )
        for delta in deltas:
            yield (
                "content_block_delta",
                {"type": "content_block_delta", "index": index, "delta": delta},
            )
        yield "content_block_stop", {"type": "content_block_stop", "index": index}
    yield (
        "message_delta",
        {
            "type": "message_delta",
            "delta": {"stop_reason": message["stop_reason"], "stop_sequence": None},
            "usage": {"output_tokens": 5},
        },
    )
    yield "message_stop", {"type": "message_stop"}


def _sse(event: str, data: dict[str, Any]) -> str:
    return f"event: {event}\ndata: {json.dumps(data)}\n\n"


def _error(status: int, error_type: str, message: str) -> JSONResponse:
    return JSONResponse(
        {"type": "error", "error": {"type": error_type, "message": message}}, status_code=status
    )


@contextmanager
def serve_fake_anthropic(script: list[Turn]) -> Iterator[FakeAnthropic]:
    """Serve the scripted API on 127.0.0.1 for the duration of the block."""
    fake = FakeAnthropic(script=list(script))
    app = Starlette(routes=[Route("/v1/messages", fake._messages, methods=["POST"])])
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    # Listening before uvicorn starts means early connections wait in the backlog: no readiness polling.
    sock.listen(16)
    fake.url = f"http://127.0.0.1:{sock.getsockname()[1]}"
    server = uvicorn.Server(uvicorn.Config(app, log_config=None, access_log=False, lifespan="off"))
    thread = threading.Thread(
        target=lambda: asyncio.run(server.serve(sockets=[sock])), name="fake-anthropic", daemon=True
    )
    thread.start()
    try:
        yield fake
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        sock.close()
