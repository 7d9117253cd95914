"""Turn TikTok Shop failures into the shared error taxonomy.

The platform's JSON ``code`` decides, whatever the HTTP status: 36009004 alone means five different
things, told apart by the message. Transport failures are split by whether the request can have been
processed (connect errors cannot; a read timeout or reset after sending can).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TypeVar

import httpx

from commerce_mcp import errors

E = TypeVar("E", bound=errors.CommerceError)

RATE_LIMITED = 36009002
OVERLOADED_CODES = frozenset({36009003, 36009007, 10002014, 10002015, 10037002, 10037003, 10037004})
EXPIRED_TOKEN = 105002
#: One code for bad token, bad app key, bad timestamp, missing sign and unexpected params.
CREDENTIALS_OR_PARAMS = 36009004
BAD_SIGN = 106001
SCOPE_DENIED = 105005
IP_NOT_ALLOWED = 36009033
MISSING_SHOP_CIPHER = 106013
TOKEN_SHOP_MISMATCH = 101000
NOT_FOUND_CODES = frozenset({12052032, 36009009})
#: Mark Package As Shipped's documented "already shipped" answers: 21011006 and 21011020 "These
#: orders are already shipped.", 21008099 "Package has been shipped. Please not ship the package
#: again."
ALREADY_SHIPPED_CODES = frozenset({21011006, 21011020, 21008099})

_SECRET_HINT = "check TIKTOK_APP_KEY and TIKTOK_APP_SECRET (they must belong to the same app)"


class TimestampRejected(errors.AuthError):
    """The platform refused our ``timestamp``: re-stamp and re-sign once, then report clock skew."""

    kind = "clock_skew"


@dataclass(frozen=True)
class _Context:
    code: int | None
    request_id: str | None
    http_status: int | None
    operation: str


def _make(cls: type[E], message: str, hint: str, ctx: _Context) -> E:
    return cls(
        message,
        platform="tiktok",
        code=ctx.code,
        request_id=ctx.request_id,
        http_status=ctx.http_status,
        operation=ctx.operation,
        hint=hint,
    )


def from_envelope(
    code: int,
    message: str,
    *,
    request_id: str | None,
    http_status: int | None,
    operation: str,
    retry_after: float | None = None,
) -> errors.CommerceError:
    """The error for a non-zero envelope ``code`` (or a bare HTTP failure when ``code`` is 0)."""
    common = _Context(code or None, request_id, http_status, operation)
    text = message or "TikTok Shop returned an error"
    lowered = text.lower()
    if code == RATE_LIMITED or http_status == 429:
        return errors.RateLimited(
            f"TikTok Shop is throttling this app: {text}",
            retry_after=retry_after,
            platform="tiktok",
            code=code or None,
            request_id=request_id,
            http_status=http_status,
            operation=operation,
            hint="wait a little and retry; the client already backs off automatically",
        )
    if code in OVERLOADED_CODES or (code == 0 and http_status is not None and http_status >= 500):
        # 503 is the documented "overloaded before doing anything"; other failures may have run.
        kind = errors.TransientError if http_status == 503 else errors.AmbiguousError
        return _make(
            kind,
            f"TikTok Shop had a temporary failure: {text}",
            "retry in a moment; if it persists, check TikTok Shop's status",
            common,
        )
    if code == EXPIRED_TOKEN:
        return _make(
            errors.TokenExpired,
            f"the TikTok Shop access token has expired: {text}",
            "the client refreshes it automatically; if this persists run "
            "`commerce-mcp tiktok authorize`",
            common,
        )
    if code == BAD_SIGN:
        return _make(
            errors.AuthError,
            f"TikTok Shop rejected the request signature: {text}",
            _SECRET_HINT,
            common,
        )
    if code == CREDENTIALS_OR_PARAMS:
        return _invalid_credentials_or_params(text, lowered, common)
    if code == SCOPE_DENIED:
        return _make(
            errors.PermissionDenied,
            f"the TikTok Shop app lacks the scope this call needs: {text}",
            "add the missing API scope to the app in Partner Center, then have the seller "
            "re-authorize (`commerce-mcp tiktok authorize`)",
            common,
        )
    if code == IP_NOT_ALLOWED:
        return _make(
            errors.PermissionDenied,
            f"this machine's IP address is not on the app's allow list: {text}",
            "add this server's public IP to the app's IP allow list in Partner Center",
            common,
        )
    if code == MISSING_SHOP_CIPHER:
        return _make(
            errors.InvalidRequest,
            f"the call needs a shop: {text}",
            "pass a shop (id or name) from list_tiktok_shops",
            common,
        )
    if code == TOKEN_SHOP_MISMATCH:
        return _make(
            errors.AuthError,
            f"the access token does not cover this shop: {text}",
            "pick a shop from list_tiktok_shops, or re-authorize the seller",
            common,
        )
    if code in ALREADY_SHIPPED_CODES:
        return _make(
            errors.AlreadyShipped,
            f"TikTok Shop says this is already shipped: {text}",
            "nothing to do; get_order shows its packages and tracking",
            common,
        )
    if code in NOT_FOUND_CODES or http_status == 404 or "not exist" in lowered:
        return _make(
            errors.NotFound, text, "check the id; list or search to find valid ids", common
        )
    if code == 0 and http_status is not None and http_status >= 400:
        return _make(
            errors.InvalidRequest,
            f"TikTok Shop answered HTTP {http_status}: {text}",
            "check the arguments",
            common,
        )
    return _make(errors.InvalidRequest, text, "fix the arguments named in the message", common)


def _invalid_credentials_or_params(
    text: str, lowered: str, common: _Context
) -> errors.CommerceError:
    if "timestamp" in lowered:
        return _make(
            TimestampRejected,
            f"TikTok Shop rejected the request time: {text}",
            "this machine's clock is off; enable NTP time sync and retry",
            common,
        )
    if "access-token" in lowered or "access_token" in lowered or "token" in lowered:
        return _make(
            errors.AuthError,
            f"TikTok Shop does not accept the access token: {text}",
            "set TIKTOK_ACCESS_TOKEN/TIKTOK_REFRESH_TOKEN for this app, or run "
            "`commerce-mcp tiktok authorize`",
            common,
        )
    if "app_key" in lowered:
        return _make(
            errors.AuthError, f"TikTok Shop does not know this app: {text}", _SECRET_HINT, common
        )
    if "signature" in lowered or "`sign`" in lowered:
        return _make(
            errors.AuthError,
            f"TikTok Shop could not verify the request: {text}",
            _SECRET_HINT,
            common,
        )
    return _make(errors.InvalidRequest, text, "fix the parameter named in the message", common)


def from_transport(error: httpx.HTTPError, operation: str) -> errors.CommerceError:
    """Map an httpx failure: not sent -> transient, maybe processed -> ambiguous."""
    name = type(error).__name__
    common = _Context(None, None, None, operation)
    if isinstance(error, httpx.ConnectError | httpx.ConnectTimeout | httpx.PoolTimeout):
        return _make(
            errors.TransientError,
            f"could not reach TikTok Shop ({name})",
            "check the network and TIKTOK_API_BASE_URL; the request was not sent",
            common,
        )
    if isinstance(error, httpx.TimeoutException):
        return _make(
            errors.AmbiguousError,
            f"TikTok Shop did not answer in time ({name}); the request may have been processed",
            "for a write, check its result before repeating it",
            common,
        )
    return _make(
        errors.AmbiguousError,
        f"the connection to TikTok Shop failed mid-request ({name})",
        "for a write, check its result before repeating it",
        common,
    )
