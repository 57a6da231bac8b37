"""Choosing the rate limiter's backend from the settings: the hot store's own choice."""

from __future__ import annotations

from typing import TYPE_CHECKING

from parley.hot.factory import hot_backend_name, upstash_credentials

if TYPE_CHECKING:
    from parley.budget.ratelimit.base import RateLimiter
    from parley.config import Settings

__all__ = ["create_rate_limiter"]


def create_rate_limiter(settings: Settings) -> RateLimiter:
    """Memory in development, Upstash when configured, else DynamoDB's hot-state table,
    exactly as ``create_hot_store`` chooses (``PARLEY_HOT_BACKEND`` overrides both)."""
    backend = hot_backend_name(settings)
    # Each backend is imported only when chosen: Upstash's client and boto3 are not free.
    if backend == "memory":
        from parley.budget.ratelimit.memory import MemoryRateLimiter

        return MemoryRateLimiter()
    if backend == "dynamodb":
        from parley.budget.ratelimit.dynamodb import DynamoDBRateLimiter

        return DynamoDBRateLimiter(settings.hot_table)
    from parley.budget.ratelimit.upstash import UpstashRateLimiter
    from parley.hot.upstash import new_upstash_client

    url, token = upstash_credentials(settings)
    return UpstashRateLimiter(
        new_upstash_client(url, token), timeout_seconds=settings.hot_timeout_seconds
    )
