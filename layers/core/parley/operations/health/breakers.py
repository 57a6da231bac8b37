"""Each model's circuit as provider health reports it: its state (``CircuitBreaker.state``)
and how often it opened in an hour (``CircuitBreaker.trips``), read from the hot store."""

from __future__ import annotations

import asyncio
import time
from typing import TYPE_CHECKING, Any

from parley.errors import ParleyError
from parley.routing.breaker import CircuitBreaker
from parley.routing.health import Tally
from parley.telemetry import logger

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence

    from parley.hot.base import HotStore
    from parley.routing.breaker import BreakerPolicy, BreakerState

__all__ = ["HotBreakers", "breaker_snapshot", "breaker_snapshots"]

# Models read at once: each read is itself a dozen window buckets, four at a time.
_PARALLEL_MODELS = 4


def breaker_snapshot(state: BreakerState, trips: int) -> dict[str, Any]:
    window = state.window or Tally()
    return {
        "status": state.status,
        "open_until": state.open_until,
        "window": {"requests": window.requests, "failures": window.failures},
        "trips": trips,
    }


async def breaker_snapshots(
    breaker: CircuitBreaker, keys: Sequence[str], hour: str
) -> dict[str, dict[str, Any] | None]:
    """Each circuit's snapshot (its openings counted in ``hour``); None for one the hot store
    could not give, so that the rest of the health record is still written."""
    limit = asyncio.Semaphore(_PARALLEL_MODELS)

    async def read(key: str) -> tuple[str, dict[str, Any] | None]:
        async with limit:
            try:
                state, trips = await asyncio.gather(breaker.state(key), breaker.trips(key, hour))
            except ParleyError as exc:
                logger.warning("Circuit not read for provider health", model=key, error=exc.code)
                return key, None
        return key, breaker_snapshot(state, trips)

    return dict(await asyncio.gather(*(read(key) for key in keys)))


class HotBreakers:
    """``breaker_snapshots`` for synchronous callers (the job): each call opens the hot store
    (``open_store``), reads on its own event loop and closes the store, since a store's
    connections belong to the loop that opened them."""

    def __init__(
        self,
        open_store: Callable[[], HotStore],
        policy: BreakerPolicy,
        *,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._open_store = open_store
        self._policy = policy
        self._clock = clock

    def __call__(self, keys: Sequence[str], hour: str) -> dict[str, dict[str, Any] | None]:
        async def read() -> dict[str, dict[str, Any] | None]:
            store = self._open_store()
            try:
                return await breaker_snapshots(
                    CircuitBreaker(store, self._policy, self._clock), keys, hour
                )
            finally:
                await store.close()

        return asyncio.run(read())
