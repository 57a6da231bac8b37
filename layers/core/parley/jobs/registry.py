"""The scheduled jobs, by the name their schedule, handler and ``parley jobs run`` use.

A job is a function of one invocation's ``JobContext`` that returns its JSON result, with
``complete`` false and a ``cursor`` when it stopped at the deadline with work left. Each job's
module is imported when it runs, so a function that runs one job loads only that one.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from parley.errors import NotFound

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping

    from mypy_boto3_dynamodb import DynamoDBClient

    from parley.analytics.store import RollupStore
    from parley.config import Settings
    from parley.jobs.request import JobRequest

__all__ = ["JOBS", "Job", "JobContext", "job_named"]


@dataclass(frozen=True)
class JobContext:
    settings: Settings
    client: DynamoDBClient
    request: JobRequest
    deadline: float | None  # a time.monotonic() reading; None: no limit


@dataclass(frozen=True)
class Job:
    name: str
    description: str
    run: Callable[[JobContext], dict[str, Any]]
    # Result key -> the EMF metric (a count, dimension ``job``) a run that ran sends of it.
    metrics: Mapping[str, str] = field(default_factory=dict)


def _learn_preferences(context: JobContext) -> dict[str, Any]:
    from parley.preferences.job import LearnPreferencesJob

    settings, request = context.settings, context.request
    job = LearnPreferencesJob(
        settings.conversations_table, settings.accounts_table, client=context.client
    )
    return dict(
        job.run(
            run_id=request.run_id,
            deadline=context.deadline,
            as_of=request.scheduled_time.timestamp(),
            shards=request.shards,
            cursor=request.cursor,
        )
    )


def _aggregate_usage(context: JobContext) -> dict[str, Any]:
    from parley.analytics.job import AggregateUsageJob, RoutingAdvisor
    from parley.analytics.sources import FeedbackHoursTable
    from parley.analytics.store import RollupRepository
    from parley.providers.catalog import load_catalog
    from parley.state.usage import UsageRepository

    settings, request, client = context.settings, context.request, context.client
    rollups = RollupRepository(settings.analytics_table, client=client)
    job = AggregateUsageJob(
        UsageRepository(
            settings.usage_table, retention_days=settings.usage_retention_days, client=client
        ),
        FeedbackHoursTable(settings.feedback_table, client=client),
        rollups,
        advise=RoutingAdvisor(load_catalog(settings.models_file)),
    )
    result = dict(
        job.run(
            deadline=context.deadline,
            as_of=request.scheduled_time.timestamp(),
            shards=request.shards,
            cursor=request.cursor,
        )
    )
    # The regression alerts read the rollups just rebuilt: each org's, and the deployment's
    # once the run is complete (an invocation that stopped at its deadline left some out).
    result["alerts"] = _evaluate_alerts(
        context, rollups, job.orgs_updated, deployment=bool(result.get("complete"))
    )
    return result


def _evaluate_alerts(
    context: JobContext, rollups: RollupStore, org_ids: list[str], *, deployment: bool
) -> dict[str, int]:
    from parley.operations.alerts.delivery import SnsPublisher
    from parley.operations.alerts.evaluator import AlertEvaluator
    from parley.operations.alerts.settings import org_alert_settings
    from parley.operations.alerts.store import AlertRepository

    settings, client = context.settings, context.client
    topic = settings.alerts_topic_arn
    evaluator = AlertEvaluator(
        rollups,
        AlertRepository(settings.analytics_table, client=client),
        SnsPublisher(topic) if topic else None,
        org_settings=org_alert_settings(settings.accounts_table, client),
        dashboard_url=settings.dashboard_url,
    )
    return evaluator.run(org_ids, deployment=deployment).as_dict()


def _provider_health(context: JobContext) -> dict[str, Any]:
    from parley.hot.factory import create_hot_store
    from parley.operations.health.breakers import HotBreakers
    from parley.operations.health.job import ProviderHealthJob
    from parley.operations.health.store import HealthRepository
    from parley.providers.catalog import load_catalog
    from parley.routing.breaker import policy_of
    from parley.state.usage import UsageRepository

    settings, request, client = context.settings, context.request, context.client
    job = ProviderHealthJob(
        UsageRepository(
            settings.usage_table, retention_days=settings.usage_retention_days, client=client
        ),
        HealthRepository(settings.analytics_table, client=client),
        load_catalog(settings.models_file),
        HotBreakers(lambda: create_hot_store(settings), policy_of(settings)),
    )
    # One pass over two hours: no deadline, no cursor (parley.operations.health.job).
    return dict(job.run(as_of=request.scheduled_time.timestamp(), shards=request.shards))


JOBS: dict[str, Job] = {
    job.name: job
    for job in (
        Job(
            "learn-preferences",
            "learn each recently active user's preferences from their choices and feedback",
            _learn_preferences,
            {"processed": "JobUsersProcessed", "updated": "JobUsersUpdated"},
        ),
        Job(
            "aggregate-usage",
            "roll usage events and feedback up per org, hour, day and series; refresh the "
            "routing advice",
            _aggregate_usage,
            {
                "processed": "JobOrgHoursProcessed",
                "events": "JobEventsRead",
                "feedback": "JobFeedbackRead",
            },
        ),
        Job(
            "provider-health",
            "report each provider model's last hour against the same hour a week earlier, "
            "with its circuit breaker",
            _provider_health,
            {
                "models": "JobModelsReported",
                "events": "JobEventsRead",
                "open_circuits": "JobOpenCircuits",
                "trips": "JobBreakerTrips",
            },
        ),
    )
}


def job_named(name: str) -> Job:
    job = JOBS.get(name)
    if job is None:
        raise NotFound(f"No job {name!r}; the jobs are: {', '.join(sorted(JOBS))}.")
    return job
