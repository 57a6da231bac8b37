"""The circuit breaker's openings per hour and an operator's reset, on the memory hot store with
one fake clock: each opening counts in its UTC hour (a failed probe's reopening too), a
failure to count loses no opening, and a reset closes the circuit and forgets its window and
this hour's openings."""

from __future__ import annotations

import pytest

from parley.errors import ServiceUnavailable
from parley.hot.base import HotStore, WindowCount
from parley.hot.memory import MemoryHotStore
from parley.routing import breaker as breaker_module
from parley.routing.breaker import CircuitBreaker
from parley.routing.health import Tally
from tests.support.clock import FakeClock

pytestmark = pytest.mark.anyio

MODEL = "openai:gpt-4.1"
HOUR = "2026-12-01T08"


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock.at("2026-12-01T08:10:00")


@pytest.fixture
def breaker(clock: FakeClock) -> CircuitBreaker:
    return CircuitBreaker(MemoryHotStore(clock=clock), clock=clock)


async def trip(breaker: CircuitBreaker) -> None:
    for _ in range(breaker.policy.min_requests):
        await breaker.record(MODEL, success=False)
    assert (await breaker.state(MODEL)).status == "open"


async def test_each_opening_counts_in_its_hour(breaker: CircuitBreaker, clock: FakeClock) -> None:
    assert await breaker.trips(MODEL, HOUR) == 0
    await trip(breaker)
    clock.advance(30)
    permit = await breaker.allow(MODEL)
    assert permit.probe
    await breaker.record(MODEL, success=False, probe=True)  # the probe fails: open again
    assert await breaker.trips(MODEL, HOUR) == 2
    clock.advance(3600)
    await breaker.record(MODEL, success=False)  # still open: counted, no new opening
    assert await breaker.trips(MODEL, "2026-12-01T09") == 0
    assert await breaker.trips(MODEL, HOUR) == 2
    assert await breaker.trips("openai:other", HOUR) == 0


async def test_a_reset_closes_the_circuit_and_forgets_its_window_and_openings(
    breaker: CircuitBreaker,
) -> None:
    await trip(breaker)
    await breaker.reset(MODEL)
    state = await breaker.state(MODEL)
    assert (state.status, state.open_until, state.window) == ("closed", None, Tally(0, 0))
    assert await breaker.trips(MODEL, HOUR) == 0
    assert (await breaker.allow(MODEL)).allowed
    # Judged afresh: four failures after the reset are below min_requests.
    for _ in range(breaker.policy.min_requests - 1):
        await breaker.record(MODEL, success=False)
    assert (await breaker.state(MODEL)).status == "closed"


async def test_a_reset_is_seen_at_once_by_a_breaker_keeping_a_copy(clock: FakeClock) -> None:
    store = MemoryHotStore(clock=clock)
    chat = CircuitBreaker(store, clock=clock, state_cache_seconds=60, local_clock=clock)
    await trip(chat)
    await chat.reset(MODEL)
    assert (await chat.allow(MODEL)).allowed


class CountFailing(HotStore):
    """The memory store, except that counting an opening fails."""

    def __init__(self, inner: MemoryHotStore) -> None:
        self._inner = inner

    async def get(self, key: str) -> str | None:
        return await self._inner.get(key)

    async def set(self, key: str, value: str, ttl_seconds: float | None = None) -> None:
        await self._inner.set(key, value, ttl_seconds)

    async def delete(self, key: str) -> bool:
        return await self._inner.delete(key)

    async def set_if_absent(self, key: str, value: str, ttl_seconds: float) -> bool:
        return await self._inner.set_if_absent(key, value, ttl_seconds)

    async def increment(self, key: str, window_seconds: float, amount: int = 1) -> WindowCount:
        if ":t:" in key:
            raise ServiceUnavailable("down")
        return await self._inner.increment(key, window_seconds, amount)


async def test_an_opening_that_cannot_be_counted_still_opens(
    clock: FakeClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    warnings: list[str] = []
    monkeypatch.setattr(breaker_module.logger, "warning", lambda msg, **_: warnings.append(msg))
    breaker = CircuitBreaker(CountFailing(MemoryHotStore(clock=clock)), clock=clock)
    await trip(breaker)
    assert not (await breaker.allow(MODEL)).allowed
    assert warnings == ["Circuit opening not counted", "Circuit opened"]
