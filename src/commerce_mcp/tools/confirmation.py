"""Preview-then-confirm for every write.

A write tool called without a token returns a preview of exactly what would happen plus a short-lived
confirmation token. The token is an HMAC over the tool name, the canonical JSON of the arguments and an
expiry, so it confirms *that* payload only: change any argument and it no longer matches. Tokens are
single-use. The secret is per process, so a restart (or another replica) simply asks for a new preview.

Where the client declared the elicitation capability, each write tool's resolver asks the person
directly instead (``Approval``); the token path remains for clients that cannot ask.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
import threading
from collections.abc import Mapping
from typing import Any

from mcp.server.mcpserver import Context
from pydantic import BaseModel, Field

from commerce_mcp.errors import InvalidRequest
from commerce_mcp.resilience.clock import Clock

TOKEN_TTL_SECONDS = 300.0


class Approval(BaseModel):
    """What the person answers when asked to confirm a write."""

    approve: bool = Field(description="Yes, do exactly this.")


class NotAsked(Approval):
    """Returned by a resolver when the client cannot be asked; the tool falls back to tokens."""


NOT_ASKED = NotAsked(approve=False)


class ConfirmationBook:
    """Issues and redeems confirmation tokens bound to (tool, exact arguments)."""

    def __init__(self, clock: Clock, *, ttl: float = TOKEN_TTL_SECONDS) -> None:
        self._clock = clock
        self.ttl = ttl
        self._secret = secrets.token_bytes(32)
        self._used: dict[str, float] = {}
        self._lock = threading.Lock()

    def issue(self, tool: str, arguments: Mapping[str, Any]) -> str:
        """A token confirming ``tool`` with exactly ``arguments`` (the token argument excluded)."""
        expires = int(self._clock.wall() + self.ttl)
        # A nonce makes every token distinct, so single use holds even for two previews in a second.
        nonce = secrets.token_hex(4)
        return f"cf-{expires}-{nonce}-{self._mac(tool, arguments, expires, nonce)}"

    def redeem(self, tool: str, arguments: Mapping[str, Any], token: str) -> None:
        """Accept the token once, or raise an error that says how to get a valid one."""
        again = f"call {tool} again without confirmation_token to get a fresh preview and token"
        try:
            _, expires_text, nonce, mac = token.split("-", 3)
            expires = int(expires_text)
        except ValueError:
            raise InvalidRequest(
                "confirmation_token is not one this server issued", hint=again
            ) from None
        if not hmac.compare_digest(mac, self._mac(tool, arguments, expires, nonce)):
            raise InvalidRequest(
                "confirmation_token does not match these arguments (it confirms only the exact"
                " previewed request)",
                hint=again,
            )
        now = self._clock.wall()
        if now > expires:
            raise InvalidRequest("confirmation_token has expired", hint=again)
        with self._lock:
            self._used = {t: exp for t, exp in self._used.items() if exp >= now}
            if token in self._used:
                raise InvalidRequest("confirmation_token was already used", hint=again)
            self._used[token] = expires

    def _mac(self, tool: str, arguments: Mapping[str, Any], expires: int, nonce: str) -> str:
        canonical = json.dumps(
            {"tool": tool, "args": _without_token(arguments), "exp": expires, "n": nonce},
            sort_keys=True,
            separators=(",", ":"),
            default=str,
        )
        return hmac.new(self._secret, canonical.encode(), hashlib.sha256).hexdigest()[:32]


def _without_token(arguments: Mapping[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in arguments.items() if k != "confirmation_token" and v is not None}


def client_can_elicit(ctx: Context[Any, Any]) -> bool:
    """True when the connected client declared form elicitation."""
    try:
        capabilities = ctx.client_capabilities
    except (AttributeError, LookupError, ValueError):
        return False
    return bool(capabilities is not None and capabilities.elicitation is not None)
