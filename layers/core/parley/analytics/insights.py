"""Plain sentences about one task type's models, computed from their scores (``scores``), and
said only when the numbers are worth a sentence:

* speed: the fastest ranked model against the slowest, when one is at least
  ``SPEED_RATIO`` (1.2) times faster;
* cost: the cheapest ranked model per answer against the dearest, from ``COST_RATIO`` (1.5);
* satisfaction: the task type's, over every model, when at least ``MIN_JUDGED`` (5) replies
  were judged and it is below ``SATISFACTION_WARNING`` (70%);
* errors: each ranked model whose calls failed ``ERROR_WARNING`` (5%) of the time or more,
  with its most frequent error code.

Only models with enough calls to be ranked are compared (``scores.MIN_SAMPLES``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Sequence

    from parley.analytics.scores import ModelScore

__all__ = [
    "COST_RATIO",
    "ERROR_WARNING",
    "MIN_JUDGED",
    "SATISFACTION_WARNING",
    "SPEED_RATIO",
    "insights",
]

SPEED_RATIO = 1.2
COST_RATIO = 1.5
MIN_JUDGED = 5
SATISFACTION_WARNING = 70.0
ERROR_WARNING = 5.0
TIMES = "\u00d7"  # the multiplication sign, as in "2.3 times faster"


def insights(scores: Sequence[ModelScore], task_type: str | None) -> list[str]:
    """The sentences ``scores`` (every model seen for ``task_type``; None: all task types)
    call for, in the order above."""
    task = f"for {task_type}" if task_type else "across task types"
    ranked = [found for found in scores if found.ranked]
    said: list[str] = []
    timed = sorted((s for s in ranked if s.avg_ms), key=lambda s: (s.avg_ms, s.model))
    if len(timed) >= 2:
        fast, slow = timed[0], timed[-1]
        ratio = (slow.avg_ms or 0.0) / (fast.avg_ms or 1.0)
        if ratio >= SPEED_RATIO:
            said.append(f"{fast.model} is {ratio:.1f}{TIMES} faster than {slow.model} {task}")
    priced = sorted(
        (s for s in ranked if s.cost_per_answer), key=lambda s: (s.cost_per_answer, s.model)
    )
    if len(priced) >= 2:
        cheap, dear = priced[0], priced[-1]
        ratio = (dear.cost_per_answer or 0.0) / (cheap.cost_per_answer or 1.0)
        if ratio >= COST_RATIO:
            said.append(
                f"{cheap.model} costs {ratio:.1f}{TIMES} less per answer than {dear.model} {task}"
            )
    judged = sum(s.judged for s in scores)
    if judged >= MIN_JUDGED:
        rate = 100.0 * sum(s.positive for s in scores) / judged
        if rate < SATISFACTION_WARNING:
            subject = f"satisfaction for {task_type}" if task_type else "satisfaction"
            said.append(
                f"{subject} is {rate:.0f}% over {judged} rated replies: review model quality"
            )
    for found in sorted(ranked, key=lambda s: (-(s.error_rate or 0.0), s.model)):
        rate = found.error_rate or 0.0
        if rate >= ERROR_WARNING:
            code = max(sorted(found.errors), key=lambda c: found.errors[c], default="unknown")
            said.append(
                f"{found.model} failed {rate:.0f}% of its {found.samples} calls {task} "
                f"(most often {code})"
            )
    return said
