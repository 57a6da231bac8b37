"""What a user's recent choices say about their preferences: weighing and confidence, no I/O.

Each user message may carry the ``panel`` its form belonged to and the ``choices`` it used
(``{"defaultStyle": "watercolor"}`` for ``pictures``). Each choice is evidence about the field
``"<panel>.<field>"``; ``estimate_preferences`` weighs it in four steps (docs/operations.md,
"learn-preferences", has the same with examples).

1. **Recency.** A message's weight halves every ``HALF_LIFE_DAYS`` (7) days of age and every
   ``HALF_LIFE_MESSAGES`` (10) newer messages of the same field::

       r = 2 ** -(age_days / 7) * 2 ** -(newer / 10)

   Age is measured from the user's newest message, not from the clock: an estimate changes
   only when the user does something, so an idle user's item is not rewritten every hour. The
   per-message half-life makes a changed taste win even when every message is of one day:
   after ``m`` consistent new choices the old ones, however many, weigh at most ``2 ** -m/10``
   against ``1 - 2 ** -m/10``, so ten or more new choices always outweigh any history.
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
   is ``Dirichlet(1 + c_1, ..., 1 + c_K)`` and::

       confidence = min(P(the top option is the user's most likely choice), (n + 1) / (n + 3))

   with ``n`` here the evidence counted, ``sum(c)``. The first term is exact (one numeric
   integral over Gamma densities). The second bounds it by the amount of evidence: it is
   what ``n`` unanimous messages say about the next choice
   under a three-option prior, so fewer than 8 messages never give more than 0.8, and the
   ``CEILING`` of 0.95 is out of reach of fewer than 37 (full-weight) messages.

A field is learned when its confidence is above ``FLOOR`` (0.6). That is also the margin over
the runner-up: the top option must be the user's most likely choice with probability above
0.6 given the evidence, so a near tie, or a plurality too thin for the number of messages,
learns nothing; no separate margin constant is needed. Each estimate also keeps the number of
messages behind it and the support of its ``SUPPORT_KEPT`` best options, to explain it later.

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
    "HALF_LIFE_MESSAGES",
    "LIKED",
    "LIKED_WEIGHT",
    "MIN_OPTIONS",
    "NEUTRAL",
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

FLOOR = 0.6
CEILING = 0.95
HALF_LIFE_DAYS = 7.0
HALF_LIFE_MESSAGES = 10.0
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
    first), with ``options`` the number the panel declares; rounded to three places."""
    evidence = sum(counts)
    if evidence <= 0:
        return 0.0
    size = max(MIN_OPTIONS, len(counts), options or 0)
    alphas = [1 + count for count in counts] + [1.0] * (size - len(counts))
    raw = min(probability_top_is_preferred(alphas), evidence_bound(evidence))
    return round(min(CEILING, raw), 3)


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
    def __init__(self) -> None:
        self.support: dict[_Key, float] = defaultdict(float)
        self.messages = 0
        self.evidence_total = 0.0

    def add(self, key: _Key, age_days: float, feedback: int) -> None:
        weight = 2 ** -(age_days / HALF_LIFE_DAYS) * 2 ** -(self.messages / HALF_LIFE_MESSAGES)
        self.messages += 1
        if feedback == DISLIKED:
            self.support[key] -= weight
            return
        self.support[key] += LIKED_WEIGHT * weight if feedback == LIKED else weight
        self.evidence_total += weight

    def evidence(self, declared: int | None) -> FieldEvidence:
        # Sorted first so that the pick among equal supports is deterministic.
        ranked = sorted(self.support.items(), key=lambda kv: (-kv[1], repr(kv[0])))
        positive = sum(max(0.0, weight) for _, weight in ranked)
        n = self.evidence_total
        scale = min(1.0, n / positive) if positive else 0.0
        counts = [scale * max(0.0, weight) for _, weight in ranked]
        score = confidence(counts, declared) if positive else 0.0
        return FieldEvidence(
            value=_value(ranked[0][0]),
            confidence=score,
            messages=self.messages,
            evidence=round(n, 3),
            support={
                option_label(_value(key)): round(weight, 3) for key, weight in ranked[:SUPPORT_KEPT]
            },
        )


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
