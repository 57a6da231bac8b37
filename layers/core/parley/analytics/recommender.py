"""Which model to use for a task type, from what the org's rollups say (``scores``), or from
the rules when they say too little.

``recommend`` answers the recommendations API: the best ranked model for a priority, the
others ranked as alternatives, and sentences about them (``insights``). When no model has
``MIN_SAMPLES`` calls for the task type, the answer comes from the rules instead (``source``
``"rules"``): the org's chain for the tier the task type is usually routed to (the tier most
of its requests took; ``standard`` when nothing says), with the reason, and a confidence of 0:
the rules chose without the data, and a model's few calls (still shown in its metrics) are
no evidence that the choice is the best (the evaluation found such answers right no more
often than a uniform pick, at the confidence of a data answer).

``rank_for_routing`` is what the aggregate-usage job leaves for the request path: per task
type, the ranked models by the balanced priority.
"""

from __future__ import annotations

import time
from datetime import UTC, date, datetime
from typing import TYPE_CHECKING, Any

from parley.analytics.insights import insights
from parley.analytics.scores import (
    MIN_SAMPLES,
    ModelScore,
    balanced_scores,
    rank,
    score,
    with_satisfaction_prior,
)
from parley.analytics.series import UNKNOWN
from parley.analytics.window import Filters, group_rollups, known

if TYPE_CHECKING:
    from collections.abc import Iterable, Sequence

    from parley.analytics.rollup import SeriesRollup
    from parley.analytics.scores import Priority
    from parley.analytics.store.base import SpanRollups
    from parley.providers.catalog import Catalog, ModelSpec

__all__ = [
    "DEFAULT_TIER",
    "RULES_TIERS",
    "model_scores",
    "rank_for_routing",
    "recommend",
    "scores_by_task",
    "usual_tier",
    "usual_tiers",
]

# The tiers whose chains the rules may fall back to; a task type seen on none is "standard".
RULES_TIERS = ("light", "standard", "heavy")
DEFAULT_TIER = "standard"


def model_scores(rollups: Iterable[SeriesRollup], catalog: Catalog) -> list[ModelScore]:
    """One score per model seen in ``rollups`` (all of one task type, or all task types), their
    satisfaction prior centred on the share of all of them."""
    groups = group_rollups(rollups, ("model", "provider"), sketches=())
    return with_satisfaction_prior(
        [score(rollup, catalog) for (model, _), rollup in groups.items() if model != UNKNOWN]
    )


def scores_by_task(
    rollups: Iterable[SeriesRollup], catalog: Catalog
) -> dict[str, list[ModelScore]]:
    """Each known task type's model scores, task types in name order, each task type's
    satisfaction prior centred on its own share."""
    groups = group_rollups(rollups, ("task_type", "model", "provider"), sketches=())
    found: dict[str, list[ModelScore]] = {}
    for (task_type, model, _), rollup in sorted(groups.items()):
        if UNKNOWN not in {task_type, model}:
            found.setdefault(task_type, []).append(score(rollup, catalog))
    return {task_type: with_satisfaction_prior(scores) for task_type, scores in found.items()}


def usual_tier(rollups: Iterable[SeriesRollup]) -> str:
    """The tier most of these requests were routed to (``standard`` when none says)."""
    return usual_tiers(rollups, by_task=False).get("", DEFAULT_TIER)


def usual_tiers(rollups: Iterable[SeriesRollup], *, by_task: bool = True) -> dict[str, str]:
    """Each task type's usual tier: the one of ``RULES_TIERS`` most of its requests took (a
    task type routed to none of them is absent). ``by_task`` False: all under ``""``."""
    requests: dict[str, dict[str, int]] = {}
    for (task_type, tier), rollup in group_rollups(
        rollups, ("task_type", "tier"), sketches=()
    ).items():
        if tier in RULES_TIERS:
            counts = requests.setdefault(task_type if by_task else "", {})
            counts[tier] = counts.get(tier, 0) + rollup.requests
    return {
        task_type: max(sorted(counts), key=lambda tier: counts[tier])
        for task_type, counts in requests.items()
        if any(counts.values())
    }


def recommend(
    scores: Sequence[ModelScore],
    *,
    task_type: str | None,
    priority: Priority,
    rules: Sequence[ModelSpec],
    rules_tier: str,
) -> dict[str, Any]:
    """The answer for ``task_type`` (None: all task types) from ``scores`` (every model seen
    for it); ``rules``: the chain of ``rules_tier`` for the org, used when no model has enough
    calls."""
    said = insights(scores, task_type)
    ranked = rank(scores, priority)
    if not ranked:
        return _from_rules(
            scores, task_type=task_type, priority=priority, rules=rules, tier=rules_tier, said=said
        )
    balanced = balanced_scores(ranked) if priority == "balanced" else {}
    best, *others = ranked
    answer = _answer(
        best, task_type, priority, "data", _reason(best, priority, task_type, balanced, ranked)
    )
    answer["alternatives"] = [
        _answer(
            other,
            task_type,
            priority,
            "data",
            f"{_ordinal(place)} of {len(ranked)} models ranked by {priority}"
            f"{_balanced(other, balanced)}",
        )
        | {"insights": []}
        for place, other in enumerate(others, start=2)
    ]
    answer["insights"] = said
    return answer


def rank_for_routing(
    rollups_by_day: list[SpanRollups],
    *,
    catalog: Catalog,
    now: float | None = None,
    window_days: int | None = None,
) -> dict[str, Any]:
    """The routing advice of these days' rollups: for each task type, the models with at least
    ``MIN_SAMPLES`` calls, best first by the balanced priority, each with its balanced score,
    its calls and its confidence. ``window_days``: the days the list covers (default: from its
    first stored day to its last)."""
    # The guardrail's classifier calls are not answers to route by.
    answers = Filters(classifier_calls=False)
    rollups = [
        rollup for day in rollups_by_day for rollup in day.rollups if answers.admit(rollup.series)
    ]
    advice: dict[str, list[dict[str, Any]]] = {}
    for task_type, scores in scores_by_task(rollups, catalog).items():
        ranked = rank(scores, "balanced")
        if not ranked:
            continue
        balanced = balanced_scores(ranked)
        advice[task_type] = [
            {
                "model": found.model,
                "provider": found.provider,
                "score": round(balanced[found.model], 2),
                "samples": found.samples,
                "confidence": round(found.confidence, 1),
            }
            for found in ranked
        ]
    stamp = datetime.fromtimestamp(time.time() if now is None else now, tz=UTC)
    return {
        "computed_at": stamp.isoformat(timespec="seconds"),
        "window_days": _covered(rollups_by_day) if window_days is None else window_days,
        "task_types": advice,
    }


def _from_rules(
    scores: Sequence[ModelScore],
    *,
    task_type: str | None,
    priority: Priority,
    rules: Sequence[ModelSpec],
    tier: str,
    said: list[str],
) -> dict[str, Any]:
    seen = {found.model: found for found in scores}
    most = max(scores, key=lambda s: (s.samples, s.model), default=None)
    measured = (
        f"the most is {most.samples} for {most.model}"
        if most is not None and most.samples
        else "none recorded"
    )
    task = f"for {task_type}" if task_type else "across task types"
    short = f"Not enough data {task}: no model has {MIN_SAMPLES} calls yet ({measured}), so"
    answers = [
        _answer(
            seen.get(spec.name) or _unmeasured(spec),
            task_type,
            priority,
            "rules",
            f"{_ordinal(place)} in the org's {tier} chain",
        )
        | {"insights": []}
        for place, spec in enumerate(rules, start=1)
    ]
    if not answers:
        answer = _answer(
            None,
            task_type,
            priority,
            "rules",
            f"{short} the rules: the org's {tier} chain, which has no model this deployment "
            "can call.",
        )
        return answer | {"alternatives": [], "insights": said}
    first = answers[0]
    first["reason"] = (
        f"{short} the rules: the first model of the org's {tier} chain, {first['model']}."
    )
    return first | {"alternatives": answers[1:], "insights": said}


def _answer(
    found: ModelScore | None, task_type: str | None, priority: Priority, source: str, reason: str
) -> dict[str, Any]:
    # A rules answer's confidence is 0: the data did not choose it (no model had the calls to
    # be ranked), so a few calls' figures say nothing of whether it is the best; its metrics
    # still show them.
    return {
        "taskType": task_type,
        "priority": priority,
        "source": source,
        "model": found.model if found else None,
        "provider": known(found.provider) if found else None,
        "confidence": (
            round(found.confidence, 1) if source == "data" and found and found.samples else 0.0
        ),
        "reason": reason,
        "metrics": (found or _NOTHING).metrics(),
    }


def _reason(
    best: ModelScore,
    priority: Priority,
    task_type: str | None,
    balanced: dict[str, float],
    ranked: Sequence[ModelScore],
) -> str:
    task = f"for {task_type}" if task_type else "across task types"
    compared = f"{len(ranked)} model{'s' if len(ranked) > 1 else ''} with {MIN_SAMPLES}+ calls"
    over = f"over {best.samples} calls; {compared} compared"
    if priority == "speed":
        return f"{best.model} answers fastest {task}: {best.avg_ms or 0:.0f} ms on average {over}."
    if priority == "cost":
        return (
            f"{best.model} costs least per answered request {task}: "
            f"${best.cost_per_answer or 0:.6f} {over}."
        )
    if priority == "quality":
        return (
            f"{best.model} has the highest quality score {task}: {best.quality_score:.1f} "
            f"(40% success, 40% satisfaction, 20% speed) {over}."
        )
    return (
        f"{best.model} has the best balance of quality, speed and cost {task}: "
        f"{balanced[best.model]:.1f} (60% quality, 20% speed, 20% cost) {over}."
    )


def _balanced(found: ModelScore, balanced: dict[str, float]) -> str:
    return f" (balanced score {balanced[found.model]:.1f})" if found.model in balanced else ""


def _unmeasured(spec: ModelSpec) -> ModelScore:
    return ModelScore(spec.name, spec.provider, 0, 0, 0, 0, None, None)


def _ordinal(place: int) -> str:
    suffix = {1: "st", 2: "nd", 3: "rd"}.get(place if place < 20 else place % 10, "th")
    return f"{place}{suffix}"


def _covered(days: Sequence[SpanRollups]) -> int:
    """Days from the first stored to the last, at least 1 (an advice covers some window)."""
    if not days:
        return 1
    spans = sorted(date.fromisoformat(day.span[:10]) for day in days)
    return (spans[-1] - spans[0]).days + 1


_NOTHING = ModelScore(UNKNOWN, UNKNOWN, 0, 0, 0, 0, None, None)
