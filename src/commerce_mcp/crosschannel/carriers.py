"""Amazon carrier codes -> the TikTok Shop shipping provider that carries the parcel.

Amazon reports carriers as short codes (``UPS``, ``USPS``, ``AMZN_US``, ``FEDEX``); TikTok wants one of the
shop's shipping provider ids for the order's delivery option. We match by provider name, built-in
aliases first, then ``COMMERCE_MCP_CARRIER_MAP`` overrides (``CODE=Provider name,...``).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Protocol

from commerce_mcp.errors import InvalidRequest

#: Names (normalised) a TikTok provider may go by, per Amazon carrier code.
BUILTIN_ALIASES: Mapping[str, tuple[str, ...]] = {
    "UPS": ("ups",),
    "UPSMI": ("ups mail innovations", "ups"),
    "USPS": ("usps", "united states postal service"),
    "FEDEX": ("fedex", "fedex ground"),
    "DHL": ("dhl ecommerce", "dhl express", "dhl"),
    "DHLECOMMERCE": ("dhl ecommerce", "dhl"),
    "AMZN_US": ("amazon shipping", "amazon logistics", "amazon"),
    "AMZL_US": ("amazon shipping", "amazon logistics", "amazon"),
    "AMZN_UK": ("amazon shipping", "amazon logistics", "amazon"),
    "ONTRAC": ("ontrac",),
    "LASERSHIP": ("lasership", "ontrac"),
    "ROYAL_MAIL": ("royal mail",),
    "CANADA_POST": ("canada post",),
}


class Provider(Protocol):
    @property
    def id(self) -> str: ...

    @property
    def name(self) -> str: ...


def _norm(name: str) -> str:
    return re.sub(r"[^a-z0-9]+", " ", name.lower()).strip()


@dataclass(frozen=True)
class CarrierMap:
    overrides: Mapping[str, str] = field(default_factory=dict)

    @classmethod
    def parse(cls, spec: str | None) -> CarrierMap:
        if not spec or not spec.strip():
            return cls()
        overrides: dict[str, str] = {}
        for chunk in spec.split(","):
            code, sep, provider = chunk.partition("=")
            if not sep or not code.strip() or not provider.strip():
                raise InvalidRequest(
                    f"COMMERCE_MCP_CARRIER_MAP entry {chunk.strip()!r} is not CODE=Provider name",
                    hint="use e.g. COMMERCE_MCP_CARRIER_MAP='AMZN_US=Amazon Shipping,UPSMI=UPS'",
                )
            overrides[code.strip().upper()] = provider.strip()
        return cls(overrides)

    def resolve(self, carrier_code: str | None, providers: Sequence[Provider]) -> Provider:
        """The TikTok provider for ``carrier_code``; an unknown carrier lists the shop's providers."""
        code = (carrier_code or "").strip().upper()
        wanted = []
        if code in self.overrides:
            wanted.append(_norm(self.overrides[code]))
        wanted.extend(BUILTIN_ALIASES.get(code, ()))
        wanted.append(_norm(code))
        by_name = {_norm(p.name): p for p in providers}
        for name in wanted:
            if name in by_name:
                return by_name[name]
        for name in wanted:  # e.g. "ups" matches "UPS Ground"
            for normalised, provider in by_name.items():
                if name and normalised.startswith(name + " "):
                    return provider
        available = ", ".join(sorted(p.name for p in providers)) or "none"
        raise InvalidRequest(
            f"no TikTok shipping provider matches Amazon carrier {carrier_code or '(none)'}",
            hint=f"set COMMERCE_MCP_CARRIER_MAP={code or 'CODE'}=<one of: {available}> and sync again",
        )
