"""The regression rules: what each compares, its default threshold (an org's ``alerts``
settings), and the least sample it judges on, so that a quiet night pages nobody.

Each rule looks at ``AlertWindows`` and says, per subject (the scope as a whole, or one
provider), a ``Finding``: the value, what it was compared with, the threshold, and whether it is
breached. A subject with too small a sample gives no finding at all: neither an alert nor a
resolution (too little traffic says nothing either way). Latency, success and errors need
``MIN_CALLS`` calls in each window they read; feedback ``MIN_JUDGED`` rated replies; the
handoff rate ``MIN_SIGNALS`` replies whose signals say; cost ``MIN_CALLS`` calls today, and the
trailing mean ``MIN_TRAILING_DAYS`` days with spend.

The cache hit rate and the learned-preference coverage are reported beside the findings (the
evaluation's log line), never alerted.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from parley.analytics.rollup import merge_rollups
from parley.analytics.series import Series
from parley.analytics.sketches import quantile

if TYPE_CHECKING:
    from collections.abc import Callable

    from parley.analytics.rollup import SeriesRollup
    from parley.operations.alerts.windows import AlertWindows
    from parley.orgs.settings import AlertSettings

__all__ = [
    "MIN_CALLS",
    "MIN_JUDGED",
    "MIN_SIGNALS",
    "MIN_TRAILING_DAYS",
    "RULES",
    "Finding",
    "Rule",
    "evaluate_rules",
    "report",
    "rule_named",
]

MIN_CALLS = 50
MIN_JUDGED = 20
MIN_SIGNALS = 20
MIN_TRAILING_DAYS = 3
SCOPE_SUBJECT = "all"  # the subject of a rule about the whole scope
# Codes that are no failure of a model: the client left, or a safe reply replaced the answer.
_NOT_FAILURES = frozenset({"client_disconnected", "guardrail_replaced"})


@dataclass(frozen=True)
class Finding:
    rule: str
    subject: str
    value: float
    threshold: float
    breached: bool
    baseline: float | None = None  # what the value was compared with, when not the threshold
    samples: int = 0
    window: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Rule:
    name: str
    title: str  # for a subject line: "p95 latency up"
    unit: str  # ms, share or usd: how the figures read
    evaluate: Callable[[AlertWindows, AlertSettings], list[Finding]]


def _total(rollups: list[SeriesRollup]) -> SeriesRollup:
    return merge_rollups(rollups, Series.of(model="*", provider="*"))


def _failures(rollup: SeriesRollup) -> int:
    return sum(count for code, count in rollup.errors.items() if code not in _NOT_FAILURES)


def _recent_window(windows: AlertWindows) -> dict[str, str]:
    first, last = windows.recent_span
    return {"from": first, "to": last}


def _latency_increase(windows: AlertWindows, settings: AlertSettings) -> list[Finding]:
    now, then = _total(windows.recent), _total(windows.week_before)
    if now.successes < MIN_CALLS or then.successes < MIN_CALLS:
        return []
    current, before = quantile(now.latency, 0.95), quantile(then.latency, 0.95)
    if current is None or before is None or before <= 0:
        return []
    limit = before * (1 + settings.latency_p95_increase)
    first, last = windows.week_before_span
    window = {**_recent_window(windows), "baseline_from": first, "baseline_to": last}
    return [
        Finding(
            "latency_p95_increase",
            SCOPE_SUBJECT,
            round(current, 1),
            round(limit, 1),
            current > limit,
            baseline=round(before, 1),
            samples=now.successes,
            window=window,
        )
    ]


def _latency_max(windows: AlertWindows, settings: AlertSettings) -> list[Finding]:
    now = _total(windows.recent)
    current = quantile(now.latency, 0.95)
    if now.successes < MIN_CALLS or current is None:
        return []
    limit = settings.latency_p95_max_ms
    return [
        Finding(
            "latency_p95_max",
            SCOPE_SUBJECT,
            round(current, 1),
            limit,
            current > limit,
            samples=now.successes,
            window=_recent_window(windows),
        )
    ]


def _success_rate(windows: AlertWindows, settings: AlertSettings) -> list[Finding]:
    now = _total(windows.recent)
    if now.calls < MIN_CALLS:
        return []
    rate = 1 - _failures(now) / now.calls
    minimum = settings.success_rate_min
    return [
        Finding(
            "success_rate_min",
            SCOPE_SUBJECT,
            round(rate, 4),
            minimum,
            rate < minimum,
            samples=now.calls,
            window=_recent_window(windows),
        )
    ]


def _provider_errors(windows: AlertWindows, settings: AlertSettings) -> list[Finding]:
    by_provider: dict[str, list[SeriesRollup]] = defaultdict(list)
    for rollup in windows.recent:
        by_provider[rollup.series.provider].append(rollup)
    findings = []
    for provider, rollups in sorted(by_provider.items()):
        total = _total(rollups)
        if total.calls < MIN_CALLS:
            continue
        rate = _failures(total) / total.calls
        findings.append(
            Finding(
                "provider_error_rate_max",
                provider,
                round(rate, 4),
                settings.provider_error_rate_max,
                rate > settings.provider_error_rate_max,
                samples=total.calls,
                window=_recent_window(windows),
            )
        )
    return findings


def _positive_share(rollup: SeriesRollup) -> float:
    return rollup.positive / rollup.judged


def _feedback_drop(windows: AlertWindows, settings: AlertSettings) -> list[Finding]:
    now, then = _total(windows.recent), _total(windows.week_before)
    if now.judged < MIN_JUDGED or then.judged < MIN_JUDGED:
        return []
    current, before = _positive_share(now), _positive_share(then)
    limit = before * (1 - settings.positive_feedback_drop)
    first, last = windows.week_before_span
    window = {**_recent_window(windows), "baseline_from": first, "baseline_to": last}
    return [
        Finding(
            "positive_feedback_drop",
            SCOPE_SUBJECT,
            round(current, 4),
            round(limit, 4),
            current < limit,
            baseline=round(before, 4),
            samples=now.judged,
            window=window,
        )
    ]


def _feedback_min(windows: AlertWindows, settings: AlertSettings) -> list[Finding]:
    now = _total(windows.recent)
    if now.judged < MIN_JUDGED:
        return []
    current = _positive_share(now)
    return [
        Finding(
            "positive_feedback_min",
            SCOPE_SUBJECT,
            round(current, 4),
            settings.positive_feedback_min,
            current < settings.positive_feedback_min,
            samples=now.judged,
            window=_recent_window(windows),
        )
    ]


def _spend_over_budget(windows: AlertWindows, settings: AlertSettings) -> list[Finding]:
    today = _total(windows.today)
    if settings.daily_budget_usd is None or today.calls < MIN_CALLS:
        return []
    limit = settings.daily_budget_usd * (1 + settings.spend_over_budget)
    return [
        Finding(
            "spend_over_budget",
            SCOPE_SUBJECT,
            round(today.cost_usd, 4),
            round(limit, 4),
            today.cost_usd > limit,
            baseline=settings.daily_budget_usd,
            samples=today.calls,
            window={"day": windows.today_span},
        )
    ]


def _spend_over_trailing(windows: AlertWindows, settings: AlertSettings) -> list[Finding]:
    today = _total(windows.today)
    spent = [cost for cost in (_total(day).cost_usd for day in windows.trailing_days.values())]
    spent = [cost for cost in spent if cost > 0]
    if today.calls < MIN_CALLS or len(spent) < MIN_TRAILING_DAYS:
        return []
    mean = sum(spent) / len(spent)
    limit = mean * (1 + settings.spend_over_trailing_mean)
    days = sorted(windows.trailing_days)
    return [
        Finding(
            "spend_over_trailing_mean",
            SCOPE_SUBJECT,
            round(today.cost_usd, 4),
            round(limit, 4),
            today.cost_usd > limit,
            baseline=round(mean, 4),
            samples=today.calls,
            window={"day": windows.today_span, "baseline_from": days[0], "baseline_to": days[-1]},
        )
    ]


def _handoff_rate(windows: AlertWindows, settings: AlertSettings) -> list[Finding]:
    now = _total(windows.recent)
    if now.handoff_signals < MIN_SIGNALS:
        return []
    rate = now.handoffs / now.handoff_signals
    return [
        Finding(
            "handoff_rate_max",
            SCOPE_SUBJECT,
            round(rate, 4),
            settings.handoff_rate_max,
            rate > settings.handoff_rate_max,
            samples=now.handoff_signals,
            window=_recent_window(windows),
        )
    ]


RULES: tuple[Rule, ...] = (
    Rule("latency_p95_increase", "p95 latency up week over week", "ms", _latency_increase),
    Rule("latency_p95_max", "p95 latency above the limit", "ms", _latency_max),
    Rule("success_rate_min", "success rate below the minimum", "share", _success_rate),
    Rule("provider_error_rate_max", "provider error rate high", "share", _provider_errors),
    Rule(
        "positive_feedback_drop", "positive feedback down week over week", "share", _feedback_drop
    ),
    Rule("positive_feedback_min", "positive feedback below the minimum", "share", _feedback_min),
    Rule("spend_over_budget", "spend over the daily budget", "usd", _spend_over_budget),
    Rule(
        "spend_over_trailing_mean",
        "spend over the 7-day mean",
        "usd",
        _spend_over_trailing,
    ),
    Rule("handoff_rate_max", "human handoff rate high", "share", _handoff_rate),
)
_BY_NAME = {rule.name: rule for rule in RULES}


def evaluate_rules(windows: AlertWindows, settings: AlertSettings) -> list[Finding]:
    """Every rule's findings, in the rules' order."""
    return [finding for rule in RULES for finding in rule.evaluate(windows, settings)]


def rule_named(name: str) -> Rule:
    return _BY_NAME[name]


def report(windows: AlertWindows) -> dict[str, Any]:
    """What is reported and never alerted, over the last 24 hours: the cache hit rate, and the
    learned-preference coverage (the share of streamed requests whose smart defaults held a
    value the learning job learned)."""
    now = _total(windows.recent)
    streamed = _total([r for r in windows.recent if r.series.endpoint == "stream"])
    return {
        "cache_hit_rate": _share(now.cache_hits, now.requests),
        "learned_preference_coverage": _share(streamed.learned_defaults, streamed.requests),
        "requests": now.requests,
    }


def _share(part: int, whole: int) -> float | None:
    return round(part / whole, 4) if whole else None
