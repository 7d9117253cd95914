"""Judging SP-API answers before python-amazon-sp-api parses them: timeouts, errors, request ids.

The library builds each request (path, query, token header) and parses successful JSON; it also parses
anything else it is given, so a non-JSON error body (a bare 429, an HTML 500) becomes an empty success
and the status is lost, and its asyncio transport sends every request with no timeout.
:class:`JudgingTransport` wraps the library's own transport (installed by
:mod:`commerce_mcp.amazon.sp_api_adapter`): it sends with a timeout and raises a
:mod:`commerce_mcp.errors` type for every unusable answer, carrying Amazon's code, message and
``x-amzn-RequestId``; a 429's ``Retry-After`` goes through the shared bounded parser so the retry loop
can honour it. Only usable 2xx JSON reaches the library. The operation name is stamped on the error by
the client, which knows which operation it called.
"""

from __future__ import annotations

import json
import logging
import time
from typing import Any, Protocol

import httpx

from commerce_mcp import errors
from commerce_mcp.resilience.backoff import parse_retry_after
from commerce_mcp.resilience.clock import Clock
from commerce_mcp.resilience.deadline import current_deadline

log = logging.getLogger(__name__)

RATE_HEADER = "x-amzn-RateLimit-Limit"
REQUEST_ID_HEADER = "x-amzn-RequestId"
_SNIPPET = 120


class LibraryTransport(Protocol):
    """The shape of python-amazon-sp-api's ``AsyncHttpxTransport`` that we rely on."""

    async def request(
        self,
        method: str,
        url: str,
        *,
        params: Any = None,
        data: Any = None,
        content: Any = None,
        headers: Any = None,
        timeout: Any = None,  # noqa: ASYNC109 (the library's signature)
    ) -> httpx.Response: ...

    async def aclose(self) -> None: ...


class JudgingTransport:
    """Stands in for the library's transport: sends through it, raises for unusable answers."""

    def __init__(
        self,
        inner: LibraryTransport,
        *,
        attempt_timeout: float,
        connect_timeout: float,
        clock: Clock,
    ) -> None:
        self._inner = inner
        self._attempt_timeout = attempt_timeout
        self._connect_timeout = connect_timeout
        self._clock = clock

    async def request(
        self,
        method: str,
        url: str,
        *,
        params: Any = None,
        data: Any = None,
        content: Any = None,
        headers: dict[str, str] | None = None,
        timeout: Any = None,  # noqa: ASYNC109 (the library's signature; it always passes None)
    ) -> httpx.Response:
        """Send one request; return only usable 2xx JSON, raise a classified error otherwise.

        The library's ``timeout`` (always None in 2.1.35, meaning "no timeout") is replaced by ours.
        """
        # The library derives Host from endpoint[8:], which mangles http:// endpoints; httpx knows better.
        sent = {k: v for k, v in (headers or {}).items() if k.lower() != "host"}
        # Each attempt gets the per-attempt cap, or what is left of the enclosing deadline if less.
        seconds = current_deadline(self._clock).attempt_timeout(self._attempt_timeout)
        limit = httpx.Timeout(seconds, connect=min(seconds, self._connect_timeout))
        try:
            response = await self._inner.request(
                method, url, params=params, data=data, content=content, headers=sent, timeout=limit
            )
        except (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout) as exc:
            raise errors.TransientError(
                f"could not connect to Amazon SP-API ({type(exc).__name__}); nothing was sent",
                platform="amazon",
                hint="check the network or AMAZON_SP_API_ENDPOINT; safe to retry",
            ) from exc
        except httpx.TimeoutException as exc:
            raise errors.AmbiguousError(
                f"no answer from Amazon within {seconds:.0f}s after sending the request",
                platform="amazon",
                hint="the request may have been processed; check before repeating it",
            ) from exc
        except httpx.TransportError as exc:
            raise errors.AmbiguousError(
                f"the connection to Amazon broke mid-request ({type(exc).__name__})",
                platform="amazon",
                hint="the request may have been processed; check before repeating it",
            ) from exc
        raise_for_response(response, now_wall=self._clock.wall())
        return response

    async def aclose(self) -> None:
        """Close the library's transport (and with it its HTTP pool)."""
        await self._inner.aclose()


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
    response: httpx.Response, operation: str | None = None, *, now_wall: float | None = None
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
