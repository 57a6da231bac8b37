"""The aggregate-usage job, run as Lambda runs it (``run_locally``: the registry, the
idempotency), evaluates the regression alerts on what it rebuilt and publishes to the topic:
usage events on moto's DynamoDB, the alert on moto's SNS."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

import boto3
import pytest

from parley.analytics.activity import Activity
from parley.analytics.rollup import SeriesRollup
from parley.analytics.series import Series
from parley.analytics.store import RollupRepository
from parley.apps.jobs import run_locally
from parley.operations.alerts.store import AlertRepository
from parley.state.usage import UsageRepository
from tests.support.rollups import event

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

    from parley.config import Settings

RUN = datetime(2026, 12, 1, 12, 5, tzinfo=UTC)
ORG = "acme"


@pytest.fixture
def queue(moto_endpoint: str, monkeypatch: pytest.MonkeyPatch) -> tuple[str, Any, str]:
    """A topic with a queue subscribed, and SNS clients pointed at moto."""
    monkeypatch.setenv("AWS_ENDPOINT_URL_SNS", moto_endpoint)
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")  # as Lambda sets it
    sns = boto3.client("sns", endpoint_url=moto_endpoint, region_name="us-east-1")
    sqs = boto3.client("sqs", endpoint_url=moto_endpoint, region_name="us-east-1")
    name = f"alerts-{uuid.uuid4().hex[:12]}"
    arn = sns.create_topic(Name=name)["TopicArn"]
    url = sqs.create_queue(QueueName=name)["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])
    sns.subscribe(TopicArn=arn, Protocol="sqs", Endpoint=queue_arn["Attributes"]["QueueArn"])
    return arn, sqs, url


def put_hours(rollups: RollupRepository, last: datetime, count: int, latency_ms: float) -> None:
    for back in range(count):
        hour = last - timedelta(hours=back)
        calls = [event(ORG, latency_ms=latency_ms) for _ in range(5)]
        series = Series.from_event(calls[0])
        rollup = SeriesRollup(series)
        for call in calls:
            rollup.add_event(call)
        rollups.put_hour(ORG, hour.strftime("%Y-%m-%dT%H"), [rollup], Activity())


def test_slower_answers_than_last_weeks_reach_the_topic_once(
    settings: Settings, dynamodb: DynamoDBClient, queue: tuple[str, Any, str]
) -> None:
    arn, sqs, url = queue
    configured = settings.model_copy(
        update={"alerts_topic_arn": arn, "dashboard_url": "https://console.example/d"}
    )
    rollups = RollupRepository(settings.analytics_table, client=dynamodb)
    this_hour = RUN.replace(minute=0)
    # Last week: 24 hours at 800 ms. This week, the hours the job does not rebuild: 1600 ms.
    put_hours(rollups, this_hour - timedelta(days=7, hours=1), 24, 800)
    put_hours(rollups, this_hour - timedelta(hours=5), 20, 1600)
    # The hours it rebuilds (this one and the three before) from usage events: 1600 ms too.
    usage = UsageRepository(settings.usage_table, client=dynamodb)
    for back in range(4):
        for n in range(5):
            at = (this_hour - timedelta(hours=back)).timestamp() + 60 + n
            assert usage.record(event(ORG, latency_ms=1600, created_at=at))

    result = run_locally(
        "aggregate-usage", settings=configured, scheduled_time=RUN, client=dynamodb
    )

    assert result["complete"]
    assert result["alerts"]["published"] >= 1
    messages = []
    while batch := sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages"):
        for raw in batch:
            messages.append(json.loads(json.loads(raw["Body"])["Message"]))
            sqs.delete_message(QueueUrl=url, ReceiptHandle=raw["ReceiptHandle"])
    latency = [m for m in messages if m["rule"] == "latency_p95_increase"]
    # One for the org, one for the deployment (the same traffic, judged on the defaults).
    assert sorted(m["scope"] for m in latency) == ["acme", "deployment"]
    assert {m["status"] for m in latency} == {"firing"}
    assert latency[0]["dashboard_url"] == "https://console.example/d"
    stored = AlertRepository(settings.analytics_table, client=dynamodb)
    assert stored.states(ORG)[("latency_p95_increase", "all")].firing
