"""Tenants: one seller each, with its own platform credentials, write policy and toolsets.

A tenant's configuration lives in the state store; its platform secrets are encrypted at rest with
Fernet (AES-128-CBC + HMAC-SHA256) under ``COMMERCE_MCP_ENCRYPTION_KEY``, so a copy of the database
alone reveals no credential. Everything stateful a tenant's tools touch goes through a
:class:`~commerce_mcp.store.prefixed.PrefixedStore`, so tenants can never read each other's tokens,
ledger, links or confirmation claims.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import re
from dataclasses import dataclass, field
from typing import Any

from cryptography.fernet import Fernet, InvalidToken
from pydantic import SecretStr

from commerce_mcp.config import Settings
from commerce_mcp.errors import InvalidRequest, NotFound
from commerce_mcp.resilience.clock import Clock, SystemClock
from commerce_mcp.services import Services
from commerce_mcp.store.base import StateStore
from commerce_mcp.store.prefixed import PrefixedStore

log = logging.getLogger(__name__)

NAMESPACE = "hosting.tenants"
TENANT_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._@-]{0,99}$")
#: Settings a tenant may set for itself: its platforms and its SKU/carrier maps. Server-wide knobs
#: (state store, deadlines, logging) stay with the operator.
TENANT_SETTINGS = tuple(
    name
    for name in Settings.model_fields
    if name.startswith(("tiktok_", "amazon_"))
    or name in ("commerce_mcp_sku_map", "commerce_mcp_carrier_map")
)
SECRET_SETTINGS = frozenset(
    name for name in TENANT_SETTINGS if Settings.model_fields[name].annotation == SecretStr | None
)


@dataclass
class TenantConfig:
    """What one tenant is: its name, platform settings (secrets in clear only in memory), policy."""

    name: str
    values: dict[str, str] = field(default_factory=dict)
    allow_writes: bool = False
    toolsets: str | None = None

    def settings(self, base: Settings) -> Settings:
        """The tenant's effective settings: the server's, with this tenant's platforms and policy."""
        server_wide = {k: v for k, v in base.model_dump().items() if k not in TENANT_SETTINGS}
        # Every platform setting is given explicitly (the tenant's value or the default): a field
        # left out would be read from the operator's environment and leak its credentials.
        merged: dict[str, Any] = {
            **server_wide,
            **{k: self.values.get(k, Settings.model_fields[k].default) for k in TENANT_SETTINGS},
            "commerce_mcp_allow_writes": self.allow_writes,
        }
        if self.toolsets:
            merged["commerce_mcp_toolsets"] = self.toolsets
        shared = base.commerce_mcp_confirmation_secret
        if shared is not None:
            # Replicas share the operator's secret, but each tenant signs with its own key derived
            # from it: a token previewed by one tenant can never confirm the same call for another.
            merged["commerce_mcp_confirmation_secret"] = hmac.new(
                shared.get_secret_value().encode(), f"tenant:{self.name}".encode(), hashlib.sha256
            ).hexdigest()
        return Settings(**merged)


def check_name(name: str) -> str:
    if not TENANT_NAME.match(name):
        raise InvalidRequest(
            f"{name[:40]!r} is not a valid tenant name",
            hint="use 1-100 letters, digits, '.', '_', '@' or '-', starting with a letter or digit",
        )
    return name


class TenantDirectory:
    """Tenant configurations in the state store, secrets encrypted with the operator's key."""

    def __init__(self, store: StateStore, encryption_key: SecretStr | None) -> None:
        self._store = store
        self._fernet = Fernet(encryption_key.get_secret_value()) if encryption_key else None

    async def get(self, name: str) -> TenantConfig | None:
        doc = await self._store.get(NAMESPACE, name)
        return self._decode(doc) if doc else None

    async def require(self, name: str) -> TenantConfig:
        tenant = await self.get(name)
        if tenant is None:
            raise NotFound(
                f"no tenant named {name[:40]!r} is configured",
                hint="create it with `commerce-mcp tenants add NAME`",
            )
        return tenant

    async def save(self, tenant: TenantConfig) -> None:
        check_name(tenant.name)
        unknown = sorted(set(tenant.values) - set(TENANT_SETTINGS))
        if unknown:
            raise InvalidRequest(
                f"tenants cannot set {', '.join(unknown)}",
                hint="a tenant may set TIKTOK_*, AMAZON_*, COMMERCE_MCP_SKU_MAP and"
                " COMMERCE_MCP_CARRIER_MAP",
            )
        secrets = {k: v for k, v in tenant.values.items() if k in SECRET_SETTINGS}
        if secrets and self._fernet is None:
            raise InvalidRequest(
                "storing platform secrets needs COMMERCE_MCP_ENCRYPTION_KEY",
                hint="create one with `commerce-mcp tenants keygen` and set it in the environment",
            )
        doc = {
            "name": tenant.name,
            "allow_writes": tenant.allow_writes,
            "toolsets": tenant.toolsets,
            "values": {k: v for k, v in tenant.values.items() if k not in SECRET_SETTINGS},
            "secrets": {
                k: self._fernet.encrypt(v.encode()).decode()  # type: ignore[union-attr]
                for k, v in secrets.items()
            },
        }
        await self._store.put(NAMESPACE, tenant.name, doc)

    async def remove(self, name: str) -> bool:
        if await self._store.get(NAMESPACE, name) is None:
            return False
        await self._store.delete(NAMESPACE, name)
        return True

    async def names(self) -> list[str]:
        return [key for key, _ in await self._store.list(NAMESPACE)]

    def _decode(self, doc: dict[str, Any]) -> TenantConfig:
        values = dict(doc.get("values") or {})
        for key, token in (doc.get("secrets") or {}).items():
            if self._fernet is None:
                raise InvalidRequest(
                    f"tenant {doc['name']!r} has encrypted secrets but COMMERCE_MCP_ENCRYPTION_KEY"
                    " is not set",
                    hint="set the key the tenant was created with",
                )
            try:
                values[key] = self._fernet.decrypt(str(token).encode()).decode()
            except InvalidToken:
                raise InvalidRequest(
                    f"tenant {doc['name']!r}: a stored secret does not decrypt with this key",
                    hint="set the COMMERCE_MCP_ENCRYPTION_KEY the tenant was created with",
                ) from None
        return TenantConfig(
            name=str(doc["name"]),
            values=values,
            allow_writes=bool(doc.get("allow_writes")),
            toolsets=doc.get("toolsets"),
        )


def tenant_services(
    config: TenantConfig, base: Settings, store: StateStore, clock: Clock | None = None
) -> Services:
    """Services for one tenant: its settings, and its own view of the shared state store."""
    services = Services(settings=config.settings(base), clock=clock or SystemClock())
    services.use_store(PrefixedStore(store, config.name))
    return services


async def services_of_tenant(control: Services, name: str) -> Services:
    """Services for the tenant ``name``, from the control services' store (for CLI commands).

    The returned services close the control services' store with their own when closed.
    """
    from commerce_mcp.hosting.settings import HostingSettings

    store = await control.store()
    config = await TenantDirectory(store, HostingSettings().commerce_mcp_encryption_key).require(
        name
    )
    services = tenant_services(config, control.settings, store, control.clock)
    services.closing_too = control
    return services
