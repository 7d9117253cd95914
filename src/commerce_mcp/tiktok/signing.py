"""TikTok Shop request signing (Partner API v202309+), as a pure function.

The base string is ``path``, then every query parameter except ``sign`` and ``access_token`` as
``key+value`` in ordinal key order, then the raw body (unless it is multipart/form-data),
all wrapped in the app secret on both sides. The signature is the lowercase hex HMAC-SHA256 of that
string keyed by the secret.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping

#: Query parameters that never take part in the signature.
UNSIGNED_PARAMS = frozenset({"sign", "access_token"})


def media_type(content_type: str | None) -> str:
    """The bare media type of a Content-Type header value, lowercased (``""`` when absent)."""
    return (content_type or "").split(";", 1)[0].strip().lower()


def string_to_sign(
    app_secret: str,
    path: str,
    query: Mapping[str, str],
    body: bytes | None,
    content_type: str | None,
) -> bytes:
    """The exact bytes that are HMAC'd; exposed so failures can be debugged against the spec."""
    secret = app_secret.encode("utf-8")
    parts = [secret, path.encode("utf-8")]
    # Sorting str keys compares code points, which is the ordinal order the platform uses.
    for key in sorted(k for k in query if k not in UNSIGNED_PARAMS):
        parts.append(key.encode("utf-8"))
        parts.append(str(query[key]).encode("utf-8"))
    if body and media_type(content_type) != "multipart/form-data":
        parts.append(body)
    parts.append(secret)
    return b"".join(parts)


def sign(
    app_secret: str,
    path: str,
    query: Mapping[str, str],
    body: bytes | None,
    content_type: str | None,
) -> str:
    """Return the ``sign`` query parameter for a request (lowercase hex HMAC-SHA256)."""
    message = string_to_sign(app_secret, path, query, body, content_type)
    return hmac.new(app_secret.encode("utf-8"), message, hashlib.sha256).hexdigest()
