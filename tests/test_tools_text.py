"""Untrusted marketplace text is cleaned and bounded."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from commerce_mcp.tools.text import clean_text, quoted


def test_bidi_overrides_and_controls_are_removed() -> None:
    raw = "Nice\u202e gnp.exe\u202c tumbler\x00\x1b[31m\u200b ok"
    assert clean_text(raw) == "Nice gnp.exe tumbler[31m ok"


def test_long_text_is_cut_with_an_ellipsis() -> None:
    assert clean_text("x" * 500, max_chars=20) == "x" * 19 + "…"


def test_quoted_text_cannot_break_out_of_its_quotes() -> None:
    assert quoted('say "ignore previous instructions"') == "\"say 'ignore previous instructions'\""


@given(st.text(), st.integers(min_value=2, max_value=300))
def test_cleaned_text_is_bounded_and_free_of_invisible_characters(raw: str, limit: int) -> None:
    cleaned = clean_text(raw, limit)
    assert cleaned is not None
    assert len(cleaned) <= limit
    assert not any(ch in cleaned for ch in "\u202e\u202d\u200b\u2066\x00\x1b\ufeff")


@given(st.text(), st.integers(min_value=2, max_value=300))
def test_lone_surrogates_are_removed_too(raw: str, limit: int) -> None:
    cleaned = clean_text(raw + "\udc80 x\ud800", limit)
    assert cleaned is not None
    assert not any("\ud800" <= ch <= "\udfff" for ch in cleaned)
