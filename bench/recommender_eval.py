"""How often the recommender picks the truly best model, and what its misses cost, on simulated
traffic whose true figures are known.

Run: ``.venv/bin/python bench/recommender_eval.py [--scenarios 500] [--seed 13]``. Prints JSON
(the table goes to stderr) and writes ``bench/results/recommender_eval.json``.

Method. Each scenario (``--scenarios``, drawn from ``--seed``) is one task type and 2-4 models
of the shipped catalog with true parameters drawn at random:

* latency of an answered call lognormal, median 200-5,000 ms, log-sd 0.2-1.0 (true mean =
  median x exp(sd^2 / 2));
* error rate 0-30% (a failed call bills no tokens and has no latency, as the rollups count);
* satisfaction, the chance a rated reply gets a thumb up, 30-95%;
* tokens per answered call: input lognormal around a mean of 100-4,000 for the scenario (each
  model's tokenizer 0.85-1.15 of it), output around 50-2,000 per model (log-sd 0.5);
* the share of answered calls that are rated, 10-30% for the scenario.

The truth per priority follows the recommender's definitions (``parley.analytics.scores``)
applied to the true parameters: speed, the lowest true mean latency; quality, 40% success rate
+ 40% satisfaction (the true chance of a thumb up, which the recommender estimates from the
ratings) + 20% speed score (max(0, 100 - mean ms / 100)); cost, the lowest expected
cost per answered call (true tokens at catalog prices: failed calls bill nothing here, and the
recommender divides all calls' cost by the answered ones); balanced, 60% quality + 20% speed
score + 20% cost score (100 x cheapest / cost, among the scenario's models). A check
recomputes the true quality and balanced scores with the library's own ``ModelScore`` at a
billion calls and counts the disagreements (``checks.definition_mismatches``, 0 expected).

For each ``--samples`` N, each model gets N calls (``even`` traffic) or a share of N x models
calls split by Dirichlet(1) weights (``uneven``: some models then have fewer than 5 calls, or
none). Calls are spread over ``--days`` days and two endpoints, fed through
``SeriesRollup.add_event``, ratings (thumbs from the true satisfaction) through ``add_feedback``,
and the days written to a ``MemoryRollupStore``. The recommender is asked as
``/v1/analytics/recommendations`` asks it (``read_window``, ``usual_tier``, ``scores_for``,
``recommend``) for each priority; the org's chain for the fallback is the scenario's models in a
random order, so a fallback picks one of them without the data. ``rank_for_routing``'s first
model is checked to be the balanced recommendation's (``checks.routing_disagreements``).

Figures, per traffic, N and priority: ``accuracy`` (chosen = true best), ``chance`` (a uniform
pick's), ``near_best`` (regret at most 1 point), ``regret`` (true score of the true best minus
the chosen's, in score points: the quality or balanced score, the speed score, or the cost
score, so a model 25% dearer than the cheapest costs 20 points; mean and 90th percentile),
``random_regret`` (a uniform pick's mean), ``fallback`` (share answered from the rules),
``best_unranked`` (the true best had under 5 calls, so no answer from the data could name it),
``confidence_mean`` (as answered, rules answers included), and for speed and cost the mean extra
milliseconds and extra cost in percent. Calibration: accuracy and mean regret of the data
answers (even traffic) by the chosen model's confidence, in buckets of 20 (also per priority),
and ``auc``, the chance a right answer has a higher confidence than a wrong one, pooled, per
priority and within each N (0.5 within N: confidence says nothing the sample size did not).
``definitions``: two properties of the definitions, measured on the truth alone
(``definition_effects``).
"""

from __future__ import annotations

import argparse
import itertools
import math
import os
import platform
import random
import statistics
import sys
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from _results import publish

from parley.analytics.activity import Activity
from parley.analytics.overview import of_task, scores_for
from parley.analytics.recommender import rank_for_routing, recommend, usual_tier
from parley.analytics.rollup import SeriesRollup
from parley.analytics.scores import MIN_SAMPLES, PRIORITIES, ModelScore, balanced_scores
from parley.analytics.series import Series
from parley.analytics.store import MemoryRollupStore
from parley.analytics.window import Filters, Window, read_window
from parley.providers.catalog import load_catalog
from parley.routing.task_type import TASK_TYPES
from parley.state.usage import UsageEvent

if TYPE_CHECKING:
    from collections.abc import Iterable, Sequence

    from parley.analytics.scores import Priority
    from parley.providers.catalog import Catalog, ModelSpec

REPO = Path(__file__).resolve().parent.parent
RESULTS = REPO / "bench" / "results" / "recommender_eval.json"
ORG = "bench"
# The day the recommender is asked on (noon UTC): the stored days end the day before.
NOW = datetime(2025, 6, 30, 12, tzinfo=UTC).timestamp()
TIERS = ("light", "standard", "heavy")
TRAFFIC = ("even", "uneven")
DEFAULT_SAMPLES = (3, 5, 10, 30, 100, 300)
BUCKETS = (0, 20, 40, 60, 80, 100)
ENDPOINT_STREAM_SHARE = 0.7
TOKEN_SD = 0.5
FREE_USD = 1e-9  # as the recommender's cost score: defined beside a model that costs nothing
NEAR_POINTS = 1.0


# -- the truth ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class TrueModel:
    spec: ModelSpec
    median_ms: float
    latency_sd: float
    error_rate: float  # 0-1
    satisfaction: float  # 0-1: the chance a rated reply is a thumb up
    input_tokens: float  # mean per answered call
    output_tokens: float

    @property
    def name(self) -> str:
        return self.spec.name

    @property
    def mean_ms(self) -> float:
        return self.median_ms * math.exp(self.latency_sd**2 / 2)

    @property
    def speed_score(self) -> float:
        return max(0.0, 100.0 - min(100.0, self.mean_ms / 100.0))

    @property
    def quality_score(self) -> float:
        return (
            0.4 * 100.0 * (1.0 - self.error_rate)
            + 0.4 * 100.0 * self.satisfaction
            + 0.2 * self.speed_score
        )

    @property
    def cost_per_answer(self) -> float:
        """Expected USD per answered call (failed calls bill nothing here), as the recommender
        counts."""
        return (
            self.input_tokens * self.spec.input_price_per_mtok
            + self.output_tokens * self.spec.output_price_per_mtok
        ) / 1_000_000

    @property
    def cost_per_call(self) -> float:
        """Expected USD per call, failed calls included: the recommender's former cost."""
        return (1.0 - self.error_rate) * self.cost_per_answer


@dataclass(frozen=True)
class Scenario:
    index: int
    task_type: str
    tier: str
    models: tuple[TrueModel, ...]
    rated_share: float
    rules: tuple[str, ...]  # the org's chain for the fallback: these models, in a random order

    def true_scores(self, priority: Priority) -> dict[str, float]:
        """Each model's true score for ``priority``, higher better, in score points."""
        cheapest = min(model.cost_per_answer for model in self.models)
        cost = {
            model.name: 100.0 * (cheapest + FREE_USD) / (model.cost_per_answer + FREE_USD)
            for model in self.models
        }
        if priority == "speed":
            return {model.name: model.speed_score for model in self.models}
        if priority == "cost":
            return cost
        if priority == "quality":
            return {model.name: model.quality_score for model in self.models}
        return {
            model.name: 0.6 * model.quality_score + 0.2 * model.speed_score + 0.2 * cost[model.name]
            for model in self.models
        }

    def true_best(self, priority: Priority) -> str:
        """As ``scores.rank`` orders: the key of the priority, then quality, then the name."""
        if priority == "speed":
            key = {model.name: model.mean_ms for model in self.models}
        elif priority == "cost":
            key = {model.name: model.cost_per_answer for model in self.models}
        else:
            key = {name: -value for name, value in self.true_scores(priority).items()}
        quality = {model.name: model.quality_score for model in self.models}
        return min(key, key=lambda name: (key[name], -quality[name], name))


def draw_scenario(catalog: Catalog, seed: int, index: int) -> Scenario:
    rng = random.Random(f"{seed}/scenario/{index}")  # noqa: S311 - a simulation, not secrets
    specs = rng.sample(list(catalog.models), rng.randint(2, 4))
    prompt = _log_uniform(rng, 100, 4000)
    models = tuple(
        TrueModel(
            spec=spec,
            median_ms=rng.uniform(200, 5000),
            latency_sd=rng.uniform(0.2, 1.0),
            error_rate=rng.uniform(0.0, 0.30),
            satisfaction=rng.uniform(0.30, 0.95),
            input_tokens=prompt * rng.uniform(0.85, 1.15),
            output_tokens=_log_uniform(rng, 50, 2000),
        )
        for spec in specs
    )
    names = [model.name for model in models]
    return Scenario(
        index=index,
        task_type=rng.choice(TASK_TYPES),
        tier=rng.choice(TIERS),
        models=models,
        rated_share=rng.uniform(0.10, 0.30),
        rules=tuple(rng.sample(names, len(names))),
    )


def definition_mismatches(scenario: Scenario) -> int:
    """Models whose true quality or balanced score differs from the library's ``ModelScore`` at
    a billion calls with the true rates (0: the truth here is the recommender's definition)."""
    big = 1_000_000_000
    library = [
        ModelScore(
            model=model.name,
            provider=model.spec.provider,
            samples=big,
            successes=round(big * (1.0 - model.error_rate)),
            judged=big,
            positive=round(big * model.satisfaction),
            avg_ms=model.mean_ms,
            cost_per_answer=model.cost_per_answer,
        )
        for model in scenario.models
    ]
    balanced = balanced_scores(library)
    ours_quality = scenario.true_scores("quality")
    ours_balanced = scenario.true_scores("balanced")
    return sum(
        abs(found.quality_score - ours_quality[found.model]) > 1e-4
        or abs(balanced[found.model] - ours_balanced[found.model]) > 1e-4
        for found in library
    )


def definition_effects(drawn: Sequence[Scenario]) -> dict[str, Any]:
    """What two properties of the definitions do to the truth itself (no sampling involved).

    ``cost_per_call_vs_per_answer``: the share of scenarios whose cheapest model per answered
    call (the recommender's cost) is not the cheapest per call (failed calls billing nothing,
    so a model that fails more looks cheaper).
    ``balanced_pair_flips``: of the pairs of models in scenarios of 3 or more, the share whose
    balanced order changes when the other models are left out (the cost score is relative to
    the cheapest model ranked, so a third model can reorder two others)."""
    cheaper_per_call = sum(
        scenario.true_best("cost") != min(scenario.models, key=lambda m: m.cost_per_call).name
        for scenario in drawn
    )
    pairs = flips = 0
    for scenario in drawn:
        if len(scenario.models) < 3:
            continue
        together = scenario.true_scores("balanced")
        for a, b in itertools.combinations(scenario.models, 2):
            alone = Scenario(scenario.index, scenario.task_type, scenario.tier, (a, b), 0.0, ())
            apart = alone.true_scores("balanced")
            pairs += 1
            flips += (together[a.name] > together[b.name]) != (apart[a.name] > apart[b.name])
    return {
        "cost_per_call_vs_per_answer": round(cheaper_per_call / len(drawn), 3) if drawn else None,
        "balanced_pair_flips": round(flips / pairs, 3) if pairs else None,
        "balanced_pairs": pairs,
    }


# -- the traffic --------------------------------------------------------------------------------


def call_counts(scenario: Scenario, n: int, traffic: str, rng: random.Random) -> list[int]:
    if traffic == "even":
        return [n] * len(scenario.models)
    weights = [rng.gammavariate(1.0, 1.0) for _ in scenario.models]
    total = n * len(scenario.models)
    return [round(total * weight / sum(weights)) for weight in weights]


def simulate(
    scenario: Scenario, counts: Sequence[int], days: Sequence[str], rng: random.Random
) -> MemoryRollupStore:
    """The scenario's calls and ratings as daily rollups in a memory store."""
    spans: dict[str, dict[Series, SeriesRollup]] = {day: {} for day in days}
    serial = 0
    for model, count in zip(scenario.models, counts, strict=True):
        for _ in range(count):
            serial += 1
            day = rng.choice(days)
            success = rng.random() >= model.error_rate
            event = _event(scenario, model, serial, success, rng)
            series = Series.from_event(event)
            rollup = spans[day].setdefault(series, SeriesRollup(series))
            rollup.add_event(event)
            if success and rng.random() < scenario.rated_share:
                thumbs = 1 if rng.random() < model.satisfaction else -1
                rollup.add_feedback({"thumbs": thumbs})
    store = MemoryRollupStore(clock=lambda: NOW)
    for day, rollups in spans.items():
        if rollups:
            store.put_day(ORG, day, list(rollups.values()), Activity())
    return store


def _event(
    scenario: Scenario, model: TrueModel, serial: int, success: bool, rng: random.Random
) -> UsageEvent:
    if success:
        latency = model.median_ms * math.exp(model.latency_sd * rng.gauss())
        input_tokens = _tokens(rng, model.input_tokens)
        output_tokens = _tokens(rng, model.output_tokens)
    else:
        latency, input_tokens, output_tokens = rng.uniform(50, 30_000), 0, 0
    cost = (
        input_tokens * model.spec.input_price_per_mtok
        + output_tokens * model.spec.output_price_per_mtok
    ) / 1_000_000
    return UsageEvent(
        request_id=f"req-{scenario.index}-{serial}",
        org_id=ORG,
        user_id=f"user-{serial % 7}",
        provider=model.spec.provider,
        model=model.name,
        endpoint="stream" if rng.random() < ENDPOINT_STREAM_SHARE else "completions",
        input_tokens=input_tokens,
        output_tokens=output_tokens,
        usage_estimated=False,
        cost_usd=round(cost, 8),
        latency_ms=latency,
        ttft_ms=latency / 4 if success else None,
        success=success,
        error_code=None if success else rng.choice(("upstream_error", "upstream_timeout")),
        finish_reason="stop" if success else "error",
        task_type=scenario.task_type,
        route=scenario.tier,
        tier=scenario.tier,
        conversation_id=f"conv-{serial % 11}",
    )


# -- asking the recommender ---------------------------------------------------------------------


def evaluate(
    catalog: Catalog,
    scenario: Scenario,
    n: int,
    traffic: str,
    *,
    seed: int,
    days: int,
) -> tuple[list[dict[str, Any]], bool]:
    """One decision per priority for ``scenario`` at ``n`` calls a model, and whether
    ``rank_for_routing`` put the balanced recommendation first."""
    rng = random.Random(f"{seed}/calls/{scenario.index}/{traffic}/{n}")  # noqa: S311
    counts = call_counts(scenario, n, traffic, rng)
    window = Window.ending_today(days + 1, now=NOW)
    stored = window.day_names()[:-1]  # whole past days; today has nothing yet
    store = simulate(scenario, counts, stored, rng)

    # As GET /v1/analytics/recommendations?task_type=...&priority=... computes its answer.
    found = read_window(store, ORG, window, Filters(scenario.task_type))
    tier = usual_tier(of_task(found, scenario.task_type))
    scores = scores_for(found, scenario.task_type, catalog)
    rules = [_spec(catalog, name) for name in scenario.rules]
    decisions = []
    for priority in PRIORITIES:
        answer = recommend(
            scores, task_type=scenario.task_type, priority=priority, rules=rules, rules_tier=tier
        )
        decisions.append(
            _decision(scenario, priority, answer=answer, n=n, traffic=traffic, counts=counts)
        )

    advice = rank_for_routing(
        store.days(ORG, window.first.isoformat(), window.last.isoformat()),
        catalog=catalog,
        now=NOW,
    )
    ranked = advice["task_types"].get(scenario.task_type, [])
    balanced = next(d for d in decisions if d["priority"] == "balanced")
    agrees = (ranked[0]["model"] if ranked else None) == (
        balanced["chosen"] if balanced["source"] == "data" else None
    )
    return decisions, agrees


def _decision(
    scenario: Scenario,
    priority: Priority,
    *,
    answer: dict[str, Any],
    n: int,
    traffic: str,
    counts: Sequence[int],
) -> dict[str, Any]:
    truth = scenario.true_scores(priority)
    best = scenario.true_best(priority)
    chosen = answer["model"]
    if chosen not in truth:
        raise RuntimeError(f"scenario {scenario.index}: {chosen!r} is none of its models")
    by_name = {model.name: model for model in scenario.models}
    decision: dict[str, Any] = {
        "n": n,
        "traffic": traffic,
        "priority": priority,
        "models": len(scenario.models),
        "least_calls": min(counts),
        "source": answer["source"],
        "chosen": chosen,
        "best": best,
        "correct": chosen == best,
        "regret": truth[best] - truth[chosen],
        "random_regret": statistics.fmean(truth[best] - value for value in truth.values()),
        "confidence": answer["confidence"],
        # The true best had too few calls to be ranked: no answer from the data could find it.
        "best_unranked": counts[[m.name for m in scenario.models].index(best)] < MIN_SAMPLES,
    }
    if priority == "speed":
        decision["extra_ms"] = by_name[chosen].mean_ms - by_name[best].mean_ms
    if priority == "cost":
        decision["extra_cost_pct"] = 100.0 * (
            (by_name[chosen].cost_per_answer + FREE_USD)
            / (by_name[best].cost_per_answer + FREE_USD)
            - 1.0
        )
    return decision


def run(
    *,
    scenarios: int,
    samples: Sequence[int],
    traffic: Sequence[str] = TRAFFIC,
    seed: int = 13,
    days: int = 7,
    catalog: Catalog | None = None,
) -> dict[str, Any]:
    """The evaluation's figures (what ``main`` publishes, without the metadata)."""
    catalog = catalog or load_catalog()
    drawn = [draw_scenario(catalog, seed, index) for index in range(scenarios)]
    decisions: list[dict[str, Any]] = []
    disagreements = 0
    for kind in traffic:
        for n in samples:
            for scenario in drawn:
                found, agrees = evaluate(catalog, scenario, n, kind, seed=seed, days=days)
                decisions.extend(found)
                disagreements += not agrees
    report: dict[str, Any] = {
        kind: summarise([d for d in decisions if d["traffic"] == kind], samples) for kind in traffic
    }
    calibrated = [d for d in decisions if d["traffic"] == traffic[0] and d["source"] == "data"]
    report["calibration"] = calibration(calibrated, samples) | {"traffic": traffic[0]}
    report["checks"] = {
        "definition_mismatches": sum(definition_mismatches(s) for s in drawn),
        "routing_disagreements": disagreements,
        "decisions": len(decisions),
    }
    report["definitions"] = definition_effects(drawn)
    report["scenarios"] = {
        "count": scenarios,
        "models": {str(k): sum(len(s.models) == k for s in drawn) for k in (2, 3, 4)},
    }
    return report


# -- figures ------------------------------------------------------------------------------------


def summarise(decisions: Sequence[dict[str, Any]], samples: Iterable[int]) -> dict[str, Any]:
    """Per N, then per priority (and ``all`` pooled)."""
    table: dict[str, Any] = {}
    for n in samples:
        at_n = [d for d in decisions if d["n"] == n]
        row: dict[str, Any] = {
            priority: _figures([d for d in at_n if d["priority"] == priority])
            for priority in PRIORITIES
        }
        row["all"] = _figures(at_n)
        table[str(n)] = row
    return table


def _figures(decisions: Sequence[dict[str, Any]]) -> dict[str, Any]:
    if not decisions:
        return {"decisions": 0}
    regrets = sorted(d["regret"] for d in decisions)
    figures: dict[str, Any] = {
        "decisions": len(decisions),
        "accuracy": _share(d["correct"] for d in decisions),
        "chance": round(statistics.fmean(1.0 / d["models"] for d in decisions), 3),
        "near_best": _share(d["regret"] <= NEAR_POINTS for d in decisions),
        "regret_mean": round(statistics.fmean(regrets), 2),
        "regret_p90": round(_quantile(regrets, 0.9), 2),
        "random_regret_mean": round(statistics.fmean(d["random_regret"] for d in decisions), 2),
        "fallback": _share(d["source"] == "rules" for d in decisions),
        "best_unranked": _share(d["best_unranked"] for d in decisions),
        "confidence_mean": round(statistics.fmean(d["confidence"] for d in decisions), 1),
    }
    data = [d for d in decisions if d["source"] == "data"]
    if data and len(data) < len(decisions):
        figures["accuracy_data_answers"] = _share(d["correct"] for d in data)
    if all("extra_ms" in d for d in decisions):
        figures["extra_ms_mean"] = round(statistics.fmean(d["extra_ms"] for d in decisions), 1)
    # A median: beside a free model (``local``) a paid pick costs millions of percent more,
    # which would make any mean that one scenario.
    if all("extra_cost_pct" in d for d in decisions):
        figures["extra_cost_pct_median"] = round(
            statistics.median(d["extra_cost_pct"] for d in decisions), 1
        )
    return figures


def calibration(decisions: Sequence[dict[str, Any]], samples: Iterable[int]) -> dict[str, Any]:
    """Accuracy by confidence bucket, and how well confidence tells right from wrong."""
    buckets = []
    accuracy_by_priority: dict[str, list[float | None]] = {p: [] for p in PRIORITIES}
    for low, high in itertools.pairwise(BUCKETS):
        inside = [
            d
            for d in decisions
            if low <= d["confidence"] < high or (high == BUCKETS[-1] and d["confidence"] == high)
        ]
        for priority, accuracies in accuracy_by_priority.items():
            of_priority = [d["correct"] for d in inside if d["priority"] == priority]
            accuracies.append(_share(of_priority) if of_priority else None)
        buckets.append(
            {
                "confidence": f"{low}-{high}",
                "decisions": len(inside),
                "accuracy": _share(d["correct"] for d in inside) if inside else None,
                "regret_mean": (
                    round(statistics.fmean(d["regret"] for d in inside), 2) if inside else None
                ),
                "n_median": statistics.median(d["n"] for d in inside) if inside else None,
            }
        )
    by_priority = {
        priority: _auc([d for d in decisions if d["priority"] == priority])
        for priority in PRIORITIES
    }
    within_n = {str(n): _auc([d for d in decisions if d["n"] == n]) for n in samples}
    return {
        "buckets": buckets,
        "bucket_accuracy_by_priority": accuracy_by_priority,
        "auc": _auc(decisions),
        "auc_by_priority": by_priority,
        "auc_within_n": within_n,
    }


def _auc(decisions: Sequence[dict[str, Any]]) -> float | None:
    """P(a right answer's confidence > a wrong one's), ties half (Mann-Whitney)."""
    right = sum(bool(d["correct"]) for d in decisions)
    wrong = len(decisions) - right
    if not right or not wrong:
        return None
    ordered = sorted(decisions, key=lambda d: d["confidence"])
    rank_sum, place = 0.0, 0
    while place < len(ordered):
        end = place
        while end < len(ordered) and ordered[end]["confidence"] == ordered[place]["confidence"]:
            end += 1
        mid_rank = (place + 1 + end) / 2
        rank_sum += mid_rank * sum(bool(d["correct"]) for d in ordered[place:end])
        place = end
    return round((rank_sum - right * (right + 1) / 2) / (right * wrong), 3)


def table(report: dict[str, Any], samples: Sequence[int], traffic: Sequence[str]) -> str:
    lines = []
    for kind in traffic:
        lines.append(f"{kind} traffic: accuracy / chance / mean regret (points) / fallback")
        lines.append(f"{'N':>5}  " + "  ".join(f"{p:<24}" for p in PRIORITIES))
        for n in samples:
            row = report[kind][str(n)]
            cells = [
                f"{row[p]['accuracy']:.2f}/{row[p]['chance']:.2f}/{row[p]['regret_mean']:5.2f}"
                f"/{row[p]['fallback']:.2f}"
                for p in PRIORITIES
            ]
            lines.append(f"{n:>5}  " + "  ".join(f"{cell:<24}" for cell in cells))
    lines.append("confidence bucket: decisions, accuracy, mean regret")
    for bucket in report["calibration"]["buckets"]:
        accuracy = "-" if bucket["accuracy"] is None else f"{bucket['accuracy']:.2f}"
        regret = "-" if bucket["regret_mean"] is None else f"{bucket['regret_mean']:.2f}"
        lines.append(
            f"  {bucket['confidence']:>7}: {bucket['decisions']:>6}  {accuracy:>5}  {regret}"
        )
    for priority, accuracies in report["calibration"]["bucket_accuracy_by_priority"].items():
        shown = " ".join("  -  " if a is None else f"{a:.2f}" for a in accuracies)
        lines.append(f"  {priority:>8} accuracy by bucket: {shown}")
    calibrated = report["calibration"]
    lines.append(f"auc {calibrated['auc']}, within N {calibrated['auc_within_n']}")
    lines.append(f"definitions: {report['definitions']}")
    return "\n".join(lines)


def _share(flags: Iterable[bool]) -> float:
    values = list(flags)
    return round(sum(values) / len(values), 3)


def _quantile(ordered: Sequence[float], q: float) -> float:
    return ordered[min(len(ordered) - 1, math.floor(q * len(ordered)))]


def _log_uniform(rng: random.Random, low: float, high: float) -> float:
    return math.exp(rng.uniform(math.log(low), math.log(high)))


def _tokens(rng: random.Random, mean: float) -> int:
    return max(1, round(mean * math.exp(TOKEN_SD * rng.gauss() - TOKEN_SD**2 / 2)))


def _spec(catalog: Catalog, name: str) -> ModelSpec:
    spec = catalog.get(name)
    assert spec is not None
    return spec


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scenarios", type=int, default=500)
    parser.add_argument("--samples", type=int, nargs="+", default=list(DEFAULT_SAMPLES))
    parser.add_argument("--traffic", choices=(*TRAFFIC, "both"), default="both")
    parser.add_argument("--days", type=int, default=7)
    parser.add_argument("--seed", type=int, default=13)
    args = parser.parse_args()
    if not 10 <= args.scenarios <= 5000:
        parser.error("--scenarios is 10-5000")
    if not all(1 <= n <= 1000 for n in args.samples) or len(args.samples) > 10:
        parser.error("--samples takes up to 10 values, each 1-1000")
    if not 1 <= args.days <= 30 or not 0 <= args.seed < 2**31:
        parser.error("--days is 1-30 and --seed 0 to 2**31 - 1")
    samples = sorted(set(args.samples))
    traffic = TRAFFIC if args.traffic == "both" else (args.traffic,)

    started = time.perf_counter()
    report = run(
        scenarios=args.scenarios, samples=samples, traffic=traffic, seed=args.seed, days=args.days
    )
    elapsed = time.perf_counter() - started
    print(table(report, samples, traffic), file=sys.stderr)
    return publish(
        {
            "metadata": {
                "python": platform.python_version(),
                "machine": platform.machine(),
                "cpus": os.cpu_count(),
                "timestamp": datetime.now(UTC).isoformat(timespec="seconds"),
                "scenarios": args.scenarios,
                "samples": samples,
                "days": args.days,
                "seed": args.seed,
                "seconds": round(elapsed, 1),
                "method": "see bench/recommender_eval.py's docstring",
            },
            **report,
        },
        RESULTS,
    )


if __name__ == "__main__":
    sys.exit(main())
