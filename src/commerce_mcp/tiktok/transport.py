"""One signed attempt against the TikTok Shop API host, and the envelope it returns.

Each attempt stamps a fresh ``timestamp`` and signs again (a retry after backoff must not reuse a stale
signature); the JSON body is serialized once by the caller and exactly those bytes are signed and sent.
"""

from __future__ import annotations

import functools
import json
import logging
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Generic, Literal, TypeVar, overload

import httpx
from pydantic import BaseModel, ValidationError

from commerce_mcp import errors
from commerce_mcp.resilience.backoff import parse_retry_after
from commerce_mcp.resilience.clock import Clock
from commerce_mcp.tiktok import classify
from commerce_mcp.tiktok.signing import sign

log = logging.getLogger(__name__)

JSON_CONTENT_TYPE = "application/json"

D = TypeVar("D", bound=BaseModel)


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

    @overload
    async def send(
        self,
        request: ApiRequest,
        access_token: str,
        *,
        attempt_timeout: float,
        operation: str,
        shape: None = None,
    ) -> dict[str, Any]: ...

    @overload
    async def send(
        self,
        request: ApiRequest,
        access_token: str,
        *,
        attempt_timeout: float,
        operation: str,
        shape: type[D],
    ) -> D | dict[str, Any]: ...

    async def send(
        self,
        request: ApiRequest,
        access_token: str,
        *,
        attempt_timeout: float,
        operation: str,
        shape: type[D] | None = None,
    ) -> D | dict[str, Any]:
        """Send one attempt; return the envelope's ``data`` or raise a classified error.

        With ``shape``, a success envelope whose ``data`` fits it comes back as that model (see
        :func:`decode_success`); any other answer is read as without it.

        A rejected timestamp is re-stamped and re-signed once on the spot; a second rejection means
        this machine's clock is wrong, which retrying cannot fix.
        """
        try:
            return await self._send_once(request, access_token, attempt_timeout, operation, shape)
        except classify.TimestampRejected:
            log.warning("tiktok: timestamp rejected for %s; re-signing once", operation)
        try:
            return await self._send_once(request, access_token, attempt_timeout, operation, shape)
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
        shape: type[D] | None,
    ) -> D | dict[str, Any]:
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
        if shape is not None:
            data = decode_success(response, shape)
            if data is not None:
                return data
        return parse_envelope(response, operation, now_wall=self._clock.wall())


class _Success(BaseModel, Generic[D]):
    """A ``code: 0`` envelope whose ``data`` fits ``D``."""

    code: Literal[0]  # any other code fails here and goes to parse_envelope to be classified
    data: D


@functools.cache
def _success(shape: type[BaseModel]) -> type[_Success[Any]]:
    # pydantic holds parametrized generics only weakly; keep each one built.
    return _Success[shape]  # type: ignore[valid-type]


def decode_success(response: httpx.Response, shape: type[D]) -> D | None:
    """The ``data`` of a success envelope as ``shape``, decoded from the body bytes in one pass.

    JSON to dicts and then models cost about 1.7 times the CPU of letting pydantic-core validate the
    bytes (measured on order pages). Only an answer :func:`parse_envelope` would return data for
    without classifying it (HTTP < 400, ``code`` 0) whose data fits ``shape`` is taken here; None
    for every other answer, which the caller then hands to :func:`parse_envelope`, so errors are
    classified by their ``code`` exactly as before and odd successes are read as before.
    """
    if response.status_code >= 400:
        return None
    try:
        envelope = _success(shape).model_validate_json(response.content)
    except ValidationError:
        return None
    data: D = envelope.data
    return data


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
