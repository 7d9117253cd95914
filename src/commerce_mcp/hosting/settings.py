"""Settings only hosted mode reads (kept apart so stdio start-up never parses them)."""

from __future__ import annotations

import ipaddress
from typing import Any

from pydantic import Field, SecretStr, field_validator
from pydantic_core import PydanticUseDefault
from pydantic_settings import BaseSettings, SettingsConfigDict

#: Scope a token needs to see and call read tools, and the one write tools need on top of it.
READ_SCOPE = "commerce:read"
WRITE_SCOPE = "commerce:write"


class HostingSettings(BaseSettings):
    """``COMMERCE_MCP_HTTP_*``, ``COMMERCE_MCP_OAUTH_*`` and the tenant encryption key."""

    model_config = SettingsConfigDict(
        env_file=".env", env_file_encoding="utf-8", extra="ignore", case_sensitive=False
    )

    commerce_mcp_http_host: str = "127.0.0.1"
    commerce_mcp_http_port: int = Field(default=8000, ge=0, le=65535)
    #: Host headers accepted (DNS-rebinding protection); default: the loopback names.
    commerce_mcp_http_allowed_hosts: str | None = None
    #: Origin headers accepted from browsers; default: loopback origins.
    commerce_mcp_http_allowed_origins: str | None = None
    commerce_mcp_http_max_body_bytes: int = Field(default=1_000_000, ge=1_024, le=50_000_000)
    #: Seconds in-flight calls may finish after SIGTERM before the process exits.
    commerce_mcp_http_drain_seconds: float = Field(default=20.0, ge=0, le=600)
    #: The URL clients use to reach this server's MCP endpoint (the token audience), e.g.
    #: https://mcp.example.com/mcp. Required with OAuth.
    commerce_mcp_http_public_url: str | None = None

    commerce_mcp_oauth_issuer: str | None = None
    #: Default: ``<issuer>/.well-known/jwks.json``.
    commerce_mcp_oauth_jwks_url: str | None = None
    #: The claim that names the tenant (default ``sub``).
    commerce_mcp_oauth_tenant_claim: str = "sub"
    #: Accept API keys (``commerce-mcp tenants add``) as bearer tokens.
    commerce_mcp_api_keys: bool = True
    #: Fernet key (``commerce-mcp tenants keygen``) encrypting tenants' platform secrets at rest.
    commerce_mcp_encryption_key: SecretStr | None = None
    #: Most tenants whose clients are kept in memory at once; the least recently used go first.
    commerce_mcp_max_tenants: int = Field(default=64, ge=1, le=10_000)

    @field_validator("*", mode="before")
    @classmethod
    def _blank_is_unset(cls, value: Any) -> Any:
        # `FOO=` in a .env file means "not set": the field's default, as in the main settings.
        if isinstance(value, str) and not value.strip():
            raise PydanticUseDefault()
        return value

    @property
    def loopback(self) -> bool:
        """True when the server only listens on this machine."""
        host = self.commerce_mcp_http_host
        if host == "localhost":
            return True
        try:
            return ipaddress.ip_address(host).is_loopback
        except ValueError:
            return False

    @property
    def oauth(self) -> bool:
        return self.commerce_mcp_oauth_issuer is not None

    def jwks_url(self) -> str:
        if self.commerce_mcp_oauth_jwks_url:
            return self.commerce_mcp_oauth_jwks_url
        return f"{str(self.commerce_mcp_oauth_issuer).rstrip('/')}/.well-known/jwks.json"

    def allowed_hosts(self) -> list[str]:
        if self.commerce_mcp_http_allowed_hosts:
            return _split(self.commerce_mcp_http_allowed_hosts)
        return ["127.0.0.1:*", "localhost:*", "[::1]:*"]

    def allowed_origins(self) -> list[str]:
        if self.commerce_mcp_http_allowed_origins:
            return _split(self.commerce_mcp_http_allowed_origins)
        return ["http://127.0.0.1:*", "http://localhost:*", "http://[::1]:*"]


def _split(value: str) -> list[str]:
    return [part.strip() for part in value.split(",") if part.strip()]
