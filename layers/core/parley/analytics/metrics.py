"""The figures of one rollup (a series, or any merge of them), as the analytics API shows them.

    totalCalls         calls + cache_hits (an answer from the cache is a call that cost nothing)
    avgResponseTime    latency_ms_sum / successes                       ms
    p50, p95, p99      quantiles of the merged latency sketch           ms
    successRate        successes / calls                                %
    satisfactionRate   positive / judged (thumbs up or a rating of 4-5) %
    avgTokens          tokens / (calls + cache_hits)
    totalCost          cost_usd, as recorded                            USD
    cacheHitRate       cache_hits / requests                            %

Rates are percentages (0-100) to 2 places and times milliseconds to 1 place; a figure whose
denominator is 0 is ``None``. Latency counts answered calls only (``parley.analytics.rollup``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from parley.analytics.sketches import quantile

if TYPE_CHECKING:
    from parley.analytics.rollup import SeriesRollup

__all__ = ["METRIC_KEYS", "avg_ms", "figures", "milliseconds", "money", "percent", "total_calls"]

METRIC_KEYS = (
    "totalCalls",
    "avgResponseTime",
    "p50",
    "p95",
    "p99",
    "successRate",
    "satisfactionRate",
    "avgTokens",
    "totalCost",
    "cacheHitRate",
)


def percent(part: float, whole: float) -> float | None:
    """``part`` of ``whole`` in percent, to 2 places; None when ``whole`` is 0."""
    return round(100.0 * part / whole, 2) if whole else None


def milliseconds(value: float | None) -> float | None:
    return None if value is None else round(value, 1)


def money(usd: float) -> float:
    """Dollars to a millionth (the smallest call costs about that)."""
    return round(usd, 6)


def total_calls(rollup: SeriesRollup) -> int:
    return rollup.calls + rollup.cache_hits


def avg_ms(rollup: SeriesRollup) -> float | None:
    """The mean latency of answered calls, unrounded; None with none answered."""
    return rollup.latency_ms_sum / rollup.successes if rollup.successes else None


def figures(rollup: SeriesRollup) -> dict[str, Any]:
    """``METRIC_KEYS`` of ``rollup``, in that order."""
    calls = total_calls(rollup)
    return {
        "totalCalls": calls,
        "avgResponseTime": milliseconds(avg_ms(rollup)),
        "p50": milliseconds(quantile(rollup.latency, 0.50)),
        "p95": milliseconds(quantile(rollup.latency, 0.95)),
        "p99": milliseconds(quantile(rollup.latency, 0.99)),
        "successRate": percent(rollup.successes, rollup.calls),
        "satisfactionRate": percent(rollup.positive, rollup.judged),
        "avgTokens": round(rollup.tokens / calls, 1) if calls else None,
        "totalCost": money(rollup.cost_usd),
        "cacheHitRate": percent(rollup.cache_hits, rollup.requests),
    }
