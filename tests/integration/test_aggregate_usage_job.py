"""The hourly aggregation job against DynamoDB (moto server, tables made from template.yaml):
usage events and feedback written as the chat and feedback functions write them, rolled up by
the job, read back from the rollup store and compared with a direct computation over the raw
events."""

from __future__ import annotations

import math
import random
from datetime import UTC, datetime
from typing import TYPE_CHECKING

import pytest

from parley.analytics.job import AggregateUsageJob, hours_to_recompute
from parley.analytics.sources import FeedbackHoursTable
from parley.analytics.store import RollupRepository
from parley.apps.jobs import run_locally
from parley.auth.identity import Identity
from parley.errors import BadRequest
from parley.feedback.repository import FeedbackRepository
from parley.feedback.schemas import FeedbackRequest
from parley.state.conversations import ConversationRepository
from parley.state.hour_index import HOUR_SHARDS, org_shard
from parley.state.usage import UsageEvent, UsageRepository

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

    from parley.analytics.store import SpanRollups
    from parley.config import Settings

HOUR = datetime(2026, 11, 30, 10, tzinfo=UTC).timestamp()  # 10:00 UTC
NEXT_RUN = HOUR + 3_600 + 300  # the 11:05 run recomputes 08, 09, 10 and 11 so far


def event(org: str, n: int, *, at: float, model: str = "gpt-4.1", **values: object) -> UsageEvent:
    fields: dict[str, object] = {
        "request_id": f"req-{org}-{n}",
        "org_id": org,
        "user_id": f"user-{n % 3}",
        "provider": "openai",
        "model": model,
        "endpoint": "stream",
        "input_tokens": 100 + n,
        "output_tokens": 50 + n,
        "usage_estimated": False,
        "cost_usd": 0.001 * (n + 1),
        "latency_ms": 200.0 + 10 * n,
        "success": True,
        "ttft_ms": 80.0 + n,
        "task_type": "coding",
        "route": "standard",
        "tier": "standard",
        "conversation_id": f"conv-{n % 4}",
        "created_at": at,
    }
    fields.update(values)
    return UsageEvent(**fields)  # type: ignore[arg-type]


@pytest.fixture
def usage(settings: Settings, dynamodb: DynamoDBClient) -> UsageRepository:
    return UsageRepository(settings.usage_table, client=dynamodb, clock=lambda: NEXT_RUN)


@pytest.fixture
def rollups(settings: Settings, dynamodb: DynamoDBClient) -> RollupRepository:
    return RollupRepository(settings.analytics_table, client=dynamodb, clock=lambda: NEXT_RUN)


def job(
    settings: Settings, dynamodb: DynamoDBClient, usage: UsageRepository, rollups: RollupRepository
) -> AggregateUsageJob:
    feedback = FeedbackHoursTable(settings.feedback_table, client=dynamodb)
    return AggregateUsageJob(usage, feedback, rollups, clock=lambda: NEXT_RUN)


def day_of(rollups: RollupRepository, org: str, day: str = "2026-11-30") -> SpanRollups:
    (found,) = rollups.days(org, day, day)
    return found


def test_the_runs_hours_are_its_own_so_far_and_the_three_before_it() -> None:
    assert hours_to_recompute(NEXT_RUN, 3) == [
        "2026-11-30T08",
        "2026-11-30T09",
        "2026-11-30T10",
        "2026-11-30T11",
    ]


def test_an_hours_rollups_equal_a_direct_computation_over_its_events(
    settings: Settings, dynamodb: DynamoDBClient, usage: UsageRepository, rollups: RollupRepository
) -> None:
    # GIVEN an hour of events of two models, with failures, a failover and a cached answer
    rng = random.Random(7)
    events = [
        event("acme", n, at=HOUR + n * 30, latency_ms=rng.lognormvariate(6, 0.6)) for n in range(60)
    ]
    events += [
        event("acme", 100, at=HOUR + 5, success=False, error_code="upstream_timeout"),
        event("acme", 100, at=HOUR + 6, attempt=1, failover=True, model="claude-haiku-4-5"),
        event("acme", 101, at=HOUR + 7, cached=True, cost_usd=0.0, input_tokens=0),
    ]
    for recorded in events:
        assert usage.record(recorded)
    # WHEN the job runs
    result = job(settings, dynamodb, usage, rollups).run(deadline=None, as_of=NEXT_RUN)
    # THEN every event was read once and the day's rollups hold what the events say
    assert result["complete"]
    assert result["events"] == len(events)
    assert result["orgs"] == 1
    day = day_of(rollups, "acme")
    by_model = {rollup.series.model: rollup for rollup in day.rollups}
    gpt = by_model["gpt-4.1"]
    gpt_events = [e for e in events if e.model == "gpt-4.1"]
    answered = [e for e in gpt_events if e.success and not e.cached]
    assert gpt.calls == len([e for e in gpt_events if not e.cached])
    assert gpt.successes == len(answered)
    assert gpt.errors == {"upstream_timeout": 1}
    assert gpt.cache_hits == 1
    assert gpt.requests == len({e.request_id for e in gpt_events if e.attempt == 0})
    assert gpt.input_tokens == sum(e.input_tokens for e in gpt_events)
    assert gpt.cost_usd == pytest.approx(sum(e.cost_usd for e in gpt_events))
    assert by_model["claude-haiku-4-5"].failovers == 1
    # and the p95 read off the sketch is within 1% of the exact one (the value at rank
    # 0.95 x (n - 1), the sketch's definition: numpy's "lower")
    latencies = sorted(e.latency_ms for e in answered)
    exact = latencies[math.floor(0.95 * (len(latencies) - 1))]
    assert gpt.latency is not None
    assert gpt.latency.get_quantile_value(0.95) == pytest.approx(exact, rel=0.0101)
    # and the activity counts each user and conversation once
    assert day.activity.active_users == 3
    assert day.activity.conversations == 4


def test_a_second_run_rewrites_the_same_rollups(
    settings: Settings, dynamodb: DynamoDBClient, usage: UsageRepository, rollups: RollupRepository
) -> None:
    for n in range(10):
        usage.record(event("acme", n, at=HOUR + n))
    job(settings, dynamodb, usage, rollups).run(deadline=None, as_of=NEXT_RUN)
    first = day_of(rollups, "acme").rollups[0].to_values()
    job(settings, dynamodb, usage, rollups).run(deadline=None, as_of=NEXT_RUN)
    assert day_of(rollups, "acme").rollups[0].to_values() == first
    assert first["calls"] == 10


def test_an_event_that_reaches_the_index_after_its_hours_first_run_is_in_the_next_run(
    settings: Settings, dynamodb: DynamoDBClient, usage: UsageRepository, rollups: RollupRepository
) -> None:
    aggregate = job(settings, dynamodb, usage, rollups)
    usage.record(event("acme", 1, at=HOUR + 3_599))
    aggregate.run(deadline=None, as_of=NEXT_RUN)
    # a stream that ended at 10:59:59.9 but whose write landed after the 11:05 run
    usage.record(event("acme", 2, at=HOUR + 3_599.9))
    aggregate.run(deadline=None, as_of=NEXT_RUN + 3_600)  # the 12:05 run
    assert day_of(rollups, "acme").rollups[0].calls == 2


def test_feedback_given_the_next_day_counts_that_day_on_the_rated_replys_series(
    settings: Settings, dynamodb: DynamoDBClient, usage: UsageRepository, rollups: RollupRepository
) -> None:
    # GIVEN a reply made on the 30th, as the chat pipeline stores it, and its usage event
    owner = Identity(user_id="user-1", org_id="acme")
    conversations = ConversationRepository(settings.conversations_table, client=dynamodb)
    conversation = conversations.create(owner)
    conversations.add_message(owner, conversation.id, role="user", content="fix my code")
    reply = conversations.add_message(
        owner,
        conversation.id,
        role="assistant",
        content="here it is",
        metadata={
            "model": "claude-haiku-4-5",
            "provider": "anthropic",
            "route": {"name": "standard", "tier": "standard", "mode": "auto"},
            "task_type": "coding",
            "panel": None,
        },
    )
    usage.record(event("acme", 1, at=HOUR, model="claude-haiku-4-5", provider="anthropic"))
    # WHEN it is rated on the 1st, and the runs of both days happen
    next_day = datetime(2026, 12, 1, 9, 30, tzinfo=UTC).timestamp()
    feedback = FeedbackRepository(
        settings.feedback_table,
        settings.conversations_table,
        client=dynamodb,
        clock=lambda: next_day,
    )
    body = FeedbackRequest(
        message_id=reply.id, conversation_id=conversation.id, thumbs=1, rating=5, comment="great"
    )
    feedback.submit(owner, body)
    aggregate = job(settings, dynamodb, usage, rollups)
    aggregate.run(deadline=None, as_of=NEXT_RUN)
    aggregate.run(deadline=None, as_of=next_day + 3_600)
    # THEN the rating is the 1st's, on the reply's series, and the 30th keeps its call
    rated = day_of(rollups, "acme", "2026-12-01").rollups
    assert [(r.series.model, r.series.task_type, r.series.endpoint) for r in rated] == [
        ("claude-haiku-4-5", "coding", "stream")
    ]
    assert (rated[0].feedback, rated[0].positive, rated[0].ratings, rated[0].comments) == (
        1,
        1,
        1,
        1,
    )
    assert rated[0].calls == 0
    assert day_of(rollups, "acme").rollups[0].calls == 1


def test_a_run_stopped_by_its_deadline_continues_from_its_cursor_to_the_same_rollups(
    settings: Settings, dynamodb: DynamoDBClient, usage: UsageRepository, rollups: RollupRepository
) -> None:
    orgs = [f"org-{n}" for n in range(12)]
    for index, org in enumerate(orgs):
        for n in range(3):
            usage.record(event(org, n, at=HOUR + index))
    ticks = iter(range(1_000))
    stopping = AggregateUsageJob(
        usage,
        FeedbackHoursTable(settings.feedback_table, client=dynamodb),
        rollups,
        clock=lambda: NEXT_RUN,
        timer=lambda: float(next(ticks)),
    )
    # a deadline that passes after a few orgs each time
    results, cursor = [], None
    while True:
        result = stopping.run(deadline=float(next(ticks)) + 3, as_of=NEXT_RUN, cursor=cursor)
        results.append(result)
        cursor = result["cursor"]
        if result["complete"]:
            break
    assert len(results) > 2
    assert sum(r["processed"] for r in results) == len(orgs)
    assert sum(r["events"] for r in results) == 3 * len(orgs)
    for org in orgs:
        assert day_of(rollups, org).rollups[0].calls == 3


def test_each_shard_is_its_own_run(
    settings: Settings, dynamodb: DynamoDBClient, usage: UsageRepository, rollups: RollupRepository
) -> None:
    orgs = [f"org-{n}" for n in range(16)]
    for org in orgs:
        usage.record(event(org, 0, at=HOUR))
    aggregate = job(settings, dynamodb, usage, rollups)
    seen = 0
    for shard in range(HOUR_SHARDS):
        result = aggregate.run(deadline=None, as_of=NEXT_RUN, shards=[shard])
        assert result["orgs"] == len([org for org in orgs if org_shard(org) == shard])
        seen += result["orgs"]
    assert seen == len(orgs)


def test_a_cursor_of_another_run_is_refused(
    settings: Settings, dynamodb: DynamoDBClient, usage: UsageRepository, rollups: RollupRepository
) -> None:
    with pytest.raises(BadRequest):
        job(settings, dynamodb, usage, rollups).run(deadline=None, cursor="not-a-cursor")


def test_expired_events_are_not_rolled_up(
    settings: Settings, dynamodb: DynamoDBClient, rollups: RollupRepository
) -> None:
    # GIVEN an event whose 90-day retention has passed but that TTL has not deleted yet
    later = NEXT_RUN + 91 * 86_400
    usage = UsageRepository(settings.usage_table, client=dynamodb, clock=lambda: later)
    usage.record(event("acme", 1, at=HOUR))
    item = dynamodb.query(
        TableName=settings.usage_table,
        KeyConditionExpression="pk = :pk",
        ExpressionAttributeValues={":pk": {"S": "ORG#acme#DAY#2026-11-30"}},
    )["Items"][0]
    assert int(item["expires_at"]["N"]) == int(HOUR + 90 * 86_400)
    # WHEN its hour is recomputed after that
    result = AggregateUsageJob(
        usage, FeedbackHoursTable(settings.feedback_table, client=dynamodb), rollups
    ).run(deadline=None, hours=["2026-11-30T10"])
    # THEN it is not read
    assert result["events"] == 0


def test_rollups_are_kept_400_days(
    settings: Settings, dynamodb: DynamoDBClient, usage: UsageRepository, rollups: RollupRepository
) -> None:
    usage.record(event("acme", 1, at=HOUR))
    job(settings, dynamodb, usage, rollups).run(deadline=None, as_of=NEXT_RUN)
    items = dynamodb.query(
        TableName=settings.analytics_table,
        KeyConditionExpression="pk = :pk",
        ExpressionAttributeValues={":pk": {"S": "ORG#acme#DAYS#2026-11"}},
    )["Items"]
    day_end = datetime(2026, 12, 1, tzinfo=UTC).timestamp()
    assert {int(item["expires_at"]["N"]) for item in items} == {int(day_end + 400 * 86_400)}
    expired = RollupRepository(
        settings.analytics_table, client=dynamodb, clock=lambda: day_end + 401 * 86_400
    )
    assert expired.days("acme", "2026-11-30", "2026-11-30") == []


def test_parley_jobs_run_aggregates_through_the_idempotent_runner(
    settings: Settings, dynamodb: DynamoDBClient, usage: UsageRepository, rollups: RollupRepository
) -> None:
    usage.record(event("acme", 1, at=HOUR))
    scheduled = datetime.fromtimestamp(NEXT_RUN, tz=UTC)
    first = run_locally(
        "aggregate-usage", settings=settings, scheduled_time=scheduled, client=dynamodb
    )
    again = run_locally(
        "aggregate-usage", settings=settings, scheduled_time=scheduled, client=dynamodb
    )
    assert first["events"] == 1
    assert first["complete"]
    assert again == first
    assert day_of(rollups, "acme").rollups[0].calls == 1


def test_each_run_leaves_the_orgs_routing_advice_best_model_first(
    settings: Settings, dynamodb: DynamoDBClient, usage: UsageRepository, rollups: RollupRepository
) -> None:
    from parley.analytics.job import RoutingAdvisor
    from parley.providers.catalog import load_catalog

    # GIVEN coding traffic where claude-haiku-4-5 is faster and never fails, gpt-4.1 slower
    # and failing one call in three
    for n in range(12):
        usage.record(
            event(
                "acme",
                n,
                at=HOUR + n,
                model="claude-haiku-4-5",
                provider="anthropic",
                latency_ms=300.0,
            )
        )
        usage.record(
            event(
                "acme",
                100 + n,
                at=HOUR + n,
                latency_ms=2_500.0,
                success=n % 3 != 0,
                error_code=None if n % 3 else "upstream_error",
            )
        )
    # and one model with too few calls to be advised
    usage.record(event("acme", 500, at=HOUR, model="gpt-5"))
    # WHEN the job runs with the advisor
    AggregateUsageJob(
        usage,
        FeedbackHoursTable(settings.feedback_table, client=dynamodb),
        rollups,
        advise=RoutingAdvisor(load_catalog()),
        clock=lambda: NEXT_RUN,
    ).run(deadline=None, as_of=NEXT_RUN)
    # THEN the org's advice for coding ranks haiku first and leaves gpt-5 out
    advice = rollups.advice("acme")
    assert advice is not None
    ranked = advice["task_types"]["coding"]
    assert [entry["model"] for entry in ranked] == ["claude-haiku-4-5", "gpt-4.1"]
    assert ranked[0]["samples"] == 12
    assert advice["window_days"] == 30


def test_the_lambda_handler_runs_the_template_schedules_event_once(
    settings: Settings, dynamodb: DynamoDBClient, usage: UsageRepository, rollups: RollupRepository
) -> None:
    from parley.apps.jobs import lambda_handler
    from tests.support.lambdas import LambdaContext, recorded_event

    # GIVEN the event the template's schedule sends, fired at 11:05 on the 30th
    usage.record(event("acme", 1, at=HOUR))
    continued: list[dict[str, object]] = []
    handler = lambda_handler(
        "aggregate-usage",
        settings=settings,
        client=dynamodb,
        continuation=lambda _context: continued.append,
    )
    scheduled = recorded_event("aggregate_usage_schedule")
    context = LambdaContext(function_name="parley-aggregate-usage", remaining_ms=600_000)
    # WHEN it is delivered twice
    result = handler(scheduled, context)
    again = handler(scheduled, context)
    # THEN the hours before 11:05 are rolled up once, and the second delivery replays it
    assert result["hours"] == ["2026-11-30T08", "2026-11-30T09", "2026-11-30T10", "2026-11-30T11"]
    assert result["events"] == 1
    assert again == result
    assert continued == []
    assert day_of(rollups, "acme").rollups[0].calls == 1


def test_recording_an_event_stays_one_put_item(
    settings: Settings, dynamodb: DynamoDBClient
) -> None:
    calls: list[str] = []

    class Counting:
        def __getattr__(self, name: str) -> object:
            calls.append(name)
            return getattr(dynamodb, name)

    counted = UsageRepository(settings.usage_table, client=Counting())  # type: ignore[arg-type]
    assert counted.record(event("acme", 1, at=HOUR))
    assert calls == ["put_item"]
