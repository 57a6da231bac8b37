"""One contract, two backends: every UsageStore records a provider call once and reads an
org's day back the same way, in DynamoDB (moto on loopback, its table made from
template.yaml) and in memory."""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING

import pytest

from parley.state.items import UnstorableValue
from parley.state.usage import UsageEvent
from tests.support.clock import FakeClock
from tests.support.stores import BACKENDS, usage_store

if TYPE_CHECKING:
    from parley.state.usage import UsageStore

DAY = "2026-11-22"
NOON = FakeClock.at("2026-11-22T12:00:00").now


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(NOON)


@pytest.fixture(params=BACKENDS)
def usage(request: pytest.FixtureRequest, clock: FakeClock) -> UsageStore:
    return usage_store(request, request.param, retention_days=2, clock=clock)


def event(request_id: str = "req-1", **changes: object) -> UsageEvent:
    made = UsageEvent(
        request_id=request_id,
        org_id="acme",
        user_id="alice",
        provider="openai",
        model="m-openai",
        endpoint="stream",
        input_tokens=120,
        output_tokens=30,
        usage_estimated=False,
        cost_usd=0.00054,
        latency_ms=812.5,
        success=True,
        ttft_ms=95.25,
        finish_reason="stop",
        conversation_id="01JDQ7ZG7A2M4X5R6T8V9W0YZB",
        route="light",
        complexity=0.42,
        created_at=NOON,
    )
    return replace(made, **changes)  # type: ignore[arg-type]


def test_an_event_reads_back_as_recorded(usage: UsageStore) -> None:
    recorded = event()
    assert usage.record(recorded) is True
    assert usage.for_org_day("acme", DAY) == [recorded]


def test_an_event_is_recorded_once(usage: UsageStore) -> None:
    assert usage.record(event()) is True
    assert usage.record(event(output_tokens=999)) is False  # the same call, redelivered
    assert [e.output_tokens for e in usage.for_org_day("acme", DAY)] == [30]
    # Another attempt of the same request is another call.
    assert usage.record(event(attempt=1, failover=True)) is True
    assert [e.attempt for e in usage.for_org_day("acme", DAY)] == [0, 1]


def test_a_day_holds_one_orgs_events_oldest_first(usage: UsageStore) -> None:
    usage.record(event("late", created_at=NOON + 60))
    usage.record(event("early", created_at=NOON - 60))
    usage.record(event("other-org", org_id="globex"))
    usage.record(event("next-day", created_at=NOON + 86_400))
    assert [e.request_id for e in usage.for_org_day("acme", DAY)] == ["early", "late"]
    assert [e.request_id for e in usage.for_org_day("acme", "2026-11-23")] == ["next-day"]
    assert [e.request_id for e in usage.for_org_day("globex", DAY)] == ["other-org"]
    assert usage.for_org_day("nobody", DAY) == []


def test_an_event_without_a_time_is_recorded_now(usage: UsageStore, clock: FakeClock) -> None:
    usage.record(event(created_at=0.0))
    (recorded,) = usage.for_org_day("acme", DAY)
    assert recorded.created_at == clock.now


def test_expired_events_are_never_read(usage: UsageStore, clock: FakeClock) -> None:
    usage.record(event("old", created_at=NOON - 86_400))  # the day before
    usage.record(event("new"))
    clock.advance(86_400)  # the first is past its two days now, the second is not
    assert [e.request_id for e in usage.for_org_day("acme", "2026-11-21")] == []
    assert [e.request_id for e in usage.for_org_day("acme", DAY)] == ["new"]


def test_numbers_read_back_as_the_store_keeps_them(usage: UsageStore) -> None:
    usage.record(event(latency_ms=12.0, cost_usd=0.0003))
    (recorded,) = usage.for_org_day("acme", DAY)
    assert (recorded.latency_ms, type(recorded.latency_ms)) == (12, int)
    assert recorded.cost_usd == 0.0003


def test_a_value_the_store_cannot_hold_is_a_422_and_nothing_is_recorded(
    usage: UsageStore,
) -> None:
    with pytest.raises(UnstorableValue):
        usage.record(event(latency_ms=float("nan")))
    assert usage.for_org_day("acme", DAY) == []


def test_an_hour_of_a_shard_is_read_by_org_then_time(usage: UsageStore) -> None:
    from parley.state.hour_index import org_shard

    # GIVEN events of several orgs in one hour, some in the next hour
    orgs = ["acme", "acme-labs", "zeta", "beta", "a b"]
    for n, org in enumerate(orgs * 2):
        usage.record(event(f"req-{n}", org_id=org, created_at=NOON + 60 - n))
    usage.record(event("req-later", org_id="acme", created_at=NOON + 3_600))
    # WHEN each shard of the hour is read
    hour = "2026-11-22T12"
    read = {shard: list(usage.for_hour(hour, shard)) for shard in range(8)}
    # THEN each org's events are in its shard, grouped, orgs in key order, oldest first
    for shard, events in read.items():
        mine = sorted((org for org in orgs if org_shard(org) == shard), key=lambda o: f"{o}#")
        assert [e.org_id for e in events] == [org for org in mine for _ in range(2)]
        for first, second in zip(events[::2], events[1::2], strict=True):
            assert first.created_at < second.created_at
    assert sum(len(events) for events in read.values()) == 2 * len(orgs)
    # and a read after an org starts with the next one ("zeta" and "beta" share a shard)
    assert org_shard("zeta") == org_shard("beta")
    for shard, events in read.items():
        if len({e.org_id for e in events}) > 1:
            after = list(usage.for_hour(hour, shard, after_org=events[0].org_id))
            assert after == events[2:]


def test_an_hour_never_holds_expired_events(usage: UsageStore, clock: FakeClock) -> None:
    from parley.state.hour_index import org_shard

    usage.record(event())
    clock.advance(3 * 86_400)
    assert list(usage.for_hour("2026-11-22T12", org_shard("acme"))) == []
