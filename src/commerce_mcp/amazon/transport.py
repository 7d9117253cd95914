"""The HTTP seam under python-amazon-sp-api: timeouts, error classification, rate headers.

The library builds each request (path, query, token header) and parses successful JSON; this transport,
installed in place of the library's own, sends it and judges the answer first. That closes three of the
library's gaps in one place: it never raises for a non-JSON error body (a bare 429, an HTML 500) and loses
the status; it has no timeout by default; and it exposes ``x-amzn-RateLimit-Limit`` without acting on it.
Every failure leaves here as a :mod:`commerce_mcp.errors` type carrying Amazon's code, message and
``x-amzn-RequestId``; a 429's ``Retry-After`` goes through the shared bounded parser, so the retry loop
can honour it.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any

import httpx

from commerce_mcp import errors
from commerce_mcp.resilience.backoff import parse_retry_after
from commerce_mcp.resilience.clock import Clock, SystemClock

log = logging.getLogger(__name__)

RATE_HEADER = "x-amzn-RateLimit-Limit"
REQUEST_ID_HEADER = "x-amzn-RequestId"
_SNIPPET = 120


@dataclass
class CallContext:
    """What the transport must know about the attempt in flight (set per attempt by the client)."""

    operation: str
    timeout: float
    sent_token: str | None = None


current_call: ContextVar[CallContext | None] = ContextVar("amazon_current_call", default=None)


class SpApiTransport:
    """Duck-types the library's ``AsyncHttpxTransport``; raises classified errors instead of returning
    responses the library would misread."""

    def __init__(
        self,
        http: httpx.AsyncClient,
        *,
        on_rate_header: Callable[[str, str | None], None],
        default_timeout: float,
        clock: Clock | None = None,
    ) -> None:
        self._http = http
        self._on_rate_header = on_rate_header
        self._default_timeout = default_timeout
        self._clock = clock or SystemClock()

    async def request(
        self,
        method: str,
        url: str,
        *,
        params: Any = None,
        data: Any = None,
        content: Any = None,
        headers: dict[str, str] | None = None,
    ) -> httpx.Response:
        """Send one request for the operation in ``current_call``; return only usable 2xx JSON."""
        call = current_call.get() or CallContext("sp-api", self._default_timeout)
        # The library derives Host from endpoint[8:], which mangles http:// endpoints; httpx knows better.
        sent = {k: v for k, v in (headers or {}).items() if k.lower() != "host"}
        call.sent_token = sent.get("x-amz-access-token")
        try:
            response = await self._http.request(
                method, url, params=params, content=content, headers=sent, timeout=call.timeout
            )
        except (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout) as exc:
            raise errors.TransientError(
                f"could not connect to Amazon SP-API ({type(exc).__name__}); nothing was sent",
                platform="amazon",
                operation=call.operation,
                hint="check the network or AMAZON_SP_API_ENDPOINT; safe to retry",
            ) from exc
        except httpx.TimeoutException as exc:
            raise errors.AmbiguousError(
                f"no answer from Amazon within {call.timeout:.0f}s after sending the request",
                platform="amazon",
                operation=call.operation,
                hint="the request may have been processed; check before repeating it",
            ) from exc
        except httpx.TransportError as exc:
            raise errors.AmbiguousError(
                f"the connection to Amazon broke mid-request ({type(exc).__name__})",
                platform="amazon",
                operation=call.operation,
                hint="the request may have been processed; check before repeating it",
            ) from exc
        if 200 <= response.status_code < 300 or response.status_code in (400, 404):
            self._on_rate_header(call.operation, response.headers.get(RATE_HEADER))
        raise_for_response(response, call.operation, now_wall=self._clock.wall())
        return response

    async def aclose(self) -> None:
        """The shared HTTP client is owned (and closed) by the Amazon client."""


def _body(response: httpx.Response) -> tuple[Any, bool]:
    """The decoded JSON body and whether decoding worked (an empty body counts as ``{}``)."""
    if not response.content.strip():
        return {}, True
    try:
        return json.loads(response.content), True
    except ValueError:
        return None, False


def _snippet(response: httpx.Response) -> str:
    text = response.content[:_SNIPPET].decode("utf-8", "replace").replace("\n", " ").strip()
    kind = response.headers.get("content-type", "unknown type").split(";")[0]
    return f"{kind}: {text!r}" if text else f"{kind}, empty body"


def raise_for_response(
    response: httpx.Response, operation: str, *, now_wall: float | None = None
) -> None:
    """Raise the :mod:`commerce_mcp.errors` type for an unusable answer; return for usable 2xx JSON.

    ``now_wall`` (epoch seconds, from the client's clock) dates an HTTP-date ``Retry-After``.
    """
    status = response.status_code
    request_id = response.headers.get(REQUEST_ID_HEADER)
    body, parsed = _body(response)
    common: dict[str, Any] = {
        "platform": "amazon",
        "request_id": request_id,
        "http_status": status,
        "operation": operation,
    }
    if 200 <= status < 300:
        if parsed and isinstance(body, dict):
            return
        raise errors.BadResponse(
            f"Amazon answered HTTP {status} with a body that is not a JSON object ({_snippet(response)})",
            hint="the request may have been processed; check before repeating it",
            **common,
        )
    code, message = _first_error(body)
    if status == 429:
        retry_after = parse_retry_after(
            response.headers.get("retry-after"), time.time() if now_wall is None else now_wall
        )
        raise errors.RateLimited(
            message or "throttled by Amazon (HTTP 429, usage plan exhausted)",
            retry_after=retry_after,
            code=code or "QuotaExceeded",
            hint="slow down; the call is retried automatically within its deadline",
            **common,
        )
    if message is None:
        message = f"HTTP {status} with a non-JSON body ({_snippet(response)})"
    raise _classify(status, code, message, common)


def _first_error(body: Any) -> tuple[str | None, str | None]:
    if isinstance(body, dict) and isinstance(body.get("errors"), list) and body["errors"]:
        first = body["errors"][0]
        if isinstance(first, dict):
            code = first.get("code")
            message = first.get("message")
            return (str(code) if code else None, str(message) if message else None)
    return None, None


def _classify(
    status: int, code: str | None, message: str, common: dict[str, Any]
) -> errors.CommerceError:
    lowered = message.lower()
    if status == 403 and "expired" in lowered:
        return errors.TokenExpired(message, code=code or "Unauthorized",
                                   hint="the access token is refreshed and the call replayed once",
                                   **common)  # fmt: skip
    if status in (401, 403):
        return errors.PermissionDenied(
            message,
            code=code,
            hint="check that the app has the Amazon Fulfillment role and that "
            "AMAZON_SP_API_REFRESH_TOKEN belongs to this seller",
            **common,
        )
    if status == 404 or (status == 400 and "not found" in lowered):
        return errors.NotFound(message, code=code,
                               hint="check the id; list_mcf_orders shows the orders that exist",
                               **common)  # fmt: skip
    if status == 400 and "already exists" in lowered:
        return errors.Conflict(message, code="DuplicateCreate",
                               hint="an order with this sellerFulfillmentOrderId exists; "
                                    "call get_mcf_order to see it",
                               **common)  # fmt: skip
    if status == 400 and "duplicatecancelrequest" in lowered:
        return errors.Conflict(message, code="DuplicateCancelRequest",
                               hint="the order is already cancelled", **common)  # fmt: skip
    if status == 409:
        return errors.Conflict(message, code=code, **common)
    if 400 <= status < 500:
        return errors.InvalidRequest(message, code=code,
                                     hint="fix the request as the message says; not retried",
                                     **common)  # fmt: skip
    if status == 503:
        return errors.TransientError(message, code=code,
                                     hint="Amazon is temporarily unavailable; retried automatically",
                                     **common)  # fmt: skip
    return errors.AmbiguousError(message, code=code,
                                 hint="Amazon failed mid-request; it may have been processed",
                                 **common)  # fmt: skip
