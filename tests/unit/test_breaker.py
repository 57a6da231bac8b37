"""The circuit breaker's logic on the memory hot store, with one fake clock for the breaker and
the store's TTLs, so every duration is exact and nothing waits."""

from __future__ import annotations

from typing import Any

import pytest

from parley.errors import ServiceUnavailable
from parley.hot.base import HotStore, WindowCount
from parley.hot.memory import MemoryHotStore
from parley.routing import breaker as breaker_module
from parley.routing.breaker import BreakerPolicy, CircuitBreaker, Permit
from parley.routing.health import HealthWindow, Tally
from tests.support.clock import FakeClock

pytestmark = pytest.mark.anyio

# The start of a five-minute bucket, so "one bucket later" is a plain addition.
START = 1_700_000_100.0
MODEL = "openai/gpt-4o-mini:2024.07"


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(START)


@pytest.fixture
def store(clock: FakeClock) -> MemoryHotStore:
    return MemoryHotStore(clock=clock)


@pytest.fixture
def breaker(store: MemoryHotStore, clock: FakeClock) -> CircuitBreaker:
    return CircuitBreaker(store, clock=clock)


async def record_many(breaker: CircuitBreaker, *, successes: int = 0, failures: int = 0) -> None:
    for _ in range(successes):
        await breaker.record(MODEL, success=True)
    for _ in range(failures):
        await breaker.record(MODEL, success=False)


async def trip(breaker: CircuitBreaker, model: str = MODEL) -> None:
    for _ in range(breaker.policy.min_requests):
        await breaker.record(model, success=False)
    assert (await breaker.state(model)).status == "open"


async def test_a_model_never_seen_is_closed_and_allowed(breaker: CircuitBreaker) -> None:
    assert await breaker.allow(MODEL) == Permit(allowed=True, state="closed")
    state = await breaker.state(MODEL)
    assert (state.status, state.open_until, state.window) == ("closed", None, Tally(0, 0))


async def test_stays_closed_below_min_requests_even_when_every_call_fails(
    breaker: CircuitBreaker,
) -> None:
    await record_many(breaker, failures=4)
    state = await breaker.state(MODEL)
    assert (state.status, state.window) == ("closed", Tally(requests=4, failures=4))
    assert (await breaker.allow(MODEL)).allowed


@pytest.mark.parametrize(
    ("ratio", "successes", "failures"),
    [(0.5, 5, 5), (0.3, 7, 3), (1.0, 0, 5)],
)
async def test_opens_at_exactly_the_ratio_once_min_requests_are_met(
    store: MemoryHotStore, clock: FakeClock, ratio: float, successes: int, failures: int
) -> None:
    breaker = CircuitBreaker(store, BreakerPolicy(failure_ratio=ratio), clock=clock)
    await record_many(breaker, successes=successes, failures=failures - 1)
    assert (await breaker.state(MODEL)).status == "closed"

    opened = await breaker.record(MODEL, success=False)

    assert opened.status == "open"
    assert opened.window == Tally(successes + failures, failures)
    assert opened.open_until == START + 30
    assert await breaker.allow(MODEL) == Permit(allowed=False, state="open", retry_after_seconds=30)


async def test_stays_closed_at_49_percent_failures(breaker: CircuitBreaker) -> None:
    await record_many(breaker, successes=51, failures=49)
    state = await breaker.state(MODEL)
    assert (state.status, state.window) == ("closed", Tally(100, 49))
    assert (await breaker.allow(MODEL)).allowed


async def test_a_success_never_opens_the_circuit(breaker: CircuitBreaker) -> None:
    # Failures at the threshold, then a success: the success is counted, the decision is
    # only taken on failures (and 5 of 6 is over the ratio anyway).
    await record_many(breaker, failures=4)
    state = await breaker.record(MODEL, success=True)
    assert state.status == "closed"
    assert (await breaker.state(MODEL)).window == Tally(5, 4)


async def test_outcomes_age_out_of_the_window_a_bucket_at_a_time(
    breaker: CircuitBreaker, clock: FakeClock
) -> None:
    await record_many(breaker, failures=4)

    clock.advance(3600 - 1)  # the first bucket is still the window's oldest
    assert (await breaker.state(MODEL)).window == Tally(4, 4)
    clock.advance(1)  # and now it has left
    assert (await breaker.state(MODEL)).window == Tally(0, 0)

    state = await breaker.record(MODEL, success=False)
    assert (state.status, state.window) == ("closed", Tally(1, 1))


async def test_failures_spread_over_the_window_add_up(
    breaker: CircuitBreaker, clock: FakeClock
) -> None:
    for moment in (0, 900, 1800, 2700):  # four failures, three buckets apart
        clock.now = START + moment
        await breaker.record(MODEL, success=False)
    assert (await breaker.state(MODEL)).window == Tally(4, 4)

    clock.now = START + 3600  # the first has aged out as the fifth arrives
    state = await breaker.record(MODEL, success=False)
    assert (state.status, state.window) == ("closed", Tally(4, 4))
    state = await breaker.record(MODEL, success=False)
    assert (state.status, state.window) == ("open", Tally(5, 5))


async def test_open_rejects_with_the_time_left(breaker: CircuitBreaker, clock: FakeClock) -> None:
    await trip(breaker)
    clock.advance(12.5)
    assert await breaker.allow(MODEL) == Permit(
        allowed=False, state="open", retry_after_seconds=17.5
    )
    assert (await breaker.state(MODEL)).status == "open"


async def test_late_outcomes_while_open_are_counted_but_do_not_move_the_cool_down(
    breaker: CircuitBreaker, clock: FakeClock
) -> None:
    await trip(breaker)
    clock.advance(10)
    late_success = await breaker.record(MODEL, success=True)
    late_failure = await breaker.record(MODEL, success=False)
    assert late_success.status == late_failure.status == "open"
    assert late_failure.open_until == START + 30
    state = await breaker.state(MODEL)
    assert (state.open_until, state.window) == (START + 30, Tally(7, 6))


async def test_after_the_cool_down_exactly_one_probe_is_admitted(
    breaker: CircuitBreaker, clock: FakeClock
) -> None:
    await trip(breaker)
    clock.advance(30)
    assert (await breaker.state(MODEL)).status == "half_open"

    permits = [await breaker.allow(MODEL) for _ in range(10)]

    assert permits[0] == Permit(allowed=True, state="half_open", probe=True)
    assert permits[1:] == [Permit(allowed=False, state="half_open", retry_after_seconds=30)] * 9


async def test_a_successful_probe_closes_the_circuit_with_a_fresh_window(
    breaker: CircuitBreaker, clock: FakeClock
) -> None:
    await trip(breaker)
    clock.advance(30)
    assert (await breaker.allow(MODEL)).probe

    closed = await breaker.record(MODEL, success=True, probe=True)

    assert (closed.status, closed.window) == ("closed", Tally(0, 0))
    assert await breaker.allow(MODEL) == Permit(allowed=True, state="closed")
    # The five failures that opened it are gone: one more failure does not reopen it ...
    state = await breaker.record(MODEL, success=False)
    assert (state.status, state.window) == ("closed", Tally(1, 1))
    # ... but a fresh run of failures does.
    await record_many(breaker, failures=3)
    assert (await breaker.record(MODEL, success=False)).status == "open"


async def test_a_failed_probe_opens_the_circuit_for_another_cool_down(
    store: MemoryHotStore, clock: FakeClock
) -> None:
    # A probe lock that outlives the cool-down: the next period must not wait for it.
    breaker = CircuitBreaker(store, BreakerPolicy(probe_timeout_seconds=300), clock=clock)
    await trip(breaker)
    clock.advance(30)
    assert (await breaker.allow(MODEL)).probe
    clock.advance(2)

    reopened = await breaker.record(MODEL, success=False, probe=True)

    assert (reopened.status, reopened.open_until) == ("open", START + 62)
    assert await breaker.allow(MODEL) == Permit(allowed=False, state="open", retry_after_seconds=30)
    clock.advance(30)
    assert (await breaker.allow(MODEL)).probe
    assert not (await breaker.allow(MODEL)).allowed


async def test_a_probe_that_never_reports_frees_its_lock_after_the_probe_timeout(
    breaker: CircuitBreaker, clock: FakeClock
) -> None:
    await trip(breaker)
    clock.advance(30)
    assert (await breaker.allow(MODEL)).probe

    clock.advance(29.9)
    assert not (await breaker.allow(MODEL)).allowed
    clock.advance(0.1)
    assert await breaker.allow(MODEL) == Permit(allowed=True, state="half_open", probe=True)
    assert not (await breaker.allow(MODEL)).allowed


async def test_a_probe_reporting_after_another_probe_closed_the_circuit_is_an_ordinary_outcome(
    breaker: CircuitBreaker, clock: FakeClock
) -> None:
    await trip(breaker)
    clock.advance(30)
    assert (await breaker.allow(MODEL)).probe  # this one hangs ...
    clock.advance(30)
    assert (await breaker.allow(MODEL)).probe  # ... so a second goes, and succeeds
    await breaker.record(MODEL, success=True, probe=True)

    late = await breaker.record(MODEL, success=False, probe=True)

    assert (late.status, late.window) == ("closed", Tally(1, 1))


async def test_models_have_separate_circuits(breaker: CircuitBreaker) -> None:
    # Names that extend one another (":" included) must not share keys.
    await trip(breaker, "gpt-4o")
    for other in ("gpt-4o:mini", "gpt-4o/mini", "gpt-4o.1", "w:1:gpt-4o"):
        assert (await breaker.allow(other)).allowed
        assert (await breaker.state(other)).window == Tally(0, 0)


async def test_two_breakers_on_one_store_share_the_circuit(
    store: MemoryHotStore, clock: FakeClock
) -> None:
    # Two Lambda environments: what one learns, the other acts on.
    first, second = CircuitBreaker(store, clock=clock), CircuitBreaker(store, clock=clock)
    await record_many(first, failures=2)
    await record_many(second, failures=3)
    assert not (await first.allow(MODEL)).allowed
    clock.advance(30)
    assert (await second.allow(MODEL)).probe
    assert not (await first.allow(MODEL)).allowed


async def test_an_unreadable_state_reads_as_closed(
    breaker: CircuitBreaker, store: MemoryHotStore
) -> None:
    for junk in ("not json", '{"open_until": "soon"}', '{"open_until": true}', "[]"):
        await store.set(f"breaker:s:{MODEL}", junk)
        assert await breaker.allow(MODEL) == Permit(allowed=True, state="closed")


class FailingHotStore(HotStore):
    """Every operation fails, as a store that is down does."""

    def __init__(self, *, fail: frozenset[str] = frozenset({"*"}), inner: HotStore) -> None:
        self.inner = inner
        self.fail = fail

    def _check(self, operation: str) -> None:
        if "*" in self.fail or operation in self.fail:
            raise ServiceUnavailable("The hot-state store failed.")

    async def get(self, key: str) -> str | None:
        self._check("get")
        return await self.inner.get(key)

    async def set(self, key: str, value: str, ttl_seconds: float | None = None) -> None:
        self._check("set")
        await self.inner.set(key, value, ttl_seconds)

    async def delete(self, key: str) -> bool:
        self._check("delete")
        return await self.inner.delete(key)

    async def set_if_absent(self, key: str, value: str, ttl_seconds: float) -> bool:
        self._check("set_if_absent")
        return await self.inner.set_if_absent(key, value, ttl_seconds)

    async def increment(self, key: str, window_seconds: float, amount: int = 1) -> WindowCount:
        self._check("increment")
        return await self.inner.increment(key, window_seconds, amount)


@pytest.fixture
def warnings(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, dict[str, Any]]]:
    logged: list[tuple[str, dict[str, Any]]] = []
    monkeypatch.setattr(
        breaker_module.logger, "warning", lambda msg, **keys: logged.append((msg, keys))
    )
    return logged


async def test_a_store_that_is_down_lets_calls_through_and_drops_outcomes(
    store: MemoryHotStore, clock: FakeClock, warnings: list[tuple[str, dict[str, Any]]]
) -> None:
    breaker = CircuitBreaker(FailingHotStore(inner=store), clock=clock)

    assert await breaker.allow(MODEL) == Permit(allowed=True, state="closed")
    assert (await breaker.record(MODEL, success=False)).status == "closed"
    assert (await breaker.record(MODEL, success=True, probe=True)).status == "closed"

    assert [message for message, _ in warnings] == [
        "Circuit breaker unavailable; call allowed",
        "Circuit breaker outcome not recorded",
        "Circuit breaker outcome not recorded",
    ]
    assert all(keys["error"] == "service_unavailable" for _, keys in warnings)
    with pytest.raises(ServiceUnavailable):
        await breaker.state(MODEL)  # a health page shows the failure instead


async def test_a_failing_probe_lock_lets_the_call_through(
    store: MemoryHotStore, clock: FakeClock, warnings: list[tuple[str, dict[str, Any]]]
) -> None:
    await trip(CircuitBreaker(store, clock=clock))
    clock.advance(30)
    breaker = CircuitBreaker(
        FailingHotStore(fail=frozenset({"set_if_absent"}), inner=store), clock=clock
    )
    assert await breaker.allow(MODEL) == Permit(allowed=True, state="closed")
    assert warnings[-1][0] == "Circuit breaker unavailable; call allowed"


async def test_a_failed_open_write_keeps_the_circuit_closed_without_raising(
    store: MemoryHotStore, clock: FakeClock, warnings: list[tuple[str, dict[str, Any]]]
) -> None:
    breaker = CircuitBreaker(FailingHotStore(fail=frozenset({"set"}), inner=store), clock=clock)
    await record_many(breaker, failures=4)
    assert (await breaker.record(MODEL, success=False)).status == "closed"
    assert (await breaker.allow(MODEL)).allowed
    assert [message for message, _ in warnings] == ["Circuit breaker outcome not recorded"]


@pytest.mark.parametrize(
    "changes",
    [
        {"failure_ratio": 0.0},
        {"failure_ratio": 1.5},
        {"min_requests": 0},
        {"open_seconds": 0},
        {"probe_timeout_seconds": -1},
    ],
)
def test_policy_rejects_nonsense(changes: dict[str, Any]) -> None:
    with pytest.raises(ValueError, match="must"):
        BreakerPolicy(**changes)


@pytest.mark.parametrize(("window", "bucket"), [(3600, 7), (100, 300), (3600, 0)])
def test_the_window_must_be_whole_buckets(window: float, bucket: float) -> None:
    policy = BreakerPolicy(window_seconds=window, bucket_seconds=bucket)
    with pytest.raises(ValueError, match="whole number"):
        CircuitBreaker(MemoryHotStore(), policy)


def test_a_bucket_counter_holds_requests_and_failures() -> None:
    assert Tally.from_counter(3 + 2 * 2**32) == Tally(requests=3, failures=2)
    assert Tally(0, 0).failure_ratio == 0.0


async def test_health_window_counts_in_one_counter_per_bucket(
    store: MemoryHotStore, clock: FakeClock
) -> None:
    window = HealthWindow(store, window_seconds=600, bucket_seconds=300, clock=clock, prefix="h")
    await window.add("m", success=True)
    await window.add("m", success=False)
    assert await store.get("h:w:5666667:m") == str(2 + 2**32)
    assert await window.tally("m") == Tally(2, 1)
    await window.clear("m")
    assert await window.tally("m") == Tally(0, 0)


class CountingStore(MemoryHotStore):
    """The memory store, counting reads of circuit state keys."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.state_reads = 0

    async def get(self, key: str) -> str | None:
        if ":s:" in key:
            self.state_reads += 1
        return await super().get(key)


async def test_a_state_copy_spares_the_request_path_a_read_per_call(clock: FakeClock) -> None:
    store = CountingStore(clock=clock)
    local = FakeClock(0.0)
    cached = CircuitBreaker(store, clock=clock, state_cache_seconds=1.0, local_clock=local)
    for _ in range(5):
        assert (await cached.allow(MODEL)).allowed
    assert store.state_reads == 1
    local.advance(1.0)
    await cached.allow(MODEL)
    assert store.state_reads == 2


async def test_a_copy_sees_another_environments_trip_once_it_expires(clock: FakeClock) -> None:
    store = MemoryHotStore(clock=clock)
    local = FakeClock(0.0)
    cached = CircuitBreaker(store, clock=clock, state_cache_seconds=1.0, local_clock=local)
    assert (await cached.allow(MODEL)).allowed
    await trip(CircuitBreaker(store, clock=clock))  # another environment
    assert (await cached.allow(MODEL)).allowed  # its copy is still fresh
    local.advance(1.0)
    assert not (await cached.allow(MODEL)).allowed
    # Its own trip is seen at once, and health pages always read the store.
    await trip(cached, model="other")
    assert not (await cached.allow("other")).allowed
    assert (await cached.state(MODEL)).status == "open"


async def test_without_a_copy_every_call_reads_the_state(clock: FakeClock) -> None:
    store = CountingStore(clock=clock)
    plain = CircuitBreaker(store, clock=clock)
    for _ in range(3):
        await plain.allow(MODEL)
    assert store.state_reads == 3
