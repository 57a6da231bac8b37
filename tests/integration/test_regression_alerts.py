"""Regression alerts against moto's SNS (a queue subscribed to the topic reads what it got):
latency that doubles against last week's is one alert; a second evaluation within the throttle
publishes nothing; latency back to normal is one "resolved"; a night of 3 calls alerts nothing;
an org that raised its threshold gets no alert. Rollups as the aggregation job stores them."""

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
from parley.analytics.store import MemoryRollupStore
from parley.apps.analytics import create_analytics_app
from parley.config import Settings
from parley.operations.alerts.delivery import DEPLOYMENT, SnsPublisher
from parley.operations.alerts.evaluator import AlertEvaluator
from parley.operations.alerts.store import AlertRepository, MemoryAlertStore
from parley.orgs.settings import AlertSettings
from parley.state.versioned import MemoryVersionedItems
from tests.support.asgi import bearer, client_for
from tests.support.rollups import event

if TYPE_CHECKING:
    from collections.abc import Iterator

    from mypy_boto3_dynamodb import DynamoDBClient

    from parley.operations.alerts.store import AlertStore

NOW = datetime(2026, 12, 1, 12, 5, tzinfo=UTC).timestamp()
ORG = "acme"


class Clock:
    def __init__(self) -> None:
        self.now = NOW

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def topic(moto_endpoint: str) -> Iterator[tuple[str, Any, str]]:
    """An SNS topic with an SQS queue subscribed: (topic ARN, SQS client, queue URL)."""
    sns = boto3.client("sns", endpoint_url=moto_endpoint, region_name="us-east-1")
    sqs = boto3.client("sqs", endpoint_url=moto_endpoint, region_name="us-east-1")
    name = f"alerts-{uuid.uuid4().hex[:12]}"
    arn = sns.create_topic(Name=name)["TopicArn"]
    queue = sqs.create_queue(QueueName=name)
    url = queue["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"
    ]
    sns.subscribe(TopicArn=arn, Protocol="sqs", Endpoint=queue_arn)
    yield arn, sqs, url
    sns.delete_topic(TopicArn=arn)


def received(sqs: Any, url: str) -> list[dict[str, Any]]:
    """Every notification the queue got since the last call: subject and message."""
    found = []
    while True:
        batch = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", [])
        if not batch:
            return found
        for raw in batch:
            body = json.loads(raw["Body"])
            found.append({"subject": body.get("Subject"), "message": json.loads(body["Message"])})
            sqs.delete_message(QueueUrl=url, ReceiptHandle=raw["ReceiptHandle"])


def write_hours(
    store: MemoryRollupStore, org_id: str, end: float, *, calls: int, latency_ms: float
) -> None:
    """24 hours ending with the hour before ``end``, each of ``calls`` calls of
    ``latency_ms``."""
    last = datetime.fromtimestamp(end, tz=UTC).replace(minute=0, second=0) - timedelta(hours=1)
    for back in range(24):
        hour = (last - timedelta(hours=back)).strftime("%Y-%m-%dT%H")
        rollups: dict[Series, SeriesRollup] = {}
        activity = Activity()
        for _ in range(calls):
            call = event(org_id, latency_ms=latency_ms)
            series = Series.from_event(call)
            rollups.setdefault(series, SeriesRollup(series)).add_event(call)
            activity.add_event(call)
        store.put_hour(org_id, hour, list(rollups.values()), activity)


def traffic(
    store: MemoryRollupStore,
    org_id: str = ORG,
    *,
    now: float = NOW,
    calls: int = 5,
    latency_ms: float = 1600,
    last_week_ms: float = 800,
) -> None:
    """Last week's 24 hours at ``last_week_ms``, the last 24 at ``latency_ms``."""
    write_hours(store, org_id, now - 7 * 86_400, calls=calls, latency_ms=last_week_ms)
    write_hours(store, org_id, now, calls=calls, latency_ms=latency_ms)


def evaluator(
    store: MemoryRollupStore,
    alerts: AlertStore,
    arn: str,
    moto_endpoint: str,
    clock: Clock,
    **settings: AlertSettings,
) -> AlertEvaluator:
    client = boto3.client("sns", endpoint_url=moto_endpoint, region_name="us-east-1")
    return AlertEvaluator(
        store,
        alerts,
        SnsPublisher(arn, client),
        org_settings=lambda org_id: settings.get(org_id, AlertSettings()),
        dashboard_url="https://console.example/dashboard",
        clock=clock,
    )


def latency_alerts(messages: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [m for m in messages if m["message"]["rule"] == "latency_p95_increase"]


def test_doubled_latency_alerts_once_is_throttled_then_resolves(
    topic: tuple[str, Any, str], moto_endpoint: str
) -> None:
    arn, sqs, url = topic
    store, alerts, clock = MemoryRollupStore(), MemoryAlertStore(), Clock()
    traffic(store)
    evaluate = evaluator(store, alerts, arn, moto_endpoint, clock)

    # Latency doubled against last week's: one alert for the org (and one for the
    # deployment, which is the same traffic: each scope has its own).
    first = evaluate.run([ORG], deployment=False)
    assert first.published == 1
    [alert] = latency_alerts(received(sqs, url))
    message = alert["message"]
    assert (message["status"], message["scope"], message["subject"]) == ("firing", ORG, "all")
    assert message["value"] == pytest.approx(1600, rel=0.02)
    assert message["baseline"] == pytest.approx(800, rel=0.02)
    assert message["threshold"] == pytest.approx(960, rel=0.02)
    assert message["window"]["from"] == "2026-11-30T12"
    assert message["window"]["to"] == "2026-12-01T11"
    assert message["dashboard_url"] == "https://console.example/dashboard"
    assert alert["subject"].startswith("[Parley] FIRING p95 latency up week over week: org acme")
    assert len(alert["subject"]) <= 100

    # An hour later, still slow: within the 6-hour throttle, nothing is published.
    clock.now += 3600
    assert evaluate.run([ORG], deployment=False).published == 0
    assert received(sqs, url) == []

    # Latency back to last week's: exactly one "resolved".
    store_now = MemoryRollupStore()
    traffic(store_now, now=clock.now, latency_ms=800)
    recovered = evaluator(store_now, alerts, arn, moto_endpoint, clock)
    assert recovered.run([ORG], deployment=False).resolved == 1
    [resolved] = latency_alerts(received(sqs, url))
    assert resolved["message"]["status"] == "resolved"
    assert resolved["subject"].startswith("[Parley] RESOLVED")
    # And nothing more after that.
    clock.now += 3600
    assert recovered.run([ORG], deployment=False).published == 0
    assert received(sqs, url) == []
    # The history holds both messages, newest first.
    history = alerts.history(ORG, since=0)
    assert [(r.status, r.rule) for r in history] == [
        ("resolved", "latency_p95_increase"),
        ("firing", "latency_p95_increase"),
    ]


def test_a_condition_that_holds_past_the_throttle_is_published_again(
    topic: tuple[str, Any, str], moto_endpoint: str
) -> None:
    arn, sqs, url = topic
    store, alerts, clock = MemoryRollupStore(), MemoryAlertStore(), Clock()
    traffic(store)
    evaluate = evaluator(store, alerts, arn, moto_endpoint, clock)
    evaluate.run([ORG], deployment=False)
    received(sqs, url)
    clock.now += 6 * 3600 + 1
    store_later = MemoryRollupStore()
    traffic(store_later, now=clock.now)
    again = evaluator(store_later, alerts, arn, moto_endpoint, clock)
    assert again.run([ORG], deployment=False).published == 1
    assert [m["message"]["status"] for m in latency_alerts(received(sqs, url))] == ["firing"]


def test_a_night_of_three_calls_alerts_nothing(
    topic: tuple[str, Any, str], moto_endpoint: str
) -> None:
    arn, sqs, url = topic
    store, alerts = MemoryRollupStore(), MemoryAlertStore()
    # Three calls in the last day, slow ones, against a normal week before.
    write_hours(store, ORG, NOW - 7 * 86_400, calls=5, latency_ms=800)
    last = datetime.fromtimestamp(NOW, tz=UTC).replace(minute=0, second=0) - timedelta(hours=1)
    calls = [event(ORG, latency_ms=9000, success=index != 0) for index in range(3)]
    rollups: dict[Series, SeriesRollup] = {}
    for call in calls:
        rollups.setdefault(Series.from_event(call), SeriesRollup(Series.from_event(call)))
        rollups[Series.from_event(call)].add_event(call)
    store.put_hour(ORG, last.strftime("%Y-%m-%dT%H"), list(rollups.values()), Activity())
    result = evaluator(store, alerts, arn, moto_endpoint, Clock()).run([ORG])
    assert result.findings == 0
    assert result.published == 0
    assert received(sqs, url) == []


def test_an_org_that_raised_its_threshold_gets_no_alert(
    topic: tuple[str, Any, str], moto_endpoint: str
) -> None:
    arn, sqs, url = topic
    store, alerts = MemoryRollupStore(), MemoryAlertStore()
    traffic(store)
    raised = AlertSettings(latency_p95_increase=1.5)  # up to +150% is fine for this org
    result = evaluator(store, alerts, arn, moto_endpoint, Clock(), acme=raised).run(
        [ORG], deployment=False
    )
    assert result.findings > 0
    assert result.published == 0
    assert received(sqs, url) == []


def test_the_deployment_is_judged_on_every_orgs_traffic_with_the_defaults(
    topic: tuple[str, Any, str], moto_endpoint: str
) -> None:
    arn, sqs, url = topic
    store, alerts = MemoryRollupStore(), MemoryAlertStore()
    # Two orgs of 3 calls an hour, one slow and one not, both with their own alerts off.
    traffic(store, "slow", calls=3, latency_ms=2400)
    traffic(store, "fine", calls=3, latency_ms=800)
    quiet = AlertSettings(enabled=False)
    result = evaluator(store, alerts, arn, moto_endpoint, Clock(), slow=quiet, fine=quiet).run(
        ["slow", "fine"]
    )
    # Only the deployment's rules ran (the orgs turned theirs off), on both orgs' calls.
    assert result.scopes == 1
    [alert] = latency_alerts(received(sqs, url))
    assert alert["message"]["scope"] == DEPLOYMENT
    assert alert["subject"].startswith(
        "[Parley] FIRING p95 latency up week over week: the deployment"
    )
    assert alerts.history(DEPLOYMENT, since=0)[0].status == "firing"


def test_a_message_the_topic_refuses_is_retried_at_the_next_evaluation(
    moto_endpoint: str,
) -> None:
    store, alerts, clock = MemoryRollupStore(), MemoryAlertStore(), Clock()
    traffic(store)
    missing = "arn:aws:sns:us-east-1:123456789012:no-such-topic"
    failing = evaluator(store, alerts, missing, moto_endpoint, clock)
    result = failing.run([ORG], deployment=False)
    assert (result.published, result.failed) == (0, 1)
    assert alerts.history(ORG, since=0) == []
    assert not alerts.states(ORG).get(("latency_p95_increase", "all"), None)


def test_alert_state_and_history_in_dynamodb(
    settings: Settings, dynamodb: DynamoDBClient, topic: tuple[str, Any, str], moto_endpoint: str
) -> None:
    arn, sqs, url = topic
    store, clock = MemoryRollupStore(), Clock()
    alerts = AlertRepository(settings.analytics_table, client=dynamodb, clock=clock)
    traffic(store)
    evaluate = evaluator(store, alerts, arn, moto_endpoint, clock)
    assert evaluate.run([ORG], deployment=False).published == 1
    clock.now += 600
    assert evaluate.run([ORG], deployment=False).published == 0  # the stored state throttles
    state = alerts.states(ORG)[("latency_p95_increase", "all")]
    assert state.firing
    assert state.since == NOW
    [record] = alerts.history(ORG, since=0)
    assert record.message["rule"] == "latency_p95_increase"
    assert len(latency_alerts(received(sqs, url))) == 1


@pytest.mark.anyio
async def test_the_alerts_api_lists_what_fires_and_what_was_published(
    topic: tuple[str, Any, str], moto_endpoint: str
) -> None:
    arn, _, _ = topic
    store, alerts, clock = MemoryRollupStore(), MemoryAlertStore(), Clock()
    traffic(store)
    evaluator(store, alerts, arn, moto_endpoint, clock).run([ORG], deployment=False)
    app = create_analytics_app(
        Settings(env="development"),
        rollups=store,
        documents=MemoryVersionedItems(),
        alerts=alerts,
        environ={},
        clock=clock,
    )
    async with client_for(app) as client:
        shown = await client.get(
            "/v1/alerts?days=2", headers=bearer("ana", org_id=ORG, scopes="analytics:view")
        )
        other = await client.get(
            "/v1/alerts", headers=bearer("ana", org_id="elsewhere", scopes="analytics:view")
        )
        refused = await client.get("/v1/alerts", headers=bearer("ana", org_id=ORG))
        unknown = await client.get("/v1/alerts")
        bad = await client.get(
            "/v1/alerts?days=0", headers=bearer("ana", org_id=ORG, scopes="analytics:view")
        )
    assert shown.status_code == 200, shown.text
    body = shown.json()
    assert body["firing"] == [
        {
            "rule": "latency_p95_increase",
            "subject": "all",
            "since": "2026-12-01T12:05:00+00:00",
            "notified_at": "2026-12-01T12:05:00+00:00",
        }
    ]
    [published] = body["history"]
    assert (published["status"], published["rule"], published["scope"]) == (
        "firing",
        "latency_p95_increase",
        ORG,
    )
    assert other.json()["firing"] == other.json()["history"] == []
    assert (refused.status_code, unknown.status_code, bad.status_code) == (403, 401, 422)
