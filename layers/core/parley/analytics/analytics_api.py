"""``/v1/analytics``: the org's figures, dashboards and model recommendations, each read from
its daily rollups (``window``), for analysts (``analytics:view``). The org is always the
token's; ``days`` (1-400, default 30) are whole UTC days ending today."""

# No `from __future__ import annotations`: FastAPI reads these annotations at runtime.
from collections.abc import Callable, Sequence
from typing import Annotated, Any

import anyio
import anyio.to_thread
from fastapi import APIRouter, Query

from parley.analytics.collaborators import Analytics, AnalyticsCollaborators
from parley.analytics.overview import GroupBy, models_query, of_task, scores_for
from parley.analytics.recommender import DEFAULT_TIER, recommend, usual_tier
from parley.analytics.safety import safety
from parley.analytics.scores import Priority
from parley.analytics.views import (
    complexity,
    engagement,
    engagement_window,
    features,
    performance,
    savings,
    usage,
)
from parley.analytics.window import DEFAULT_DAYS, MAX_DAYS, Filters, Window, read_window
from parley.auth.identity import Identity
from parley.http.auth import Analyst
from parley.orgs.settings import OrgSettings
from parley.providers.catalog import ModelSpec

__all__ = ["router"]

router = APIRouter(tags=["analytics"])

Days = Annotated[
    int, Query(ge=1, le=MAX_DAYS, description="Whole UTC days, ending today, to cover.")
]
# A task type or a model name as the rollups keep them; empty is no filter.
_NAME = r"^[A-Za-z0-9._:/-]*$"
TaskType = Annotated[
    str | None,
    Query(max_length=100, pattern=_NAME, description="Only this task type (e.g. coding)."),
]
Model = Annotated[
    str | None, Query(max_length=100, pattern=_NAME, description="Only this model's figures.")
]


@router.get("/v1/analytics/models")
async def models(
    analytics: Analytics,
    identity: Analyst,
    *,
    days: Days = DEFAULT_DAYS,
    task_type: TaskType = None,
    model: Model = None,
    group_by: GroupBy = "model",
) -> dict[str, Any]:
    """The window's figures overall (`summary`), per model, task type and provider, grouped
    by `group_by` (`groups`; `time`: one per day), per day (`trends`), the balanced
    recommendation of each task type seen and the best model of each by quality. Rates are
    percentages, times milliseconds, `null` where nothing counts."""
    org = await analytics.org_settings.get(identity.org_id)
    window = _window(analytics, days)

    def compute() -> dict[str, Any]:
        return models_query(
            analytics.rollups,
            identity.org_id,
            window,
            task_type=task_type or None,
            model=model or None,
            group_by=group_by,
            catalog=analytics.catalog,
            rules=_rules(analytics, org),
        )

    return await anyio.to_thread.run_sync(compute)


@router.get("/v1/analytics/recommendations")
async def recommendations(
    analytics: Analytics,
    identity: Analyst,
    days: Days = DEFAULT_DAYS,
    task_type: TaskType = None,
    priority: Priority = "balanced",
) -> dict[str, Any]:
    """The model to use for `task_type` (all task types pooled without one) by `priority`,
    from models with at least 5 calls for it in the window (`source: data`), else the org's
    chain for the tier the task type usually takes (`source: rules`); the others ranked as
    `alternatives`; `insights`, sentences about the figures."""
    org = await analytics.org_settings.get(identity.org_id)
    window = _window(analytics, days)
    task = task_type or None

    def compute() -> dict[str, Any]:
        found = read_window(
            analytics.rollups, identity.org_id, window, Filters(task, classifier_calls=False)
        )
        tier = usual_tier(of_task(found, task)) if found.days else DEFAULT_TIER
        return recommend(
            scores_for(found, task, analytics.catalog),
            task_type=task,
            priority=priority,
            rules=_rules(analytics, org)(tier),
            rules_tier=tier,
        )

    return await anyio.to_thread.run_sync(compute)


@router.get("/v1/analytics/performance")
async def performance_view(
    analytics: Analytics, identity: Analyst, days: Days = DEFAULT_DAYS
) -> dict[str, Any]:
    """Per day: mean and p95 latency, input and output tokens, cost and success rate."""
    return await _view(analytics, identity, days, performance)


@router.get("/v1/analytics/usage")
async def usage_view(
    analytics: Analytics, identity: Analyst, days: Days = DEFAULT_DAYS
) -> dict[str, Any]:
    """Per model, and per panel and model: cost, tokens and cost per request, latency."""
    return await _view(analytics, identity, days, usage)


@router.get("/v1/analytics/engagement")
async def engagement_view(
    analytics: Analytics, identity: Analyst, days: Days = DEFAULT_DAYS
) -> dict[str, Any]:
    """Active users per day and ISO week, conversations and requests per user, and the share
    of last ISO week's users active this week."""
    window = _window(analytics, days)

    def compute() -> dict[str, Any]:
        found = read_window(analytics.rollups, identity.org_id, engagement_window(window))
        return engagement(found, window)

    return await anyio.to_thread.run_sync(compute)


@router.get("/v1/analytics/features")
async def features_view(
    analytics: Analytics, identity: Analyst, days: Days = DEFAULT_DAYS
) -> dict[str, Any]:
    """Per panel: calls, requests and share of the requests."""
    return await _view(analytics, identity, days, features)


@router.get("/v1/analytics/complexity")
async def complexity_view(
    analytics: Analytics, identity: Analyst, days: Days = DEFAULT_DAYS
) -> dict[str, Any]:
    """Per tier: share of the requests, satisfaction, cost and cost per request; the share of
    requests on the light tier."""
    return await _view(analytics, identity, days, complexity)


@router.get("/v1/analytics/savings")
async def savings_view(
    analytics: Analytics, identity: Analyst, days: Days = DEFAULT_DAYS
) -> dict[str, Any]:
    """What the window's tokens cost against what they would have cost on the first model of
    the org's `smart` route."""
    org = await analytics.org_settings.get(identity.org_id)
    window = _window(analytics, days)

    def compute() -> dict[str, Any]:
        smart = analytics.configured_chain(org, "smart")
        found = read_window(analytics.rollups, identity.org_id, window)
        return savings(found, smart[0] if smart else None)

    return await anyio.to_thread.run_sync(compute)


@router.get("/v1/analytics/safety")
async def safety_view(
    analytics: Analytics, identity: Analyst, days: Days = DEFAULT_DAYS
) -> dict[str, Any]:
    """What the crisis guardrail did, per day and in total: decisions by action, category
    and stage, hits (safe replies and resources) by category, the classifier model's calls,
    latency and fail-safe activations, and negative feedback on safe replies (reports of
    false positives). Counts only, never a message."""
    return await _view(analytics, identity, days, safety)


async def _view(
    analytics: AnalyticsCollaborators,
    identity: Identity,
    days: int,
    view: Callable[[Any], dict[str, Any]],
) -> dict[str, Any]:
    window = _window(analytics, days)
    return await anyio.to_thread.run_sync(
        lambda: view(read_window(analytics.rollups, identity.org_id, window))
    )


def _window(analytics: AnalyticsCollaborators, days: int) -> Window:
    return Window.ending_today(days, now=analytics.clock())


def _rules(
    analytics: AnalyticsCollaborators, org: OrgSettings
) -> Callable[[str], Sequence[ModelSpec]]:
    return lambda tier: analytics.chain(org, tier)
