"""The client-wide retry budget (botocore's retry quota)."""

from __future__ import annotations

import pytest

from commerce_mcp.resilience.budget import (
    THROTTLED_RETRY_COST,
    TIMEOUT_RETRY_COST,
    TRANSIENT_RETRY_COST,
    RetryBudget,
)


def test_costs_follow_the_reference_constants() -> None:
    assert (THROTTLED_RETRY_COST, TRANSIENT_RETRY_COST, TIMEOUT_RETRY_COST) == (5, 14, 10)
    assert RetryBudget().available == 500


def test_a_retry_is_refused_when_the_cost_exceeds_what_is_left() -> None:
    budget = RetryBudget(capacity=20)
    assert budget.try_acquire(14)
    assert budget.available == 6
    assert not budget.try_acquire(14)
    assert budget.available == 6
    assert budget.try_acquire(5)


def test_success_refunds_retries_or_one_and_never_exceeds_capacity() -> None:
    budget = RetryBudget(capacity=30)
    budget.try_acquire(28)
    budget.on_success(retried_cost=14)
    assert budget.available == 16
    budget.on_success()
    assert budget.available == 17
    for _ in range(100):
        budget.on_success()
    assert budget.available == 30


def test_negative_amounts_are_refused() -> None:
    with pytest.raises(ValueError, match="capacity"):
        RetryBudget(capacity=-1)
    with pytest.raises(ValueError, match="cost"):
        RetryBudget().try_acquire(-5)
