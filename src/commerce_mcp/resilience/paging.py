"""A guard for cursor pagination loops: a repeated page token or too many pages ends the loop.

Platforms have been seen returning the same ``nextToken`` twice; without a guard a "fetch everything"
helper would spin until the deadline. The guard stops early and says the result is truncated;
:meth:`PageGuard.follow` turns that into a :class:`~commerce_mcp.errors.PaginationStopped` for the
loops whose callers need every page (a partial stock listing or SKU lookup would be a wrong answer).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from commerce_mcp.errors import PaginationStopped, Platform

DEFAULT_MAX_PAGES = 50


@dataclass
class PageGuard:
    """Feed it each page's next token; it says whether to fetch another page.

    ``truncated`` is True when it stopped for safety (a repeated token or ``max_pages`` reached) rather
    than because the platform said there were no more pages; ``reason`` says which.
    """

    max_pages: int = DEFAULT_MAX_PAGES
    pages: int = 0
    truncated: bool = False
    reason: str | None = None
    repeated_token: bool = False
    next_token: str | None = None
    _seen: set[str] = field(default_factory=set, repr=False)

    def __post_init__(self) -> None:
        if self.max_pages < 1:
            raise ValueError("max_pages must be >= 1")

    def advance(self, token: str | None) -> bool:
        """Record one fetched page whose next-page token is ``token``; True to fetch the next one."""
        self.pages += 1
        self.next_token = token or None
        if not token:
            return False
        if token in self._seen:
            self.truncated = True
            self.repeated_token = True
            self.reason = "the platform returned the same page token twice"
            return False
        self._seen.add(token)
        if self.pages >= self.max_pages:
            self.truncated = True
            self.reason = f"more than {self.max_pages} pages (a safety limit)"
            return False
        return True

    def follow(self, token: str | None, *, platform: Platform, operation: str) -> str | None:
        """Record one page whose next-page token is ``token``; the token to fetch next, or None.

        None means the platform said this was the last page. A repeated token or ``max_pages``
        raises :class:`~commerce_mcp.errors.PaginationStopped` naming the reason, instead of
        looping on or handing back a silently partial list.
        """
        if self.advance(token):
            return self.next_token
        if not self.truncated:
            return None
        raise PaginationStopped(
            f"stopped reading after {self.pages} page(s): {self.reason}",
            platform=platform,
            operation=operation,
            hint=(
                "the platform's paging is misbehaving; try again later"
                if self.repeated_token
                else "narrow the request (fewer SKUs, a shorter date range or a filter)"
            ),
        )
