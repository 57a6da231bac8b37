"""When to try a model again, how long to wait first, and how long an attempt may take.

Retries use exponential backoff with full jitter (a random wait between 0 and
``backoff_base * 2**retry``, capped), so environments that failed together do not retry
together. A provider's ``Retry-After`` is honoured: the wait is at least what it asked for, and
a wait longer than ``max_wait_seconds`` or past the request's deadline is not taken at all:
the next model of the chain is tried instead, which is the point of having one.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from parley.providers.errors import ProviderError

__all__ = ["RetryPolicy", "counts_against_model", "worth_retrying"]


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    # Attempts on one model after its first failure, before the next model is tried.
    retries_per_model: int = 1
    backoff_base_seconds: float = 0.25
    backoff_max_seconds: float = 2.0
    # The longest a retry may wait for one model (Retry-After included).
    max_wait_seconds: float = 5.0
    # Per attempt: until the first token, then between tokens.
    first_token_timeout_seconds: float = 15.0
    idle_timeout_seconds: float = 30.0
    # Across all attempts, until the client has a first token: no attempt starts later.
    budget_seconds: float = 30.0
    # The whole answer, failovers included.
    max_stream_seconds: float = 300.0

    def __post_init__(self) -> None:
        if self.retries_per_model < 0:
            raise ValueError("retries_per_model cannot be negative")
        positive = (
            self.first_token_timeout_seconds,
            self.idle_timeout_seconds,
            self.budget_seconds,
            self.max_stream_seconds,
        )
        if min(positive) <= 0:
            raise ValueError("timeouts and budgets must be positive")

    def wait_before_retry(self, retry: int, error: ProviderError) -> float | None:
        """Seconds to wait before retry number ``retry`` (0 for the first) of the same model,
        or None when the model should not be tried again now."""
        if retry >= self.retries_per_model or not worth_retrying(error):
            return None
        ceiling = min(self.backoff_max_seconds, self.backoff_base_seconds * 2**retry)
        wait = random.uniform(0, ceiling)  # noqa: S311 - jitter, not security
        if error.retry_after is not None:
            wait = max(wait, error.retry_after)
        return wait if wait <= self.max_wait_seconds else None


def worth_retrying(error: ProviderError) -> bool:
    """A failure the request caused (a refusal, an unsendable request) or a missing key gives
    the same answer again; a provider's failure may pass."""
    return error.retryable and error.caused_by_provider


def counts_against_model(error: ProviderError) -> bool:
    """Whether the failure says the model is unhealthy: only a failure the provider caused (a
    rate limit, an outage, a broken stream) does; one the request caused never does."""
    return error.caused_by_provider
