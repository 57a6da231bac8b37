"""One contract, two backends: every RollupStore keeps an org's hours and days whole, reads a
range of days across months, keeps activity of any number of users, forgets what has expired,
and keeps the routing advice; in DynamoDB (moto on loopback, its table made from
template.yaml) and in memory."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

from parley.analytics.activity import ACTIVITY_CHUNK_USERS, Activity, UserActivity
from parley.analytics.rollup import SeriesRollup
from parley.analytics.series import Series
from parley.state.usage import UsageEvent
from tests.support.clock import FakeClock
from tests.support.stores import BACKENDS, rollup_store

if TYPE_CHECKING:
    from parley.analytics.store import RollupStore

NOW = FakeClock.at("2026-11-30T12:00:00").now


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(NOW)


@pytest.fixture(params=BACKENDS)
def store(request: pytest.FixtureRequest, clock: FakeClock) -> RollupStore:
    return rollup_store(request, request.param, clock=clock)


def rollup(model: str, calls: int, *, latency: float = 250.0) -> SeriesRollup:
    made = SeriesRollup(Series.of(model=model, provider="openai", task_type="coding"))
    for n in range(calls):
        made.add_event(
            UsageEvent(
                request_id=f"r-{model}-{n}",
                org_id="acme",
                user_id=f"u{n}",
                provider="openai",
                model=model,
                endpoint="stream",
                input_tokens=10,
                output_tokens=5,
                usage_estimated=False,
                cost_usd=0.001,
                latency_ms=latency + n,
                success=True,
                ttft_ms=50.0,
                conversation_id=f"c{n}",
            )
        )
    return made


def activity(users: int) -> Activity:
    return Activity({f"user-{n:05d}": UserActivity(1, {f"conv-{n}"}) for n in range(users)})


def test_a_day_reads_back_as_stored(store: RollupStore) -> None:
    stored = [rollup("gpt-4.1", 3), rollup("claude-haiku-4-5", 2)]
    store.put_day("acme", "2026-11-30", stored, activity(3))
    (day,) = store.days("acme", "2026-11-30", "2026-11-30")
    assert day.span == "2026-11-30"
    assert sorted(r.to_values()["series"] for r in day.rollups) == sorted(
        r.series.key() for r in stored
    )
    by_model = {r.series.model: r for r in day.rollups}
    assert by_model["gpt-4.1"].to_values() == stored[0].to_values()
    assert day.activity.active_users == 3
    assert day.activity.conversations == 3


def test_a_rewrite_replaces_the_series_it_names(store: RollupStore) -> None:
    store.put_day("acme", "2026-11-30", [rollup("gpt-4.1", 3)], activity(1))
    store.put_day("acme", "2026-11-30", [rollup("gpt-4.1", 5)], activity(2))
    (day,) = store.days("acme", "2026-11-30", "2026-11-30")
    assert [r.calls for r in day.rollups] == [5]
    assert day.activity.active_users == 2


def test_days_are_read_across_months_oldest_first_and_only_in_range(store: RollupStore) -> None:
    for day in ("2026-10-30", "2026-10-31", "2026-11-01", "2026-11-15", "2026-11-16"):
        store.put_day("acme", day, [rollup("gpt-4.1", 1)], Activity())
    store.put_day("other-org", "2026-11-01", [rollup("gpt-4.1", 9)], Activity())
    found = store.days("acme", "2026-10-31", "2026-11-15")
    assert [day.span for day in found] == ["2026-10-31", "2026-11-01", "2026-11-15"]
    assert store.days("acme", "2026-09-01", "2026-09-30") == []


def test_an_orgs_hours_are_its_days_partition(store: RollupStore) -> None:
    store.put_hour("acme", "2026-11-30T10", [rollup("gpt-4.1", 2)], activity(2))
    store.put_hour("acme", "2026-11-30T09", [rollup("gpt-4.1", 1)], activity(1))
    store.put_hour("acme", "2026-11-29T23", [rollup("gpt-4.1", 7)], activity(1))
    hours = store.hours("acme", "2026-11-30")
    assert [(h.span, h.rollups[0].calls) for h in hours] == [
        ("2026-11-30T09", 1),
        ("2026-11-30T10", 2),
    ]
    assert store.days("acme", "2026-11-30", "2026-11-30") == []


def test_activity_of_many_users_is_kept_whole(store: RollupStore) -> None:
    users = 2 * ACTIVITY_CHUNK_USERS + 7
    store.put_day("acme", "2026-11-30", [], activity(users))
    (day,) = store.days("acme", "2026-11-30", "2026-11-30")
    assert day.activity.active_users == users
    assert day.activity.conversations == users


def test_only_the_sketches_asked_for_are_decoded(store: RollupStore) -> None:
    store.put_day("acme", "2026-11-30", [rollup("gpt-4.1", 4)], Activity())
    (both,) = store.days("acme", "2026-11-30", "2026-11-30")
    (latency_only,) = store.days("acme", "2026-11-30", "2026-11-30", sketches=("latency",))
    assert both.rollups[0].ttft is not None
    assert both.rollups[0].latency is not None
    assert latency_only.rollups[0].ttft is None
    assert latency_only.rollups[0].latency is not None
    assert latency_only.rollups[0].latency.count == 4


def test_rollups_expire_400_days_after_their_span(store: RollupStore, clock: FakeClock) -> None:
    store.put_day("acme", "2026-11-30", [rollup("gpt-4.1", 1)], Activity())
    store.put_hour("acme", "2026-11-30T11", [rollup("gpt-4.1", 1)], Activity())
    clock.advance(399 * 86_400)
    assert len(store.days("acme", "2026-11-30", "2026-11-30")) == 1
    clock.advance(2 * 86_400)
    assert store.days("acme", "2026-11-30", "2026-11-30") == []
    assert store.hours("acme", "2026-11-30") == []


def test_the_routing_advice_is_replaced_whole(store: RollupStore) -> None:
    assert store.advice("acme") is None
    store.put_advice("acme", {"task_types": {"coding": [{"model": "a", "score": 80.5}]}})
    store.put_advice("acme", {"task_types": {"general_chat": [{"model": "b", "score": 70}]}})
    assert store.advice("acme") == {"task_types": {"general_chat": [{"model": "b", "score": 70}]}}
    assert store.advice("other-org") is None
