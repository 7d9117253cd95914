"""Response models: a blank amount reads as none, exactly as stripping the string would say."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

from hypothesis import given
from hypothesis import strategies as st
from pydantic import TypeAdapter, ValidationError

from commerce_mcp.tiktok.models import Amount

AMOUNT: TypeAdapter[Decimal | None] = TypeAdapter(Amount)
PLAIN: TypeAdapter[Decimal | None] = TypeAdapter(Decimal | None)

#: Every character Python's str.strip() removes, and a few it keeps.
SPACES = "".join(chr(c) for c in range(0x3001) if chr(c).isspace()) + "\u200b\u180e0.-"


def _what_stripping_says(value: Any) -> tuple[str, Any]:
    """The reading the amounts had as a before-validator: blank text is None, else Decimal | None."""
    if isinstance(value, str) and not value.strip():
        return ("ok", None)
    try:
        return ("ok", PLAIN.validate_python(value))
    except ValidationError:
        return ("error", None)


def _what_amount_says(value: Any) -> tuple[str, Any]:
    try:
        return ("ok", AMOUNT.validate_python(value))
    except ValidationError:
        return ("error", None)


amounts = st.one_of(
    st.none(),
    st.text(alphabet=SPACES, max_size=4),
    st.decimals(allow_nan=False, allow_infinity=False).map(str),
    st.integers(),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=6),
    st.booleans(),
)


@given(amounts)
def test_an_amount_reads_like_stripping_blank_text_to_none(value: Any) -> None:
    assert _what_amount_says(value) == _what_stripping_says(value)


def test_every_blank_string_is_no_amount_in_json_too() -> None:
    for char in SPACES:
        if char.isspace():
            assert AMOUNT.validate_json(json.dumps(char)) is None
    assert AMOUNT.validate_json(b'"12.50"') == Decimal("12.50")
    assert AMOUNT.validate_json(b"null") is None
