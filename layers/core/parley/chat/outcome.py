"""What one chat request came to, from its attempts: the usage event of each provider call, the
usage and cost charged in total, and how the answer ended.

Every attempt is one usage event (its tokens, cost, latency and error, whether it was a
failover, and the route's reason), so the sum of a request's usage events is exactly what its
org was charged. A cached answer is one event with no tokens and no cost. A request that made no
call at all (every circuit open) is one event too, with no tokens, so that its failure is seen.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import TYPE_CHECKING

from parley.analytics.safety_marks import guardrail_mark
from parley.providers.base import Usage
from parley.state.usage import UsageEvent

if TYPE_CHECKING:
    from parley.chat.response_cache import CachedAnswer
    from parley.errors import ParleyError
    from parley.guardrails.guard import Decision
    from parley.providers.catalog import ModelSpec
    from parley.routing.attempts import Attempt
    from parley.routing.plan import Route
    from parley.state.usage import Endpoint

__all__ = [
    "DISCONNECTED",
    "GUARDRAIL_MODEL",
    "GUARDRAIL_ROUTE",
    "Outcome",
    "RequestFacts",
    "replaced_by_guardrail",
    "summarise",
    "with_classifier_call",
    "with_guardrail_mark",
]

DISCONNECTED = "client_disconnected"
# A safe reply is Parley's, not a model's: ``done`` names this model and provider.
GUARDRAIL_MODEL, GUARDRAIL_PROVIDER = "parley-guardrail", "parley"
# The classifier model's calls are usage events of their own route and task type.
GUARDRAIL_ROUTE = "guardrail"
# The finish of a model call whose answer a safe reply replaced (read, then not shown).
REPLACED = "guardrail_replaced"


@dataclass(frozen=True)
class Outcome:
    complete: bool
    finish_reason: str
    error_code: str | None
    usage: Usage  # every attempt's tokens added up
    cost_usd: float
    provider: str  # of the model that answered last
    model: str
    events: list[UsageEvent]


@dataclass(frozen=True)
class RequestFacts:
    """What every usage event of the request repeats."""

    request_id: str
    org_id: str
    user_id: str
    endpoint: Endpoint
    conversation_id: str | None
    message_id: str
    latency_ms: float
    panel: str | None = None  # the preference panel smart defaults found (stream only)
    learned_defaults: bool = False  # they held a learned value (stream only)
    images: int = 0  # images the request sent the model


def summarise(
    facts: RequestFacts,
    route: Route,
    attempts: list[Attempt],
    *,
    failure: ParleyError | None,
    disconnected: bool,
    cached: CachedAnswer | None = None,
) -> Outcome:
    if cached is not None:
        return _cached(facts, route, cached, failure=failure, disconnected=disconnected)
    last = attempts[-1] if attempts else None
    complete = last is not None and last.succeeded and failure is None and not disconnected
    error_code = DISCONNECTED if disconnected else failure.code if failure else None
    events = [
        _event(facts, route, attempt, error_code=_attempt_error(attempt, error_code))
        for attempt in attempts
    ]
    if not events:  # nothing was called: record the refusal itself
        events.append(_no_call(facts, route, error_code))
    usages = [attempt.usage for attempt in attempts]
    usage = Usage(
        input_tokens=sum(u.input_tokens for u in usages),
        output_tokens=sum(u.output_tokens for u in usages),
        estimated=any(u.estimated and (u.input_tokens or u.output_tokens) for u in usages),
    )
    finished = last.finish if complete and last is not None else None
    spec = last.spec if last is not None else route.primary
    return Outcome(
        complete=complete,
        finish_reason=finished.finish_reason if finished else "error",
        error_code=error_code,
        usage=usage,
        cost_usd=round(sum(attempt.cost_usd for attempt in attempts), 8),
        provider=spec.provider,
        model=spec.name,
        events=events,
    )


def _attempt_error(attempt: Attempt, request_error: str | None) -> str | None:
    if attempt.error is not None:
        return attempt.error.code
    if attempt.succeeded:
        return None
    return request_error or DISCONNECTED  # ended by the client leaving or the request failing


def _event(
    facts: RequestFacts, route: Route, attempt: Attempt, *, error_code: str | None
) -> UsageEvent:
    return _usage_event(
        facts,
        route,
        provider=attempt.spec.provider,
        model=attempt.spec.name,
        usage=attempt.usage,
        cost_usd=attempt.cost_usd,
        success=attempt.succeeded,
        error_code=error_code,
        finish_reason=attempt.finish.finish_reason if attempt.finish else "error",
        latency_ms=attempt.latency_ms,
        ttft_ms=attempt.ttft_ms,
        attempt=attempt.number,
        failover=attempt.failover,
    )


def _no_call(facts: RequestFacts, route: Route, error_code: str | None) -> UsageEvent:
    return _usage_event(
        facts,
        route,
        provider=route.primary.provider,
        model=route.primary.name,
        usage=Usage(0, 0),
        cost_usd=0.0,
        success=False,
        error_code=error_code,
        finish_reason="error",
        latency_ms=facts.latency_ms,
    )


def _cached(
    facts: RequestFacts,
    route: Route,
    cached: CachedAnswer,
    *,
    failure: ParleyError | None,
    disconnected: bool,
) -> Outcome:
    complete = failure is None and not disconnected
    error_code = DISCONNECTED if disconnected else failure.code if failure else None
    finish_reason = cached.finish_reason if complete else "error"
    event = _usage_event(
        facts,
        route,
        provider=cached.provider,
        model=cached.model,
        usage=Usage(0, 0),
        cost_usd=0.0,
        success=complete,
        error_code=error_code,
        finish_reason=finish_reason,
        latency_ms=facts.latency_ms,
        cached=True,
    )
    return Outcome(
        complete=complete,
        finish_reason=finish_reason,
        error_code=error_code,
        usage=Usage(0, 0),
        cost_usd=0.0,
        provider=cached.provider,
        model=cached.model,
        events=[event],
    )


def _usage_event(
    facts: RequestFacts,
    route: Route,
    *,
    provider: str,
    model: str,
    usage: Usage,
    cost_usd: float,
    success: bool,
    error_code: str | None,
    finish_reason: str,
    latency_ms: float,
    ttft_ms: float | None = None,
    attempt: int = 0,
    failover: bool = False,
    cached: bool = False,
) -> UsageEvent:
    return UsageEvent(
        request_id=facts.request_id,
        org_id=facts.org_id,
        user_id=facts.user_id,
        provider=provider,
        model=model,
        endpoint=facts.endpoint,
        input_tokens=usage.input_tokens,
        output_tokens=usage.output_tokens,
        usage_estimated=usage.estimated,
        cost_usd=cost_usd,
        latency_ms=latency_ms,
        ttft_ms=ttft_ms,
        success=success,
        error_code=error_code,
        finish_reason=finish_reason,
        conversation_id=facts.conversation_id,
        message_id=facts.message_id,
        attempt=attempt,
        failover=failover,
        cached=cached,
        route=route.name,
        tier=route.tier,
        mode=route.mode,
        complexity=route.analysis.complexity,
        task_type=route.analysis.task_type,
        panel=facts.panel,
        route_reason=route.reason,
        learned_defaults=facts.learned_defaults and attempt == 0,
        images=facts.images,
    )


def replaced_by_guardrail(outcome: Outcome) -> Outcome:
    """``outcome`` when a safe reply replaced the answer: complete (the client got the whole
    reply) from Parley's guardrail, and each model call the guardrail cut short a success
    that finished as replaced, so that it counts against no model's success rate."""
    events = [
        dataclasses.replace(event, success=True, error_code=None, finish_reason=REPLACED)
        if event.error_code == DISCONNECTED and event.route != GUARDRAIL_ROUTE
        else event
        for event in outcome.events
    ]
    return dataclasses.replace(
        outcome,
        complete=True,
        finish_reason="stop",
        error_code=None,
        provider=GUARDRAIL_PROVIDER,
        model=GUARDRAIL_MODEL,
        events=events,
    )


def with_classifier_call(
    outcome: Outcome, facts: RequestFacts, route: Route, spec: ModelSpec, decision: Decision
) -> Outcome:
    """``outcome`` with the classifier model's call as one more usage event (the request's
    next attempt number), its tokens and cost added to what the request is charged. A call
    that gave no verdict is an event too, failed with why (``timeout``, ``error``,
    ``malformed``), so stage 2's calls, latency and failures all show in the usage."""
    judgement = decision.judgement
    usage = judgement.usage if judgement is not None and judgement.usage else Usage(0, 0)
    cost = spec.cost_usd(usage)
    event = UsageEvent(
        request_id=facts.request_id,
        org_id=facts.org_id,
        user_id=facts.user_id,
        provider=spec.provider,
        model=spec.name,
        endpoint=facts.endpoint,
        input_tokens=usage.input_tokens,
        output_tokens=usage.output_tokens,
        usage_estimated=usage.estimated,
        cost_usd=cost,
        latency_ms=judgement.latency_ms if judgement is not None else decision.latency_ms,
        success=judgement is not None,
        error_code=None if judgement is not None else f"guardrail_{decision.fail_safe}",
        finish_reason="stop" if judgement is not None else "error",
        task_type=GUARDRAIL_ROUTE,
        panel=facts.panel,
        conversation_id=facts.conversation_id,
        message_id=facts.message_id,
        attempt=1 + max((e.attempt for e in outcome.events), default=-1),
        route=GUARDRAIL_ROUTE,
        tier=spec.tier,
        mode=route.mode,
        route_reason="the crisis guardrail's classifier model",
    )
    total = Usage(
        input_tokens=outcome.usage.input_tokens + usage.input_tokens,
        output_tokens=outcome.usage.output_tokens + usage.output_tokens,
        estimated=outcome.usage.estimated or usage.estimated,
    )
    return dataclasses.replace(
        outcome,
        usage=total,
        cost_usd=round(outcome.cost_usd + cost, 8),
        events=[*outcome.events, event],
    )


def with_guardrail_mark(outcome: Outcome, decision: Decision) -> Outcome:
    """``outcome`` with the guardrail's decision marked on the request's first event (its
    lowest attempt, the main model's, or the cached answer's or the refusal's), so that the
    rollups count each decision once, under its action, category and stage (the safety view),
    beside the model that was asked; the classifier's own call keeps no mark."""
    main = [event for event in outcome.events if event.route != GUARDRAIL_ROUTE]
    if not main:
        return outcome
    first = min(main, key=lambda event: event.attempt)
    verdict = decision.verdict
    mark = guardrail_mark(decision.action, verdict.category, verdict.stage)
    events = [
        dataclasses.replace(event, guardrail=mark) if event is first else event
        for event in outcome.events
    ]
    return dataclasses.replace(outcome, events=events)
