"""``/v1/health`` in the analytics app, in process, on memory stores and a memory hot store
with one fake clock: operators only (401 without a token, 403 without the scope), the newest
hour or a named one (404 when not reported, 422 when not an hour), a reset that closes the
circuit chat trips, restarts the window and is audited with the caller, 404 for a model
outside the catalog."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

from parley.analytics.store import MemoryRollupStore
from parley.apps.analytics import create_analytics_app
from parley.config import Settings
from parley.hot.memory import MemoryHotStore
from parley.operations.health.figures import change, figures_of
from parley.operations.health.records import HealthRecord, HourSummary
from parley.operations.health.store import MemoryHealthStore
from parley.routing.breaker import CircuitBreaker
from parley.routing.health import Tally
from parley.state.versioned import MemoryVersionedItems
from tests.support.asgi import bearer, client_for
from tests.support.clock import FakeClock
from tests.support.rollups import event

if TYPE_CHECKING:
    from collections.abc import AsyncIterator

    import httpx

pytestmark = pytest.mark.anyio

NOW = FakeClock.at("2026-12-01T09:20:00").now
VIEWER = bearer("olga", org_id="ops-team", scopes="ops:view")
MANAGER = bearer("max", org_id="ops-team", scopes="ops:manage")
ANALYST = bearer("carol", org_id="acme", scopes="analytics:view")
CIRCUIT = "openai:gpt-4.1"


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(NOW)


@pytest.fixture
def store(clock: FakeClock) -> MemoryHealthStore:
    return MemoryHealthStore(clock=clock)


@pytest.fixture
def hot() -> MemoryHotStore:
    return MemoryHotStore()


@pytest.fixture
async def client(
    store: MemoryHealthStore, hot: MemoryHotStore, clock: FakeClock
) -> AsyncIterator[httpx.AsyncClient]:
    app = create_analytics_app(
        Settings(env="development"),
        rollups=MemoryRollupStore(),
        documents=MemoryVersionedItems(),
        health=store,
        hot=hot,
        clock=clock,
    )
    async with client_for(app) as http:
        yield http


def put_hour(store: MemoryHealthStore, hour: str, calls: int) -> None:
    now = figures_of([event(model="gpt-4.1")] * calls)["openai", "gpt-4.1"].summary()
    then = figures_of([event(model="gpt-4.1")] * 4)["openai", "gpt-4.1"].summary()
    record = HealthRecord(
        hour=hour,
        provider="openai",
        model="gpt-4.1",
        **now,
        baseline={"hour": "2026-11-24T08", **then},
        change=change(now, then),
        breaker={"status": "open", "open_until": NOW + 5, "window": {}, "trips": 1},
    )
    summary = HourSummary(hour, "2026-11-24T08", NOW - 300, calls, 4, 1)
    store.put_hour(summary, [record])


async def trip(hot: MemoryHotStore) -> CircuitBreaker:
    breaker = CircuitBreaker(hot, clock=lambda: NOW)
    for _ in range(breaker.policy.min_requests):
        await breaker.record(CIRCUIT, success=False)
    assert (await breaker.state(CIRCUIT)).status == "open"
    return breaker


@pytest.mark.parametrize(
    ("method", "path", "allowed"),
    [
        ("GET", "/v1/health/providers", VIEWER),
        ("GET", "/v1/health/audit", VIEWER),
        ("POST", "/v1/health/providers/gpt-4.1/reset", MANAGER),
    ],
)
async def test_operators_only(
    client: httpx.AsyncClient, method: str, path: str, allowed: dict[str, str]
) -> None:
    assert (await client.request(method, path)).status_code == 401
    refused = await client.request(method, path, headers=ANALYST)
    assert refused.status_code == 403
    assert refused.json()["error"]["code"] == "forbidden"
    other = VIEWER if allowed is MANAGER else MANAGER  # one operator scope is not the other
    assert (await client.request(method, path, headers=other)).status_code == 403
    assert (await client.request(method, path, headers=allowed)).status_code == 200


async def test_the_newest_hour_by_default_or_the_one_named(
    client: httpx.AsyncClient, store: MemoryHealthStore
) -> None:
    empty = await client.get("/v1/health/providers", headers=VIEWER)
    assert empty.json() == {"hour": None, "baseline_hour": None, "computed_at": None, "records": []}
    put_hour(store, "2026-12-01T07", 2)
    put_hour(store, "2026-12-01T08", 6)

    newest = (await client.get("/v1/health/providers", headers=VIEWER)).json()
    assert (newest["hour"], newest["baseline_hour"], newest["events"]) == (
        "2026-12-01T08",
        "2026-11-24T08",
        6,
    )
    (record,) = newest["records"]
    assert (record["model"], record["calls"], record["change"]["calls_ratio"]) == (
        "gpt-4.1",
        6,
        1.5,
    )
    assert record["breaker"]["status"] == "open"
    assert record["reset"] is None
    named = await client.get("/v1/health/providers?hour=2026-12-01T07", headers=VIEWER)
    assert named.json()["records"][0]["calls"] == 2

    missing = await client.get("/v1/health/providers?hour=2026-11-01T07", headers=VIEWER)
    assert missing.status_code == 404
    for bad in ("2026-13-01T07", "2026-12-01", "2026-12-01T07:00", "yesterday"):
        refused = await client.get(f"/v1/health/providers?hour={bad}", headers=VIEWER)
        assert refused.status_code == 422, bad


async def test_a_reset_closes_the_circuit_and_is_audited(
    client: httpx.AsyncClient, store: MemoryHealthStore, hot: MemoryHotStore
) -> None:
    put_hour(store, "2026-12-01T08", 6)
    breaker = await trip(hot)

    reset = await client.post("/v1/health/providers/gpt-4.1/reset", headers=MANAGER)
    assert reset.status_code == 200
    entry = reset.json()
    assert {k: entry[k] for k in ("action", "model", "provider", "user_id", "org_id", "via")} == {
        "action": "reset",
        "model": "gpt-4.1",
        "provider": "openai",
        "user_id": "max",
        "org_id": "ops-team",
        "via": "api",
    }
    assert entry["at"] == NOW
    assert entry["breaker_before"] == {
        "status": "open",
        "open_until": NOW + 30,
        "window": {"requests": 5, "failures": 5},
        "trips": 1,
    }
    # Closed for the chat path, its window and this hour's openings forgotten.
    state = await breaker.state(CIRCUIT)
    assert (state.status, state.window) == ("closed", Tally(0, 0))
    assert (await breaker.allow(CIRCUIT)).allowed
    assert await breaker.trips(CIRCUIT, "2026-12-01T09") == 0

    shown = (await client.get("/v1/health/providers", headers=VIEWER)).json()
    assert shown["records"][0]["reset"] == {"at": NOW, "user_id": "max", "org_id": "ops-team"}
    assert store.resets()["gpt-4.1"].at == NOW  # the job's next figures start here

    await client.post("/v1/health/providers/gpt-4.1-mini/reset", headers=MANAGER)
    audit = (await client.get("/v1/health/audit", headers=VIEWER)).json()["entries"]
    assert [(e["model"], e["user_id"]) for e in audit] == [
        ("gpt-4.1-mini", "max"),
        ("gpt-4.1", "max"),
    ]
    assert (await client.get("/v1/health/audit?limit=1", headers=VIEWER)).json()["entries"] == [
        audit[0]
    ]
    assert (await client.get("/v1/health/audit?limit=0", headers=VIEWER)).status_code == 422


async def test_a_model_outside_the_catalog_is_404_and_nothing_is_audited(
    client: httpx.AsyncClient, store: MemoryHealthStore
) -> None:
    refused = await client.post("/v1/health/providers/gpt-9/reset", headers=MANAGER)
    assert refused.status_code == 404
    assert refused.json()["error"]["code"] == "not_found"
    assert store.audit(limit=10) == []
    assert store.resets() == {}
