"""The recommender's figures: one model's scores for one task type, and their ranking by a
priority. The recommendations API and the routing advice (``recommender``) both use these.

Per model, from the merge of its rollups (every figure 0-100 unless said):

    samples          provider calls (cache hits are not the model's work)
    success rate     successes / calls
    satisfaction     positive / judged: a figure, as the API shows it (``satisfactionRate``)
    satisfaction score
                     the estimate the quality score weighs: the posterior mean of the positive
                     share under a Beta prior worth ``SATISFACTION_PRIOR_WEIGHT`` (2) ratings
                     centred on m, the task type's pooled share over all its models
                     (``with_satisfaction_prior``), (positive + 2 m) / (judged + 2). A model's
                     few ratings are pulled towards what the task type's replies get; many
                     speak for themselves (1% of the way at 200 ratings). With no rating it is
                     m; with nothing judged for the task type m is ``NEUTRAL_SATISFACTION``
                     (50), so an unrated model is neither rewarded nor punished against rated
                     ones. The weight is the uniform Beta(1, 1)'s, the pseudo-vote each way the
                     confidence below already smooths with, only re-centred: a convention
                     chosen before measuring, not fitted
    speed score      max(0, 100 - min(100, mean latency ms / 100)): 0 at 10 s or slower
    quality score    40% success rate + 40% satisfaction score + 20% speed score
    cost per answer what it costs to get an answer: the calls' tokens at the catalog's prices
                     (the recorded cost for a model the catalog no longer lists), in USD, over
                     the answered calls. A failed call bills little or nothing, so dividing by
                     every call would make a model look cheaper the more it fails; what is
                     spent on failures is part of each answer's price. None (ranked last on
                     cost, cost score 0) for a model with no answered call: it is not free,
                     it gives nothing for any price
    confidence       50% sample score + 30% reliability + 20% satisfaction consistency:
                     sample score = 100 n / (n + 30): half way at 30 calls, 77 at 100, 97 at
                     1,000, so more data always helps and never ends;
                     reliability = the success rate;
                     consistency = 100 (1 - se / se0), se the standard error of the positive
                     share with one pseudo-vote each way, ((p + 1) / (j + 2) over j + 2
                     judgements), and se0 its value with no judgement: 0 with none, rising as
                     judgements accumulate and agree (91 at 100 judgements 90% positive).
                     It is the model's, whatever the priority, and says nothing of the gap to
                     the runner-up (see the README)

A model is ranked only with at least ``MIN_SAMPLES`` calls for the task type. Priorities:

    speed      the lowest mean latency first
    quality    the highest quality score first
    cost       the lowest cost per answer first
    balanced   60% quality score + 20% speed score + 20% cost score, the cost score being
               100 x cheapest / this model's cost per answer among the models ranked (a model
               twice the cheapest's cost scores 50): quality leads, as it already weighs
               success, satisfaction and speed, and speed and cost break what it leaves close.
               The cost score is relative to the cheapest model ranked, so adding or removing
               a model can reorder two others

Ties go to the higher quality score, then the model's name, so a ranking is deterministic.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any, Literal

from parley.analytics.metrics import avg_ms, milliseconds
from parley.analytics.series import UNKNOWN

if TYPE_CHECKING:
    from collections.abc import Iterable, Sequence

    from parley.analytics.rollup import SeriesRollup
    from parley.providers.catalog import Catalog

__all__ = [
    "MIN_SAMPLES",
    "PRIORITIES",
    "ModelScore",
    "Priority",
    "balanced_scores",
    "rank",
    "score",
    "with_satisfaction_prior",
]

Priority = Literal["speed", "quality", "cost", "balanced"]
PRIORITIES: tuple[Priority, ...] = ("speed", "quality", "cost", "balanced")

MIN_SAMPLES = 5
NEUTRAL_SATISFACTION = 50.0
# The prior's weight, in ratings, behind the satisfaction score: the uniform Beta(1, 1)'s.
SATISFACTION_PRIOR_WEIGHT = 2.0
SAMPLE_HALF_WAY = 30
QUALITY_WEIGHTS = {"success": 0.4, "satisfaction": 0.4, "speed": 0.2}
CONFIDENCE_WEIGHTS = {"samples": 0.5, "reliability": 0.3, "consistency": 0.2}
BALANCED_WEIGHTS = {"quality": 0.6, "speed": 0.2, "cost": 0.2}
# A cost per answer this small is free: keeps the cost score defined beside a model that
# costs nothing (the offline one).
_FREE_USD = 1e-9
# The standard error of the smoothed positive share with no judgement: sqrt(0.25 / 2).
_SE_WITHOUT_JUDGEMENTS = math.sqrt(0.25 / 2)


@dataclass(frozen=True)
class ModelScore:
    model: str
    provider: str
    samples: int
    successes: int
    judged: int
    positive: int
    avg_ms: float | None
    cost_per_answer: float | None  # USD per answered call; None without an answer
    errors: dict[str, int] = field(default_factory=dict)
    # The centre (0-100) of the satisfaction score's prior: the task type's pooled positive
    # share (``with_satisfaction_prior``); None: ``NEUTRAL_SATISFACTION``.
    satisfaction_prior: float | None = None

    @property
    def success_rate(self) -> float | None:
        return 100.0 * self.successes / self.samples if self.samples else None

    @property
    def satisfaction_rate(self) -> float | None:
        return 100.0 * self.positive / self.judged if self.judged else None

    @property
    def satisfaction_score(self) -> float:
        """The positive share's posterior mean (0-100), shrunk towards the prior's centre."""
        prior = self.satisfaction_prior
        centre = NEUTRAL_SATISFACTION if prior is None else prior
        weight = SATISFACTION_PRIOR_WEIGHT
        return (100.0 * self.positive + weight * centre) / (self.judged + weight)

    @property
    def speed_score(self) -> float:
        if self.avg_ms is None:
            return 0.0
        return max(0.0, 100.0 - min(100.0, self.avg_ms / 100.0))

    @property
    def quality_score(self) -> float:
        return (
            QUALITY_WEIGHTS["success"] * (self.success_rate or 0.0)
            + QUALITY_WEIGHTS["satisfaction"] * self.satisfaction_score
            + QUALITY_WEIGHTS["speed"] * self.speed_score
        )

    @property
    def confidence(self) -> float:
        samples = 100.0 * self.samples / (self.samples + SAMPLE_HALF_WAY)
        share = (self.positive + 1) / (self.judged + 2)
        error = math.sqrt(share * (1 - share) / (self.judged + 2))
        consistency = 100.0 * max(0.0, 1.0 - error / _SE_WITHOUT_JUDGEMENTS)
        value = (
            CONFIDENCE_WEIGHTS["samples"] * samples
            + CONFIDENCE_WEIGHTS["reliability"] * (self.success_rate or 0.0)
            + CONFIDENCE_WEIGHTS["consistency"] * consistency
        )
        return min(100.0, max(0.0, value))

    @property
    def error_rate(self) -> float | None:
        return 100.0 * (self.samples - self.successes) / self.samples if self.samples else None

    @property
    def ranked(self) -> bool:
        """Enough calls to be ranked."""
        return self.samples >= MIN_SAMPLES and self.model != UNKNOWN

    def metrics(self) -> dict[str, Any]:
        """As the recommendations API shows them (no quality score without a call)."""
        return {
            "avgResponseTime": milliseconds(self.avg_ms),
            "successRate": _rounded(self.success_rate),
            "satisfactionRate": _rounded(self.satisfaction_rate),
            "qualityScore": round(self.quality_score, 2) if self.samples else None,
            "costPerAnswer": (
                None if self.cost_per_answer is None else round(self.cost_per_answer, 8)
            ),
            "sampleSize": self.samples,
        }


def score(rollup: SeriesRollup, catalog: Catalog) -> ModelScore:
    """The scores of the model ``rollup`` is the merge of (its series names the model)."""
    series = rollup.series
    return ModelScore(
        model=series.model,
        provider=series.provider,
        samples=rollup.calls,
        successes=rollup.successes,
        judged=rollup.judged,
        positive=rollup.positive,
        avg_ms=avg_ms(rollup),
        cost_per_answer=_cost_per_answer(rollup, catalog),
        errors=dict(rollup.errors),
    )


def with_satisfaction_prior(scores: Sequence[ModelScore]) -> list[ModelScore]:
    """``scores`` (every model seen for one task type) with their satisfaction prior centred on
    the pooled positive share of all their judged replies (none judged: the neutral prior)."""
    judged = sum(found.judged for found in scores)
    centre = 100.0 * sum(found.positive for found in scores) / judged if judged else None
    return [replace(found, satisfaction_prior=centre) for found in scores]


def rank(scores: Iterable[ModelScore], priority: Priority) -> list[ModelScore]:
    """The models with enough calls, best first for ``priority``."""
    ranked = [found for found in scores if found.ranked]
    if priority == "balanced":
        balanced = balanced_scores(ranked)
        return sorted(ranked, key=lambda s: (-balanced[s.model], -s.quality_score, s.model))
    if priority == "speed":
        return sorted(ranked, key=lambda s: (_or_inf(s.avg_ms), -s.quality_score, s.model))
    if priority == "cost":
        return sorted(ranked, key=lambda s: (_or_inf(s.cost_per_answer), -s.quality_score, s.model))
    return sorted(ranked, key=lambda s: (-s.quality_score, s.model))


def balanced_scores(scores: Sequence[ModelScore]) -> dict[str, float]:
    """Each model's balanced score (0-100) among ``scores``, by model name."""
    costs = [s.cost_per_answer for s in scores if s.cost_per_answer is not None]
    cheapest = min(costs, default=0.0)
    return {
        s.model: BALANCED_WEIGHTS["quality"] * s.quality_score
        + BALANCED_WEIGHTS["speed"] * s.speed_score
        + BALANCED_WEIGHTS["cost"] * _cost_score(s.cost_per_answer, cheapest)
        for s in scores
    }


def _cost_score(cost: float | None, cheapest: float) -> float:
    if cost is None:
        return 0.0
    return 100.0 * (cheapest + _FREE_USD) / (cost + _FREE_USD)


def _cost_per_answer(rollup: SeriesRollup, catalog: Catalog) -> float | None:
    """Every call's cost over the answered calls; None without an answered call."""
    if not rollup.successes:
        return None
    spec = catalog.get(rollup.series.model)
    if spec is None:
        return rollup.cost_usd / rollup.successes
    cost = (
        rollup.input_tokens * spec.input_price_per_mtok
        + rollup.output_tokens * spec.output_price_per_mtok
    ) / 1_000_000
    return cost / rollup.successes


def _rounded(value: float | None) -> float | None:
    return None if value is None else round(value, 2)


def _or_inf(value: float | None) -> float:
    return math.inf if value is None else value
