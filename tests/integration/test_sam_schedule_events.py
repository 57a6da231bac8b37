"""The schedules' events of tests/events/, each delivered as EventBridge Scheduler delivers it:
the schedule's Input (its scheduled time filled in) to the handler template.yaml names,
imported from functions/jobs/ in the environment ``sam local`` gives it from
tests/events/env.json, with a Lambda context; DynamoDB is moto. Scheduler may deliver twice:
the second delivery replays the first run."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from parley.state.usage import UsageRepository
from tests.support.lambdas import LambdaContext, recorded_event
from tests.support.rollups import event
from tests.support.sam_local import invokes, template_handler

if TYPE_CHECKING:
    import pytest
    from mypy_boto3_dynamodb import DynamoDBClient

    from parley.config import Settings


def deliver_twice(
    logical_id: str, name: str, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> tuple[dict[str, Any], dict[str, Any]]:
    handlers = template_handler(logical_id, settings, monkeypatch)
    handler = next(handlers)
    try:
        scheduled = recorded_event(name)
        context = LambdaContext(function_name=logical_id, remaining_ms=600_000)
        return handler(scheduled, context), handler(scheduled, context)
    finally:
        handlers.close()


def idempotency_records(settings: Settings, dynamodb: DynamoDBClient) -> int:
    return len(dynamodb.scan(TableName=settings.idempotency_table)["Items"])


@invokes("LearnPreferencesFunction", "learn_preferences_schedule")
def test_learn_preferences_runs_once_for_the_scheduled_hour(
    settings: Settings, dynamodb: DynamoDBClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    first, again = deliver_twice(
        "LearnPreferencesFunction", "learn_preferences_schedule", settings, monkeypatch
    )
    assert first["complete"] is True, first
    assert first["processed"] == 0  # nobody was active
    assert again == first
    assert idempotency_records(settings, dynamodb) == 1


@invokes("AggregateUsageFunction", "aggregate_usage_schedule")
def test_aggregate_usage_rolls_up_the_hours_before_the_scheduled_time(
    settings: Settings, dynamodb: DynamoDBClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    # GIVEN one call at 10:30 on the day the schedule's event fired (11:05)
    at = datetime(2026, 11, 30, 10, 30, tzinfo=UTC).timestamp()
    UsageRepository(settings.usage_table, client=dynamodb).record(event(created_at=at))
    # WHEN the event is delivered twice
    first, again = deliver_twice(
        "AggregateUsageFunction", "aggregate_usage_schedule", settings, monkeypatch
    )
    # THEN the hours up to 11:00 are rolled up once, the call among them
    assert first["complete"] is True, first
    assert first["hours"] == ["2026-11-30T08", "2026-11-30T09", "2026-11-30T10", "2026-11-30T11"]
    assert first["events"] == 1
    assert again == first
    assert idempotency_records(settings, dynamodb) == 1
