"""When a failed model is tried again, and how long Parley waits first."""

from __future__ import annotations

import pytest

from parley.providers.errors import (
    ProviderNotConfigured,
    ProviderRateLimited,
    ProviderRejected,
    ProviderRequestInvalid,
    ProviderStreamError,
    ProviderTimeout,
    ProviderUnavailable,
)
from parley.routing.retry import RetryPolicy, counts_against_model, worth_retrying


def test_backoff_is_jittered_below_an_exponential_ceiling() -> None:
    policy = RetryPolicy(retries_per_model=3, backoff_base_seconds=0.1, backoff_max_seconds=0.3)
    for retry, ceiling in [(0, 0.1), (1, 0.2), (2, 0.3)]:
        waits = [policy.wait_before_retry(retry, ProviderUnavailable()) for _ in range(200)]
        assert all(w is not None and 0 <= w <= ceiling for w in waits)
        assert len(set(waits)) > 150  # jittered, not a fixed step


def test_retry_after_is_honoured_as_a_minimum() -> None:
    policy = RetryPolicy(backoff_base_seconds=0.01)
    assert policy.wait_before_retry(0, ProviderRateLimited(retry_after=1.5)) == 1.5


def test_a_wait_longer_than_the_maximum_moves_on_instead() -> None:
    policy = RetryPolicy(max_wait_seconds=5)
    assert policy.wait_before_retry(0, ProviderRateLimited(retry_after=60)) is None


def test_retries_stop_after_the_allowed_number() -> None:
    policy = RetryPolicy(retries_per_model=1)
    assert policy.wait_before_retry(0, ProviderTimeout()) is not None
    assert policy.wait_before_retry(1, ProviderTimeout()) is None
    assert RetryPolicy(retries_per_model=0).wait_before_retry(0, ProviderTimeout()) is None


@pytest.mark.parametrize(
    ("error", "retry", "unhealthy"),
    [
        (ProviderRateLimited(), True, True),
        (ProviderUnavailable(), True, True),
        (ProviderTimeout(), True, True),
        (ProviderStreamError(), True, True),
        (ProviderRejected(), False, False),
        (ProviderRequestInvalid(), False, False),
        (ProviderNotConfigured(), False, False),
    ],
)
def test_which_failures_are_retried_and_which_count_against_the_model(
    error: ProviderUnavailable, retry: bool, unhealthy: bool
) -> None:
    assert worth_retrying(error) is retry
    assert counts_against_model(error) is unhealthy
    assert (RetryPolicy().wait_before_retry(0, error) is not None) is retry


def test_nonsense_policies_are_refused() -> None:
    with pytest.raises(ValueError, match="negative"):
        RetryPolicy(retries_per_model=-1)
    with pytest.raises(ValueError, match="positive"):
        RetryPolicy(budget_seconds=0)
