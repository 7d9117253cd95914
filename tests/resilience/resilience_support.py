"""Test helpers: a fake server-side token bucket, dripping bodies, and attempts classified for real.

The fault matrix runs each scripted answer (``httpx.MockTransport``) and transport exception through the
platform clients' own classifiers: ``JudgingTransport``/``raise_for_response`` for Amazon,
``classify.from_transport``/``parse_envelope`` for TikTok Shop. ``Upstream`` says how each platform
phrases each fault.
"""

from __future__ import annotations

import json as json_module
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import httpx

from commerce_mcp.amazon.transport import JudgingTransport
from commerce_mcp.errors import CommerceError
from commerce_mcp.resilience.clock import Clock
from commerce_mcp.resilience.limiter import RatePlan
from commerce_mcp.tiktok import classify
from commerce_mcp.tiktok.transport import parse_envelope


class ServerBucket:
    """The platform's view: a token bucket that starts full and rejects when empty."""

    def __init__(self, plan: RatePlan, clock: Clock) -> None:
        self.plan = plan
        self.clock = clock
        self.tokens = float(plan.burst)
        self.updated = clock.monotonic()
        self.accepted: list[float] = []
        self.rejected: list[float] = []

    def admit(self) -> bool:
        now = self.clock.monotonic()
        self.tokens = min(
            float(self.plan.burst), self.tokens + (now - self.updated) * self.plan.rate
        )
        self.updated = now
        if self.tokens >= 1.0 - 1e-6:
            self.tokens -= 1.0
            self.accepted.append(now)
            return True
        self.rejected.append(now)
        return False


class Drip(httpx.AsyncByteStream):
    """A response body that arrives in pieces, optionally failing part-way like a dropped connection."""

    def __init__(
        self, chunks: list[bytes], *, fail_with: Exception | None = None, pause: Any = None
    ) -> None:
        self.chunks = chunks
        self.fail_with = fail_with
        self.pause = pause

    async def __aiter__(self) -> AsyncIterator[bytes]:
        for chunk in self.chunks:
            yield chunk
            if self.pause is not None:
                await self.pause()
        if self.fail_with is not None:
            raise self.fail_with


Attempt = Callable[[Any], Awaitable[dict[str, Any]]]


def amazon_attempt(
    client: httpx.AsyncClient,
    method: str,
    url: str,
    clock: Clock,
    *,
    json: Any = None,
    headers: dict[str, str] | None = None,
) -> Attempt:
    """An ``attempt`` for ``call_with_retries`` classified by the Amazon client's own transport.

    JudgingTransport maps transport exceptions and ``raise_for_response`` maps the answer, exactly
    as for a real SP-API call; only the HTTP client underneath (a MockTransport) is the test's.
    """
    content = json_module.dumps(json).encode() if json is not None else None

    async def attempt(info: Any) -> dict[str, Any]:
        transport = JudgingTransport(
            client, attempt_timeout=info.timeout, connect_timeout=info.timeout, clock=clock
        )
        response = await transport.request(method, url, content=content, headers=headers)
        body: dict[str, Any] = response.json()
        return body

    return attempt


def tiktok_attempt(
    client: httpx.AsyncClient,
    method: str,
    url: str,
    clock: Clock,
    *,
    json: Any = None,
    headers: dict[str, str] | None = None,
    operation: str = "get_orders",
) -> Attempt:
    """An ``attempt`` classified by the TikTok client's own functions (from_transport, and
    parse_envelope -> classify.from_envelope), without the request signing."""
    content = json_module.dumps(json).encode() if json is not None else None

    async def attempt(info: Any) -> dict[str, Any]:
        try:
            response = await client.request(
                method, url, content=content, headers=headers, timeout=info.timeout
            )
        except httpx.HTTPError as error:
            raise classify.from_transport(error, operation) from error
        return parse_envelope(response, operation, now_wall=clock.wall())

    return attempt


Respond = Callable[[httpx.Request], httpx.Response]


@dataclass(frozen=True)
class Upstream:
    """One platform's way of saying each thing the fault matrix needs, and its real classifier."""

    name: str
    attempt: Callable[..., Attempt]
    #: HTTP status, body (None = empty object), request id -> response
    answer: Callable[[int, Any, str | None, dict[str, str]], httpx.Response]
    #: what each fault is on this platform, as (HTTP status, body)
    unavailable: tuple[int, Any]
    server_error: tuple[int, Any]
    throttled: tuple[int, Any]
    expired: tuple[int, Any]
    rejected: tuple[int, Any]
    #: the text a rejected request's error names (its platform code)
    rejected_code: str

    def respond(
        self, fault: tuple[int, Any], request_id: str | None = None, **headers: str
    ) -> Respond:
        status, body = fault

        def respond(request: httpx.Request) -> httpx.Response:
            return self.answer(status, body, request_id, headers)

        return respond

    def ok(self, request: httpx.Request) -> httpx.Response:
        return self.answer(200, OK_BODY, "req-ok", {})


#: What every successful call returns, whichever platform answered.
OK_BODY = {"payload": {"id": "o-1"}}


def _amazon_answer(
    status: int, body: Any, request_id: str | None, headers: dict[str, str]
) -> httpx.Response:
    extra = {"x-amzn-RequestId": request_id} if request_id else {}
    return httpx.Response(
        status, json=body if body is not None else {}, headers={**extra, **headers}
    )


def _tiktok_answer(
    status: int, body: Any, request_id: str | None, headers: dict[str, str]
) -> httpx.Response:
    # TikTok wraps every answer in its envelope; the request id travels inside it.
    code, message = body if isinstance(body, tuple) else (0, "Success")
    envelope = {
        "code": code,
        "message": message,
        "data": body if not isinstance(body, tuple) else None,
        "request_id": request_id,
    }
    return httpx.Response(status, json=envelope, headers=headers)


AMAZON = Upstream(
    name="amazon",
    attempt=amazon_attempt,
    answer=_amazon_answer,
    unavailable=(503, None),
    server_error=(500, None),
    throttled=(429, {"errors": [{"code": "QuotaExceeded", "message": "You exceeded your quota"}]}),
    expired=(403, {"errors": [{"message": "The access token you provided has expired."}]}),
    rejected=(400, {"errors": [{"code": "InvalidInput", "message": "Invalid input"}]}),
    rejected_code="InvalidInput",
)
TIKTOK = Upstream(
    name="tiktok",
    attempt=tiktok_attempt,
    answer=_tiktok_answer,
    unavailable=(503, (36009003, "Internal error. Please try again.")),
    server_error=(500, (36009003, "Internal error. Please try again.")),
    throttled=(429, (36009002, "Too many requests.")),
    expired=(200, (105002, "Expired credentials. The `x-tts-access-token` header has expired.")),
    rejected=(200, (21001001, "Invalid parameters.")),
    rejected_code="21001001",
)
PLATFORMS = (AMAZON, TIKTOK)


def describe(error: CommerceError) -> str:
    return error.describe()
