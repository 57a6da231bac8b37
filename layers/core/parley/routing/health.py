"""How a model has fared lately: its calls and failures over a sliding window, in the hot store.

Lambda environments share nothing in memory, so the counts live in the ``HotStore``. The window
(an hour by default) is a row of fixed buckets (five minutes): an outcome adds to the bucket of
its moment, and the window's tally is the sum of the buckets it covers, so old outcomes age out
one bucket at a time and nothing ever sweeps. Each bucket counter expires a bucket after it
leaves the window; no key outlives its use.

A bucket is ONE counter holding both numbers: requests in the low 32 bits, failures above them
(a failure adds ``1 + 2**32``). Recording an outcome is then a single atomic increment, and a
reader never sees a request whose failure has not landed yet, which two counters would allow.
Redis counters are signed 64-bit, so a bucket holds up to 2**31 failures and 2**32 requests;
five minutes of one model's traffic is far below either.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Callable

    from parley.hot.base import HotStore

__all__ = ["HealthWindow", "Tally"]

_REQUEST_BITS = 32
_REQUEST_MASK = (1 << _REQUEST_BITS) - 1
_FAILURE = 1 << _REQUEST_BITS
_PARALLEL_READS = 4


@dataclass(frozen=True, slots=True)
class Tally:
    """Calls and failures counted over a window."""

    requests: int = 0
    failures: int = 0

    @property
    def failure_ratio(self) -> float:
        # Division, not ``failures >= ratio * requests``: a correctly rounded quotient equals
        # the ratio's literal exactly when the fractions are equal (0.3 * 10 != 3.0 in floats).
        return self.failures / self.requests if self.requests else 0.0

    def __add__(self, other: Tally) -> Tally:
        return Tally(self.requests + other.requests, self.failures + other.failures)

    @classmethod
    def from_counter(cls, value: int) -> Tally:
        return cls(requests=value & _REQUEST_MASK, failures=value >> _REQUEST_BITS)


class HealthWindow:
    """Per-model outcome counts over the last ``window_seconds``, in ``bucket_seconds`` steps.

    The clock is epoch time shared by every environment (bucket numbers are derived from it),
    injectable for tests."""

    def __init__(
        self,
        store: HotStore,
        *,
        window_seconds: float = 3600,
        bucket_seconds: float = 300,
        clock: Callable[[], float] = time.time,
        prefix: str = "health",
    ) -> None:
        buckets = window_seconds / bucket_seconds if bucket_seconds > 0 else 0.0
        if buckets < 1 or not buckets.is_integer():
            raise ValueError("window_seconds must be a whole number (>= 1) of bucket_seconds")
        self._store = store
        self._bucket_seconds = bucket_seconds
        self._buckets = int(buckets)
        # A bucket is read while it is one of the window's last ``buckets``: at most a window
        # after its first increment. One bucket more covers clock skew between environments.
        self._ttl = window_seconds + bucket_seconds
        self._clock = clock
        self._prefix = prefix

    async def add(self, model: str, *, success: bool) -> None:
        """Count one call (and its failure, when it failed) in the current bucket."""
        key = self._key(model, self._current_bucket())
        await self._store.increment(key, self._ttl, 1 if success else 1 + _FAILURE)

    async def tally(self, model: str) -> Tally:
        """The sum of the window's buckets, read a few at a time."""
        # A dozen reads one after another would cost a dozen round trips; all at once, a
        # dozen fresh connections (Upstash is HTTP, each a TLS handshake) on every failure.
        limit = asyncio.Semaphore(_PARALLEL_READS)

        async def read(key: str) -> str | None:
            async with limit:
                return await self._store.get(key)

        values = await asyncio.gather(*(read(key) for key in self._window_keys(model)))
        total = Tally()
        for value in values:
            # Only counters live under these keys; anything else counts as nothing.
            if value is not None and value.isdigit():
                total += Tally.from_counter(int(value))
        return total

    async def clear(self, model: str) -> None:
        """Forget the window's outcomes: counting starts afresh. Rare (a circuit closing), so
        one key after another."""
        for key in self._window_keys(model):
            await self._store.delete(key)

    def _window_keys(self, model: str) -> list[str]:
        current = self._current_bucket()
        return [self._key(model, current - age) for age in range(self._buckets)]

    def _current_bucket(self) -> int:
        return int(self._clock() // self._bucket_seconds)

    def _key(self, model: str, bucket: int) -> str:
        # The model goes last: names may hold ":" themselves, and after a fixed number of
        # segments they cannot make two keys collide.
        return f"{self._prefix}:w:{bucket}:{model}"
