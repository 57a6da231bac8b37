"""The implicit satisfaction score: what the user did after a reply, as a number in [0, 1].

Each signal the client sent becomes a value in [0, 1] with a weight; the score is the weighted
mean over the signals present (signals not sent neither help nor hurt), rounded to 4 places:

    signal              value                                          weight
    action_completed    1 if true else 0                               0.4
    asked_for_human     0 if true else 1                               0.3
    continued           1 if true else 0                               0.2
    response_seconds    1 up to 30 s, falling linearly to 0 at 300 s   0.1

Completing the action is the strongest evidence that a reply helped and asking for a human the
strongest that it did not; going on with the conversation is weaker (it may be a complaint),
and a quick reaction weaker still. No signals: ``None``, not a neutral 0.5, so that averages
count only replies something was observed about.
"""

from __future__ import annotations

from typing import Any

__all__ = ["WEIGHTS", "implicit_satisfaction"]

WEIGHTS = {
    "action_completed": 0.4,
    "asked_for_human": 0.3,
    "continued": 0.2,
    "response_seconds": 0.1,
}
_PROMPT_SECONDS = 30.0
_SLOW_SECONDS = 300.0


def implicit_satisfaction(signals: dict[str, Any] | None) -> float | None:
    if not signals:
        return None
    values: dict[str, float] = {}
    if signals.get("action_completed") is not None:
        values["action_completed"] = 1.0 if signals["action_completed"] else 0.0
    if signals.get("asked_for_human") is not None:
        values["asked_for_human"] = 0.0 if signals["asked_for_human"] else 1.0
    if signals.get("continued") is not None:
        values["continued"] = 1.0 if signals["continued"] else 0.0
    if signals.get("response_seconds") is not None:
        values["response_seconds"] = _promptness(float(signals["response_seconds"]))
    if not values:
        return None
    total = sum(WEIGHTS[name] for name in values)
    return round(sum(WEIGHTS[name] * value for name, value in values.items()) / total, 4)


def _promptness(seconds: float) -> float:
    if seconds <= _PROMPT_SECONDS:
        return 1.0
    return max(0.0, 1.0 - (seconds - _PROMPT_SECONDS) / (_SLOW_SECONDS - _PROMPT_SECONDS))
