"""The provider-health job on moto: usage events of the reported hour and of the same hour a
week earlier, in several orgs (so several shards of the hour index), circuits tripped in a
memory hot store; the records it writes, a second run writing the same, a reset during the
hour cutting the model's figures, shards refused; and ``parley jobs run provider-health``
with the hot store in DynamoDB."""

from __future__ import annotations

import asyncio
import time
from typing import TYPE_CHECKING, Any

import pytest

from parley.errors import BadRequest
from parley.hot.dynamodb import DynamoDBHotStore
from parley.hot.memory import MemoryHotStore
from parley.ids import new_id
from parley.operations.health.breakers import HotBreakers
from parley.operations.health.job import ProviderHealthJob
from parley.operations.health.records import AuditEntry
from parley.operations.health.store import HealthRepository
from parley.providers.catalog import load_catalog
from parley.routing.breaker import BreakerPolicy, CircuitBreaker
from parley.state.hour_index import org_shard
from parley.state.usage import UsageRepository
from tests.support.clock import FakeClock
from tests.support.rollups import event

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

    from parley.config import Settings
    from parley.state.usage import UsageEvent
    from tests.support.cli import CliRun

RUN_AT = FakeClock.at("2026-12-01T09:15:00").now  # reports 08
HOUR = FakeClock.at("2026-12-01T08:00:00").now
WEEK_AGO = HOUR - 7 * 86_400
ORGS = ("acme", "globex", "initech", "umbrella")
CATALOG = load_catalog()


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(RUN_AT)


@pytest.fixture
def usage(settings: Settings, dynamodb: DynamoDBClient, clock: FakeClock) -> UsageRepository:
    return UsageRepository(settings.usage_table, client=dynamodb, clock=clock)


@pytest.fixture
def health(settings: Settings, dynamodb: DynamoDBClient, clock: FakeClock) -> HealthRepository:
    return HealthRepository(settings.analytics_table, client=dynamodb, clock=clock)


@pytest.fixture
def hot() -> MemoryHotStore:
    return MemoryHotStore()


def job(
    usage: UsageRepository, health: HealthRepository, hot: MemoryHotStore, clock: FakeClock
) -> ProviderHealthJob:
    breakers = HotBreakers(lambda: hot, BreakerPolicy(), clock=clock)
    return ProviderHealthJob(usage, health, CATALOG, breakers, clock=clock)


def at(start: float, n: int, org: int = 0, **values: Any) -> UsageEvent:
    """A call ``n`` minutes into the hour from ``start``, of one of ``ORGS``."""
    return event(ORGS[org % len(ORGS)], created_at=start + 60 * n + 1, **values)


def record_traffic(usage: UsageRepository) -> None:
    calls = [
        # The hour: gpt-4.1 slow and failing, across every org.
        *(at(HOUR, n, n, model="gpt-4.1", latency_ms=2000.0 + n, ttft_ms=400.0) for n in range(7)),
        at(HOUR, 10, 1, model="gpt-4.1", success=False, error_code="provider_timeout"),
        at(HOUR, 20, 2, model="gpt-4.1", success=False, error_code="provider_timeout"),
        at(HOUR, 40, 3, model="gpt-4.1", success=False, error_code="provider_error"),
        at(HOUR, 41, 0, model="gpt-4.1", cached=True),  # a cached answer: no call
        *(at(HOUR, n, n, latency_ms=700.0) for n in range(4)),  # gpt-4.1-mini, steady
        # A week earlier: gpt-4.1 fast and sound, haiku (silent this hour) busy.
        *(
            at(WEEK_AGO, n, n, model="gpt-4.1", latency_ms=1000.0 + n, ttft_ms=200.0)
            for n in range(10)
        ),
        *(at(WEEK_AGO, n, n, latency_ms=700.0) for n in range(4)),
        *(
            at(WEEK_AGO, n, n, provider="anthropic", model="claude-haiku-4-5", latency_ms=500.0)
            for n in range(5)
        ),
        # Neither hour: the hour after, and the hour before.
        at(HOUR + 3600, 1, model="gpt-4.1", success=False, error_code="provider_error"),
        at(HOUR - 3600, 59, model="gpt-4.1", success=False, error_code="provider_error"),
        # A model the catalog no longer has.
        at(HOUR, 5, provider="openai", model="gpt-4o-retired"),
    ]
    assert len({org_shard(org) for org in ORGS}) > 1  # the job must read several shards
    for call in calls:
        assert usage.record(call)


async def trip_at(hot: MemoryHotStore, moment: float, model: str) -> None:
    breaker = CircuitBreaker(hot, clock=lambda: moment)
    for _ in range(breaker.policy.min_requests):
        await breaker.record(model, success=False)


def test_the_hour_against_the_week_before_with_its_circuits(
    usage: UsageRepository, health: HealthRepository, hot: MemoryHotStore, clock: FakeClock
) -> None:
    record_traffic(usage)
    asyncio.run(trip_at(hot, HOUR + 2400, "openai:gpt-4.1"))  # opened at 08:40, not probed since

    result = job(usage, health, hot, clock).run(as_of=RUN_AT)

    assert {k: v for k, v in result.items() if k != "duration_ms"} == {
        "hour": "2026-12-01T08",
        "baseline_hour": "2026-11-24T08",
        "models": len(CATALOG.models) + 1,  # the catalog's and the retired one
        "events": 15,
        "baseline_events": 19,
        "open_circuits": 1,
        "trips": 1,
        "complete": True,
        "cursor": None,
    }
    stored = health.hour("2026-12-01T08")
    assert stored is not None
    by_model = {record.model: record for record in stored.records}
    assert set(by_model) == {*CATALOG.names(), "gpt-4o-retired"}

    slow = by_model["gpt-4.1"]
    assert (slow.provider, slow.calls, slow.successes, slow.error_rate) == ("openai", 10, 7, 0.3)
    assert slow.errors == {"provider_error": 1, "provider_timeout": 2}
    assert slow.error_rates == {"provider_error": 0.1, "provider_timeout": 0.2}
    assert slow.latency_ms["p95"] == pytest.approx(2006.0, rel=0.01)
    assert slow.ttft_ms["p95"] == pytest.approx(400.0, rel=0.01)
    assert slow.baseline["hour"] == "2026-11-24T08"
    assert (slow.baseline["calls"], slow.baseline["error_rate"]) == (10, 0.0)
    assert slow.change["calls_ratio"] == 1.0
    assert slow.change["error_rate_delta"] == 0.3
    assert slow.change["latency_p95_ratio"] == pytest.approx(2.0, rel=0.02)
    assert slow.change["ttft_p95_ratio"] == pytest.approx(2.0, rel=0.02)
    assert slow.breaker == {
        "status": "half_open",  # its cool-down is over and nobody has probed it
        "open_until": HOUR + 2430,
        "window": {"requests": 5, "failures": 5},
        "trips": 1,
    }
    assert slow.since is None

    silent = by_model["claude-haiku-4-5"]
    assert (silent.calls, silent.error_rate, silent.baseline["calls"]) == (0, None, 5)
    assert silent.change["calls_ratio"] == 0.0
    assert silent.breaker == {
        "status": "closed",
        "open_until": None,
        "window": {"requests": 0, "failures": 0},
        "trips": 0,
    }
    assert by_model["gpt-4.1-mini"].change["calls_ratio"] == 1.0
    assert by_model["gpt-4o-retired"].breaker is None  # no circuit: nothing calls it
    assert health.latest_hour() == "2026-12-01T08"


def test_a_second_run_writes_the_same_and_a_reset_cuts_the_hour(
    usage: UsageRepository, health: HealthRepository, hot: MemoryHotStore, clock: FakeClock
) -> None:
    record_traffic(usage)
    first = job(usage, health, hot, clock).run(as_of=RUN_AT)
    before = health.hour("2026-12-01T08")
    again = job(usage, health, hot, clock).run(as_of=RUN_AT + 600)
    assert {k: v for k, v in again.items() if k != "duration_ms"} == {
        k: v for k, v in first.items() if k != "duration_ms"
    }
    after = health.hour("2026-12-01T08")
    assert before is not None
    assert after is not None
    assert after.records == before.records

    # Reset at 08:30: the hour's gpt-4.1 figures start there (its 08:40 timeout only).
    reset_at = HOUR + 1800
    health.record_reset(
        AuditEntry(
            new_id(int(reset_at * 1000)),
            reset_at,
            "reset",
            "gpt-4.1",
            "openai",
            "ops",
            None,
            "cli",
            {"status": "closed"},
        )
    )
    job(usage, health, hot, clock).run(as_of=RUN_AT)
    cut = health.hour("2026-12-01T08")
    assert cut is not None
    by_model = {record.model: record for record in cut.records}
    assert (by_model["gpt-4.1"].calls, by_model["gpt-4.1"].errors) == (1, {"provider_error": 1})
    assert by_model["gpt-4.1"].since == reset_at
    assert by_model["gpt-4.1-mini"].calls == 4  # another model is whole
    # The next hour's run is not cut: the reset was before it.
    job(usage, health, hot, clock).run(as_of=RUN_AT + 3600)
    next_hour = health.hour("2026-12-01T09")
    assert next_hour is not None
    assert {r.model: r.calls for r in next_hour.records}["gpt-4.1"] == 1
    assert all(r.since is None for r in next_hour.records)


def test_a_run_of_some_shards_is_refused(
    usage: UsageRepository, health: HealthRepository, hot: MemoryHotStore, clock: FakeClock
) -> None:
    with pytest.raises(BadRequest, match="every shard"):
        job(usage, health, hot, clock).run(as_of=RUN_AT, shards=[0, 1])
    assert health.latest_hour() is None


def test_parley_jobs_run_provider_health(
    cli: CliRun,
    settings: Settings,
    dynamodb: DynamoDBClient,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """The registry's wiring: the deployment's tables, the catalog and the hot store the
    settings name (DynamoDB here), for the last complete hour of now."""
    monkeypatch.setenv("PARLEY_HOT_BACKEND", "dynamodb")
    last_hour = (time.time() // 3600 - 1) * 3600
    usage = UsageRepository(settings.usage_table, client=dynamodb)
    for n in range(3):
        usage.record(event(model="gpt-4.1", created_at=last_hour + 60 * n, success=n > 0))
    hot = DynamoDBHotStore(settings.hot_table, client=dynamodb)
    asyncio.run(trip_at(hot, time.time(), "openai:gpt-4.1"))
    capsys.readouterr()  # the breaker's log line, not the command's output

    code, result, err = cli("jobs", "run", "provider-health")
    assert (code, err) == (0, "")
    assert result["events"] == 3
    assert result["open_circuits"] == 1
    assert result["complete"] is True
    code, replay, _ = cli("jobs", "run", "provider-health")
    assert (code, replay) == (0, result)  # the same run: its result, not a second run

    code, shown, _ = cli("health", "--json")
    assert code == 0
    gpt = next(record for record in shown["records"] if record["model"] == "gpt-4.1")
    assert (gpt["calls"], gpt["errors"], gpt["breaker"]["status"]) == (3, {"unknown": 1}, "open")
