"""What a user's recent choices say about their preferences: weighing and confidence, no I/O.

Each user message may carry the ``panel`` its form belonged to and the ``choices`` it used
(``{"defaultStyle": "watercolor"}`` for ``pictures``). Each choice is evidence about the field
``"<panel>.<field>"``; ``estimate_preferences`` weighs it in four steps (docs/operations.md,
"learn-preferences", has the same with examples).

1. **Recency.** A message's weight halves every ``HALF_LIFE_DAYS`` (7) days of age and every
   ``h`` newer messages of the same field::

       r = 2 ** -(age_days / 7) * 2 ** -(newer / h)

   ``h`` is chosen per user and field from ``HALF_LIFE_GRID`` (10, 20, 40, 80 messages, and
   inf: no decay) by how well it predicts the user's own history (prequential, one step
   ahead): for each candidate, each message's choice is predicted from the weighted counts of
   the messages before it (weights as of that message, counts as in step 3, a uniform
   Dirichlet prior), ``P = (1 + c_choice) / (K + sum(c))``, and the log-probabilities are
   summed. A shorter half-life is chosen only when its sum beats the longer ones' best by
   ``SHORTER_MEMORY_MARGIN`` (1 nat: a Bayes factor of e), so ties, one message or one
   option only mean no decay. Without the margin chance decides: on a steady history with
   45% of noise the shortest half-life predicts best by a fraction of a nat about half the
   time, and half of that user's evidence is thrown away. A steady or noisy user keeps their
   whole history as evidence; a changed taste (15 messages, then 10 of another option:
   3 nats) is predicted best by a short half-life, and its new regime wins.
   The grid doubles from about ten messages (a half-life of ``h`` keeps at most
   ``1 / (1 - 2 ** -1/h)``, about ``1.44 h``, effective messages: 15 at ``h = 10``, so a
   shorter one could never clear the evidence bound of step 4 with a many-option prior) past
   the job's 100-message window to no decay; doubling steps because a few dozen messages
   cannot tell half-lives closer than that apart. The selection's prior has ``K`` = the
   options seen (at least ``MIN_OPTIONS``), not those declared: twelve declared options are
   twelve pseudo-messages, which would swamp a short half-life's evidence and favour no decay
   whatever the user did. Time stays a fixed decay, inside the predictions too: the job reads
   30 days, and a user's messages rarely span enough weeks to select a time scale apart from
   the message one (at a steady rate the two are the same). Age is measured from the user's
   newest message, not from the clock: an estimate changes only when the user does
   something, so an idle user's item is not rewritten every hour.
2. **Feedback.** A reply the user liked (thumbs up, or a rating of 4 or more) doubles its
   message's support for its choices; one they disliked (thumbs down, or a rating of 2 or
   less) counts against them (support ``-r``), and an option's support is floored at 0. So a
   value whose replies were rated down is never learned from them. Feedback changes support,
   never the amount of evidence.
3. **Evidence.** The effective number of messages ``n`` is the sum of the recency weights of
   the field's messages that were not disliked (so ``n`` is at most the number of messages).
   Each option's effective count is its support, scaled down when likes made the supports
   add up to more than ``n``: ``c_j = s_j * min(1, n / sum(s))``. A like therefore makes its
   option win a larger share of the evidence, never more evidence; and the evidence a
   dislike cancels goes to no other option.
4. **Confidence.** With a uniform Dirichlet prior over the field's ``K`` options (the options
   the panel declares, when it does, else those seen; at least ``MIN_OPTIONS``), the posterior
   is ``Dirichlet(1 + c_1, ..., 1 + c_K)`` (the job passes the declared counts) and::

       confidence = min(P(the top option is the user's most likely choice), (n + 1) / (n + 3))

   with ``n`` here the evidence counted, ``sum(c)``. The first term is exact (one numeric
   integral over Gamma densities). The second bounds it by the amount of evidence: it is
   what ``n`` unanimous messages say about the next choice
   under a three-option prior, so fewer than 8 messages never give more than 0.8, and the
   ``CEILING`` of 0.95 is out of reach of fewer than 37 (full-weight) messages. The figure
   is rounded down to three places, so the bound holds of it too.

A field is learned when its confidence is above ``FLOOR`` (0.5): when the top option is more
likely the user's favourite than not, so a pre-filled value is right more often than it
is wrong (and the user changes it with one pick when it is not). That is also the margin
over the runner-up: two options near a tie each have a probability of at most about half,
and a plurality too thin for the number of messages stays under it; no separate margin
constant is needed. The issue's plurality (anime 4 times, three others twice each, twelve
styles declared) is 0.527: learned, with the confidence saying how little 10 messages tell.
Each estimate also keeps the number of messages behind it and the support of its
``SUPPORT_KEPT`` best options, to explain it later.

Values compare by type and value (``True`` is not ``1``); lists compare as sorted tuples,
so ``["x", "instagram"]`` and ``["instagram", "x"]`` are one choice, learned as the sorted
list. Anything else (objects, null, lists of non-strings) is not a choice and is ignored.
"""

from __future__ import annotations

import itertools
import json
import math
from collections import defaultdict
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, TypeGuard

if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping

__all__ = [
    "CEILING",
    "DISLIKED",
    "FLOOR",
    "HALF_LIFE_DAYS",
    "HALF_LIFE_GRID",
    "LIKED",
    "LIKED_WEIGHT",
    "MIN_OPTIONS",
    "NEUTRAL",
    "SHORTER_MEMORY_MARGIN",
    "SUPPORT_KEPT",
    "ChoiceRecord",
    "Estimate",
    "FieldEvidence",
    "LearnableValue",
    "confidence",
    "estimate_fields",
    "estimate_preferences",
    "evidence_bound",
    "is_negative",
    "is_positive",
    "option_label",
    "probability_top_is_preferred",
    "sentiment",
]

FLOOR = 0.5
CEILING = 0.95
HALF_LIFE_DAYS = 7.0
# Per-message half-lives tried for each user and field (inf: no decay), in doubling steps.
HALF_LIFE_GRID: tuple[float, ...] = (10.0, 20.0, 40.0, 80.0, math.inf)
# Nats a shorter half-life must predict the history better by than every longer one: a
# Bayes factor of e, so chance (which favours a short memory about half the time on a steady
# but noisy history, by a fraction of a nat) does not throw away a user's older evidence.
SHORTER_MEMORY_MARGIN = 1.0
LIKED_WEIGHT = 2.0
MIN_OPTIONS = 3
SUPPORT_KEPT = 3
LIKED, NEUTRAL, DISLIKED = 1, 0, -1

_DAY_MS = 86_400_000
_GRID = 1_000  # points of the numeric integral

LearnableValue = str | int | float | bool | list[str]

# (type name, hashable value): keeps True apart from 1 and lists comparable.
_Key = tuple[str, Any]


@dataclass(frozen=True)
class ChoiceRecord:
    """One user message's form choices, what its reply's feedback said (``LIKED``,
    ``NEUTRAL`` or ``DISLIKED``) and when it was sent (epoch ms, None when unknown: then it is
    as old as the user's newest message)."""

    panel: str
    choices: Mapping[str, Any]
    feedback: int = NEUTRAL
    at_ms: int | None = None


@dataclass(frozen=True)
class FieldEvidence:
    """What one field's messages say, learned or not."""

    value: LearnableValue  # the option with the most support
    confidence: float
    messages: int  # messages that chose a value for the field, disliked ones included
    evidence: float  # n: the recency-weighted messages not disliked
    support: dict[str, float] = field(default_factory=dict)  # option label -> net support
    half_life: float = math.inf  # the per-message half-life chosen (inf: no decay)

    @property
    def learned(self) -> bool:
        return self.confidence > FLOOR


@dataclass(frozen=True)
class Estimate:
    value: LearnableValue
    confidence: float
    messages: int
    support: dict[str, float] = field(default_factory=dict)

    @property
    def samples(self) -> int:
        """The older name of ``messages`` (what the stored ``samples`` holds)."""
        return self.messages


def is_positive(feedback: Mapping[str, Any] | None) -> bool:
    """Positive feedback on a reply: thumbs up, or a rating of 4 or more."""
    if not feedback:
        return False
    thumbs, rating = feedback.get("thumbs"), feedback.get("rating")
    if _is_number(thumbs) and thumbs == 1:
        return True
    # bool is an int: a rating of True is not a 1 (nor a thumbs up).
    return _is_number(rating) and rating >= 4


def is_negative(feedback: Mapping[str, Any] | None) -> bool:
    """Negative feedback on a reply: thumbs down, or a rating of 2 or less; feedback that is
    also positive (a thumbs down with a rating of 5) is not negative."""
    if not feedback or is_positive(feedback):
        return False
    thumbs, rating = feedback.get("thumbs"), feedback.get("rating")
    if _is_number(thumbs) and thumbs == -1:
        return True
    return _is_number(rating) and rating <= 2


def sentiment(feedback: Mapping[str, Any] | None) -> int:
    if is_positive(feedback):
        return LIKED
    return DISLIKED if is_negative(feedback) else NEUTRAL


def evidence_bound(evidence: float) -> float:
    """The most ``evidence`` effective messages may say: ``(n + 1) / (n + 3)``."""
    return (evidence + 1) / (evidence + 3) if evidence > 0 else 0.0


def probability_top_is_preferred(alphas: list[float]) -> float:
    """P(theta_0 is the largest component) for theta ~ Dirichlet(alphas), every alpha >= 1.

    theta is a normalised vector of independent Gamma(alpha_j) variables, so this is
    P(G_0 > G_j for every j > 0) = integral of g_0(x) * prod_j G_j(x) dx, integrated on a
    grid with the cumulative distributions built from the densities on the same grid."""
    if len(alphas) <= 1:
        return 1.0
    top = max(alphas)
    upper = top + 12 * math.sqrt(top) + 12
    step = upper / _GRID
    xs = [index * step for index in range(_GRID + 1)]
    densities = [_gamma_densities(alpha, xs) for alpha in alphas]
    cumulative = [_cumulative(values, step) for values in densities[1:]]
    integrand = [
        densities[0][index] * math.prod(cdf[index] for cdf in cumulative)
        for index in range(len(xs))
    ]
    return min(1.0, max(0.0, _cumulative(integrand, step)[-1]))


def confidence(counts: list[float], options: int | None = None) -> float:
    """The confidence of the first of ``counts`` (effective counts per option, the top one
    first), with ``options`` the number the panel declares; rounded down to three places."""
    evidence = sum(counts)
    if evidence <= 0:
        return 0.0
    size = max(MIN_OPTIONS, len(counts), options or 0)
    alphas = [1 + count for count in counts] + [1.0] * (size - len(counts))
    raw = min(probability_top_is_preferred(alphas), evidence_bound(evidence))
    # Rounded down, so that the evidence bound holds of the reported figure too.
    return math.floor(min(CEILING, raw) * 1000 + 1e-9) / 1000


def estimate_fields(
    records: Iterable[ChoiceRecord], *, options: Mapping[str, int] | None = None
) -> dict[str, FieldEvidence]:
    """Every field the records chose a value for, by path, learned or not. ``records`` are
    the user's messages, in any order; ``options``: the number of options a field declares."""
    listed = list(records)
    times = [record.at_ms for record in listed if record.at_ms is not None]
    newest = max(times, default=0)
    # Newest first; messages of unknown time keep their order, as the newest.
    ordered = sorted(
        enumerate(listed),
        key=lambda pair: (-(pair[1].at_ms if pair[1].at_ms is not None else newest), pair[0]),
    )
    fields: dict[str, _Field] = defaultdict(_Field)
    for _, record in ordered:
        if not record.panel:
            continue
        at = record.at_ms if record.at_ms is not None else newest
        age_days = max(0, newest - at) / _DAY_MS
        for name, value in record.choices.items():
            key = _vote_key(value)
            if key is not None and name:
                fields[f"{record.panel}.{name}"].add(key, age_days, record.feedback)
    declared = options or {}
    return {path: fields[path].evidence(declared.get(path)) for path in sorted(fields)}


def estimate_preferences(
    records: Iterable[ChoiceRecord], *, options: Mapping[str, int] | None = None
) -> dict[str, Estimate]:
    """The fields the records support (confidence above ``FLOOR``), by path."""
    return {
        path: Estimate(found.value, found.confidence, found.messages, found.support)
        for path, found in estimate_fields(records, options=options).items()
        if found.learned
    }


def option_label(value: LearnableValue) -> str:
    """An option as a key of ``support``: a string as itself, anything else as JSON."""
    return value if isinstance(value, str) else json.dumps(value, separators=(",", ":"))


class _Field:
    """One field's messages, newest first, and what they say."""

    def __init__(self) -> None:
        self.entries: list[tuple[_Key, float, int]] = []  # (choice, age in days, feedback)

    def add(self, key: _Key, age_days: float, feedback: int) -> None:
        self.entries.append((key, age_days, feedback))

    def evidence(self, declared: int | None) -> FieldEvidence:
        chronological = self.entries[::-1]
        # The selection's prior: the options seen (at least MIN_OPTIONS), not those declared:
        # a uniform prior over 12 declared options is 12 pseudo-messages, which outweighs a
        # short half-life's ~14 effective ones and would favour no decay whatever the user did.
        size = max(MIN_OPTIONS, len({key for key, _, _ in chronological}))
        best: tuple[float, float, _Weighed] | None = None
        for half_life in sorted(HALF_LIFE_GRID, reverse=True):  # longest first: it wins ties
            score, weighed = _prequential(chronological, half_life, size)
            if best is None or score > best[0] + SHORTER_MEMORY_MARGIN:
                best = (score, half_life, weighed)
        assert best is not None  # the grid is not empty
        _, half_life, (support, n) = best
        # Sorted first so that the pick among equal supports is deterministic.
        ranked = sorted(support.items(), key=lambda kv: (-kv[1], repr(kv[0])))
        positive = sum(max(0.0, weight) for _, weight in ranked)
        scale = min(1.0, n / positive) if positive else 0.0
        counts = [scale * max(0.0, weight) for _, weight in ranked]
        score = confidence(counts, declared) if positive else 0.0
        return FieldEvidence(
            value=_value(ranked[0][0]),
            confidence=score,
            messages=len(self.entries),
            evidence=round(n, 3),
            support={
                option_label(_value(key)): round(weight, 3) for key, weight in ranked[:SUPPORT_KEPT]
            },
            half_life=half_life,
        )


# A field's supports by option and its evidence n, weighed as of its newest message.
_Weighed = tuple[dict[_Key, float], float]


def _prequential(
    chronological: list[tuple[_Key, float, int]], half_life: float, size: int
) -> tuple[float, _Weighed]:
    """The log-likelihood of each (not disliked) choice predicted from the messages before it,
    weighed with ``half_life`` as of that choice, under the ``size``-option Dirichlet prior;
    and the supports and evidence as of the newest message (what the estimate uses)."""
    per_message = 2 ** (-1 / half_life)  # 1.0 for no decay
    support: dict[_Key, float] = defaultdict(float)
    n = 0.0
    score = 0.0
    previous_age: float | None = None
    for key, age_days, feedback in chronological:
        if previous_age is not None:
            decay = per_message * 2 ** -(max(0.0, previous_age - age_days) / HALF_LIFE_DAYS)
            if decay != 1.0:
                for option in support:
                    support[option] *= decay
                n *= decay
        previous_age = age_days
        if feedback != DISLIKED:
            positive = sum(weight for weight in support.values() if weight > 0)
            scale = min(1.0, n / positive) if positive else 0.0
            count = scale * max(0.0, support.get(key, 0.0))
            score += math.log((1 + count) / (size + scale * positive))
        if feedback == DISLIKED:
            support[key] -= 1.0
            continue
        support[key] += LIKED_WEIGHT if feedback == LIKED else 1.0
        n += 1.0
    return score, (dict(support), n)


def _gamma_densities(alpha: float, xs: list[float]) -> list[float]:
    log_norm = math.lgamma(alpha)
    return [
        math.exp((alpha - 1) * math.log(x) - x - log_norm) if x > 0 else (1.0 if alpha == 1 else 0)
        for x in xs
    ]


def _cumulative(values: list[float], step: float) -> list[float]:
    """Trapezoid running integral of ``values`` on an even grid."""
    total, out = 0.0, [0.0]
    for left, right in itertools.pairwise(values):
        total += (left + right) * step / 2
        out.append(total)
    return out


def _vote_key(value: Any) -> _Key | None:
    if isinstance(value, bool):
        return ("bool", value)
    if isinstance(value, int | float):
        return ("number", value)
    if isinstance(value, str):
        return ("str", value) if value else None
    if isinstance(value, list) and all(isinstance(item, str) for item in value):
        return ("list", tuple(sorted(value)))
    return None


def _value(key: _Key) -> LearnableValue:
    kind, value = key
    if kind == "list":
        return list(value)
    result: LearnableValue = value
    return result


def _is_number(value: object) -> TypeGuard[int | float]:
    return isinstance(value, int | float) and not isinstance(value, bool)
