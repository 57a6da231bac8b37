"""The analytics figures, from rollups fed with usage events and feedback: a merged rollup's
metrics, windows and groupings, the recommender's scores and rankings by each priority, its
fallback to the rules under 5 calls, confidence bounds, the insights' sentences, the dashboard
views, and the routing advice the job stores."""

from __future__ import annotations

import math
from datetime import date
from typing import TYPE_CHECKING, Any

import pytest

from parley.analytics.advice import Advice
from parley.analytics.metrics import METRIC_KEYS, figures
from parley.analytics.overview import scores_for
from parley.analytics.recommender import rank_for_routing, recommend, usual_tier
from parley.analytics.rollup import SeriesRollup
from parley.analytics.scores import ModelScore, balanced_scores, rank
from parley.analytics.series import Series
from parley.analytics.store import MemoryRollupStore
from parley.analytics.views import complexity, engagement, engagement_window, features, savings
from parley.analytics.window import Filters, Window, group_rollups, read_window
from parley.providers.catalog import load_catalog
from tests.support.rollups import RollupDays, event

if TYPE_CHECKING:
    from parley.providers.catalog import Catalog
    from parley.state.usage import UsageEvent

CATALOG = load_catalog()
TODAY = date(2026, 12, 1)  # a Tuesday
NOW = 1_796_126_400.0  # 2026-12-01T12:00:00Z


def rollup_of(*events: UsageEvent, feedback: tuple[dict[str, Any], ...] = ()) -> SeriesRollup:
    merged = SeriesRollup(Series.of())
    for found in events:
        merged.add_event(found)
    for record in feedback:
        merged.add_feedback(record)
    return merged


def calls(model: str, count: int, **values: Any) -> list[UsageEvent]:
    spec = CATALOG.get(model)
    provider = spec.provider if spec else "openai"
    return [event(model=model, provider=provider, **values) for _ in range(count)]


def scores_of(
    days: RollupDays, task_type: str | None, catalog: Catalog = CATALOG
) -> list[ModelScore]:
    store = MemoryRollupStore(clock=lambda: NOW)
    days.write(store)
    found = read_window(store, "acme", Window.ending_today(30, now=NOW))
    return scores_for(found, task_type, catalog)


# metrics -------------------------------------------------------------------------------------


def test_the_figures_of_a_rollup_are_the_documented_ratios() -> None:
    rollup = rollup_of(
        event(latency_ms=100.0, input_tokens=10, output_tokens=20, cost_usd=0.01),
        event(latency_ms=300.0, input_tokens=30, output_tokens=40, cost_usd=0.02),
        event(
            success=False,
            error_code="upstream_error",
            latency_ms=5000.0,
            cost_usd=0.0,
            input_tokens=0,
            output_tokens=0,
        ),
        event(cached=True, input_tokens=0, output_tokens=0, cost_usd=0.0),
        feedback=({"thumbs": 1}, {"rating": 2}, {"rating": 5}, {"comment": "no verdict"}),
    )
    shown = figures(rollup)
    assert list(shown) == list(METRIC_KEYS)
    assert shown["totalCalls"] == 4  # three provider calls and a cache hit
    assert shown["avgResponseTime"] == 200.0  # answered calls only
    assert shown["successRate"] == 66.67
    assert shown["satisfactionRate"] == 66.67  # 2 positive of 3 judged
    assert shown["avgTokens"] == 25.0  # 100 tokens over 4 calls
    assert shown["totalCost"] == 0.03
    assert shown["cacheHitRate"] == 25.0  # 1 of 4 requests
    assert shown["p50"] == pytest.approx(100.0, rel=0.01)
    assert shown["p99"] is not None


def test_figures_without_a_denominator_are_null() -> None:
    shown = figures(SeriesRollup(Series.of()))
    assert shown["totalCalls"] == 0
    assert shown["totalCost"] == 0.0
    assert {key for key, value in shown.items() if value is None} == set(METRIC_KEYS) - {
        "totalCalls",
        "totalCost",
    }


# windows and groupings ---------------------------------------------------------------------


def test_a_window_is_whole_days_ending_today() -> None:
    window = Window.ending_today(30, now=NOW)
    assert (window.first, window.last, window.days) == (date(2026, 11, 2), TODAY, 30)
    assert window.day_names()[0] == "2026-11-02"
    assert len(window.day_names()) == 30


def test_groups_merge_every_series_of_a_value() -> None:
    days = RollupDays()
    days.add("2026-11-30", *calls("gpt-4.1-mini", 3, panel="pictures", latency_ms=100.0))
    days.add("2026-11-30", *calls("gpt-4.1-mini", 2, panel="travel", latency_ms=300.0))
    days.add("2026-12-01", *calls("claude-haiku-4-5", 4, task_type="coding"))
    store = MemoryRollupStore(clock=lambda: NOW)
    days.write(store)
    found = read_window(store, "acme", Window.ending_today(7, now=NOW))
    by_model = found.by("model", "provider")
    assert set(by_model) == {("gpt-4.1-mini", "openai"), ("claude-haiku-4-5", "anthropic")}
    mini = by_model[("gpt-4.1-mini", "openai")]
    assert (mini.calls, mini.latency_ms_sum) == (5, 900.0)
    assert mini.series.model == "gpt-4.1-mini"
    assert mini.series.panel == "-"
    assert mini.latency is not None
    assert mini.latency.count == 5

    daily = found.by_day()
    assert list(daily) == Window.ending_today(7, now=NOW).day_names()
    assert [daily[day].calls for day in ("2026-11-29", "2026-11-30", "2026-12-01")] == [0, 5, 4]

    coding = read_window(store, "acme", Window.ending_today(7, now=NOW), Filters("coding"))
    assert coding.total().calls == 4
    assert coding.narrowed(Filters(model="gpt-4.1-mini")).total().calls == 0
    with pytest.raises(ValueError, match="not dimensions"):
        group_rollups(found.rollups(), ("colour",))


# scores and rankings -----------------------------------------------------------------------


def test_the_quality_score_weighs_success_satisfaction_and_speed() -> None:
    days = RollupDays()
    answered = calls("gpt-4.1", 8, latency_ms=2000.0, input_tokens=1000, output_tokens=500)
    failed = calls("gpt-4.1", 2, success=False, error_code="upstream_error")
    days.add("2026-12-01", *answered, *failed)
    for record in ({"thumbs": 1}, {"thumbs": 1}, {"thumbs": 1}, {"thumbs": -1}):
        days.feedback("2026-12-01", answered[0], record)
    [found] = scores_of(days, "general_chat")
    assert found.samples == 10
    assert found.success_rate == 80.0
    assert found.satisfaction_rate == 75.0
    assert found.speed_score == 80.0  # 100 - 2000 / 100
    # The only model of its task type: the prior is centred on its own share, which stays 75.
    assert found.satisfaction_score == pytest.approx(75.0)
    assert found.quality_score == pytest.approx(0.4 * 80 + 0.4 * 75 + 0.2 * 80)
    # gpt-4.1: $2 in, $8 out per million; the failed calls carried the default 100/200 tokens,
    # and what they cost is part of the price of the 8 answers.
    expected = (8 * (1000 * 2 + 500 * 8) + 2 * (100 * 2 + 200 * 8)) / 1e6 / 8
    assert found.cost_per_answer == pytest.approx(expected)
    assert found.metrics() == {
        "avgResponseTime": 2000.0,
        "successRate": 80.0,
        "satisfactionRate": 75.0,
        "qualityScore": 78.0,
        "costPerAnswer": round(expected, 8),
        "sampleSize": 10,
    }


def test_a_slow_model_scores_no_speed_and_an_unrated_one_a_neutral_satisfaction() -> None:
    days = RollupDays()
    days.add("2026-12-01", *calls("gpt-5", 5, latency_ms=25_000.0))
    [found] = scores_of(days, "general_chat")
    assert found.speed_score == 0.0
    assert found.satisfaction_rate is None
    assert found.quality_score == pytest.approx(0.4 * 100 + 0.4 * 50)


def test_the_cost_per_answer_is_per_answer_and_a_model_that_never_answers_is_not_free() -> None:
    days = RollupDays()
    # flaky answers half its calls (the failures bill nothing); broken answers none.
    steady = calls("gpt-4.1", 10, input_tokens=1000, output_tokens=500)
    flaky = calls("gpt-4.1-mini", 5, input_tokens=1000, output_tokens=500)
    flaky += calls("gpt-4.1-mini", 5, success=False, input_tokens=0, output_tokens=0, cost_usd=0.0)
    broken = calls(
        "claude-haiku-4-5", 6, success=False, input_tokens=0, output_tokens=0, cost_usd=0.0
    )
    days.add("2026-12-01", *steady, *flaky, *broken)
    scores = {found.model: found for found in scores_of(days, "general_chat")}
    # gpt-4.1-mini: $0.40 in, $1.60 out per million; 5 answers for 10 calls cost what 5 cost.
    per_answer = (1000 * 0.4 + 500 * 1.6) / 1e6
    assert scores["gpt-4.1-mini"].cost_per_answer == pytest.approx(per_answer)
    assert scores["gpt-4.1-mini"].metrics()["costPerAnswer"] == round(per_answer, 8)
    # Nothing answered: no price per answer, and last on cost, after the dearer model.
    assert scores["claude-haiku-4-5"].cost_per_answer is None
    assert scores["claude-haiku-4-5"].metrics()["costPerAnswer"] is None
    ranked = rank(scores.values(), "cost")
    assert [s.model for s in ranked] == ["gpt-4.1-mini", "gpt-4.1", "claude-haiku-4-5"]
    broken = scores["claude-haiku-4-5"]
    assert balanced_scores(ranked)["claude-haiku-4-5"] == pytest.approx(
        0.6 * broken.quality_score + 0.2 * broken.speed_score  # and a cost score of 0
    )


def test_a_failing_model_is_not_cheaper_for_its_failures() -> None:
    """Per call, failures billing nothing would put the flaky model first on cost."""
    days = RollupDays()
    # gpt-4.1-mini: $0.40 in, $1.60 out per million, $0.0012 an answer, always answers.
    steady = calls("gpt-4.1-mini", 10, input_tokens=1000, output_tokens=500)
    # gpt-4.1: $2 in, $8 out, short answers at $0.0018 each, 1.5 times dearer; but 8 of its
    # 10 calls fail and bill nothing, so its cost per call would be $0.00036, 0.3 times.
    flaky = calls("gpt-4.1", 2, input_tokens=300, output_tokens=150)
    flaky += calls("gpt-4.1", 8, success=False, input_tokens=0, output_tokens=0, cost_usd=0.0)
    days.add("2026-12-01", *steady, *flaky)
    scores = {found.model: found for found in scores_of(days, "general_chat")}
    assert scores["gpt-4.1"].cost_per_answer == pytest.approx(0.0018)
    assert scores["gpt-4.1-mini"].cost_per_answer == pytest.approx(0.0012)
    assert [s.model for s in rank(scores.values(), "cost")] == ["gpt-4.1-mini", "gpt-4.1"]
    balanced = balanced_scores(list(scores.values()))
    cost_score = 100 * (0.0012 + 1e-9) / (0.0018 + 1e-9)  # 66.7, not the cheapest's 100
    found = scores["gpt-4.1"]
    assert balanced["gpt-4.1"] == pytest.approx(
        0.6 * found.quality_score + 0.2 * found.speed_score + 0.2 * cost_score
    )


def test_the_satisfaction_score_shrinks_few_ratings_towards_the_task_types_share() -> None:
    days = RollupDays()
    rated = calls("gpt-4.1", 10)  # 12 of 20 ratings positive
    once = calls("claude-haiku-4-5", 10)  # one rating, positive
    unrated = calls("gpt-4.1-mini", 10)
    days.add("2026-12-01", *rated, *once, *unrated)
    for thumbs in [1] * 12 + [-1] * 8:
        days.feedback("2026-12-01", rated[0], {"thumbs": thumbs})
    days.feedback("2026-12-01", once[0], {"thumbs": 1})
    scores = {found.model: found for found in scores_of(days, "general_chat")}
    pooled = 100 * 13 / 21  # the task type's share: 13 positive of 21 judged
    for found in scores.values():
        assert found.satisfaction_prior == pytest.approx(pooled)
    # The posterior mean under a prior worth 2 ratings: (positive + 2 m) / (judged + 2).
    single = scores["claude-haiku-4-5"]
    assert single.satisfaction_score == pytest.approx((100 + 2 * pooled) / 3)
    assert scores["gpt-4.1"].satisfaction_score == pytest.approx((1200 + 2 * pooled) / 22)
    assert scores["gpt-4.1-mini"].satisfaction_score == pytest.approx(pooled)  # the prior
    # One thumb up moves a third of the way from the task type's share to a perfect record,
    # while 20 ratings stay within 2 points of their own 60%.
    assert single.satisfaction_score - pooled == pytest.approx((100 - pooled) / 3)
    assert abs(scores["gpt-4.1"].satisfaction_score - 60.0) < 2
    # The figures stay the raw shares; only the score is shrunk.
    assert single.satisfaction_rate == 100.0
    assert single.metrics()["satisfactionRate"] == 100.0
    for found in scores.values():
        assert found.quality_score == pytest.approx(
            0.4 * (found.success_rate or 0)
            + 0.4 * found.satisfaction_score
            + 0.2 * found.speed_score
        )


def test_many_ratings_speak_for_themselves_and_no_prior_is_neutral() -> None:
    many = ModelScore("m", "p", 1000, 1000, 500, 100, 500.0, 0.001, satisfaction_prior=90.0)
    assert many.satisfaction_score == pytest.approx((100 * 100 + 2 * 90) / 502)
    assert abs(many.satisfaction_score - 20.0) < 0.3
    alone = ModelScore("m", "p", 10, 10, 1, 0, 500.0, 0.001)  # no prior given: 50, uniform
    assert alone.satisfaction_score == pytest.approx(100 / 3)
    assert ModelScore("m", "p", 10, 10, 0, 0, 500.0, 0.001).satisfaction_score == 50.0


def three_models() -> RollupDays:
    """haiku: fastest, some failures; sonnet: slow, best liked, dearest; mini: cheapest."""
    days = RollupDays()
    haiku = calls("claude-haiku-4-5", 20, latency_ms=400.0)
    haiku += calls("claude-haiku-4-5", 4, success=False, error_code="rate_limited")
    sonnet = calls("claude-sonnet-4-5", 20, latency_ms=3000.0, output_tokens=600)
    mini = calls("gpt-4.1-mini", 20, latency_ms=1200.0)
    days.add("2026-11-30", *haiku, *sonnet, *mini)
    for rated, thumbs in (
        (sonnet[0], [1] * 10),
        (haiku[0], [1] * 5 + [-1] * 5),
        (mini[0], [1] * 6 + [-1] * 4),
    ):
        for thumb in thumbs:
            days.feedback("2026-11-30", rated, {"thumbs": thumb})
    return days


@pytest.mark.parametrize(
    ("priority", "first"),
    [
        ("speed", "claude-haiku-4-5"),
        ("quality", "claude-sonnet-4-5"),
        ("cost", "gpt-4.1-mini"),
    ],
)
def test_each_priority_ranks_by_its_own_figure(priority: Any, first: str) -> None:
    scores = scores_of(three_models(), "general_chat")
    ranked = rank(scores, priority)
    assert ranked[0].model == first
    assert len(ranked) == 3
    key = {
        "speed": lambda s: s.avg_ms,
        "quality": lambda s: -s.quality_score,
        "cost": lambda s: s.cost_per_answer,
    }[priority]
    assert [key(s) for s in ranked] == sorted(key(s) for s in ranked)


def test_balanced_weighs_quality_speed_and_cost_as_documented() -> None:
    scores = scores_of(three_models(), "general_chat")
    balanced = balanced_scores(scores)
    cheapest = min(s.cost_per_answer or 0 for s in scores)
    for found in scores:
        cost_score = 100 * (cheapest + 1e-9) / ((found.cost_per_answer or 0) + 1e-9)
        expected = 0.6 * found.quality_score + 0.2 * found.speed_score + 0.2 * cost_score
        assert balanced[found.model] == pytest.approx(expected)
    ranked = rank(scores, "balanced")
    assert [s.model for s in ranked] == sorted(balanced, key=lambda model: -balanced[model])
    assert ranked[0].model == max(balanced, key=lambda model: balanced[model])


@pytest.mark.parametrize(
    ("samples", "successes", "judged", "positive"),
    [
        (0, 0, 0, 0),
        (1, 0, 0, 0),
        (5, 5, 0, 0),
        (5, 0, 5, 0),
        (1, 1, 1, 1),
        (10**9, 10**9, 10**9, 10**9),
        (10**9, 0, 10**9, 5 * 10**8),
        (37, 30, 12, 7),
    ],
)
def test_confidence_stays_within_0_and_100(
    samples: int, successes: int, judged: int, positive: int
) -> None:
    found = ModelScore("m", "p", samples, successes, judged, positive, 500.0, 0.001)
    assert 0.0 <= found.confidence <= 100.0


def test_confidence_grows_with_samples_and_agreement() -> None:
    few = ModelScore("m", "p", 5, 5, 2, 2, 500.0, 0.001)
    many = ModelScore("m", "p", 500, 500, 200, 200, 500.0, 0.001)
    split = ModelScore("m", "p", 500, 500, 200, 100, 500.0, 0.001)
    unreliable = ModelScore("m", "p", 500, 250, 200, 200, 500.0, 0.001)
    assert few.confidence < many.confidence
    assert split.confidence < many.confidence
    assert unreliable.confidence < many.confidence
    # 50% samples (500 of 530 half way at 30), 30% success, 20% agreement of 200 votes of 200.
    share = 201 / 202
    agreement = 1 - math.sqrt(share * (1 - share) / 202) / math.sqrt(0.25 / 2)
    assert many.confidence == pytest.approx(50 * 500 / 530 + 30 + 20 * agreement)
    assert ModelScore("m", "p", 0, 0, 0, 0, None, None).confidence == 0.0


def test_a_model_is_ranked_from_five_calls() -> None:
    days = RollupDays()
    days.add("2026-12-01", *calls("gpt-4.1", 4), *calls("claude-haiku-4-5", 5))
    ranked = rank(scores_of(days, "general_chat"), "balanced")
    assert [s.model for s in ranked] == ["claude-haiku-4-5"]


# the recommender -------------------------------------------------------------------------------


def test_fewer_than_five_calls_fall_back_to_the_rules_and_say_so() -> None:
    days = RollupDays()
    days.add("2026-12-01", *calls("gpt-4.1", 3, task_type="coding"))
    chain = [CATALOG.get("gpt-4.1"), CATALOG.get("claude-sonnet-4-5")]
    answer = recommend(
        scores_of(days, "coding"),
        task_type="coding",
        priority="balanced",
        rules=chain,  # type: ignore[arg-type]
        rules_tier="standard",
    )
    assert answer["source"] == "rules"
    assert (answer["model"], answer["provider"]) == ("gpt-4.1", "openai")
    assert "Not enough data for coding" in answer["reason"]
    assert "the most is 3 for gpt-4.1" in answer["reason"]
    assert "standard chain" in answer["reason"]
    assert answer["metrics"]["sampleSize"] == 3  # what little there is, shown
    # The rules chose it, not its 3 calls: no confidence, however good those calls looked.
    assert answer["metrics"]["successRate"] == 100.0
    assert scores_of(days, "coding")[0].confidence > 30
    assert answer["confidence"] == 0.0
    [other] = answer["alternatives"]
    assert (other["model"], other["source"], other["metrics"]["sampleSize"]) == (
        "claude-sonnet-4-5",
        "rules",
        0,
    )
    assert other["metrics"]["qualityScore"] is None
    assert other["confidence"] == 0.0
    assert "alternatives" not in other

    empty = recommend([], task_type="coding", priority="speed", rules=[], rules_tier="standard")
    assert (empty["source"], empty["model"], empty["alternatives"]) == ("rules", None, [])
    assert "no model this deployment can call" in empty["reason"]


def test_with_enough_calls_the_answer_is_the_data_and_its_alternatives() -> None:
    scores = scores_of(three_models(), "general_chat")
    for priority, first in (
        ("speed", "claude-haiku-4-5"),
        ("quality", "claude-sonnet-4-5"),
        ("cost", "gpt-4.1-mini"),
        ("balanced", rank(scores, "balanced")[0].model),
    ):
        answer = recommend(
            scores, task_type="general_chat", priority=priority, rules=[], rules_tier="light"
        )
        assert answer["source"] == "data"
        assert answer["priority"] == priority
        assert answer["model"] == first
        assert len(answer["alternatives"]) == 2
        assert set(answer["alternatives"][0]) == set(answer) - {"alternatives"}
        assert 0 < answer["confidence"] <= 100
        assert answer["metrics"]["sampleSize"] >= 20
        assert first in answer["reason"]
        assert "general_chat" in answer["reason"]


def test_the_usual_tier_is_where_most_requests_went() -> None:
    days = RollupDays()
    days.add("2026-12-01", *calls("gpt-5", 3, tier="heavy", route="heavy"))
    days.add("2026-12-01", *calls("gpt-4.1-mini", 2, tier="light"))
    store = MemoryRollupStore(clock=lambda: NOW)
    days.write(store)
    found = read_window(store, "acme", Window.ending_today(7, now=NOW))
    assert usual_tier(found.rollups()) == "heavy"
    assert usual_tier([]) == "standard"


# insights ------------------------------------------------------------------------------------


def test_insights_compare_speed_and_cost_and_warn_of_satisfaction_and_errors() -> None:
    answer = recommend(
        scores_of(three_models(), "general_chat"),
        task_type="general_chat",
        priority="speed",
        rules=[],
        rules_tier="light",
    )
    said = answer["insights"]
    # 3000 ms against 400 ms
    assert "claude-haiku-4-5 is 7.5\u00d7 faster than claude-sonnet-4-5 for general_chat" in said
    assert any(
        s.startswith("gpt-4.1-mini costs ") and "less per answer than claude-sonnet-4-5" in s
        for s in said
    )
    # 21 of 30 judged replies positive: 70% is not below the threshold
    assert not any(s.startswith("satisfaction") for s in said)
    assert (
        "claude-haiku-4-5 failed 17% of its 24 calls for general_chat (most often rate_limited)"
        in said
    )


def test_low_satisfaction_is_a_sentence_with_its_figure() -> None:
    days = RollupDays()
    coding = calls("gpt-4.1", 6, task_type="coding")
    days.add("2026-12-01", *coding)
    for thumb in (1, 1, 1, 1, -1, -1):
        days.feedback("2026-12-01", coding[0], {"thumbs": thumb})
    said = recommend(
        scores_of(days, "coding"),
        task_type="coding",
        priority="balanced",
        rules=[],
        rules_tier="standard",
    )["insights"]
    assert said == ["satisfaction for coding is 67% over 6 rated replies: review model quality"]


# views -----------------------------------------------------------------------------------------


def test_engagement_counts_users_conversations_and_last_weeks_retention() -> None:
    days = RollupDays()
    # Last ISO week (Nov 23-29): alice, bob, carol. This week (from Nov 30): alice and dave.
    days.add("2026-11-24", event(user_id="alice", conversation_id="a1"))
    days.add(
        "2026-11-25",
        event(user_id="bob", conversation_id="b1"),
        event(user_id="carol", conversation_id="c1"),
    )
    days.add(
        "2026-11-30",
        event(user_id="alice", conversation_id="a2"),
        event(user_id="alice", conversation_id="a2"),
    )
    days.add(
        "2026-12-01",
        event(user_id="dave", conversation_id="d1"),
        event(user_id="alice", conversation_id="a3"),
    )
    # A retry is the same request: not counted again.
    days.add("2026-12-01", event(user_id="dave", conversation_id="d1", attempt=1))
    store = MemoryRollupStore(clock=lambda: NOW)
    days.write(store)
    window = Window.ending_today(2, now=NOW)
    shown = engagement(read_window(store, "acme", engagement_window(window)), window)
    assert (shown["days"], shown["from"], shown["to"]) == (2, "2026-11-30", "2026-12-01")
    assert [row["activeUsers"] for row in shown["daily"]] == [1, 2]
    summary = shown["summary"]
    assert summary["activeUsers"] == 2
    assert summary["conversations"] == 3  # a2, a3, d1
    assert summary["conversationsPerUser"] == 1.5
    assert summary["requests"] == 4
    assert summary["dailyActiveUsers"] == 1.5
    assert summary["weeklyActiveUsers"] == 2
    assert summary["retention"] == {
        "week": "2026-11-30",
        "previousWeek": "2026-11-23",
        "previousWeekUsers": 3,
        "retainedUsers": 1,
        "retentionRate": 33.33,
    }
    assert shown["weekly"] == [
        {"week": "2026-11-30", "activeUsers": 2, "conversations": 3, "conversationsPerUser": 1.5}
    ]


def test_features_complexity_and_savings() -> None:
    days = RollupDays()
    days.add("2026-12-01", *calls("gpt-4.1-mini", 6, panel="pictures", tier="light"))
    days.add("2026-12-01", *calls("gpt-4.1", 2, panel="travel", tier="standard", route="standard"))
    days.add("2026-12-01", *calls("gpt-4.1", 2, panel=None, tier="heavy", cost_usd=0.01))
    store = MemoryRollupStore(clock=lambda: NOW)
    days.write(store)
    found = read_window(store, "acme", Window.ending_today(30, now=NOW))

    panels = features(found)["panels"]
    assert [(p["panel"], p["requests"], p["share"]) for p in panels] == [
        ("pictures", 6, 60.0),
        (None, 2, 20.0),
        ("travel", 2, 20.0),
    ]

    shown = complexity(found)
    assert shown["lightShare"] == 60.0
    assert [(t["tier"], t["requests"], t["share"]) for t in shown["tiers"]] == [
        ("light", 6, 60.0),
        ("standard", 2, 20.0),
        ("heavy", 2, 20.0),
    ]
    assert shown["tiers"][2]["costPerRequest"] == 0.01

    gpt5 = CATALOG.get("gpt-5")
    assert gpt5 is not None
    saved = savings(found, gpt5)
    smart = (10 * 100 * 1.25 + 10 * 200 * 10.0) / 1e6
    actual = 8 * 0.00036 + 2 * 0.01
    assert saved["smartModel"] == "gpt-5"
    assert saved["smartCost"] == round(smart, 6)
    assert saved["actualCost"] == round(actual, 6)
    assert saved["saved"] == round(smart - actual, 6)
    assert saved["savedRate"] == round(100 * (smart - actual) / smart, 2)
    assert savings(found, None)["smartCost"] is None


# the routing advice ------------------------------------------------------------------------


def test_routing_advice_ranks_each_task_types_models_as_the_request_path_reads_it() -> None:
    days = three_models()
    days.add("2026-11-29", *calls("gpt-4.1", 12, task_type="coding", latency_ms=900.0))
    days.add("2026-11-29", *calls("claude-sonnet-4-5", 3, task_type="coding"))  # too few
    days.add("2026-11-29", *calls("gpt-4.1", 9, task_type=None))  # no task type: not advised
    store = MemoryRollupStore(clock=lambda: NOW)
    days.write(store)
    stored = store.days("acme", "2026-11-02", "2026-12-01")
    advice = rank_for_routing(stored, catalog=CATALOG, now=NOW)
    assert advice["computed_at"] == "2026-12-01T12:00:00+00:00"
    assert advice["window_days"] == 2  # from the first stored day to the last
    assert set(advice["task_types"]) == {"general_chat", "coding"}
    assert [m["model"] for m in advice["task_types"]["coding"]] == ["gpt-4.1"]
    general = advice["task_types"]["general_chat"]
    scores = scores_of(three_models(), "general_chat")
    assert [m["model"] for m in general] == [s.model for s in rank(scores, "balanced")]
    assert [m["score"] for m in general] == sorted((m["score"] for m in general), reverse=True)
    assert all(m["samples"] >= 5 and 0 <= m["confidence"] <= 100 for m in general)
    assert set(general[0]) == {"model", "provider", "score", "samples", "confidence"}
    # What learned routing reads validates it.
    parsed = Advice.model_validate(advice)
    assert [m.model for m in parsed.for_task("general_chat")] == [m["model"] for m in general]
    assert rank_for_routing([], catalog=CATALOG, now=NOW, window_days=30)["task_types"] == {}
