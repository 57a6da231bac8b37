"""Provider health's figures, pure: an hour's events per provider model (cached answers are no
call, failures by code, latency and TTFT of answered calls only, p95 within DDSketch's 1% of
the exact value), a reset's cut, the change against the baseline, and the CLI's table."""

from __future__ import annotations

import math
import random

import pytest

from parley.errors import ValidationFailed
from parley.operations.health.figures import Figures, change, figures_of
from parley.operations.health.hours import checked_hour, reported_hour, week_before
from parley.operations.health.records import HealthHour, HealthRecord, HourSummary, ResetMark
from parley.operations.health.view import health_document, health_table
from tests.support.clock import FakeClock
from tests.support.rollups import event

HOUR_START = FakeClock.at("2026-12-01T08:00:00").now


def exact_quantile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[max(0, math.ceil(q * len(ordered)) - 1)]


def test_calls_are_provider_calls_and_errors_count_by_code() -> None:
    events = [
        event(model="gpt-4.1", latency_ms=1000.0, ttft_ms=200.0),
        event(model="gpt-4.1", latency_ms=3000.0, ttft_ms=None),
        event(model="gpt-4.1", success=False, error_code="provider_timeout", latency_ms=15000),
        event(model="gpt-4.1", success=False, error_code="provider_timeout", latency_ms=15000),
        event(model="gpt-4.1", success=False, error_code=None, latency_ms=15000),
        event(model="gpt-4.1", cached=True),  # answered from the cache: no provider call
        event(provider="anthropic", model="claude-haiku-4-5"),
    ]
    found = figures_of(events)
    assert set(found) == {("openai", "gpt-4.1"), ("anthropic", "claude-haiku-4-5")}
    summary = found["openai", "gpt-4.1"].summary()
    assert summary["calls"] == 5
    assert summary["successes"] == 2
    assert summary["error_rate"] == 0.6
    assert summary["errors"] == {"provider_timeout": 2, "unknown": 1}
    assert summary["error_rates"] == {"provider_timeout": 0.4, "unknown": 0.2}
    # The failures' 15 s is not a latency the model answered in (DDSketch's p95 of two
    # values is the lower one's rank).
    assert summary["latency_ms"]["p50"] == pytest.approx(1000.0, rel=0.01)
    assert summary["latency_ms"]["p95"] < 3000.0 * 1.01
    assert summary["ttft_ms"]["p95"] == pytest.approx(200.0, rel=0.01)


def test_p50_and_p95_are_within_one_percent_of_the_exact_ones() -> None:
    rng = random.Random(7)
    latencies = [rng.lognormvariate(6.5, 0.6) for _ in range(2000)]
    ttfts = [rng.lognormvariate(5.0, 0.4) for _ in range(2000)]
    events = [
        event(latency_ms=latency, ttft_ms=ttft)
        for latency, ttft in zip(latencies, ttfts, strict=True)
    ]
    summary = figures_of(events)["openai", "gpt-4.1-mini"].summary()
    assert summary["latency_ms"]["p50"] == pytest.approx(exact_quantile(latencies, 0.5), rel=0.011)
    assert summary["latency_ms"]["p95"] == pytest.approx(exact_quantile(latencies, 0.95), rel=0.011)
    assert summary["ttft_ms"]["p95"] == pytest.approx(exact_quantile(ttfts, 0.95), rel=0.011)


def test_a_model_without_calls_has_no_rates_or_times() -> None:
    summary = Figures().summary()
    assert summary == {
        "calls": 0,
        "successes": 0,
        "error_rate": None,
        "errors": {},
        "error_rates": {},
        "latency_ms": {"p50": None, "p95": None},
        "ttft_ms": {"p95": None},
    }


def test_a_reset_model_counts_only_its_calls_from_the_reset_on() -> None:
    reset_at = HOUR_START + 1200
    events = [
        event(model="gpt-4.1", success=False, error_code="provider_error", created_at=HOUR_START),
        event(model="gpt-4.1", success=False, error_code="provider_error", created_at=reset_at - 1),
        event(model="gpt-4.1", created_at=reset_at),
        event(model="gpt-4.1-mini", success=False, created_at=HOUR_START + 60),
    ]
    found = figures_of(events, since={"gpt-4.1": reset_at})
    assert (found["openai", "gpt-4.1"].calls, found["openai", "gpt-4.1"].error_rate) == (1, 0.0)
    assert found["openai", "gpt-4.1-mini"].calls == 1  # another model's calls all count


def test_the_change_is_ratios_of_calls_and_p95s_and_a_difference_of_error_rates() -> None:
    now = figures_of(
        [event(latency_ms=2000.0, ttft_ms=400.0)] * 3
        + [event(success=False, error_code="provider_error")]
    )["openai", "gpt-4.1-mini"].summary()
    then = figures_of([event(latency_ms=1000.0, ttft_ms=400.0)] * 8)["openai", "gpt-4.1-mini"]
    moved = change(now, then.summary())
    assert moved["calls_ratio"] == 0.5
    assert moved["error_rate_delta"] == 0.25
    assert moved["latency_p95_ratio"] == pytest.approx(2.0, rel=0.02)
    assert moved["ttft_p95_ratio"] == 1.0
    # A model new this week has nothing to be compared with.
    assert change(now, Figures().summary()) == {
        "calls_ratio": None,
        "error_rate_delta": None,
        "latency_p95_ratio": None,
        "ttft_p95_ratio": None,
    }


def test_the_reported_hour_is_the_last_complete_one_and_its_baseline_a_week_before() -> None:
    assert reported_hour(FakeClock.at("2026-12-01T00:15:00").now) == "2026-11-30T23"
    assert week_before("2026-12-01T08") == "2026-11-24T08"
    assert checked_hour("2026-12-01T08") == "2026-12-01T08"
    for bad in ("2026-13-01T08", "2026-12-01", "yesterday", "2026-12-01T24"):
        with pytest.raises(ValidationFailed):
            checked_hour(bad)


def record(model: str, calls: int, *, breaker: dict[str, object] | None) -> HealthRecord:
    summary = figures_of([event(model=model, latency_ms=900.0)] * calls)["openai", model]
    baseline = figures_of([event(model=model, latency_ms=600.0)] * (calls * 2))["openai", model]
    return HealthRecord(
        hour="2026-12-01T08",
        provider="openai",
        model=model,
        **summary.summary(),
        baseline={"hour": "2026-11-24T08", **baseline.summary()},
        change=change(summary.summary(), baseline.summary()),
        breaker=breaker,
    )


def test_the_table_gives_each_model_its_figures_and_their_change() -> None:
    found = HealthHour(
        HourSummary("2026-12-01T08", "2026-11-24T08", HOUR_START + 4500, 6, 12, 2),
        [
            record("gpt-4.1", 4, breaker={"status": "open", "trips": 2}),
            record("gpt-4.1-mini", 2, breaker=None),
        ],
    )
    document = health_document(found, {"gpt-4.1": ResetMark("gpt-4.1", HOUR_START, "ops", None)})
    assert document["records"][0]["reset"] == {"at": HOUR_START, "user_id": "ops", "org_id": None}
    assert document["records"][1]["reset"] is None
    lines = health_table(document).splitlines()
    assert (
        lines[0] == "Provider health, 2026-12-01T08 UTC against 2026-11-24T08 (6 calls against 12)"
    )
    assert lines[1].split() == [
        "PROVIDER",
        "MODEL",
        "CALLS",
        "ERRORS",
        "P95",
        "MS",
        "TTFT",
        "P95",
        "BREAKER",
        "TRIPS",
    ]
    assert lines[2].split()[:4] == ["openai", "gpt-4.1*", "4", "(x0.50)"]
    assert lines[2].split()[-2:] == ["open", "2"]
    assert "(x1.5" in lines[2]  # p95 900 ms against 600, within the sketches' 1%
    assert lines[3].split()[-2:] == ["-", "-"]  # no circuit read
    assert lines[-1].startswith("* reset by an operator")


def test_no_hour_yet_is_said_so() -> None:
    assert health_table(health_document(None, {})).startswith("No provider health yet")
