"""The circuit breaker against every hot-store backend on real servers (moto for DynamoDB,
redis-server behind the Upstash REST shim), with several breakers standing in for Lambda
environments that share nothing but the store.

The breaker's own clock is a fake that starts at the real time (cool-downs and buckets advance
by assignment); the stores' TTLs run on their real clocks, so the one test that needs a lock to
expire uses a short real timeout and polls."""

from __future__ import annotations

import time
import uuid
from functools import partial
from typing import TYPE_CHECKING

import anyio
import pytest
from upstash_redis.asyncio import Redis

from parley.hot.dynamodb import DynamoDBHotStore
from parley.hot.memory import MemoryHotStore
from parley.hot.upstash import UpstashHotStore
from parley.routing.breaker import BreakerPolicy, CircuitBreaker, Permit
from parley.routing.health import Tally
from tests.support.clock import FakeClock

if TYPE_CHECKING:
    from collections.abc import AsyncIterator, Callable

    from parley.hot import HotStore

pytestmark = pytest.mark.anyio

ENVIRONMENTS = 12
POLL_LIMIT_SECONDS = 15.0


@pytest.fixture(params=["memory", "dynamodb", "upstash"])
async def connect(request: pytest.FixtureRequest) -> AsyncIterator[Callable[[], HotStore]]:
    """A factory of store clients on one backend: one per simulated environment (one shared
    store for memory, which is one process by nature)."""
    opened: list[HotStore] = []
    if request.param == "memory":
        shared = MemoryHotStore()

        def new_store() -> HotStore:
            return shared
    elif request.param == "dynamodb":
        table = request.getfixturevalue("settings").hot_table
        client = request.getfixturevalue("dynamodb")

        def new_store() -> HotStore:
            return DynamoDBHotStore(table, client=client)
    else:
        shim = request.getfixturevalue("upstash")

        def new_store() -> HotStore:
            # The shim is an HTTP/1.0 ThreadingHTTPServer: a connection per request, and an
            # accept backlog of 5, so a burst of concurrent requests gets some connections
            # reset. Retries ride over that; the production client keeps its one retry.
            client = Redis(
                url=shim.url,
                token=shim.token,
                rest_retries=5,
                rest_retry_interval=0.1,
                allow_telemetry=False,
            )
            store = UpstashHotStore(shim.url, shim.token, timeout_seconds=10, client=client)
            opened.append(store)
            return store

    yield new_store
    for store in opened:
        await store.close()


@pytest.fixture
def model() -> str:
    # Backends outlive a test: every test has its own model, named like real ones.
    return f"openai_compatible/llama-3.1:8b-{uuid.uuid4().hex[:8]}"


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(time.time())


async def test_open_probe_reopen_probe_close(
    connect: Callable[[], HotStore], clock: FakeClock, model: str
) -> None:
    first = CircuitBreaker(connect(), clock=clock)
    second = CircuitBreaker(connect(), clock=clock)

    # Closed: 4 failures of 4 are under min_requests; the fifth, from another environment, opens.
    for _ in range(4):
        assert (await first.record(model, success=False)).status == "closed"
    opened = await second.record(model, success=False)
    assert (opened.status, opened.window) == ("open", Tally(5, 5))

    clock.advance(10)
    assert await first.allow(model) == Permit(allowed=False, state="open", retry_after_seconds=20)

    # Half-open: one probe across both environments; it fails and the circuit reopens.
    clock.advance(20)
    assert (await first.allow(model)).probe
    assert not (await second.allow(model)).allowed
    assert (await first.record(model, success=False, probe=True)).status == "open"
    assert (await second.allow(model)).state == "open"

    # The next cool-down's probe succeeds: closed, with a fresh window.
    clock.advance(30)
    assert (await second.allow(model)).probe
    assert (await second.record(model, success=True, probe=True)).status == "closed"
    assert await first.allow(model) == Permit(allowed=True, state="closed")
    assert (await first.record(model, success=False)).window == Tally(1, 1)
    state = await second.state(model)
    assert (state.status, state.open_until, state.window) == ("closed", None, Tally(1, 1))


async def test_outcomes_age_out_of_the_window(
    connect: Callable[[], HotStore], clock: FakeClock, model: str
) -> None:
    breaker = CircuitBreaker(connect(), clock=clock)
    for _ in range(4):
        await breaker.record(model, success=False)
    clock.advance(3600 + 300)
    state = await breaker.record(model, success=False)
    assert (state.status, state.window) == ("closed", Tally(1, 1))


async def test_many_environments_asking_at_once_in_half_open_admit_exactly_one_probe(
    connect: Callable[[], HotStore], clock: FakeClock, model: str
) -> None:
    breakers = [CircuitBreaker(connect(), clock=clock) for _ in range(ENVIRONMENTS)]
    for _ in range(5):
        await breakers[0].record(model, success=False)
    clock.advance(30)

    permits: list[Permit] = []

    async def ask(breaker: CircuitBreaker) -> None:
        permits.append(await breaker.allow(model))

    async with anyio.create_task_group() as group:
        for breaker in breakers * 3:
            group.start_soon(ask, breaker)

    assert len(permits) == 3 * ENVIRONMENTS
    assert sum(permit.probe for permit in permits) == 1
    assert sum(permit.allowed for permit in permits) == 1
    assert {permit.state for permit in permits} == {"half_open"}


async def test_failures_recorded_at_once_open_the_circuit_and_count_every_one(
    connect: Callable[[], HotStore], clock: FakeClock, model: str
) -> None:
    breakers = [CircuitBreaker(connect(), clock=clock) for _ in range(ENVIRONMENTS)]

    async with anyio.create_task_group() as group:
        for breaker in breakers:
            group.start_soon(partial(breaker.record, model, success=False))

    state = await breakers[0].state(model)
    assert (state.status, state.window) == ("open", Tally(ENVIRONMENTS, ENVIRONMENTS))
    assert state.open_until == clock.now + 30
    assert not (await breakers[-1].allow(model)).allowed


async def test_a_probe_that_never_reports_frees_its_lock(
    connect: Callable[[], HotStore], clock: FakeClock, model: str
) -> None:
    policy = BreakerPolicy(probe_timeout_seconds=0.3)
    first = CircuitBreaker(connect(), policy, clock=clock)
    second = CircuitBreaker(connect(), policy, clock=clock)
    for _ in range(5):
        await first.record(model, success=False)
    clock.advance(30)
    assert (await first.allow(model)).probe  # and it never reports
    assert not (await second.allow(model)).allowed

    # The lock expires on the store's real clock: poll until another probe is admitted.
    with anyio.fail_after(POLL_LIMIT_SECONDS):
        while not (permit := await second.allow(model)).allowed:
            await anyio.sleep(0.05)
    assert permit == Permit(allowed=True, state="half_open", probe=True)
