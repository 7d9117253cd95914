"""The fake TikTok Shop's own signature check, written independently of the client's signer.

It works from what arrived on the wire: the raw query string (decoded here), the path and the raw
body bytes, so a client that signs one thing and sends another is caught.
"""

from __future__ import annotations

import hashlib
import hmac
from urllib.parse import parse_qsl

_EXCLUDED = ("sign", "access_token")


def decoded_query(raw_query: bytes | str) -> dict[str, str]:
    """Decode a raw query string; a repeated key keeps its first value (as in the samples)."""
    text = raw_query.decode("latin-1") if isinstance(raw_query, bytes) else raw_query
    result: dict[str, str] = {}
    for key, value in parse_qsl(text, keep_blank_values=True, encoding="utf-8"):
        result.setdefault(key, value)
    return result


def expected_sign(
    secret: str, path: str, params: dict[str, str], body: bytes, content_type: str
) -> str:
    """Recompute the signature the platform expects for a received request."""
    base = path + "".join(
        name + params[name] for name in sorted(params, key=_ordinal) if name not in _EXCLUDED
    )
    payload = base.encode("utf-8")
    if not content_type.split(";")[0].strip().lower().startswith("multipart/form-data"):
        payload += body
    wrapped = secret.encode("utf-8") + payload + secret.encode("utf-8")
    return hmac.new(secret.encode("utf-8"), wrapped, hashlib.sha256).hexdigest()


def _ordinal(name: str) -> list[int]:
    return [ord(char) for char in name]


def signature_matches(given: str, expected: str) -> bool:
    """Constant-time comparison of two hex digests (case-insensitive, as hex is)."""
    return hmac.compare_digest(given.lower().encode("ascii", "replace"), expected.encode("ascii"))
