"""One invocation of a scheduled job, exactly once, inside its time budget.

Exactly once: EventBridge Scheduler may deliver an event twice, and retries a failed one.
The invocation runs under Powertools Idempotency (``idempotent_function`` on the
IdempotencyTable), keyed by the job, the hour it runs for, its shards and its cursor: a second
delivery returns the first one's stored result without working again, a delivery while the
first is still running is refused (``IdempotencyAlreadyInProgressError``) until that one ends
or its time runs out, and a run that fails leaves no record, so its retry runs again; the job
itself makes a re-run harmless (``learn`` applies a run id once).

Inside its time budget: the job gets a deadline ``DEADLINE_MARGIN_SECONDS`` before the budget
(Lambda's remaining time) ends. When it stops there with work left, the runner starts the
run's next invocation (``Continuation``: an asynchronous Lambda invocation of the same
function with the cursor) before recording the result, so the hour is finished by a chain of
invocations, each with its own idempotency key. Starting the next invocation failing fails
this one, whose retry then continues from the same cursor.
"""

from __future__ import annotations

import json
import time
from typing import TYPE_CHECKING, Any, Protocol, cast

from parley.jobs.registry import JobContext
from parley.state.client import dynamodb_client
from parley.state.idempotency_table import persistence_error, persistence_layer
from parley.telemetry import logger

if TYPE_CHECKING:
    from collections.abc import Callable

    from aws_lambda_powertools.utilities.idempotency.persistence.datarecord import DataRecord
    from aws_lambda_powertools.utilities.typing import LambdaContext
    from mypy_boto3_dynamodb import DynamoDBClient

    from parley.config import Settings
    from parley.jobs.registry import Job
    from parley.jobs.request import JobRequest

__all__ = [
    "DEADLINE_MARGIN_SECONDS",
    "RECORD_SECONDS",
    "Continuation",
    "LambdaContinuation",
    "LocalBudget",
    "TimeBudget",
    "run_job",
]

# Time kept for the slowest unit of work (one user) and for recording the result.
DEADLINE_MARGIN_SECONDS = 60.0
# A run's result is replayed for three days: longer than Scheduler retries an event (24 h).
RECORD_SECONDS = 3 * 86_400


class TimeBudget(Protocol):
    """What the runner needs of a Lambda context: the time left."""

    def get_remaining_time_in_millis(self) -> int: ...


class LocalBudget:
    """A time budget outside Lambda (``parley jobs run``), as Lambda's own would count."""

    def __init__(self, seconds: float, *, timer: Any = time.monotonic) -> None:
        self._timer = timer
        self._end = timer() + seconds

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self._end - self._timer()) * 1000))


class Continuation(Protocol):
    """Starts the next invocation of a run with ``event``, without waiting for it."""

    def __call__(self, event: dict[str, Any]) -> None: ...


class LambdaContinuation:
    """Invokes a Lambda function asynchronously (``InvocationType=Event``): the function
    invoking itself needs ``lambda:InvokeFunction`` on its own ARN (template.yaml)."""

    def __init__(self, function_arn: str, *, region: str, client: Any = None) -> None:
        self._function = function_arn
        self._region = region
        self._client = client

    def __call__(self, event: dict[str, Any]) -> None:
        if self._client is None:
            import boto3

            self._client = boto3.client("lambda", region_name=self._region)
        self._client.invoke(
            FunctionName=self._function,
            InvocationType="Event",
            Payload=json.dumps(event).encode(),
        )


def run_job(
    job: Job,
    request: JobRequest,
    *,
    settings: Settings,
    budget: TimeBudget,
    bounded: bool = True,
    continuation: Continuation | None = None,
    observe: Callable[[dict[str, Any]], None] | None = None,
    client: DynamoDBClient | None = None,
) -> dict[str, Any]:
    """``job``'s result for ``request``: run now, or replayed when this invocation already
    ran. ``bounded`` false runs to the end whatever the budget (a local run); ``observe``
    sees the result of a run that really ran (not of a replay)."""
    from aws_lambda_powertools.utilities.idempotency import IdempotencyConfig, idempotent_function
    from aws_lambda_powertools.utilities.idempotency.exceptions import (
        IdempotencyPersistenceLayerError,
    )

    dynamodb = client or dynamodb_client()
    remaining = budget.get_remaining_time_in_millis() / 1000
    deadline = time.monotonic() + remaining - DEADLINE_MARGIN_SECONDS if bounded else None
    config = IdempotencyConfig(expires_after_seconds=RECORD_SECONDS, response_hook=_replayed)
    # Powertools reads only get_remaining_time_in_millis() of the context: it sets how long
    # an in-progress record blocks a duplicate (a crashed run is retried after that).
    config.register_lambda_context(cast("LambdaContext", budget))

    def once(*, invocation: dict[str, Any]) -> dict[str, Any]:
        logger.info("Running job", **invocation)
        result = job.run(JobContext(settings, dynamodb, request, deadline))
        if not result.get("complete", True) and continuation is not None:
            continuation(request.event(cursor=result.get("cursor")))
            logger.info("Continuing job", job=job.name, hour=request.hour)
        if observe is not None:
            observe(result)
        return result

    guarded = cast(
        "Callable[..., dict[str, Any]]",
        idempotent_function(
            once,
            data_keyword_argument="invocation",
            persistence_store=persistence_layer(settings.idempotency_table, client=dynamodb),
            config=config,
            key_prefix=f"parley.jobs.{job.name}",
        ),
    )
    try:
        return guarded(invocation=request.identity())
    except IdempotencyPersistenceLayerError as exc:
        raise persistence_error(exc, settings.idempotency_table) from exc


def _replayed(response: Any, idempotent_data: DataRecord) -> Any:
    key = idempotent_data.idempotency_key
    logger.info("Job invocation already ran: returning its result", key=key)
    return response
