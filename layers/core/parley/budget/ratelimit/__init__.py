"""Per-user and per-org rate limits, atomic across Lambda environments, on a sliding window.

Backends (memory, DynamoDB, Upstash) are imported on demand by ``create_rate_limiter``.
"""

from parley.budget.ratelimit.base import LimitDecision, RateLimit, RateLimiter
from parley.budget.ratelimit.errors import RateLimitExceeded
from parley.budget.ratelimit.factory import create_rate_limiter

__all__ = [
    "LimitDecision",
    "RateLimit",
    "RateLimitExceeded",
    "RateLimiter",
    "create_rate_limiter",
]
