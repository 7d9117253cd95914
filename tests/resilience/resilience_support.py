"""Test-only helpers: a fake server-side token bucket and an attempt function mapping HTTP to our errors.

The mapping is deliberately tiny (the real clients own the real one); it lets the platform-agnostic fault
matrix run against ``httpx.MockTransport`` responses and transport exceptions.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from typing import Any

import httpx

from commerce_mcp.errors import (
    AmbiguousError,
    BadResponse,
    CommerceError,
    InvalidRequest,
    NotFound,
    RateLimited,
    TokenExpired,
    TransientError,
)
from commerce_mcp.resilience.backoff import parse_retry_after
from commerce_mcp.resilience.clock import Clock
from commerce_mcp.resilience.limiter import RatePlan


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


def http_attempt(
    client: httpx.AsyncClient, method: str, url: str, clock: Clock, **kwargs: Any
) -> Callable[[Any], Any]:
    """An ``attempt`` for ``call_with_retries``: one request, the answer mapped onto our errors."""

    async def attempt(info: Any) -> dict[str, Any]:
        try:
            response = await client.request(method, url, timeout=info.timeout, **kwargs)
        except (httpx.ConnectError, httpx.ConnectTimeout) as exc:
            raise TransientError("could not connect", platform="amazon") from exc
        except (httpx.TimeoutException, httpx.ReadError, httpx.RemoteProtocolError) as exc:
            raise AmbiguousError("the connection failed mid-request", platform="amazon") from exc
        return to_result(response, clock)

    return attempt


def to_result(response: httpx.Response, clock: Clock) -> dict[str, Any]:
    """Map a response onto a JSON object or the right error."""
    status = response.status_code
    details: dict[str, Any] = {
        "platform": "amazon",
        "http_status": status,
        "request_id": response.headers.get("x-amzn-RequestId"),
    }
    if status == 429:
        retry_after = parse_retry_after(response.headers.get("retry-after"), clock.wall())
        raise RateLimited("throttled", retry_after=retry_after, **details)
    if status in (401, 403) and "expired" in response.text.lower():
        raise TokenExpired("access token expired", **details)
    if status == 503:
        raise TransientError("service unavailable", **details)
    if status >= 500:
        raise AmbiguousError("server error", **details)
    if status == 404:
        raise NotFound("not found", **details)
    if status >= 400:
        raise InvalidRequest(response.text[:200], **details)
    try:
        body = response.json()
    except ValueError as exc:
        raise BadResponse(f"not JSON: {response.text[:40]!r}", **details) from exc
    if not isinstance(body, dict):
        raise BadResponse("JSON that is not an object", **details)
    return body


def describe(error: CommerceError) -> str:
    return error.describe()
