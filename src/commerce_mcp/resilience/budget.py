"""A client-wide retry budget, as botocore's retry quota: retries spend, successes refund.

During an outage every call fails and every retry spends; once the budget is gone, calls fail on
their
first error instead of multiplying load on a struggling upstream. Successes slowly refill it.
"""

from __future__ import annotations

DEFAULT_CAPACITY = 500
THROTTLED_RETRY_COST = 5
TRANSIENT_RETRY_COST = 14
TIMEOUT_RETRY_COST = 10
NO_RETRY_REFUND = 1


class RetryBudget:
    """A pool of ``capacity`` tokens; one per platform and region, shared by all its calls."""

    def __init__(self, capacity: int = DEFAULT_CAPACITY) -> None:
        if capacity < 0:
            raise ValueError("capacity must be >= 0")
        self.capacity = capacity
        self._available = capacity

    @property
    def available(self) -> int:
        """Tokens left."""
        return self._available

    def try_acquire(self, cost: int) -> bool:
        """Spend ``cost`` for one retry if that much is left; False means: do not retry."""
        if cost < 0:
            raise ValueError("cost must be >= 0")
        if cost > self._available:
            return False
        self._available -= cost
        return True

    def on_success(self, retried_cost: int = 0) -> None:
        """Refund after a success: what this call spent on retries, or 1 if it needed none."""
        refund = retried_cost if retried_cost > 0 else NO_RETRY_REFUND
        self._available = min(self.capacity, self._available + refund)

    def __repr__(self) -> str:
        return f"RetryBudget(available={self._available}/{self.capacity})"
