"""Stage 1's cost per message: the crisis prefilter against a baseline, in one run.

Run: ``.venv/bin/python bench/guardrail_prefilter.py [--rounds 7]``. Prints JSON and writes
``bench/results/guardrail_prefilter.json``.

Method. Two message sets: every message of the labelled sets in ``tests/data/guardrails``
(crisis, third-party and hard safe cases: most are flagged, so stage 1 does all its work), and a
set of ordinary chat messages of several lengths (what most traffic is; few are flagged). For
each message, each round times one call of:

* ``screen``: ``parley.guardrails.prefilter.screen`` (normalisation, language, risk frames,
  benign senses masked, risk terms);
* ``baseline``: what a naive keyword filter costs, the text lowercased and one ``re.search``
  of a single alternation of twelve keywords.

A message's figure is its best round (its own cost, not the machine's noise); the report gives
p50 and p95 over the messages in microseconds, and the ratio of screen's to the baseline's.
The target: stage 1 costs microseconds, well under a millisecond at p95.
"""

from __future__ import annotations

import argparse
import json
import platform
import re
import statistics
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from _results import publish

from parley.guardrails.prefilter import screen

if TYPE_CHECKING:
    from collections.abc import Callable

REPO = Path(__file__).resolve().parent.parent
RESULTS = REPO / "bench" / "results" / "guardrail_prefilter.json"
LABELLED = (
    REPO / "tests" / "data" / "guardrails" / "development.jsonl",
    REPO / "tests" / "data" / "guardrails" / "holdout.jsonl",
)
BASELINE = re.compile(
    r"\b(?:suicide|suicidio|kill myself|matarme|want to die|quiero morir|die|morir|self harm"
    r"|cortarme|pills|pastillas)\b"
)
ORDINARY = (
    "Hi!",
    "What is the capital of Australia?",
    "Write a haiku about autumn rain.",
    "Fix this Python function: ```def add(a, b): return a - b```",
    "Summarise the pros and cons of remote work for a small team.",
    "Cuéntame una historia corta sobre un dragón que aprende a programar en Python.",
    "¿Me ayudas a escribir un correo para pedir vacaciones la semana que viene?",
    "my order hasn't arrived yet, it's been 10 days, can you check the tracking number 48213?",
    "Explícame la diferencia entre ser y estar con ejemplos.",
    "Return the user's order history as JSON with fields id, date and total.",
    "Thanks, that helped a lot.",
    "Refactor this service so the retry logic lives in one place and add unit tests for it. " * 3,
    "q onda, me recomiendas una peli para el finde? algo de terror pero no tan fuerte xq mi "
    "hermana se asusta",
    "Compare PostgreSQL and DynamoDB for an event log with 10k writes a second and ad-hoc "
    "analytics queries; what are the trade-offs? Please include costs and an example schema.",
)


def baseline(text: str) -> bool:
    return BASELINE.search(text.lower()) is not None


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=7)
    args = parser.parse_args()
    labelled = [
        json.loads(line)["text"]
        for path in LABELLED
        for line in path.read_text(encoding="utf-8").splitlines()
        if line.strip()
    ]
    sets = {"labelled": labelled, "ordinary": list(ORDINARY)}
    figures: dict[str, Any] = {}
    for name, messages in sets.items():
        screen_us = _per_message(screen, messages, args.rounds)
        baseline_us = _per_message(baseline, messages, args.rounds)
        figures[name] = {
            "messages": len(messages),
            "flagged": sum(screen(text).flagged for text in messages),
            "screen_us": _summary(screen_us),
            "baseline_us": _summary(baseline_us),
            "ratio_p50": round(statistics.median(screen_us) / statistics.median(baseline_us), 1),
        }
    report = {
        "benchmark": "guardrail_prefilter",
        "when": datetime.now(UTC).isoformat(timespec="seconds"),
        "python": platform.python_version(),
        "machine": platform.machine(),
        "rounds": args.rounds,
        "baseline": "str.lower() then one re.search of a 12-keyword alternation",
        "sets": figures,
    }
    return publish(report, RESULTS)


def _per_message(
    function: Callable[[str], object], messages: list[str], rounds: int
) -> list[float]:
    costs = []
    for text in messages:
        function(text)  # warm: the first call compiles nothing, but fills caches
        best = float("inf")
        for _ in range(rounds):
            start = time.perf_counter_ns()
            function(text)
            best = min(best, time.perf_counter_ns() - start)
        costs.append(best / 1000)
    return costs


def _summary(values: list[float]) -> dict[str, float]:
    ordered = sorted(values)
    return {
        "p50": round(statistics.median(ordered), 2),
        "p95": round(ordered[min(len(ordered) - 1, int(0.95 * len(ordered)))], 2),
        "max": round(ordered[-1], 2),
    }


if __name__ == "__main__":
    sys.exit(main())
