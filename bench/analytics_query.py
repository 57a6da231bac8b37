"""The cost of ``GET /v1/analytics/models`` against the traffic behind it: 30 days of rollups
at 1x, 10x and 100x the events, timed in one run.

Run: ``.venv/bin/python bench/analytics_query.py [--rounds 15] [--events 20]
[--latency lognormal|bounded|both]``. Prints JSON and writes
``bench/results/analytics_query.json``.

Method. For each volume, a ``MemoryRollupStore`` gets 30 days of one org's daily rollups,
built as the aggregation job builds them: usage events fed through ``SeriesRollup.add_event``
and ``Activity.add_event``, and feedback on a tenth of the replies through ``add_feedback``.
Every volume has the same 48 series a day (four models, three task types, two panels, two
endpoints) and the same 200 users with two conversations each; the 1x volume has ``--events``
events per series and day (20: 28,800 events in 30 days), 10x and 100x ten and a hundred
times as many (2.88 million).

Only the counts and the latency sketches differ between volumes, and a sketch's size is its
bins: one per 2% of latency between the fastest and the slowest call it holds. So the run is
made twice, with two latency models per series: ``lognormal`` (sigma 0.5 around the model's
median, capped at 60 s), whose tails are reached only by many calls, so 100x the calls makes
sketches about twice as wide; and ``bounded`` (log-uniform over the decade around the median),
where 20 calls already span most of the range, as a model's latencies do once its traffic is
real. The first is the worst case: cost grows with the logarithm of the calls, until the
sketches span all the latencies a model has.

Each round times, for each volume in turn (the order alternating between rounds, so drift in
machine load reaches all three), ``parley.analytics.overview.models_query``: what the endpoint
runs in its worker thread, the store's read of the window included (the memory store decodes
every stored series, its sketches and the days' activity, as the DynamoDB store decodes its
items); the first round warms up. A figure is the median over rounds, in milliseconds; the
ratios are each volume's median over the 1x one. The target: at most 1.2, since the series are
the same and only the counts in them grow.
"""

from __future__ import annotations

import argparse
import math
import os
import platform
import random
import statistics
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from _results import publish

from parley.analytics.activity import Activity
from parley.analytics.overview import models_query
from parley.analytics.rollup import SeriesRollup
from parley.analytics.series import Series
from parley.analytics.store import MemoryRollupStore
from parley.analytics.window import Window
from parley.providers.catalog import Catalog, ModelSpec, load_catalog
from parley.state.usage import UsageEvent

REPO = Path(__file__).resolve().parent.parent
RESULTS = REPO / "bench" / "results" / "analytics_query.json"
ORG = "bench"
DAYS = 30
VOLUMES = (1, 10, 100)
TARGET_RATIO = 1.2
NOW = 1_796_126_400.0  # 2026-12-01T12:00:00Z
# Model -> median latency (ms).
MODELS = {
    "gpt-4.1-mini": 700.0,
    "gpt-4.1": 1600.0,
    "claude-haiku-4-5": 500.0,
    "gemini-2.5-flash": 600.0,
}
TASKS = {"general_chat": "light", "coding": "standard", "reasoning": "heavy"}
PANELS = ("pictures", "travel")
ENDPOINTS = ("stream", "completions")
USERS = 200
LATENCIES = ("lognormal", "bounded")
CONVERSATIONS = 400


def build_store(per_series: int, seed: int, latency: str) -> tuple[MemoryRollupStore, int]:
    """30 days of rollups of ``per_series`` events per series and day, latencies drawn as
    ``latency`` says; and the events fed."""
    catalog = load_catalog()
    rng = random.Random(seed)  # noqa: S311 - reproducible traffic, not secrets
    store = MemoryRollupStore(clock=lambda: NOW)
    today = datetime.fromtimestamp(NOW, tz=UTC).date()
    fed = 0
    for offset in range(DAYS):
        day = (today - timedelta(days=offset)).isoformat()
        rollups: list[SeriesRollup] = []
        activity = Activity()
        for model, median in MODELS.items():
            spec = catalog.get(model)
            assert spec is not None
            for task, tier in TASKS.items():
                for panel in PANELS:
                    for endpoint in ENDPOINTS:
                        rollup = _series_day(
                            rng,
                            model,
                            spec.provider,
                            task,
                            tier,
                            panel,
                            endpoint,
                            median,
                            per_series,
                            activity,
                            latency == "bounded",
                        )
                        rollups.append(rollup)
                        fed += per_series
        store.put_day(ORG, day, rollups, activity)
    return store, fed


def _series_day(  # noqa: PLR0917 - one series' dimensions, spelt out
    rng: random.Random,
    model: str,
    provider: str,
    task: str,
    tier: str,
    panel: str,
    endpoint: Any,
    median: float,
    count: int,
    activity: Activity,
    bounded: bool,
) -> SeriesRollup:
    rollup: SeriesRollup | None = None
    log_median = math.log(median)
    for n in range(count):
        success = rng.random() > 0.03
        user = rng.randrange(USERS)
        if bounded:  # log-uniform over a decade around the median
            latency = median * 10 ** rng.uniform(-0.5, 0.5)
        else:
            latency = min(60_000.0, rng.lognormvariate(log_median, 0.5))
        event = UsageEvent(
            request_id=f"r{n}",
            org_id=ORG,
            user_id=f"user-{user}",
            provider=provider,
            model=model,
            endpoint=endpoint,
            input_tokens=rng.randint(50, 500),
            output_tokens=rng.randint(50, 800),
            usage_estimated=False,
            cost_usd=0.0004,
            latency_ms=latency,
            ttft_ms=latency * rng.uniform(0.1, 0.3),
            success=success,
            error_code=None if success else "upstream_error",
            task_type=task,
            panel=panel,
            route=tier,
            tier=tier,
            # Each user's own conversations: the same ones at every volume.
            conversation_id=f"conv-{user}-{rng.randrange(CONVERSATIONS // USERS)}",
        )
        if rollup is None:
            rollup = SeriesRollup(Series.from_event(event))
        rollup.add_event(event)
        activity.add_event(event)
        if success and rng.random() < 0.1:
            rollup.add_feedback({"thumbs": 1 if rng.random() < 0.8 else -1})
    assert rollup is not None
    return rollup


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=15)
    parser.add_argument("--events", type=int, default=20, help="events per series a day, 1x")
    parser.add_argument("--latency", choices=(*LATENCIES, "both"), default="both")
    args = parser.parse_args()
    if not 3 <= args.rounds <= 1000 or not 1 <= args.events <= 1000:
        parser.error("--rounds is 3-1000 and --events 1-1000")
    catalog = load_catalog()
    chain = {
        tier: [spec for name in catalog.routing.chain(tier) if (spec := catalog.get(name))]
        for tier in ("light", "standard", "heavy")
    }
    window = Window.ending_today(DAYS, now=NOW)

    series_per_day = len(MODELS) * len(TASKS) * len(PANELS) * len(ENDPOINTS)
    report: dict[str, Any] = {
        "metadata": {
            "python": platform.python_version(),
            "machine": platform.machine(),
            "cpus": os.cpu_count(),
            "timestamp": datetime.now(UTC).isoformat(timespec="seconds"),
            "rounds": args.rounds,
            "days": DAYS,
            "series_per_day": series_per_day,
            "users": USERS,
            "conversations": CONVERSATIONS,
            "events_per_series_day_1x": args.events,
            "method": "see bench/analytics_query.py's docstring",
        },
        "target_ratio": TARGET_RATIO,
    }
    for latency in LATENCIES if args.latency == "both" else (args.latency,):
        run = _run(latency, args.events, args.rounds, window, catalog, chain)
        run["within_target"] = all(
            volume["ratio_to_1x"] <= TARGET_RATIO for volume in run["volumes"].values()
        )
        report[latency] = run
    return publish(report, RESULTS)


def _run(  # noqa: PLR0917 - the run's settings, spelt out
    latency: str,
    events: int,
    rounds: int,
    window: Window,
    catalog: Catalog,
    chain: dict[str, list[ModelSpec]],
) -> dict[str, Any]:
    """One latency model's three volumes, built, checked and timed."""
    stores: dict[int, MemoryRollupStore] = {}
    built: dict[int, dict[str, Any]] = {}
    for volume in VOLUMES:
        started = time.perf_counter()
        store, fed = build_store(events * volume, seed=volume, latency=latency)
        stores[volume] = store
        days = store.days(ORG, window.first.isoformat(), window.last.isoformat())
        bins = [
            len(rollup.latency._store.bins)
            for day in days
            for rollup in day.rollups
            if rollup.latency is not None
        ]
        built[volume] = {
            "events": fed,
            "build_s": round(time.perf_counter() - started, 1),
            "latency_bins_per_sketch": round(statistics.mean(bins), 1),
        }

    def query(volume: int) -> dict[str, Any]:
        return models_query(
            stores[volume],
            ORG,
            window,
            task_type=None,
            model=None,
            group_by="model",
            catalog=catalog,
            rules=lambda tier: chain.get(tier, []),
        )

    answers = {volume: query(volume) for volume in VOLUMES}
    for volume, answer in answers.items():
        calls = answer["summary"]["totalCalls"]
        assert calls == built[volume]["events"], (volume, calls)  # every event counted once

    samples: dict[int, list[float]] = {volume: [] for volume in VOLUMES}
    for round_number in range(rounds + 1):
        order = VOLUMES if round_number % 2 else tuple(reversed(VOLUMES))
        for volume in order:
            started = time.perf_counter()
            query(volume)
            elapsed = time.perf_counter() - started
            if round_number:  # the first round warms up
                samples[volume].append(elapsed * 1000)

    medians = {volume: statistics.median(values) for volume, values in samples.items()}
    base = medians[VOLUMES[0]]
    return {
        "volumes": {
            f"{volume}x": {
                **built[volume],
                "median_ms": round(medians[volume], 2),
                "min_ms": round(min(samples[volume]), 2),
                "max_ms": round(max(samples[volume]), 2),
                "ratio_to_1x": round(medians[volume] / base, 3),
                "p95_ms_reported": answers[volume]["summary"]["p95"],
            }
            for volume in VOLUMES
        }
    }


if __name__ == "__main__":
    sys.exit(main())
