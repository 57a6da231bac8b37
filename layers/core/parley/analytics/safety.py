"""The safety view: what the crisis guardrail did, per day and over the window, from rollups
alone (never a message's text, which no rollup holds).

The chat marks the first usage event of each request whose message the guardrail judged with
``<action>:<category>:<stage>`` (``safety_marks``), and feedback on the reply carries the same
mark, so both land in the series of that mark (``Series.guardrail``). The classifier model's
calls are usage events of their own route, ``guardrail``. From those:

* ``decisions``: requests judged by stage 2, by action (``safe_reply``, ``resources``,
  ``none``), by category and by the stage that decided (``model``, ``offline``);
* ``hits``: the decisions that acted (a safe reply, or resources for helping someone else),
  by category;
* ``classifier``: the classifier model's calls, how many answered, their latency (mean, p95
  from the merged sketch: answered calls only) and cost, and the fail-safe activations, calls
  that gave no verdict so the offline classifier decided, by why (``timeout``, ``error``,
  ``malformed``; the offline classifier deciding because no model is configured is no
  failure, and shows only as ``decisions.byStage.offline``);
* ``falsePositiveReports``: negative feedback (a thumb down, or a rating of 1 or 2) on safe
  replies, by category, beside how many safe replies were judged at all.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from parley.analytics.metrics import avg_ms, milliseconds, money, percent
from parley.analytics.overview import window_keys
from parley.analytics.safety_marks import CLASSIFIER_ROUTE, Mark, mark_of
from parley.analytics.series import Series
from parley.analytics.sketches import quantile
from parley.analytics.window import LATENCY, group_rollups, merged

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable, Mapping

    from parley.analytics.rollup import SeriesRollup
    from parley.analytics.window import WindowRollups

__all__ = ["safety"]

# The error codes of a classifier call that gave no verdict, by the fail-safe's reason.
FAIL_SAFES = ("timeout", "error", "malformed")
_FAIL_SAFE_PREFIX = "guardrail_"
# What every answer lists, zeros included, so that a chart's series are stable; a value seen
# that is not here (a category added later) is listed too.
ACTIONS = ("safe_reply", "resources", "none")
CATEGORIES = ("suicide", "self_harm", "third_party", "none")
STAGES = ("model", "offline")
ACTING = frozenset({"safe_reply", "resources"})


def safety(found: WindowRollups) -> dict[str, Any]:
    stored = {day.span: day.rollups for day in found.days}
    daily = [{"day": day, **_figures(stored.get(day, ()))} for day in found.day_names()]
    return {**window_keys(found), "summary": _figures(found.rollups()), "daily": daily}


def _figures(rollups: Iterable[SeriesRollup]) -> dict[str, Any]:
    kept = list(rollups)
    marks = {
        mark: rollup
        for (value,), rollup in group_rollups(kept, ("guardrail",), sketches=()).items()
        if (mark := mark_of(value)) is not None
    }
    classifier = [r for r in kept if r.series.route == CLASSIFIER_ROUTE]
    return {
        "decisions": _decisions(marks),
        "hits": _hits(marks),
        "classifier": _classifier(merged(classifier, Series.of(route=CLASSIFIER_ROUTE), LATENCY)),
        "falsePositiveReports": _false_positives(marks),
    }


def _decisions(marks: Mapping[Mark, SeriesRollup]) -> dict[str, Any]:
    # Only the request's first event carries the mark: its ``requests`` count is one a decision.
    return {
        "total": sum(rollup.requests for rollup in marks.values()),
        "byAction": _count(marks, lambda mark: mark.action, ACTIONS),
        "byCategory": _count(marks, lambda mark: mark.category, CATEGORIES),
        "byStage": _count(marks, lambda mark: mark.stage, STAGES),
    }


def _hits(marks: Mapping[Mark, SeriesRollup]) -> dict[str, Any]:
    acting = {mark: rollup for mark, rollup in marks.items() if mark.action in ACTING}
    by_category = _count(
        acting, lambda mark: mark.category, ("suicide", "self_harm", "third_party")
    )
    return {"total": sum(by_category.values()), "byCategory": by_category}


def _classifier(rollup: SeriesRollup) -> dict[str, Any]:
    fail_safe = {
        reason: rollup.errors.get(f"{_FAIL_SAFE_PREFIX}{reason}", 0) for reason in FAIL_SAFES
    }
    failed = sum(fail_safe.values())
    return {
        "calls": rollup.calls,
        "answered": rollup.successes,
        "avgResponseTime": milliseconds(avg_ms(rollup)),
        "p95": milliseconds(quantile(rollup.latency, 0.95)),
        "totalCost": money(rollup.cost_usd),
        "failSafe": {"total": failed, **fail_safe},
        "failSafeRate": percent(failed, rollup.calls),
    }


def _false_positives(marks: Mapping[Mark, SeriesRollup]) -> dict[str, Any]:
    safe = {mark: rollup for mark, rollup in marks.items() if mark.action == "safe_reply"}
    by_category: dict[str, int] = dict.fromkeys(("suicide", "self_harm"), 0)
    judged = 0
    for mark, rollup in safe.items():
        by_category[mark.category] = by_category.get(mark.category, 0) + rollup.negative
        judged += rollup.judged
    total = sum(by_category.values())
    return {
        "total": total,
        "byCategory": by_category,
        "judged": judged,
        "rate": percent(total, judged),
    }


def _count(
    marks: Mapping[Mark, SeriesRollup], part: Callable[[Mark], str], listed: tuple[str, ...]
) -> dict[str, int]:
    counts: dict[str, int] = dict.fromkeys(listed, 0)
    for mark, rollup in marks.items():
        value = part(mark)
        counts[value] = counts.get(value, 0) + rollup.requests
    return counts
