"""Learned routing's cost per request: the same requests routed with and without it, in one run.

Run: ``.venv/bin/python bench/learned_routing.py [--rounds 30] [--requests 2000]``. Prints JSON
and writes ``bench/results/learned_routing.json``.

Method. In this process, with the shipped catalog (every provider's key taken as configured) and
an org whose settings turn learned routing on (exploration 5%), twelve requests of several task
types and lengths are routed as ``parley.chat.preparation`` routes them:

* ``rules``: what every request pays without learned routing, the step it is measured against:
  the analysis (``routing.analysis.analyse``), the org's chains and the route
  (``routing.plan.plan_route``).
* ``learned``: the same, then learned routing's own step on the hot path: whether the org's
  advice needs a read (``LearnedRouting.refresh``: the copy held is fresh, so none) and the
  reordering of the tier chain by the advice held (``LearnedRouting.apply``: the advice ranks
  the chain's last model first for every task type, so every request is reordered; 5% explore).
* ``step``: learned routing's step alone, on the routes ``rules`` planned, for the same figure
  without the subtraction of two larger ones.

The advice is in the per-process cache (``analytics.advice.AdviceCache``, over a memory rollup
store), as it is for every request but one per org every 5 minutes; that one request's read is
a GetItem made beside the request's other reads, not measured here. Each round times
``--requests`` requests of each kind back to back, the kinds taking turns so that drift in
machine load reaches all three; a figure is the median over rounds of the mean per request, in
microseconds. The target: learned routing adds under 200 us a request.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import statistics
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from _results import publish

from parley.analytics.advice import AdviceCache
from parley.analytics.store import MemoryRollupStore
from parley.orgs.repository import effective_settings
from parley.providers.catalog import load_catalog
from parley.routing.analysis import TASK_TYPES, analyse
from parley.routing.chains import Chains, org_chains
from parley.routing.learned import LearnedRouting
from parley.routing.plan import RouteRequest, plan_route

if TYPE_CHECKING:
    from collections.abc import Callable

    from parley.orgs.settings import OrgSettings
    from parley.providers.catalog import Catalog
    from parley.routing.plan import Route

REPO = Path(__file__).resolve().parent.parent
RESULTS = REPO / "bench" / "results" / "learned_routing.json"
ORG = "bench"
TARGET_US = 200.0
MESSAGES = (
    "Hi!",
    "What is the capital of Australia?",
    "Write a haiku about autumn rain.",
    "Fix this Python function: ```def add(a, b): return a - b```",
    "Summarise the pros and cons of remote work for a small team.",
    "A train leaves at 3 pm at 60 km/h and another at 4 pm at 80 km/h. When does the second "
    "catch up? Explain step by step.",
    "Explain why the sky is blue.",
    "Refactor this service so the retry logic lives in one place and add unit tests for it. " * 3,
    "Compare PostgreSQL and DynamoDB for an event log with 10k writes a second and "
    "ad-hoc analytics queries; what are the trade-offs?",
    "Cuéntame una historia corta sobre un dragón que aprende a programar en Python.",
    "Return the user's order history as JSON with fields id, date and total.",
    "Thanks, that helped a lot.",
)


def advice_document(catalog: Catalog, org: OrgSettings) -> dict[str, Any]:
    """Advice that ranks each tier chain's last model first, for every task type."""
    chains = Chains(catalog, lambda spec: True, org_chains(org))
    ranked = [
        spec
        for route in ("light", "standard", "heavy")
        for spec in reversed(chains.for_route(route))
    ]
    entries = [
        {
            "model": spec.name,
            "provider": spec.provider,
            "score": 90.0 - index,
            "samples": 200,
            "confidence": 85.0,
        }
        for index, spec in enumerate(ranked)
    ]
    return {
        "computed_at": datetime.now(UTC).isoformat(),
        "window_days": 30,
        "task_types": dict.fromkeys(TASK_TYPES, entries),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=30)
    parser.add_argument("--requests", type=int, default=2000)
    args = parser.parse_args()
    if not 3 <= args.rounds <= 1000 or not 100 <= args.requests <= 100_000:
        parser.error("--rounds is 3-1000 and --requests 100-100000")

    catalog = load_catalog()
    org = effective_settings({"learned_routing": {"enabled": True, "exploration": 0.05}})
    store = MemoryRollupStore()
    store.put_advice(ORG, advice_document(catalog, org))
    cache = AdviceCache(store)
    asyncio.run(cache.refresh(ORG))  # the copy every request but one per 5 minutes finds
    learned = LearnedRouting(cache)

    def rules(message: str) -> Route:
        request = RouteRequest(
            mode="auto",
            analysis=analyse(message),
            prompt_tokens=len(message) // 4 + 20,
            balance_tokens=None,
        )
        chains = Chains(catalog, lambda spec: True, org_chains(org))
        return plan_route(request, catalog=catalog, chains=chains, settings=org)

    def with_learned(message: str) -> Route:
        route = rules(message)
        assert learned.refresh(ORG, org) is None  # fresh: nothing to read
        return learned.apply(route, org_id=ORG, org=org)

    planned = [rules(message) for message in MESSAGES]

    def step(index: int) -> Route:
        assert learned.refresh(ORG, org) is None
        return learned.apply(planned[index], org_id=ORG, org=org)

    # Every request is reordered (or explores), none is left to the rules.
    for message in MESSAGES:
        assert with_learned(message).reason.startswith("learned routing: "), message

    kinds: dict[str, Callable[[int], Route]] = {
        "rules": lambda i: rules(MESSAGES[i]),
        "learned": lambda i: with_learned(MESSAGES[i]),
        "step": step,
    }
    samples: dict[str, list[float]] = {kind: [] for kind in kinds}
    count = len(MESSAGES)
    for round_number in range(args.rounds + 1):
        order = list(kinds) if round_number % 2 else list(reversed(kinds))
        for kind in order:
            run = kinds[kind]
            started = time.perf_counter()
            for n in range(args.requests):
                run(n % count)
            elapsed = time.perf_counter() - started
            if round_number:  # the first round warms up
                samples[kind].append(elapsed / args.requests * 1e6)

    figures = {kind: _summary(values) for kind, values in samples.items()}
    added = [
        learned_us - rules_us
        for learned_us, rules_us in zip(samples["learned"], samples["rules"], strict=True)
    ]
    added_us = round(statistics.median(added), 2)
    step_us = figures["step"]["median_us"]
    report = {
        "metadata": {
            "python": platform.python_version(),
            "machine": platform.machine(),
            "cpus": os.cpu_count(),
            "timestamp": datetime.now(UTC).isoformat(timespec="seconds"),
            "rounds": args.rounds,
            "requests_per_round": args.requests,
            "messages": count,
            "method": "see bench/learned_routing.py's docstring",
        },
        "per_request_us": figures,
        "learned_routing_added_us": {
            "learned_minus_rules_median": added_us,
            "step_alone_median": step_us,
            "ratio_learned_vs_rules": round(
                figures["learned"]["median_us"] / figures["rules"]["median_us"], 3
            ),
        },
        "target": {
            "added_us_below": TARGET_US,
            "met": max(added_us, step_us) < TARGET_US,
        },
    }
    return publish(report, RESULTS)


def _summary(values: list[float]) -> dict[str, float]:
    ordered = sorted(values)
    return {
        "median_us": round(statistics.median(ordered), 2),
        "min_us": round(ordered[0], 2),
        "max_us": round(ordered[-1], 2),
    }


if __name__ == "__main__":
    sys.exit(main())
