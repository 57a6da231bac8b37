"""One contract, two backends: every HealthStore keeps an hour whole (a rewrite replaces it,
models gone included), finds the newest hour, forgets expired hours, keeps each model's last
reset and the audit newest first; in DynamoDB (moto, the AnalyticsTable made from
template.yaml) and in memory."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

from parley.ids import new_id
from parley.operations.health.figures import Figures, change
from parley.operations.health.records import AuditEntry, HealthRecord, HourSummary
from parley.operations.health.store import HealthRepository, MemoryHealthStore
from tests.support.clock import FakeClock
from tests.support.rollups import event
from tests.support.stores import BACKENDS

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

    from parley.config import Settings
    from parley.operations.health.store import HealthStore

NOW = FakeClock.at("2026-12-01T09:15:00").now


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(NOW)


@pytest.fixture(params=BACKENDS)
def store(request: pytest.FixtureRequest, clock: FakeClock) -> HealthStore:
    if request.param == "memory":
        return MemoryHealthStore(clock=clock)
    settings: Settings = request.getfixturevalue("settings")
    client: DynamoDBClient = request.getfixturevalue("dynamodb")
    return HealthRepository(settings.analytics_table, client=client, clock=clock)


def record(hour: str, model: str, *, provider: str = "openai", calls: int = 3) -> HealthRecord:
    figures = Figures()
    for n in range(calls):
        failed = n == 0
        figures.add(
            event(
                model=model,
                provider=provider,
                latency_ms=800.0 + n,
                success=not failed,
                error_code="provider_timeout" if failed else None,
            )
        )
    now, then = figures.summary(), Figures().summary()
    return HealthRecord(
        hour=hour,
        provider=provider,
        model=model,
        **now,
        baseline={"hour": "2026-11-24T08", **then},
        change=change(now, then),
        breaker={
            "status": "open",
            "open_until": NOW + 12.5,
            "window": {"requests": 9, "failures": 6},
            "trips": 2,
        },
        since=NOW - 600 if model == "gpt-4.1" else None,
    )


def summary(hour: str, models: int) -> HourSummary:
    return HourSummary(hour, "2026-11-24T08", NOW, events=12, baseline_events=0, models=models)


def audit(model: str, at: float, user: str = "ops") -> AuditEntry:
    return AuditEntry(
        audit_id=new_id(int(at * 1000)),
        at=at,
        action="reset",
        model=model,
        provider="openai",
        user_id=user,
        org_id="acme",
        via="api",
        breaker_before={"status": "open", "trips": 1},
    )


def test_an_hour_reads_back_as_stored(store: HealthStore) -> None:
    records = [record("2026-12-01T08", "gpt-4.1-mini"), record("2026-12-01T08", "gpt-4.1")]
    records.append(record("2026-12-01T08", "claude-haiku-4-5", provider="anthropic", calls=0))
    store.put_hour(summary("2026-12-01T08", 3), records)
    found = store.hour("2026-12-01T08")
    assert found is not None
    assert found.summary == summary("2026-12-01T08", 3)
    # By provider, then model.
    assert [(r.provider, r.model) for r in found.records] == [
        ("anthropic", "claude-haiku-4-5"),
        ("openai", "gpt-4.1"),
        ("openai", "gpt-4.1-mini"),
    ]
    assert found.records[1] == records[1]
    assert found.records[0].latency_ms == {"p50": None, "p95": None}
    assert store.hour("2026-12-01T07") is None


def test_a_rewrite_replaces_the_hour_whole(store: HealthStore) -> None:
    hour = "2026-12-01T08"
    store.put_hour(summary(hour, 2), [record(hour, "gpt-4.1"), record(hour, "gpt-4.1-mini")])
    store.put_hour(summary(hour, 1), [record(hour, "gpt-4.1", calls=7)])
    found = store.hour(hour)
    assert found is not None
    assert [(r.model, r.calls) for r in found.records] == [("gpt-4.1", 7)]
    assert found.summary.models == 1


def test_an_hour_without_records_is_still_computed(store: HealthStore) -> None:
    store.put_hour(summary("2026-12-01T08", 0), [])
    found = store.hour("2026-12-01T08")
    assert found is not None
    assert found.records == []
    assert store.latest_hour() == "2026-12-01T08"


def test_the_latest_hour_is_the_newest_stored_whatever_the_order(store: HealthStore) -> None:
    assert store.latest_hour() is None
    for hour in ("2026-12-01T08", "2026-11-30T23", "2026-12-01T07"):
        store.put_hour(summary(hour, 1), [record(hour, "gpt-4.1")])
    assert store.latest_hour() == "2026-12-01T08"


def test_expired_hours_are_not_read(store: HealthStore, clock: FakeClock) -> None:
    store.put_hour(summary("2026-12-01T08", 1), [record("2026-12-01T08", "gpt-4.1")])
    clock.advance(401 * 86_400)
    assert store.hour("2026-12-01T08") is None
    assert store.latest_hour() is None


def test_a_reset_keeps_the_models_last_mark_and_every_audit_entry(store: HealthStore) -> None:
    assert store.resets() == {}
    assert store.audit(limit=10) == []
    first, second = audit("gpt-4.1", NOW - 60, "alice"), audit("gpt-4.1", NOW, "bob")
    other = audit("gpt-4.1-mini", NOW - 30)
    for entry in (first, other, second):
        store.record_reset(entry)
    marks = store.resets()
    assert marks == {"gpt-4.1": second.mark(), "gpt-4.1-mini": other.mark()}
    assert store.audit(limit=10) == [second, other, first]
    assert store.audit(limit=2) == [second, other]
