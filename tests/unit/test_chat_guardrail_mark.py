"""The chat's mark of the crisis guardrail's decision on a request's usage events
(``parley.chat.outcome.with_guardrail_mark``): on its first event only, so that the rollups
count each decision once, beside the model that was asked (the safety view)."""

from __future__ import annotations

from typing import Any

from parley.chat.outcome import GUARDRAIL_ROUTE, Outcome, with_guardrail_mark
from parley.guardrails.guard import Decision
from parley.guardrails.verdict import Screening, Verdict
from parley.providers.base import Usage
from tests.support.rollups import event


def decision(action: Any, category: Any, stage: Any) -> Decision:
    verdict = Verdict(
        is_crisis=action == "safe_reply",
        confidence=0.9,
        category=category,
        reason="test",
        stage=stage,
    )
    return Decision(
        verdict=verdict, action=action, screening=Screening(True, "en"), latency_ms=12.0
    )


def outcome_of(*events: Any) -> Outcome:
    return Outcome(
        complete=True,
        finish_reason="stop",
        error_code=None,
        usage=Usage(0, 0),
        cost_usd=0.0,
        provider="openai",
        model="gpt-4.1",
        events=list(events),
    )


def test_only_the_requests_first_event_carries_the_mark() -> None:
    # A retry of the main model, and the classifier's call (recorded after them).
    first = event(attempt=0, request_id="r")
    retry = event(attempt=1, request_id="r", failover=True)
    classifier = event(attempt=2, request_id="r", route=GUARDRAIL_ROUTE, task_type="guardrail")
    marked = with_guardrail_mark(
        outcome_of(retry, first, classifier), decision("safe_reply", "suicide", "model")
    )
    assert [e.guardrail for e in marked.events] == [None, "safe_reply:suicide:model", None]


def test_a_request_with_only_the_classifiers_call_is_left_unmarked() -> None:
    classifier = event(route=GUARDRAIL_ROUTE)
    found = outcome_of(classifier)
    assert with_guardrail_mark(found, decision("none", "none", "model")) is found
