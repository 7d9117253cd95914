"""Which Amazon seller SKU fulfils a TikTok seller SKU.

Identity by default: most sellers use the same SKU on both channels. Exceptions come from
``COMMERCE_MCP_SKU_MAP``: inline pairs (``TT-1=AMZ-1,TT-2=AMZ-2``), or a path to a JSON object
(``{"TT-1": "AMZ-1"}``) or a two-column CSV file (``tiktok_sku,amazon_sku``). Mapping a SKU to ``-`` (or
an empty value) marks it as not fulfilled by FBA at all.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from commerce_mcp.errors import InvalidRequest

_EXCLUDED = {"", "-"}


@dataclass(frozen=True)
class SkuMap:
    exceptions: Mapping[str, str | None] = field(default_factory=dict)

    @classmethod
    def parse(cls, spec: str | None) -> SkuMap:
        """Read the map from the setting's value; a broken map is a clear configuration error."""
        if not spec or not spec.strip():
            return cls()
        text = spec.strip()
        path = Path(text).expanduser()
        if "=" not in text or path.exists():
            if not path.exists():
                raise InvalidRequest(
                    f"COMMERCE_MCP_SKU_MAP file {text!r} does not exist",
                    hint="point it at a JSON or CSV file, or use inline pairs TIKTOK=AMAZON,...",
                )
            return cls(_read_file(path))
        pairs: dict[str, str | None] = {}
        for chunk in text.split(","):
            tiktok, sep, amazon = chunk.partition("=")
            if not sep or not tiktok.strip():
                raise InvalidRequest(
                    f"COMMERCE_MCP_SKU_MAP entry {chunk.strip()!r} is not TIKTOK_SKU=AMAZON_SKU",
                    hint="use e.g. COMMERCE_MCP_SKU_MAP='TT-RED=AMZ-RED,TT-GIFT=-'",
                )
            pairs[tiktok.strip()] = _amazon_value(amazon)
        return cls(pairs)

    def to_amazon(self, tiktok_sku: str | None) -> str | None:
        """The Amazon SKU for ``tiktok_sku``; None when it is excluded or blank."""
        if not tiktok_sku:
            return None
        if tiktok_sku in self.exceptions:
            return self.exceptions[tiktok_sku]
        return tiktok_sku


def _amazon_value(raw: object) -> str | None:
    value = str(raw).strip() if raw is not None else ""
    return None if value in _EXCLUDED else value


def _read_file(path: Path) -> dict[str, str | None]:
    try:
        text = path.read_text(encoding="utf-8")
        if path.suffix.lower() == ".json":
            data = json.loads(text)
            if not isinstance(data, dict):
                raise ValueError("the JSON file must hold one object of tiktok_sku: amazon_sku")
            return {str(k).strip(): _amazon_value(v) for k, v in data.items()}
        rows = [row for row in csv.reader(text.splitlines()) if row and row[0].strip()]
        if rows and rows[0][0].strip().lower() in {"tiktok_sku", "tiktok", "tiktok seller sku"}:
            rows = rows[1:]
        return {row[0].strip(): _amazon_value(row[1] if len(row) > 1 else "") for row in rows}
    except (OSError, ValueError) as exc:
        raise InvalidRequest(
            f"COMMERCE_MCP_SKU_MAP file {str(path)!r} could not be read: {exc}",
            hint="fix the file (JSON object or two-column CSV) or unset COMMERCE_MCP_SKU_MAP",
        ) from None
