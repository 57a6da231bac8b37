"""Each regression rule on hand-made windows: what it finds, what it needs to find anything,
and the subject line a person reads."""

from __future__ import annotations

from typing import Any

import pytest

from parley.analytics.rollup import SeriesRollup
from parley.analytics.series import Series
from parley.operations.alerts.delivery import alert_message, subject_line
from parley.operations.alerts.rules import MIN_CALLS, MIN_JUDGED, evaluate_rules, report
from parley.operations.alerts.windows import AlertWindows
from parley.orgs.settings import AlertSettings
from tests.support.rollups import event


def rollup(
    calls: int, *, provider: str = "openai", route: str = "light", **values: Any
) -> SeriesRollup:
    """``calls`` calls of ``provider``; ``values`` are UsageEvent fields (latency, errors)."""
    first = event("acme", provider=provider, route=route, **values)
    built = SeriesRollup(Series.from_event(first))
    for _ in range(calls):
        built.add_event(event("acme", provider=provider, route=route, **values))
    return built


def rated(judged: int, positive: int, *, handoffs: int = 0) -> SeriesRollup:
    built = rollup(0)
    for index in range(judged):
        signals = {"asked_for_human": index < handoffs}
        built.add_feedback({"thumbs": 1 if index < positive else -1, "signals": signals})
    return built


def findings(windows: AlertWindows, **settings: Any) -> dict[tuple[str, str], Any]:
    found = evaluate_rules(windows, AlertSettings(**settings))
    return {(f.rule, f.subject): f for f in found}


def test_success_rate_counts_failures_but_not_a_client_leaving() -> None:
    windows = AlertWindows(
        recent=[
            rollup(90),
            rollup(8, success=False, error_code="upstream_unavailable"),
            rollup(30, success=False, error_code="client_disconnected"),
        ]
    )
    found = findings(windows)[("success_rate_min", "all")]
    assert found.value == pytest.approx(1 - 8 / 128, abs=1e-4)  # 93.75%: the leavers count in
    assert found.breached
    assert not findings(windows, success_rate_min=0.9)[("success_rate_min", "all")].breached


def test_a_providers_error_rate_is_judged_on_its_own_calls() -> None:
    windows = AlertWindows(
        recent=[
            rollup(100, provider="openai"),
            rollup(45, provider="anthropic"),
            rollup(10, provider="anthropic", success=False, error_code="upstream_timeout"),
            rollup(5, provider="gemini", success=False, error_code="upstream_timeout"),
        ]
    )
    found = findings(windows)
    assert not found[("provider_error_rate_max", "openai")].breached
    assert found[("provider_error_rate_max", "anthropic")].breached
    assert found[("provider_error_rate_max", "anthropic")].value == pytest.approx(10 / 55, 1e-3)
    assert ("provider_error_rate_max", "gemini") not in found  # 5 calls say nothing


def test_positive_feedback_drop_and_minimum() -> None:
    windows = AlertWindows(recent=[rated(40, 24)], week_before=[rated(40, 36)])
    found = findings(windows)
    drop = found[("positive_feedback_drop", "all")]
    assert (drop.value, drop.baseline, drop.breached) == (0.6, 0.9, True)
    assert found[("positive_feedback_min", "all")].breached  # 60% < 70%
    assert ("positive_feedback_drop", "all") not in findings(
        AlertWindows(recent=[rated(MIN_JUDGED - 1, 0)], week_before=[rated(40, 36)])
    )


def test_spend_against_the_budget_and_the_trailing_mean() -> None:
    today = [rollup(MIN_CALLS, cost_usd=0.05)]  # $2.50 so far today
    trailing = {f"2026-11-{day:02d}": [rollup(10, cost_usd=0.1)] for day in (24, 25, 26, 27)}
    windows = AlertWindows(today=today, trailing_days=trailing, today_span="2026-12-01")
    found = findings(windows, daily_budget_usd=2.0)
    budget = found[("spend_over_budget", "all")]
    assert (budget.value, budget.threshold, budget.breached) == (2.5, 2.4, True)
    trailing_mean = found[("spend_over_trailing_mean", "all")]
    assert (trailing_mean.baseline, trailing_mean.breached) == (1.0, True)
    # No budget set: that comparison is off; fewer than three days with spend: so is this one.
    quiet = AlertWindows(today=today, trailing_days=dict(list(trailing.items())[:2]))
    assert findings(quiet) == {}


def test_the_handoff_rate() -> None:
    windows = AlertWindows(recent=[rated(40, 30, handoffs=12)])
    found = findings(windows)[("handoff_rate_max", "all")]
    assert (found.value, found.breached) == (0.3, True)


def test_the_cache_hit_rate_is_reported_never_alerted() -> None:
    windows = AlertWindows(
        recent=[rollup(60, cached=True), rollup(40), rollup(20, learned_defaults=True)]
    )
    assert report(windows) == {
        "cache_hit_rate": 0.5,
        "learned_preference_coverage": round(20 / 120, 4),
        "requests": 120,
    }
    assert not any("cache" in rule for rule, _ in findings(windows))


def test_the_subject_line_is_short_printable_and_says_what_and_where() -> None:
    windows = AlertWindows(
        recent=[rollup(60, provider="anthropic", success=False, error_code="upstream_timeout")],
        recent_span=("2026-11-30T12", "2026-12-01T11"),
    )
    finding = findings(windows)[("provider_error_rate_max", "anthropic")]
    message = alert_message("ácme-org" * 10, finding, "firing", at=0, dashboard_url=None)
    line = subject_line(message)
    assert line.startswith("[Parley] FIRING provider error rate high: org ")
    assert len(line) <= 100
    assert all(" " <= ch <= "~" for ch in line)
    assert message["window"] == {"from": "2026-11-30T12", "to": "2026-12-01T11"}
