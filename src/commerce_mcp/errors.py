"""One error taxonomy shared by both platform clients and the tool layer.

Every failure a user can meet is a :class:`CommerceError`. Each carries what failed, the platform's own
code, message and request id when there is one, and a ``hint`` telling the reader what to do next. The tool
layer turns them into MCP tool errors verbatim, so the message must already be safe to show: never a
secret, never a traceback.

The retry machinery classifies by type, not by HTTP status:

* :class:`RateLimited` -- throttled; retried with the throttling backoff.
* :class:`TransientError` -- the request provably did not take effect (connect error, 503 before work);
  safe to retry for any operation.
* :class:`AmbiguousError` -- the request may have been processed (timeout after sending, reset, 5xx,
  truncated body); retried only for idempotent operations, reconciled for order creation.
* :class:`TokenExpired` -- refresh the credential once and replay once.
* everything else is permanent: no retry.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Literal

Platform = Literal["tiktok", "amazon", "commerce-mcp"]


class CommerceError(Exception):
    """Base class: a failure with an actionable message."""

    kind: str = "error"

    def __init__(
        self,
        message: str,
        *,
        platform: Platform = "commerce-mcp",
        code: str | int | None = None,
        request_id: str | None = None,
        http_status: int | None = None,
        hint: str | None = None,
        operation: str | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.platform: Platform = platform
        self.code = str(code) if code is not None else None
        self.request_id = request_id
        self.http_status = http_status
        self.hint = hint
        self.operation = operation

    def describe(self) -> str:
        """One paragraph for a person or a model: what failed, platform details, what to do next."""
        head = self.message
        if self.operation:
            head = f"{self.operation}: {head}"
        details = []
        if self.code is not None:
            details.append(f"code {self.code}")
        if self.http_status is not None:
            details.append(f"HTTP {self.http_status}")
        if self.request_id:
            details.append(f"request id {self.request_id}")
        text = head
        if details:
            text += f" ({', '.join(details)})"
        if self.hint:
            text += f". Next: {self.hint}"
        return text

    def __str__(self) -> str:
        return self.describe()

    def for_the_log(self) -> str:
        """The failure for a log line: its kind and the platform's references, never its message,
        which may quote a caller's arguments (a platform's "order X not found")."""
        parts = [self.kind, self.platform]
        parts += [f"{label} {value}" for label, value in (
            ("operation", self.operation), ("code", self.code), ("HTTP", self.http_status),
            ("request id", self.request_id),
        ) if value is not None]  # fmt: skip
        return ", ".join(parts)


def for_the_log(error: BaseException) -> str:
    """Any exception for a log line without its message: a CommerceError's references, else its type."""
    if isinstance(error, CommerceError):
        return error.for_the_log()
    return f"{type(error).__name__} (message not logged)"


class NotConfigured(CommerceError):
    """A channel or feature lacks the configuration it needs; names the env vars to set."""

    kind = "not_configured"

    def __init__(
        self,
        channel: str,
        missing: list[str],
        *,
        hint: str | None = None,
        message: str | None = None,
    ) -> None:
        self.channel = channel
        self.missing = list(missing)
        names = ", ".join(missing)
        super().__init__(
            message or f"{channel} is not configured: missing {names}",
            hint=hint
            or f"set {names} in the environment or .env (or run with --sandbox to try fake data)",
        )


class InvalidRequest(CommerceError):
    """The request is wrong; fix the argument named in the message. Never retried."""

    kind = "invalid_request"


class NotFound(CommerceError):
    """The thing asked for does not exist (or is not visible to these credentials)."""

    kind = "not_found"


class Conflict(CommerceError):
    """The request conflicts with existing state (e.g. same order id, different payload)."""

    kind = "conflict"


class AlreadyShipped(Conflict):
    """The platform refused to mark a package shipped because it already is; nothing changed.

    For a sync that marks packages, this is the outcome it wanted, reached earlier (by a previous
    run, or by the seller by hand): record it, do not retry.
    """

    kind = "already_shipped"


class AuthError(CommerceError):
    """Credentials are missing, invalid or revoked; the seller must re-authorize. Never retried."""

    kind = "auth"


class TokenExpired(AuthError):
    """The access token expired mid-flight: refresh once and replay once."""

    kind = "token_expired"


class PermissionDenied(CommerceError):
    """Authenticated but not allowed (missing scope/role, IP allow list)."""

    kind = "permission_denied"


class RateLimited(CommerceError):
    """Throttled by the platform, or a wait for our own limiter would pass the deadline."""

    kind = "rate_limited"

    def __init__(self, message: str, *, retry_after: float | None = None, **kw: object) -> None:
        super().__init__(message, **kw)  # type: ignore[arg-type]
        self.retry_after = retry_after

    def describe(self) -> str:
        text = super().describe()
        if self.retry_after is not None and "retry after" not in text:
            text += f" (retry after {self.retry_after:.1f}s)"
        return text


class TransientError(CommerceError):
    """The request did not take effect (connect error, service unavailable); safe to retry."""

    kind = "transient"


class AmbiguousError(TransientError):
    """The request may or may not have been processed (timeout after send, reset, 5xx, truncated body)."""

    kind = "ambiguous"


class BadResponse(AmbiguousError):
    """The platform answered with something we cannot parse; keeps the status and a short snippet."""

    kind = "bad_response"


class DeadlineExceeded(CommerceError):
    """The tool call's overall deadline passed before the platform answered."""

    kind = "deadline"


NOTHING_SENT = "nothing was sent"
"""What an outage message adds only where no platform request has gone out (see below)."""


class StateStoreUnavailable(CommerceError):
    """The state store (tokens, order ledger, links) cannot be opened or does not answer.

    The store's own message says only that: the store cannot know whether its caller has already
    sent something to a platform. A step that knows nothing has gone out restates it through
    :func:`before_any_send`; a step after a send says what the caller should check instead.
    """

    kind = "state_store_unavailable"

    def nothing_sent(self) -> StateStoreUnavailable:
        """This outage, stating that no platform request went out (only where that is known)."""
        if NOTHING_SENT in self.message:
            return self
        return StateStoreUnavailable(f"{self.message}; {NOTHING_SENT}", hint=self.hint)


@contextmanager
def before_any_send() -> Iterator[None]:
    """Around a store step that precedes every platform request of the call: an outage there
    means nothing was sent, and the caller is told so."""
    try:
        yield
    except StateStoreUnavailable as exc:
        restated = exc.nothing_sent()
        if restated is exc:
            raise
        raise restated from exc


class PaginationStopped(CommerceError):
    """A listing was stopped rather than followed forever: the platform repeated a page token, or
    it went on for more pages than any real listing has. Nothing was written."""

    kind = "pagination_stopped"


class OutcomeUnknown(CommerceError):
    """A money-moving write may or may not have happened; never resend blindly, check its status."""

    kind = "outcome_unknown"

    def __init__(self, message: str, *, reference: str, **kw: object) -> None:
        super().__init__(message, **kw)  # type: ignore[arg-type]
        self.reference = reference


class RetryBudgetExhausted(TransientError):
    """Too many retries recently against this platform: failing fast instead of hammering it."""

    kind = "retry_budget_exhausted"
