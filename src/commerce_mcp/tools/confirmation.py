"""Preview-then-confirm for every write.

A write tool called without a token returns a preview of exactly what would happen plus a short-lived
confirmation token. The token is an HMAC over the tool name, the canonical JSON of the arguments and an
expiry, so it confirms *that* payload only: change any argument and it no longer matches. Tokens are
single-use, claimed in the state store so a second redeem fails even from another process sharing it.

The signing secret is random per process unless ``COMMERCE_MCP_CONFIRMATION_SECRET`` is set (replicas
behind a load balancer share it, so a preview on one can be confirmed on another). Every token names
the secret it was signed with by a short fingerprint, so a token from a restarted or different server
is refused as such, rather than as "does not match these arguments".

Where the client declared the elicitation capability, each write tool's resolver asks the person
directly instead (``Approval``, see :func:`ask`); the token path remains for clients that cannot ask.

:class:`WriteGate` is the one place the sequence lives: preview (and a token) -> confirmation by token
or by the person's answer -> decline, or execute. Every write tool hands it its three steps.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
from collections.abc import Awaitable, Callable, Mapping
from typing import Any, TypeVar

from mcp.server.mcpserver import Context, Elicit
from pydantic import BaseModel, Field

from commerce_mcp.errors import InvalidRequest, PermissionDenied, before_any_send
from commerce_mcp.services import Services
from commerce_mcp.store.base import StateStore

R = TypeVar("R")

TOKEN_TTL_SECONDS = 300.0
#: Where redeemed tokens are claimed (keyed by their MAC; pruned once expired).
USED_NAMESPACE = "confirmation_tokens.used"
_PRUNE_EVERY = 64


class Approval(BaseModel):
    """What the person answers when asked to confirm a write."""

    approve: bool = Field(description="Yes, do exactly this.")


class NotAsked(Approval):
    """Returned by a resolver when the client cannot be asked; the tool falls back to tokens."""


NOT_ASKED = NotAsked(approve=False)


class ConfirmationBook:
    """Issues and redeems confirmation tokens bound to (tool, exact arguments).

    The book holds only the signing secret: the time and the state store where single use is recorded
    come with each call, from the services of the session making it (the sandbox swaps in simulated
    time after start-up; hosted mode has one store per tenant).
    """

    def __init__(self, *, secret: bytes | None = None, ttl: float = TOKEN_TTL_SECONDS) -> None:
        self.ttl = ttl
        self._secret = secret or secrets.token_bytes(32)
        # Not secret: it only tells "signed by another key" apart from "signed for other arguments".
        self._instance = hashlib.sha256(b"commerce-mcp/confirm/" + self._secret).hexdigest()[:8]
        self._claims = 0

    @classmethod
    def for_secret(cls, secret: str | None) -> ConfirmationBook:
        """A book signing with ``secret`` (COMMERCE_MCP_CONFIRMATION_SECRET), or a random one."""
        return cls(secret=secret.encode() if secret else None)

    def issue(self, tool: str, arguments: Mapping[str, Any], *, now: float) -> str:
        """A token confirming ``tool`` with exactly ``arguments`` (the token argument excluded)."""
        expires = int(now + self.ttl)
        # A nonce makes every token distinct, so single use holds even for two previews in a second.
        nonce = secrets.token_hex(4)
        mac = self._mac(tool, arguments, expires, nonce)
        return f"cf-{expires}-{nonce}-{self._instance}-{mac}"

    async def redeem(
        self,
        tool: str,
        arguments: Mapping[str, Any],
        token: str,
        *,
        now: float,
        store: StateStore,
    ) -> None:
        """Accept the token once, or raise an error that says how to get a valid one."""
        again = f"call {tool} again without confirmation_token to get a fresh preview and token"
        parts = token.split("-")
        if len(parts) != 5 or parts[0] != "cf" or not parts[1].isdigit():
            raise InvalidRequest("confirmation_token is not one this server issued", hint=again)
        _, expires_text, nonce, instance, mac = parts
        expires = int(expires_text)
        if not hmac.compare_digest(instance, self._instance):
            raise InvalidRequest(
                "confirmation_token was issued by another server instance or before a restart"
                " (or has expired); it cannot confirm anything here",
                hint=again,
            )
        if not hmac.compare_digest(mac, self._mac(tool, arguments, expires, nonce)):
            raise InvalidRequest(
                "confirmation_token does not match these arguments (it confirms only the exact"
                " previewed request)",
                hint=again,
            )
        if now > expires:
            raise InvalidRequest("confirmation_token has expired", hint=again)
        with before_any_send():  # the claim comes before the confirmed write is sent
            claimed = await store.put_if_absent(USED_NAMESPACE, mac, {"expires": expires})
        if claimed is not None:
            raise InvalidRequest("confirmation_token was already used", hint=again)
        self._claims += 1
        if self._claims % _PRUNE_EVERY == 0:
            await _prune(store, now)

    def _mac(self, tool: str, arguments: Mapping[str, Any], expires: int, nonce: str) -> str:
        canonical = json.dumps(
            {"tool": tool, "args": _without_token(arguments), "exp": expires, "n": nonce},
            sort_keys=True,
            separators=(",", ":"),
            default=str,
        )
        return hmac.new(self._secret, canonical.encode(), hashlib.sha256).hexdigest()[:32]


async def _prune(store: StateStore, now: float) -> None:
    """Forget claims whose tokens have expired: they can never be redeemed again anyway."""
    for key, doc in await store.list(USED_NAMESPACE):
        if float(doc.get("expires", 0)) < now:
            await store.delete(USED_NAMESPACE, key)


def _without_token(arguments: Mapping[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in arguments.items() if k != "confirmation_token" and v is not None}


def client_can_elicit(ctx: Context[Any, Any]) -> bool:
    """True when the connected client declared form elicitation."""
    try:
        capabilities = ctx.client_capabilities
    except (AttributeError, LookupError, ValueError):
        return False
    return bool(capabilities is not None and capabilities.elicitation is not None)


def ask(ctx: Context[Any, Any], question: str) -> Approval | Elicit[Approval]:
    """The body of every write tool's resolver: ask ``question`` when the client can be asked."""
    return Elicit(question, Approval) if client_can_elicit(ctx) else NOT_ASKED


class WriteGate:
    """The one preview -> confirm -> execute sequence, bound to one tool and one session's services.

    ``run`` takes the tool's three steps. ``preview(issue)`` answers a first call; it calls ``issue()``
    for a token only when there is something to confirm (an order that already exists or cannot be
    fulfilled gets no token). A call with a token redeems it (single use, bound to ``bound``) and
    executes; a client that can ask the person skips the token: a "no" runs ``declined``.
    """

    def __init__(self, book: ConfirmationBook, services: Services, tool: str) -> None:
        self.book = book
        self.services = services
        self.tool = tool

    @property
    def ttl(self) -> int:
        """Seconds a token stays valid (shown to the model as token_expires_in_seconds)."""
        return int(self.book.ttl)

    def issue(self, bound: Mapping[str, Any]) -> str:
        """A token for exactly ``bound``."""
        return self.book.issue(self.tool, bound, now=self.services.clock.wall())

    @staticmethod
    def confirming(approval: Approval, token: str | None) -> bool:
        """True when this call confirms a preview by token (so its preview need not be redone)."""
        return isinstance(approval, NotAsked) and token is not None

    async def run(
        self,
        *,
        bound: Mapping[str, Any],
        approval: Approval,
        token: str | None,
        preview: Callable[[Callable[[], str]], Awaitable[R]],
        declined: Callable[[], R],
        execute: Callable[[], Awaitable[R]],
    ) -> R:
        """Preview, or confirm and execute, or report the person's "no"."""
        # The registry hides write tools when writes are off; this is the lock behind that door, for
        # any path that reaches a write tool anyway (a stale manifest, a future caller).
        settings = self.services.settings
        if not settings.writes_enabled:
            raise PermissionDenied(
                f"{self.tool} changes a platform and writes are off ({settings.writes_decided_by});"
                " nothing was changed",
                hint="turn writes on (COMMERCE_MCP_ALLOW_WRITES=true; hosted: the tenant's write"
                " policy) and call the tool again",
            )
        if isinstance(approval, NotAsked):
            if token is None:
                return await preview(lambda: self.issue(bound))
            await self.book.redeem(
                self.tool,
                bound,
                token,
                now=self.services.clock.wall(),
                store=await self.services.store(),
            )
            return await execute()
        if not approval.approve:
            return declined()
        return await execute()
