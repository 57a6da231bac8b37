"""Scheduled jobs without AWS: the events they accept, the registry, the time budget and the
template's schedule and policies for the learning job."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest

from parley.errors import NotFound, ValidationFailed
from parley.jobs.registry import JOBS, job_named
from parley.jobs.request import JobRequest, parse_hour
from parley.jobs.runner import LocalBudget
from parley.state.conversation_keys import ACTIVITY_SHARDS
from parley.state.template import load_template
from tests.conftest import TEMPLATE
from tests.support.lambdas import recorded_event

JOB = "learn-preferences"
NOW = datetime(2026, 12, 1, 9, 30, tzinfo=UTC).timestamp()


def request(event: Any) -> JobRequest:
    return JobRequest.from_event(event, job=JOB, now=NOW)


def test_the_scheduled_hour_names_the_run() -> None:
    event = recorded_event("learn_preferences_schedule")
    parsed = request(event)
    assert parsed.hour == "2026-12-01T08"
    assert parsed.run_id == "learn-preferences#2026-12-01T08"
    assert parsed.scheduled_time == datetime(2026, 12, 1, 8, 5, tzinfo=UTC)
    assert parsed.shards is None
    assert parsed.cursor is None


def test_deliveries_within_one_hour_are_one_invocation_and_shards_or_cursor_are_another() -> None:
    fired = request({"job": JOB, "scheduled_time": "2026-12-01T08:05:00Z"})
    manual = request({"scheduled_time": "2026-12-01T08:59:59+00:00"})
    assert fired.identity() == manual.identity()
    assert request({"scheduled_time": "2026-12-01T09:05:00+01:00"}).identity() == fired.identity()
    assert request({"scheduled_time": "2026-12-01T09:05:00Z"}).identity() != fired.identity()
    sharded = request({"scheduled_time": "2026-12-01T08:05:00Z", "shards": [3, 1, 3]})
    assert sharded.shards == (1, 3)
    assert sharded.identity() != fired.identity()
    continued = request({"scheduled_time": "2026-12-01T08:05:00Z", "cursor": "abc"})
    assert continued.identity() != fired.identity()


def test_an_event_without_a_time_runs_for_the_current_hour() -> None:
    assert request({}).hour == "2026-12-01T09"
    assert request(None).hour == "2026-12-01T09"


def test_the_next_invocation_carries_the_run() -> None:
    parsed = request({"scheduled_time": "2026-12-01T08:05:00Z", "shards": [2]})
    following = request(parsed.event(cursor="next"))
    assert following.hour == parsed.hour
    assert following.shards == (2,)
    assert following.cursor == "next"
    assert following.run_id == parsed.run_id


@pytest.mark.parametrize(
    "event",
    [
        {"job": "aggregate-usage"},
        {"scheduled_time": "soon"},
        {"shards": []},
        {"shards": [ACTIVITY_SHARDS]},
        {"shards": [-1]},
        {"shards": "all"},
        ["not", "an", "object"],
    ],
)
def test_events_that_are_not_this_jobs_are_refused(event: Any) -> None:
    with pytest.raises(ValidationFailed):
        request(event)


def test_an_hour_that_has_not_begun_is_refused_and_the_current_one_is_not() -> None:
    # NOW is 09:30: the 09 hour has begun (a later second of it is still that run), 10 has not.
    assert request({"scheduled_time": "2026-12-01T09:59:59Z"}).hour == "2026-12-01T09"
    with pytest.raises(ValidationFailed, match="has not begun"):
        request({"scheduled_time": "2026-12-01T10:00:00Z"})


def test_parse_hour() -> None:
    assert parse_hour("2026-12-01T08") == datetime(2026, 12, 1, 8, tzinfo=UTC)
    assert parse_hour("2026-12-01T08:30:00+02:00") == datetime(2026, 12, 1, 6, 30, tzinfo=UTC)
    with pytest.raises(ValidationFailed):
        parse_hour("tomorrow")


def test_the_registry_names_each_job() -> None:
    assert job_named(JOB) is JOBS[JOB]
    with pytest.raises(NotFound):
        job_named("no-such-job")


def test_local_budget_counts_down() -> None:
    now = [100.0]
    budget = LocalBudget(30, timer=lambda: now[0])
    assert budget.get_remaining_time_in_millis() == 30_000
    now[0] = 129.5
    assert budget.get_remaining_time_in_millis() == 500
    now[0] = 200.0
    assert budget.get_remaining_time_in_millis() == 0


def test_the_template_schedules_the_job_with_its_hour_and_least_privilege() -> None:
    function = load_template(TEMPLATE)["Resources"]["LearnPreferencesFunction"]["Properties"]
    assert function["Handler"] == "handlers.learn_preferences"
    schedule = function["Events"]["Hourly"]["Properties"]
    event = json.loads(schedule["Input"])
    assert event == {"job": JOB, "scheduled_time": "<aws.scheduler.scheduled-time>"}
    statements = function["Policies"][0]["Statement"]
    actions = sorted({action for statement in statements for action in statement["Action"]})
    assert actions == [
        "dynamodb:DeleteItem",
        "dynamodb:GetItem",
        "dynamodb:PutItem",
        "dynamodb:Query",
        "dynamodb:UpdateItem",
        "lambda:InvokeFunction",
    ]
    assert not any("Scan" in action for action in actions)
    # It may invoke only itself (a continuation), by the name it is given.
    (invoke,) = [s for s in statements if s["Action"] == ["lambda:InvokeFunction"]]
    assert invoke["Resource"]["Fn::Sub"].endswith(":function:${AWS::StackName}-learn-preferences")
    assert function["FunctionName"] == {"Fn::Sub": "${AWS::StackName}-learn-preferences"}
    # Update-type actions only on the idempotency table.
    for statement in statements:
        if "dynamodb:UpdateItem" in statement["Action"]:
            assert statement["Resource"] == {"Fn::GetAtt": ["IdempotencyTable", "Arn"]}


def test_the_template_schedules_the_aggregation_with_least_privilege() -> None:
    resources = load_template(TEMPLATE)["Resources"]
    function = resources["AggregateUsageFunction"]["Properties"]
    assert function["Handler"] == "handlers.aggregate_usage"
    schedule = function["Events"]["Hourly"]["Properties"]
    assert schedule["ScheduleExpression"] == "cron(5 * * * ? *)"
    assert json.loads(schedule["Input"]) == {
        "job": "aggregate-usage",
        "scheduled_time": "<aws.scheduler.scheduled-time>",
    }
    statements = function["Policies"][0]["Statement"]
    by_action: dict[str, list[Any]] = {}
    for statement in statements:
        for action in statement["Action"]:
            resources_of = statement["Resource"]
            by_action.setdefault(action, []).extend(
                resources_of if isinstance(resources_of, list) else [resources_of]
            )
    assert not any("Scan" in action for action in by_action)
    # It reads the usage and feedback tables only through their hour index, never their items.
    assert by_action["dynamodb:Query"] == [
        {"Fn::Sub": "${UsageTable.Arn}/index/gsi2"},
        {"Fn::Sub": "${FeedbackTable.Arn}/index/gsi2"},
        {"Fn::GetAtt": ["AnalyticsTable", "Arn"]},
    ]
    # It writes only rollups, advice and its idempotency records.
    assert by_action["dynamodb:BatchWriteItem"] == [{"Fn::GetAtt": ["AnalyticsTable", "Arn"]}]
    assert by_action["dynamodb:PutItem"] == [
        {"Fn::GetAtt": ["AnalyticsTable", "Arn"]},
        {"Fn::GetAtt": ["IdempotencyTable", "Arn"]},
    ]
    assert by_action["dynamodb:GetItem"] == [{"Fn::GetAtt": ["IdempotencyTable", "Arn"]}]
    (invoke,) = by_action["lambda:InvokeFunction"]
    assert invoke["Fn::Sub"].endswith(":function:${AWS::StackName}-aggregate-usage")
    assert function["FunctionName"] == {"Fn::Sub": "${AWS::StackName}-aggregate-usage"}


def test_the_continuation_invokes_the_function_asynchronously_with_the_next_event() -> None:
    import boto3
    from botocore.stub import Stubber

    from parley.jobs.runner import LambdaContinuation

    arn = "arn:aws:lambda:us-east-1:123456789012:function:parley-learn-preferences"
    client = boto3.client(
        "lambda",
        region_name="us-east-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )
    following = request({"scheduled_time": "2026-12-01T08:05:00Z"}).event(cursor="next")
    with Stubber(client) as stub:
        stub.add_response(
            "invoke",
            {"StatusCode": 202},
            {
                "FunctionName": arn,
                "InvocationType": "Event",
                "Payload": json.dumps(following).encode(),
            },
        )
        LambdaContinuation(arn, region="us-east-1", client=client)(following)
        stub.assert_no_pending_responses()
