"""One signed attempt against the TikTok Shop API host, and the envelope it returns.

Each attempt stamps a fresh ``timestamp`` and signs again (a retry after backoff must not reuse a stale
signature); the JSON body is serialized once by the caller and exactly those bytes are signed and sent.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import httpx

from commerce_mcp import errors
from commerce_mcp.resilience.backoff import parse_retry_after
from commerce_mcp.resilience.clock import Clock
from commerce_mcp.tiktok import classify
from commerce_mcp.tiktok.signing import sign

log = logging.getLogger(__name__)

JSON_CONTENT_TYPE = "application/json"


def encode_body(fields: Mapping[str, Any] | None) -> bytes | None:
    """Serialize a request body once, compactly; no fields means no body at all (never ``{}``)."""
    if not fields:
        return None
    return json.dumps(fields, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


@dataclass(frozen=True)
class ApiRequest:
    """A call ready to be signed: concrete path, its template (the limiter key), and inputs."""

    method: str
    path: str
    template: str
    query: Mapping[str, str]
    body: bytes | None = None
    shop_cipher: str | None = None


class SignedTransport:
    """Signs and sends one attempt, and maps every failure to the shared error types."""

    def __init__(
        self, http: httpx.AsyncClient, app_key: str, app_secret: str, clock: Clock
    ) -> None:
        self._http = http
        self._app_key = app_key
        self._secret = app_secret
        self._clock = clock

    def signed_params(self, request: ApiRequest) -> dict[str, str]:
        """The full query for one attempt: inputs + app_key + a fresh timestamp + sign."""
        params = dict(request.query)
        params["app_key"] = self._app_key
        params["timestamp"] = str(int(self._clock.wall()))
        if request.shop_cipher:
            params["shop_cipher"] = request.shop_cipher
        params["sign"] = sign(self._secret, request.path, params, request.body, JSON_CONTENT_TYPE)
        return params

    async def send(
        self,
        request: ApiRequest,
        access_token: str,
        *,
        attempt_timeout: float,
        operation: str,
    ) -> dict[str, Any]:
        """Send one attempt; return the envelope's ``data`` or raise a classified error.

        A rejected timestamp is re-stamped and re-signed once on the spot; a second rejection means
        this machine's clock is wrong, which retrying cannot fix.
        """
        try:
            return await self._send_once(request, access_token, attempt_timeout, operation)
        except classify.TimestampRejected:
            log.warning("tiktok: timestamp rejected for %s; re-signing once", operation)
        try:
            return await self._send_once(request, access_token, attempt_timeout, operation)
        except classify.TimestampRejected as error:
            error.message = (
                f"TikTok Shop rejected the request time twice; this machine's clock looks "
                f"skewed ({error.message})"
            )
            raise

    async def _send_once(
        self,
        request: ApiRequest,
        access_token: str,
        attempt_timeout: float,
        operation: str,
    ) -> dict[str, Any]:
        headers = {"content-type": JSON_CONTENT_TYPE, "x-tts-access-token": access_token}
        try:
            response = await self._http.request(
                request.method,
                request.path,
                params=self.signed_params(request),
                content=request.body,
                headers=headers,
                timeout=attempt_timeout,
            )
        except httpx.HTTPError as error:
            raise classify.from_transport(error, operation) from error
        return parse_envelope(response, operation, now_wall=self._clock.wall())


def parse_envelope(
    response: httpx.Response, operation: str, *, now_wall: float | None = None
) -> dict[str, Any]:
    """The ``data`` of a successful envelope; otherwise the classified error.

    ``now_wall`` (epoch seconds, from the client's clock) dates an HTTP-date ``Retry-After``; the
    token endpoints, which run outside any injected clock, fall back to the system time.
    """
    status = response.status_code
    retry_after = parse_retry_after(
        response.headers.get("retry-after"), time.time() if now_wall is None else now_wall
    )
    try:
        payload = response.json()
    except (ValueError, UnicodeDecodeError):
        payload = None
    if not isinstance(payload, dict) or "code" not in payload:
        if status < 300:
            raise errors.BadResponse(
                f"TikTok Shop sent a response that is not a JSON envelope: "
                f"{_snippet(response.content)!r}",
                platform="tiktok",
                http_status=status,
                operation=operation,
                hint="retry; if it persists TikTok Shop may be having problems",
            )
        raise classify.from_envelope(
            0,
            f"HTTP {status} {_snippet(response.content)}".strip(),
            request_id=None,
            http_status=status,
            operation=operation,
            retry_after=retry_after,
        )
    request_id = payload.get("request_id")
    request_id = str(request_id) if request_id is not None else None
    try:
        code = int(payload.get("code") or 0)
    except (TypeError, ValueError):
        code = -1
    if code != 0 or status >= 400:
        raise classify.from_envelope(
            code,
            str(payload.get("message") or ""),
            request_id=request_id,
            http_status=status,
            operation=operation,
            retry_after=retry_after,
        )
    data = payload.get("data")
    return data if isinstance(data, dict) else {}


def _snippet(content: bytes, limit: int = 80) -> str:
    text = content[:limit].decode("utf-8", "replace")
    return "".join(ch if ch.isprintable() else " " for ch in text)
