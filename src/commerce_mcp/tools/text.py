"""Untrusted marketplace text (titles, buyer notes, return reasons) made safe to show a model.

Control and bidirectional-override characters are removed (they can hide or reorder text), whitespace is
collapsed, and length is bounded. The text is still data: renderers quote it, never splice it into
instructions.
"""

from __future__ import annotations

import re
import unicodedata

_INVISIBLE = re.compile(
    "[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f-\u009f"  # C0/C1 controls (tab/newline kept)
    "\u200b-\u200f\u202a-\u202e\u2060-\u2069\ufeff\ufff9-\ufffb"  # zero-width, bidi, BOM, anchors
    "\ud800-\udfff]"  # lone surrogates (category Cs): in the pattern, not a per-character loop
)
_SPACES = re.compile(r"\s+")


def clean_text(value: str | None, max_chars: int = 200) -> str | None:
    """Strip control/bidi characters, collapse whitespace, cap the length (with an ellipsis)."""
    if value is None:
        return None
    text = str(value)
    if not text.isascii():  # most marketplace text is: NFC leaves it as it is
        text = unicodedata.normalize("NFC", text)
    text = _SPACES.sub(" ", _INVISIBLE.sub("", text)).strip()
    if len(text) > max_chars:
        text = text[: max_chars - 1].rstrip() + "…"
    return text


def quoted(value: str | None, max_chars: int = 200) -> str:
    """Cleaned text in double quotes, so it reads as data in a compact line."""
    cleaned = clean_text(value, max_chars)
    if not cleaned:
        return '""'
    return '"' + cleaned.replace('"', "'") + '"'
