"""The safety view and what it stands on: the rollups' ``guardrail`` dimension (whose keys stay
those of the rollups stored before it), the guardrail's mark, and the view's figures from
rollups fed as the aggregation job feeds them. (The chat's marking of a request's first usage
event: ``test_chat_guardrail_mark``.)"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import pytest

from parley.analytics.rollup import SeriesRollup
from parley.analytics.safety import safety
from parley.analytics.safety_marks import Mark, guardrail_mark, mark_of
from parley.analytics.series import DIMENSIONS, UNKNOWN, Series
from parley.analytics.store import MemoryRollupStore
from parley.analytics.window import Window, read_window
from tests.support.rollups import RollupDays, event

TODAY = date(2026, 12, 1)
NOW = 1_796_126_400.0  # 2026-12-01T12:00:00Z
YESTERDAY = (TODAY - timedelta(days=1)).isoformat()


# the series' guardrail dimension -------------------------------------------------------------


def test_the_guardrail_is_the_last_dimension_and_unknown_by_default() -> None:
    assert DIMENSIONS[-1] == "guardrail"
    assert Series.of(model="gpt-4.1", provider="openai").guardrail == UNKNOWN


def test_a_series_without_a_mark_keeps_the_seven_part_key_of_older_rollups() -> None:
    series = Series.of(
        model="gpt-4.1", provider="openai", task_type="coding", route="standard", endpoint="stream"
    )
    assert series.key() == "gpt-4.1|openai|coding|-|standard|-|stream"
    # A span rewritten after the dimension came names the very items stored before it.
    assert Series.from_key(series.key()) == series


def test_an_old_seven_part_key_parses_with_the_newer_dimensions_unknown() -> None:
    series = Series.from_key("gpt-4.1|openai|coding|pictures|light|light|completions")
    assert (series.model, series.panel, series.endpoint) == ("gpt-4.1", "pictures", "completions")
    assert series.guardrail == UNKNOWN


def test_a_marked_series_round_trips_through_its_eight_part_key() -> None:
    series = Series.of(model="m", provider="p", guardrail="safe_reply:suicide:offline")
    assert series.key() == "m|p|-|-|-|-|-|safe_reply:suicide:offline"
    assert Series.from_key(series.key()) == series


def test_a_key_of_too_many_dimensions_is_refused() -> None:
    with pytest.raises(ValueError, match="at most"):
        Series.from_key("|".join("x" * (len(DIMENSIONS) + 1)))


def test_a_rollup_stored_with_an_old_key_reads_back() -> None:
    values = {"series": "gpt-4.1|openai|coding|-|standard|standard|stream", "calls": 3}
    rollup = SeriesRollup.from_values(values)
    assert rollup.calls == 3
    assert rollup.series.guardrail == UNKNOWN


def test_the_usage_events_mark_is_its_series_guardrail() -> None:
    marked = event(guardrail="resources:third_party:model")
    assert Series.from_event(marked).guardrail == "resources:third_party:model"
    assert Series.from_event(event()).guardrail == UNKNOWN


# the mark ------------------------------------------------------------------------------------


def test_a_mark_is_action_category_and_stage() -> None:
    assert guardrail_mark("safe_reply", "suicide", "offline") == "safe_reply:suicide:offline"
    assert mark_of("safe_reply:suicide:offline") == Mark("safe_reply", "suicide", "offline")
    for other in (UNKNOWN, "", "safe_reply:suicide", "a::c", "a:b:c:d"):
        assert mark_of(other) is None


# the view ------------------------------------------------------------------------------------


def mark(action: str, category: str, stage: str) -> dict[str, Any]:
    return {"guardrail": guardrail_mark(action, category, stage)}


def classifier_call(**values: Any) -> Any:
    return event(
        model="gemini-2.5-flash-lite",
        provider="gemini",
        route="guardrail",
        task_type="guardrail",
        attempt=1,
        **values,
    )


def traffic() -> RollupDays:
    """Yesterday: two crises judged by the model (one rated down twice, one up), a worry about
    a friend, a message the model cleared, a crisis the offline classifier decided after the
    model timed out, one after it answered nonsense; ordinary requests; the classifier's 100
    answers and 2 failures.
    Today: one self-harm crisis decided offline with no model (no classifier call)."""
    days = RollupDays()
    crisis = event(**mark("safe_reply", "suicide", "model"))
    days.add(YESTERDAY, crisis, event(**mark("safe_reply", "suicide", "model")))
    days.feedback(YESTERDAY, crisis, {"thumbs": -1})
    days.feedback(YESTERDAY, crisis, {"rating": 2, "comment": "I was joking"})
    days.feedback(YESTERDAY, crisis, {"rating": 3})  # neither positive nor a report
    days.feedback(YESTERDAY, crisis, {"thumbs": 1})
    helper = event(**mark("resources", "third_party", "model"))
    days.add(YESTERDAY, helper, event(**mark("none", "none", "model")))
    days.feedback(YESTERDAY, helper, {"thumbs": -1})  # not a safe reply: no false positive
    days.add(YESTERDAY, *(event() for _ in range(5)))  # never flagged: no mark
    days.add(
        YESTERDAY,
        event(**mark("safe_reply", "suicide", "offline")),
        event(**mark("safe_reply", "self_harm", "offline")),
    )
    days.add(
        YESTERDAY,
        *(classifier_call(latency_ms=10.0 * n) for n in range(1, 101)),
        classifier_call(success=False, error_code="guardrail_timeout", latency_ms=1500.0),
        classifier_call(success=False, error_code="guardrail_malformed", latency_ms=90.0),
    )
    days.add(TODAY.isoformat(), event(**mark("safe_reply", "self_harm", "offline")))
    return days


def view(days: RollupDays, window_days: int = 3) -> dict[str, Any]:
    store = MemoryRollupStore(clock=lambda: NOW)
    days.write(store)
    return safety(read_window(store, "acme", Window.ending_today(window_days, now=NOW)))


def test_the_window_counts_decisions_hits_the_classifier_and_false_positives() -> None:
    shown = view(traffic())
    assert (shown["days"], shown["from"], shown["to"]) == (3, "2026-11-29", "2026-12-01")
    summary = shown["summary"]
    assert summary["decisions"] == {
        "total": 7,
        "byAction": {"safe_reply": 5, "resources": 1, "none": 1},
        "byCategory": {"suicide": 3, "self_harm": 2, "third_party": 1, "none": 1},
        "byStage": {"model": 4, "offline": 3},
    }
    assert summary["hits"] == {
        "total": 6,
        "byCategory": {"suicide": 3, "self_harm": 2, "third_party": 1},
    }
    classifier = summary["classifier"]
    assert (classifier["calls"], classifier["answered"]) == (102, 100)
    # Latency of the answers only (a timeout's 1.5 s says nothing of the model's speed); p95
    # from the sketch, within its 1% of the exact one (10 ms to 1 s in steps of 10 ms).
    assert classifier["avgResponseTime"] == 505.0
    assert classifier["p95"] == pytest.approx(950.0, rel=0.01)
    assert classifier["failSafe"] == {"total": 2, "timeout": 1, "error": 0, "malformed": 1}
    assert classifier["failSafeRate"] == 1.96
    assert summary["falsePositiveReports"] == {
        "total": 2,
        "byCategory": {"suicide": 2, "self_harm": 0},
        "judged": 4,
        "rate": 50.0,
    }


def test_each_day_of_the_window_has_its_own_figures() -> None:
    daily = view(traffic())["daily"]
    assert [row["day"] for row in daily] == ["2026-11-29", "2026-11-30", "2026-12-01"]
    empty, yesterday, today = daily
    assert empty["decisions"]["total"] == 0
    assert empty["classifier"]["avgResponseTime"] is None
    assert empty["falsePositiveReports"]["rate"] is None
    assert yesterday["decisions"]["total"] == 6
    assert yesterday["classifier"]["calls"] == 102
    assert today["decisions"]["byStage"] == {"model": 0, "offline": 1}
    assert today["hits"]["byCategory"]["self_harm"] == 1
    assert today["classifier"]["calls"] == 0


def test_a_category_the_view_does_not_know_yet_is_listed_too() -> None:
    days = RollupDays()
    days.add(TODAY.isoformat(), event(**mark("safe_reply", "eating_disorder", "model")))
    summary = view(days)["summary"]
    assert summary["decisions"]["byCategory"]["eating_disorder"] == 1
    assert summary["hits"]["byCategory"]["eating_disorder"] == 1


def test_an_org_without_guardrail_traffic_gets_zeros() -> None:
    days = RollupDays()
    days.add(TODAY.isoformat(), *(event() for _ in range(3)))
    summary = view(days, 1)["summary"]
    assert summary["decisions"]["total"] == 0
    assert summary["hits"]["total"] == 0
    assert summary["classifier"]["calls"] == 0
    assert summary["classifier"]["failSafeRate"] is None
