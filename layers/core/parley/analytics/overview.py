"""``GET /v1/analytics/models``: the window's figures (``metrics``) overall, per model, task
type and provider, per day, the recommender's balanced answer for each task type seen and the
best model of each by quality.

The ``task_type`` and ``model`` filters narrow every figure; the recommendations and the best
models are chosen among all the models of the task types the ``task_type`` filter keeps (a
``model`` filter says which figures to show, not which models to choose from).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Literal

from parley.analytics.metrics import figures, money, percent, total_calls
from parley.analytics.recommender import (
    DEFAULT_TIER,
    model_scores,
    recommend,
    scores_by_task,
    usual_tiers,
)
from parley.analytics.scores import rank
from parley.analytics.window import Filters, known, read_window

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence

    from parley.analytics.rollup import SeriesRollup
    from parley.analytics.scores import ModelScore
    from parley.analytics.store.base import RollupStore
    from parley.analytics.window import Group, Window, WindowRollups
    from parley.providers.catalog import Catalog, ModelSpec

__all__ = [
    "GROUPINGS",
    "GroupBy",
    "models_overview",
    "models_query",
    "of_task",
    "scores_for",
    "window_keys",
]

GroupBy = Literal["model", "task_type", "provider", "time"]
GROUPINGS: tuple[GroupBy, ...] = ("model", "task_type", "provider", "time")


def window_keys(found: WindowRollups) -> dict[str, Any]:
    """What every analytics answer starts with: the window it covers."""
    return {
        "days": found.window.days,
        "from": found.window.first.isoformat(),
        "to": found.window.last.isoformat(),
    }


def models_query(
    store: RollupStore,
    org_id: str,
    window: Window,
    *,
    task_type: str | None,
    model: str | None,
    group_by: GroupBy,
    catalog: Catalog,
    rules: Callable[[str], Sequence[ModelSpec]],
) -> dict[str, Any]:
    """The endpoint's answer: one read of the window (``task_type`` filtered), then its
    overview."""
    found = read_window(store, org_id, window, Filters(task_type, classifier_calls=False))
    return models_overview(found, model=model, group_by=group_by, catalog=catalog, rules=rules)


def models_overview(
    found: WindowRollups,
    *,
    model: str | None,
    group_by: GroupBy,
    catalog: Catalog,
    rules: Callable[[str], Sequence[ModelSpec]],
) -> dict[str, Any]:
    """``found``: the window read with the ``task_type`` filter only; ``model`` narrows the
    figures; ``rules(tier)``: the org's chain for a tier, for the recommender's fallback."""
    shown = found.narrowed(Filters(model=model)) if model else found
    by_model = _rows(shown.by("model", "provider"), ("model", "provider"))
    by_task = _rows(shown.by("task_type"), ("taskType",))
    by_provider = _rows(shown.by("provider"), ("provider",))
    daily = shown.by_day()
    groups = {
        "model": by_model,
        "task_type": by_task,
        "provider": by_provider,
        "time": [{"day": day, **_row(rollup)} for day, rollup in daily.items()],
    }[group_by]
    by_task_scores = scores_by_task(found.rollups(), catalog)
    tiers = usual_tiers(found.rollups())
    recommendations = [
        recommend(
            scores,
            task_type=task_type,
            priority="balanced",
            rules=rules(tiers.get(task_type, DEFAULT_TIER)),
            rules_tier=tiers.get(task_type, DEFAULT_TIER),
        )
        for task_type, scores in by_task_scores.items()
    ]
    best = []
    for task_type, scores in by_task_scores.items():
        ranked = rank(scores, "quality")
        if ranked:
            top = ranked[0]
            best.append(
                {
                    "taskType": task_type,
                    "model": top.model,
                    "provider": known(top.provider),
                    "qualityScore": round(top.quality_score, 2),
                    "sampleSize": top.samples,
                }
            )
    return {
        **window_keys(found),
        "filters": shown.filters.as_dict(),
        "group_by": group_by,
        "summary": figures(shown.total()),
        "byModel": by_model,
        "byTaskType": by_task,
        "byProvider": by_provider,
        "groups": groups,
        "trends": [_trend(day, rollup) for day, rollup in daily.items()],
        "recommendations": recommendations,
        "bestByTask": best,
    }


def scores_for(found: WindowRollups, task_type: str | None, catalog: Catalog) -> list[ModelScore]:
    """Every model's scores for ``task_type`` (None: every task type pooled)."""
    return model_scores(of_task(found, task_type), catalog)


def of_task(found: WindowRollups, task_type: str | None) -> list[SeriesRollup]:
    return [
        rollup
        for rollup in found.rollups()
        if task_type is None or rollup.series.task_type == task_type
    ]


def _rows(groups: dict[Group, SeriesRollup], names: Sequence[str]) -> list[dict[str, Any]]:
    """One row per group, the most calls first (then by name)."""
    rows = [
        {**{name: known(value) for name, value in zip(names, key, strict=True)}, **_row(rollup)}
        for key, rollup in groups.items()
    ]
    ordered = sorted(
        zip(groups, rows, strict=True), key=lambda pair: (-pair[1]["totalCalls"], pair[0])
    )
    return [row for _, row in ordered]


def _row(rollup: SeriesRollup) -> dict[str, Any]:
    return {**figures(rollup), "feedbackCount": rollup.feedback}


def _trend(day: str, rollup: SeriesRollup) -> dict[str, Any]:
    shown = figures(rollup)
    return {
        "day": day,
        "totalCalls": total_calls(rollup),
        "avgResponseTime": shown["avgResponseTime"],
        "p95": shown["p95"],
        "successRate": percent(rollup.successes, rollup.calls),
        "satisfactionRate": percent(rollup.positive, rollup.judged),
        "totalCost": money(rollup.cost_usd),
        "tokens": rollup.tokens,
    }
