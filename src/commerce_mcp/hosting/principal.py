"""Who is calling: set by the HTTP auth gate for the duration of one request."""

from __future__ import annotations

from contextvars import ContextVar
from dataclasses import dataclass

from commerce_mcp.hosting.settings import WRITE_SCOPE


@dataclass(frozen=True)
class Principal:
    """An authenticated caller: the tenant it acts for and the scopes it was granted."""

    tenant: str
    scopes: frozenset[str]
    #: "oauth", "api_key", or "local" (loopback sandbox without authentication).
    via: str

    @property
    def can_write(self) -> bool:
        return WRITE_SCOPE in self.scopes


current_principal: ContextVar[Principal | None] = ContextVar("commerce_mcp_principal", default=None)
