"""The crisis guardrail's mark on a usage event and on a feedback record: what it decided about
the request's message as ``<action>:<category>:<stage>`` (``safe_reply:suicide:offline``), the
value of the rollups' ``guardrail`` dimension. Its own module, free of the rest of analytics,
because the chat and feedback functions write it on their request path."""

from __future__ import annotations

from typing import NamedTuple

__all__ = ["CLASSIFIER_ROUTE", "Mark", "guardrail_mark", "mark_of"]

# The route (and task type) of the classifier model's usage events (``parley.chat.outcome``).
CLASSIFIER_ROUTE = "guardrail"
_SEPARATOR = ":"


class Mark(NamedTuple):
    action: str  # safe_reply, resources or none
    category: str  # suicide, self_harm, third_party or none
    stage: str  # model or offline: which classifier decided


def guardrail_mark(action: str, category: str, stage: str) -> str:
    return _SEPARATOR.join((action, category, stage))


def mark_of(value: str) -> Mark | None:
    """The mark ``value`` spells; None for anything else (``-``, a series with no mark)."""
    parts = value.split(_SEPARATOR)
    if len(parts) != len(Mark._fields) or not all(parts):
        return None
    return Mark(*parts)
