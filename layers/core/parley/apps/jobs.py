"""The Lambda handler of a scheduled job, and its local twin for ``parley jobs run``.

``lambda_handler(name)`` is what ``functions/jobs/handlers.py`` exports: it reads the
schedule's event (``parley.jobs.request``), runs the job once for that hour within the
invocation's remaining time (``parley.jobs.runner``), continues the run in a new invocation of
the same function when time runs out, logs with the Lambda context and sends the counts as
EMF metrics (dimension ``job``); an invocation that fails sends ``JobFailures``.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

from parley.config import get_settings
from parley.jobs.registry import job_named
from parley.jobs.request import JobRequest
from parley.jobs.runner import LambdaContinuation, LocalBudget, run_job
from parley.telemetry import emit_metric, logger, metrics

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence
    from datetime import datetime

    from aws_lambda_powertools.utilities.typing import LambdaContext
    from mypy_boto3_dynamodb import DynamoDBClient

    from parley.config import Settings
    from parley.jobs.registry import Job
    from parley.jobs.runner import Continuation

    Handler = Callable[[dict[str, Any], LambdaContext], dict[str, Any]]

__all__ = ["LOCAL_BUDGET_SECONDS", "lambda_handler", "run_locally"]

# A local run has no deadline; this only bounds how long a killed run blocks its hour.
LOCAL_BUDGET_SECONDS = 900.0


def lambda_handler(
    name: str,
    *,
    settings: Settings | None = None,
    client: DynamoDBClient | None = None,
    continuation: Callable[[LambdaContext], Continuation] | None = None,
) -> Handler:
    """The handler running job ``name``. ``continuation`` builds the next-invocation starter
    from the context (default: an asynchronous invocation of this very function)."""
    job = job_named(name)

    @logger.inject_lambda_context(clear_state=True)
    def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
        from aws_lambda_powertools.utilities.idempotency.exceptions import (
            IdempotencyAlreadyInProgressError,
        )

        configured = settings or get_settings()
        request = JobRequest.from_event(event, job=name, now=time.time())
        starter = (
            continuation(context)
            if continuation is not None
            else LambdaContinuation(context.invoked_function_arn, region=configured.aws_region)
        )
        try:
            result = run_job(
                job,
                request,
                settings=configured,
                budget=context,
                continuation=starter,
                observe=lambda ran: _send_metrics(job, ran),
                client=client,
            )
        except IdempotencyAlreadyInProgressError:
            # Another delivery of this invocation is running: it will record the result.
            logger.info("Job invocation already in progress", job=name, hour=request.hour)
            return {"job": name, "hour": request.hour, "in_progress": True}
        except Exception:
            # Lambda retries the invocation, then sends it to the dead-letter queue; the count
            # is what the job-failures alarm reads (the job's own metrics were not sent).
            _send_failure(job)
            raise
        return result

    return handler


def run_locally(
    name: str,
    *,
    settings: Settings,
    scheduled_time: datetime | None = None,
    shards: Sequence[int] | None = None,
    client: DynamoDBClient | None = None,
) -> dict[str, Any]:
    """One run of job ``name`` to its end, for the hour of ``scheduled_time`` (default: now),
    with the same idempotency as a scheduled one: a second run for that hour prints the
    first one's result."""
    job = job_named(name)
    event: dict[str, Any] = {"job": name}
    if scheduled_time is not None:
        event["scheduled_time"] = scheduled_time.isoformat()
    if shards:
        event["shards"] = list(shards)
    request = JobRequest.from_event(event, job=name, now=time.time())
    return run_job(
        job,
        request,
        settings=settings,
        budget=LocalBudget(LOCAL_BUDGET_SECONDS),
        bounded=False,
        client=client,
    )


def _send_metrics(job: Job, result: dict[str, Any]) -> None:
    from aws_lambda_powertools.metrics import MetricUnit

    metrics.add_dimension(name="job", value=job.name)
    for key, metric in job.metrics.items():
        if isinstance(result.get(key), int):
            metrics.add_metric(name=metric, unit=MetricUnit.Count, value=result[key])
    if isinstance(result.get("duration_ms"), int):
        metrics.add_metric(
            name="JobDurationMs", unit=MetricUnit.Milliseconds, value=result["duration_ms"]
        )
    metrics.flush_metrics()


def _send_failure(job: Job) -> None:
    from aws_lambda_powertools.metrics import MetricUnit

    # A document of its own, not the shared ``metrics``, which a failure may leave half filled.
    emit_metric("JobFailures", MetricUnit.Count, 1, {"job": job.name})
