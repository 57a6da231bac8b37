"""What a user's recent choices say about their preferences: counting and confidence, no I/O.

Each user message may carry the ``panel`` its form belonged to and the ``choices`` it used
(``{"defaultStyle": "watercolor"}`` for ``pictures``). Every choice is one vote for the value
of the field ``"<panel>.<field>"``; a message whose reply got positive feedback (thumbs up,
or a rating of 4 or more) votes twice, since the user liked what that choice produced.

For each field, with ``n`` the weighted votes it received and ``s`` the top value's share of
them::

    dominance  = max(0, 2s - 1)           # 0 at an even split (or worse), 1 when unanimous
    evidence   = min(1, n / FULL_EVIDENCE) # grows with votes, full at 10 weighted votes
    confidence = 0.6 + 0.35 * dominance * evidence, clamped to [0.6, 0.95]

and the field is learned only when ``n >= MIN_EVIDENCE`` (3) and ``confidence > 0.6``. So a
value needs a strict majority of the field's votes (a tie at the top is ``s <= 0.5``: nothing
is learned, never an arbitrary pick), and the confidence reaches its 0.95 ceiling only when
ten or more weighted votes all agree. Examples: 3 of 3 → 0.705; 10 of 10 → 0.95; 8 of 10 →
0.81; 2 of 4 → not learned. The result depends only on the votes, never on their order.

Values compare by type and value (``True`` is not ``1``); lists compare as sorted tuples,
so ``["x", "instagram"]`` and ``["instagram", "x"]`` are one choice, learned as the sorted
list. Anything else (objects, null, lists of non-strings) is not a choice and is ignored.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping

__all__ = [
    "CEILING",
    "FLOOR",
    "FULL_EVIDENCE",
    "MIN_EVIDENCE",
    "POSITIVE_WEIGHT",
    "ChoiceRecord",
    "Estimate",
    "LearnableValue",
    "confidence",
    "estimate_preferences",
    "is_positive",
]

FLOOR = 0.6
CEILING = 0.95
MIN_EVIDENCE = 3
FULL_EVIDENCE = 10
POSITIVE_WEIGHT = 2

LearnableValue = str | int | float | bool | list[str]

# (type name, hashable value): keeps True apart from 1 and lists comparable.
_Key = tuple[str, Any]


@dataclass(frozen=True)
class ChoiceRecord:
    """One user message's form choices, and whether its reply was liked."""

    panel: str
    choices: Mapping[str, Any]
    positive: bool = False


@dataclass(frozen=True)
class Estimate:
    value: LearnableValue
    confidence: float
    samples: int  # weighted votes the field received


def is_positive(feedback: Mapping[str, Any] | None) -> bool:
    """Positive feedback on a reply: thumbs up, or a rating of 4 or more."""
    if not feedback:
        return False
    thumbs, rating = feedback.get("thumbs"), feedback.get("rating")
    if _is_number(thumbs) and thumbs == 1:
        return True
    # bool is an int: a rating of True is not a 1 (nor a thumbs up).
    return isinstance(rating, int | float) and not isinstance(rating, bool) and rating >= 4


def confidence(top_votes: int, total_votes: int) -> float:
    """The formula of the module docstring, rounded to three places."""
    if total_votes <= 0:
        return FLOOR
    dominance = max(0.0, 2 * top_votes / total_votes - 1)
    evidence = min(1.0, total_votes / FULL_EVIDENCE)
    raw = FLOOR + (CEILING - FLOOR) * dominance * evidence
    return round(min(CEILING, max(FLOOR, raw)), 3)


def estimate_preferences(records: Iterable[ChoiceRecord]) -> dict[str, Estimate]:
    """The fields the records support, by path, each with its value and confidence."""
    votes: dict[str, dict[_Key, int]] = defaultdict(lambda: defaultdict(int))
    for record in records:
        if not record.panel:
            continue
        weight = POSITIVE_WEIGHT if record.positive else 1
        for field, value in record.choices.items():
            key = _vote_key(value)
            if key is not None and field:
                votes[f"{record.panel}.{field}"][key] += weight
    learned: dict[str, Estimate] = {}
    for path in sorted(votes):
        estimate = _estimate(votes[path])
        if estimate is not None:
            learned[path] = estimate
    return learned


def _estimate(counts: Mapping[_Key, int]) -> Estimate | None:
    total = sum(counts.values())
    if total < MIN_EVIDENCE:
        return None
    # Sorted first so that the pick is deterministic; a shared top share is never learned.
    top_key, top_votes = max(sorted(counts.items(), key=repr), key=lambda kv: kv[1])
    score = confidence(top_votes, total)
    if score <= FLOOR:
        return None
    return Estimate(value=_value(top_key), confidence=score, samples=total)


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


def _is_number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)
