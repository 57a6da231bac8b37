"""Rate limits in memory: one process only (development, tests, a single uvicorn worker).

Every Lambda environment would count on its own, multiplying the limit by their number, so
deployments use DynamoDB or Upstash (``create_rate_limiter`` does).
"""

from __future__ import annotations

import threading
import time
from typing import TYPE_CHECKING

from parley.budget.ratelimit.base import RateLimiter
from parley.budget.ratelimit.sliding import Counts, decide, epoch_ms, slots

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence

    from parley.budget.ratelimit.base import LimitDecision, RateLimit

__all__ = ["MemoryRateLimiter"]

_SWEEP_EVERY = 1024  # admissions between purges of windows nobody reads again


class MemoryRateLimiter(RateLimiter):
    """``clock`` is epoch seconds (windows align to the epoch, as on the shared backends),
    injectable for tests."""

    def __init__(
        self, *, clock: Callable[[], float] = time.time, prefix: str = "ratelimit"
    ) -> None:
        self._clock = clock
        self._prefix = prefix
        self._counts: dict[str, tuple[int, int]] = {}  # storage key -> (count, expires ms)
        self._admitted = 0
        # A lock as well as the event loop: sync code in worker threads may share the limiter.
        self._lock = threading.Lock()

    async def _acquire(self, rules: Sequence[RateLimit]) -> LimitDecision:
        with self._lock:
            now_ms = epoch_ms(self._clock())
            found = slots(rules, self._prefix, now_ms)
            counts = [
                Counts(self._count(s.key, now_ms), self._count(s.previous_key, now_ms))
                for s in found
            ]
            decision = decide(found, counts)
            if decision.allowed:
                # Checked and counted under one lock: all rules or none.
                for slot, count in zip(found, counts, strict=True):
                    self._counts[slot.key] = (count.current + 1, slot.position.expires_ms)
                self._sweep(now_ms)
            return decision

    def _count(self, key: str, now_ms: int) -> int:
        count, expires_ms = self._counts.get(key, (0, 0))
        return count if expires_ms > now_ms else 0

    def _sweep(self, now_ms: int) -> None:
        self._admitted += 1
        if self._admitted % _SWEEP_EVERY:
            return
        for key in [k for k, (_, expires_ms) in self._counts.items() if expires_ms <= now_ms]:
            del self._counts[key]
