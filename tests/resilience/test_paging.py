"""The pagination loop guard (matrix #25)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from commerce_mcp.errors import PaginationStopped
from commerce_mcp.resilience.paging import PageGuard


def fetch_all(pages: dict[str | None, tuple[list[int], str | None]], guard: PageGuard) -> list[int]:
    """The loop a client writes: fetch, collect, ask the guard."""
    items: list[int] = []
    token: str | None = None
    while True:
        page, token = pages[token]
        items.extend(page)
        if not guard.advance(token):
            return items


def test_a_normal_listing_ends_when_there_is_no_next_token() -> None:
    pages = {None: ([1, 2], "t1"), "t1": ([3], "t2"), "t2": ([4], None)}
    guard = PageGuard()
    assert fetch_all(pages, guard) == [1, 2, 3, 4]
    assert not guard.truncated
    assert guard.pages == 3


def test_a_repeated_page_token_stops_the_loop_with_a_truncated_result() -> None:
    """Matrix #25: the same nextToken returned twice -> stop, partial result flagged truncated."""
    pages = {None: ([1], "t1"), "t1": ([2], "t2"), "t2": ([3], "t1")}
    guard = PageGuard()
    assert fetch_all(pages, guard) == [1, 2, 3]
    assert guard.truncated
    assert guard.reason is not None
    assert "same page token" in guard.reason
    assert guard.next_token == "t1"


def test_an_endless_listing_stops_at_the_page_cap() -> None:
    """Matrix #25: 10,000 pages -> stop at the cap with the partial result flagged truncated,
    keeping the token to continue from."""
    pages: dict[str | None, tuple[list[int], str | None]] = {None: ([0], "p1")}
    for n in range(1, 10_000):
        pages[f"p{n}"] = ([n], f"p{n + 1}")
    guard = PageGuard(max_pages=20)
    assert fetch_all(pages, guard) == list(range(20))
    assert guard.truncated
    assert guard.next_token == "p20"
    assert guard.pages == 20


def test_an_empty_token_means_the_end() -> None:
    guard = PageGuard()
    assert not guard.advance("")
    assert not guard.truncated
    with pytest.raises(ValueError, match="max_pages"):
        PageGuard(max_pages=0)


@given(tokens=st.lists(st.one_of(st.none(), st.text(max_size=3)), max_size=200))
def test_the_guard_always_stops_within_the_cap(tokens: list[str | None]) -> None:
    """Property: whatever tokens come back, the loop ends within max_pages."""
    guard = PageGuard(max_pages=10)
    fetched = 0
    for token in tokens:
        fetched += 1
        if not guard.advance(token):
            break
    assert fetched <= 10


def follow_all(
    pages: dict[str | None, tuple[list[int], str | None]], guard: PageGuard
) -> list[int]:
    """The loop a client writes with ``follow``: it ends at the last page or raises."""
    items: list[int] = []
    token: str | None = None
    while True:
        page, upstream = pages[token]
        items.extend(page)
        token = guard.follow(upstream, platform="tiktok", operation="search_products")
        if token is None:
            return items


def test_follow_walks_a_normal_listing_to_its_end() -> None:
    pages = {None: ([1, 2], "t1"), "t1": ([3], "t2"), "t2": ([4], None)}
    assert follow_all(pages, PageGuard()) == [1, 2, 3, 4]


def test_follow_raises_a_clear_error_on_a_repeated_token() -> None:
    pages: dict[str | None, tuple[list[int], str | None]] = {None: ([1], "S"), "S": ([2], "S")}
    with pytest.raises(PaginationStopped) as caught:
        follow_all(pages, PageGuard())
    text = caught.value.describe()
    assert "same page token" in text
    assert "search_products" in text
    assert "try again later" in text
    assert caught.value.platform == "tiktok"


def test_follow_raises_at_the_page_cap_and_says_to_narrow_the_request() -> None:
    pages: dict[str | None, tuple[list[int], str | None]] = {None: ([0], "p1")}
    for n in range(1, 100):
        pages[f"p{n}"] = ([n], f"p{n + 1}")
    with pytest.raises(PaginationStopped) as caught:
        follow_all(pages, PageGuard(max_pages=5))
    assert "after 5 page(s)" in caught.value.message
    assert "narrow the request" in (caught.value.hint or "")
