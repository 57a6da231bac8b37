"""The aggregate-usage job's events per second, against the read it cannot do without.

Run: ``.venv/bin/python bench/aggregate_usage.py [--events N] [--orgs N]``. Prints JSON and
writes it to ``bench/results/aggregate_usage.json``.

Method. A moto server (its own process, lean transactions: see ``_moto_lean.py``) gets the
template's tables and ``--events`` usage events in one UTC hour, recorded as the chat pipeline
records them (``UsageRepository.record``: the hour index included), spread over ``--orgs``
orgs, four models, three task types, one in ten failed, one in twenty cached, and one feedback
record for every tenth event. Then, in this process, against the same data:

* ``baseline``: a bare paged Query of the hour index of every shard: every page of the events
  the job must read, and nothing done with them (no decoding, no counting);
* ``job``: ``AggregateUsageJob.run`` for that hour, with the routing advice as the scheduled
  job computes it: reads the events and the feedback, rolls them up, writes each org's hour,
  merges its day and refreshes its advice.

Both are timed wall-clock on the same moto; the figure that matters is the ratio of events a
second (job ÷ baseline, same run): moto's own speed is not DynamoDB's.
"""

from __future__ import annotations

import argparse
import os
import platform
import random
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
RESULTS = REPO / "bench" / "results" / "aggregate_usage.json"
sys.path.insert(0, str(REPO))

from bench._processes import moto_server  # noqa: E402
from bench._results import publish  # noqa: E402

HOUR = datetime(2026, 11, 30, 10, tzinfo=UTC)
MODELS = (
    ("gpt-4.1", "openai"),
    ("gpt-4.1-mini", "openai"),
    ("claude-haiku-4-5", "anthropic"),
    ("gemini-2.5-flash", "gemini"),
)
TASKS = ("coding", "general_chat", "creative")


def seed(settings: Any, client: Any, events: int, orgs: int) -> None:
    from parley.state.hour_index import hour_index_keys
    from parley.state.items import to_item
    from parley.state.usage import UsageEvent, UsageRepository

    usage = UsageRepository(settings.usage_table, client=client)
    rng = random.Random(13)  # noqa: S311 - reproducible latencies, not secrets
    start = HOUR.timestamp()
    for n in range(events):
        model, provider = MODELS[n % len(MODELS)]
        failed, cached = n % 10 == 3, n % 20 == 7
        org = f"org-{n % orgs}"
        at = start + n * 3_599 / events
        usage.record(
            UsageEvent(
                request_id=f"req-{n}",
                org_id=org,
                user_id=f"user-{n % 97}",
                provider=provider,
                model=model,
                endpoint="stream",
                input_tokens=0 if cached else 200 + n % 50,
                output_tokens=0 if cached else 100 + n % 30,
                usage_estimated=False,
                cost_usd=0.0 if cached else 0.0004,
                latency_ms=rng.lognormvariate(6.5, 0.5),
                success=not failed,
                ttft_ms=rng.lognormvariate(5, 0.4),
                error_code="upstream_error" if failed else None,
                task_type=TASKS[n % len(TASKS)],
                route="standard",
                tier="standard",
                conversation_id=f"conv-{n % 500}",
                cached=cached,
                created_at=at,
            )
        )
        if n % 10 == 0:
            stamp = datetime.fromtimestamp(at + 1, tz=UTC).isoformat(timespec="milliseconds")
            order = f"{stamp}#fb-{n}"
            record = {
                "pk": f"ORG#{org}#DAY#{stamp[:10]}",
                "sk": order,
                **hour_index_keys(org, stamp, order),
                "org_id": org,
                "model": model,
                "provider": provider,
                "task_type": TASKS[n % len(TASKS)],
                "route": "standard",
                "tier": "standard",
                "endpoint": "stream",
                "thumbs": 1 if n % 30 else -1,
                "created_at": stamp,
            }
            client.put_item(TableName=settings.feedback_table, Item=to_item(record))


def baseline(settings: Any, client: Any) -> tuple[float, int]:
    from parley.state.hour_index import HOUR_INDEX, HOUR_SHARDS, hour_partition

    hour = HOUR.strftime("%Y-%m-%dT%H")
    start = time.perf_counter()
    read = 0
    for shard in range(HOUR_SHARDS):
        query: dict[str, Any] = {
            "TableName": settings.usage_table,
            "IndexName": HOUR_INDEX,
            "KeyConditionExpression": "gsi2pk = :pk",
            "ExpressionAttributeValues": {":pk": {"S": hour_partition(hour, shard)}},
        }
        while True:
            page = client.query(**query)
            read += len(page["Items"])
            if "LastEvaluatedKey" not in page:
                break
            query["ExclusiveStartKey"] = page["LastEvaluatedKey"]
    return time.perf_counter() - start, read


def run_job(settings: Any, client: Any) -> tuple[float, dict[str, Any]]:
    from parley.analytics.job import AggregateUsageJob, RoutingAdvisor
    from parley.analytics.sources import FeedbackHoursTable
    from parley.analytics.store import RollupRepository
    from parley.providers.catalog import load_catalog
    from parley.state.usage import UsageRepository

    job = AggregateUsageJob(
        UsageRepository(settings.usage_table, client=client),
        FeedbackHoursTable(settings.feedback_table, client=client),
        RollupRepository(settings.analytics_table, client=client),
        advise=RoutingAdvisor(load_catalog()),
    )
    start = time.perf_counter()
    result = job.run(deadline=None, hours=[HOUR.strftime("%Y-%m-%dT%H")])
    return time.perf_counter() - start, dict(result)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--events", type=int, default=8_000)
    parser.add_argument("--orgs", type=int, default=20)
    args = parser.parse_args()
    if not 100 <= args.events <= 100_000 or not 1 <= args.orgs <= 1_000:
        parser.error("--events is 100-100000 and --orgs 1-1000")

    with moto_server(lean_transactions=True) as (endpoint, _pid):
        os.environ.update(
            {
                "AWS_ENDPOINT_URL_DYNAMODB": endpoint,
                "AWS_ACCESS_KEY_ID": "bench",
                "AWS_SECRET_ACCESS_KEY": "bench",
                "PARLEY_ENV": "development",
                "POWERTOOLS_LOG_LEVEL": "WARNING",
            }
        )
        from parley.config import Settings
        from parley.state.client import new_dynamodb_client
        from parley.state.tables import create_tables, table_definitions
        from parley.state.template import load_template

        settings = Settings()
        raw = new_dynamodb_client(settings.aws_region, 30.0)
        create_tables(raw, settings, table_definitions(load_template(REPO / "template.yaml")))
        seeding = time.perf_counter()
        seed(settings, raw, args.events, args.orgs)
        seeded_seconds = time.perf_counter() - seeding
        # Twice each, alternating; the second of each is reported (the first warms moto).
        baseline(settings, raw)
        run_job(settings, raw)
        base_seconds, read = baseline(settings, raw)
        job_seconds, result = run_job(settings, raw)

    if read != args.events or result["events"] != args.events or not result["complete"]:
        print(f"unexpected counts: read {read}, job {result}", file=sys.stderr)
        return 1
    base_rate, job_rate = args.events / base_seconds, args.events / job_seconds
    report = {
        "metadata": {
            "python": platform.python_version(),
            "cpus": os.cpu_count(),
            "timestamp": datetime.now(UTC).isoformat(timespec="seconds"),
            "events": args.events,
            "orgs": args.orgs,
            "feedback": result["feedback"],
            "seeding_seconds": round(seeded_seconds, 1),
            "dynamodb": "moto, lean transactions, its own process",
            "method": "see bench/aggregate_usage.py's docstring",
        },
        "baseline": {"seconds": round(base_seconds, 3), "events_per_second": round(base_rate)},
        "job": {
            "seconds": round(job_seconds, 3),
            "events_per_second": round(job_rate),
            "result": result,
        },
        "ratios": {"job_vs_baseline_events_per_second": round(job_rate / base_rate, 2)},
    }
    return publish(report, RESULTS)


if __name__ == "__main__":
    sys.exit(main())
