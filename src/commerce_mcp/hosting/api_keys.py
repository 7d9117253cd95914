"""API keys for simple self-hosting: ``cmcp_<prefix>_<secret>``, shown once, stored as a salted hash.

The secret part is 256 random bits, so a fast keyed hash (HMAC-SHA256 with a per-key salt) is as good
as a slow password hash here and costs microseconds per request; the prefix finds the record without
scanning. Comparison is constant-time.

Keys live in the state store and every request checks its key there, so a revoked key stops working on
every replica at once. While the store cannot be read no key is accepted: authentication raises
:class:`~commerce_mcp.errors.StateStoreUnavailable`, which the HTTP app answers with a 503 carrying
that message (never a 401, which would tell the caller its key is wrong).
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time
from dataclasses import dataclass

from commerce_mcp.hosting.principal import Principal
from commerce_mcp.hosting.settings import READ_SCOPE, WRITE_SCOPE
from commerce_mcp.store.base import StateStore

NAMESPACE = "hosting.api_keys"
KEY_PREFIX = "cmcp_"


@dataclass(frozen=True)
class ApiKeyRecord:
    """What is stored for one key (never the key itself)."""

    prefix: str
    tenant: str
    scopes: tuple[str, ...]
    created_at: float
    revoked: bool


class ApiKeys:
    """Issue, verify, list and revoke API keys in a state store."""

    def __init__(self, store: StateStore) -> None:
        self._store = store

    async def issue(self, tenant: str, *, write: bool = True) -> str:
        """A new key for ``tenant``; the only time the full key exists outside the caller."""
        prefix = secrets.token_hex(4)
        secret = secrets.token_urlsafe(32)
        salt = secrets.token_hex(16)
        scopes = [READ_SCOPE, WRITE_SCOPE] if write else [READ_SCOPE]
        await self._store.put(
            NAMESPACE,
            prefix,
            {
                "tenant": tenant,
                "salt": salt,
                "hash": _digest(salt, secret),
                "scopes": scopes,
                "created_at": time.time(),
                "revoked": False,
            },
        )
        return f"{KEY_PREFIX}{prefix}_{secret}"

    async def authenticate(self, key: str) -> Principal | None:
        """The principal for a valid, unrevoked key; None otherwise.

        Raises StateStoreUnavailable when the store cannot be read.
        """
        try:
            prefix, secret = key.removeprefix(KEY_PREFIX).split("_", 1)
        except ValueError:
            return None
        doc = await self._store.get(NAMESPACE, prefix)
        if (
            doc is None
            or doc.get("revoked")
            or not hmac.compare_digest(str(doc["hash"]), _digest(str(doc["salt"]), secret))
        ):
            return None
        return Principal(
            tenant=str(doc["tenant"]), scopes=frozenset(doc.get("scopes", [])), via="api_key"
        )

    async def list(self, tenant: str | None = None) -> list[ApiKeyRecord]:
        records = [
            ApiKeyRecord(
                prefix=prefix,
                tenant=str(doc["tenant"]),
                scopes=tuple(doc.get("scopes", [])),
                created_at=float(doc.get("created_at", 0)),
                revoked=bool(doc.get("revoked")),
            )
            for prefix, doc in await self._store.list(NAMESPACE)
        ]
        return [r for r in records if tenant is None or r.tenant == tenant]

    async def revoke(self, prefix: str) -> bool:
        """Revoke the key with this prefix (``cmcp_<prefix>`` also accepted); False if unknown."""
        prefix = prefix.removeprefix(KEY_PREFIX).split("_", 1)[0]
        doc = await self._store.get(NAMESPACE, prefix)
        if doc is None:
            return False
        await self._store.put(NAMESPACE, prefix, {**doc, "revoked": True})
        return True

    async def revoke_tenant(self, tenant: str) -> int:
        revoked = 0
        for record in await self.list(tenant):
            if not record.revoked and await self.revoke(record.prefix):
                revoked += 1
        return revoked


def _digest(salt: str, secret: str) -> str:
    return hmac.new(salt.encode(), secret.encode(), hashlib.sha256).hexdigest()
