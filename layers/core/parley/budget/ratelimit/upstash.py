"""Rate limits in Upstash Redis, with upstash-ratelimit's ``SlidingWindow``.

One ``Ratelimit`` per (limit, window) pair, cached; each rule is one call of its Lua script,
which counts the request only when the rule has room, atomically in Redis. Several rules are
several calls, checked in order: when a later rule refuses, the earlier ones have already
counted the request, so they are given back. The library cannot do that itself
(``limit(rate=-1)`` runs the same script, which refuses outright once the window is full), so
the give-back is a ``DECRBY`` on the key the library wrote, ``<prefix>:<rule key>:<window
index>`` (a test pins that format), in one ``MULTI/EXEC`` that also reads the refusing rule's
two windows to work out Retry-After.

Between the two calls, the request briefly holds room under the earlier rule. With the user's
rule first, only that user's concurrent requests can see it held, and only while the org is
full; with the org's first, one user's refused requests would briefly hold room that other
users of the org need. Hence the order ``acquire`` asks for. A give-back that fails (the store
went away mid-request) is logged, and that one request stays counted.

The client has no timeout of its own: each call runs under ``asyncio.timeout``; Upstash and
httpx failures become ``ServiceUnavailable`` / ``UpstreamTimeout`` (``parley.hot.upstash``).
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, cast

from parley.budget.ratelimit.base import RateLimiter
from parley.budget.ratelimit.sliding import (
    Counts,
    Position,
    admitted,
    epoch_ms,
    refused,
    storage_key,
    window_ms,
)
from parley.errors import ServiceUnavailable, UpstreamTimeout
from parley.hot.upstash import call_upstash
from parley.telemetry import logger

if TYPE_CHECKING:
    from collections.abc import Sequence

    from upstash_ratelimit.asyncio import Ratelimit
    from upstash_redis.asyncio import Redis

    from parley.budget.ratelimit.base import LimitDecision, RateLimit

__all__ = ["UpstashRateLimiter"]

# How long the library keeps a window's key after its first count: two windows and a second.
_LINGER_MS = 1000


class UpstashRateLimiter(RateLimiter):
    """``close`` closes ``redis``: the limiter owns the client it is given."""

    def __init__(
        self, redis: Redis, *, timeout_seconds: float = 1.0, prefix: str = "ratelimit"
    ) -> None:
        self._redis = redis
        self._timeout = timeout_seconds
        self._prefix = prefix
        self._limiters: dict[tuple[int, int], Ratelimit] = {}

    async def _acquire(self, rules: Sequence[RateLimit]) -> LimitDecision:
        counted: list[tuple[RateLimit, int, int]] = []  # rule, window index, remaining
        for rule in rules:
            response = await call_upstash(self._ratelimit(rule).limit(rule.key), self._timeout)
            index = _window_index(response.reset, window_ms(rule.window_seconds))
            if not response.allowed:
                return await self._refuse(rule, index, counted)
            counted.append((rule, index, response.remaining))
        return admitted([rule for rule, _, _ in counted], [left for _, _, left in counted])

    async def close(self) -> None:
        await self._redis.close()

    def _ratelimit(self, rule: RateLimit) -> Ratelimit:
        size = window_ms(rule.window_seconds)
        cached = self._limiters.get((rule.limit, size))
        if cached is None:
            from upstash_ratelimit.asyncio import Ratelimit, SlidingWindow

            limiter = SlidingWindow(max_requests=rule.limit, window=size, unit="ms")
            cached = Ratelimit(redis=self._redis, limiter=limiter, prefix=self._prefix)
            self._limiters[(rule.limit, size)] = cached
        return cached

    async def _refuse(
        self, rule: RateLimit, index: int, counted: list[tuple[RateLimit, int, int]]
    ) -> LimitDecision:
        """Give back what the earlier rules counted, and read the refusing rule's windows."""
        transaction = self._redis.multi()
        for earlier, earlier_index, _ in counted:
            key = storage_key(self._prefix, earlier.key, earlier_index)
            transaction.decrby(key, 1)
            # The library sets a key's expiry only on its first count; should the key have
            # vanished meanwhile (eviction), DECRBY recreates it, and it must still expire.
            transaction.pexpire(key, 2 * window_ms(earlier.window_seconds) + _LINGER_MS)
        transaction.mget(
            storage_key(self._prefix, rule.key, index),
            storage_key(self._prefix, rule.key, index - 1),
        )
        counts = Counts()  # unknown: the wait is then the rest of the window
        try:
            replies = await call_upstash(transaction.exec(), self._timeout)
            current, previous = cast("list[str | None]", replies[-1])  # MGET of two keys
            counts = Counts(int(current or 0), int(previous or 0))
        except (ServiceUnavailable, UpstreamTimeout) as exc:
            logger.warning(
                "Rate limit refusal not given back to the other rules",
                error=exc.code,
                scope=rule.scope,
                counted=[earlier.scope for earlier, _, _ in counted],
            )
        size = window_ms(rule.window_seconds)
        elapsed = min(max(0, epoch_ms(time.time()) - index * size), size - 1)
        return refused(rule, counts, Position(size, index, elapsed))


def _window_index(reset_seconds: float, size_ms: int) -> int:
    # The library reports the end of the window it counted in; that names its key.
    return round(reset_seconds * 1000) // size_ms - 1
