"""Every CloudWatch metric Parley emits (EMF, namespace ``POWERTOOLS_METRICS_NAMESPACE``): its
name, unit, dimension sets and where it is emitted.

This is the inventory the dashboard (``infra/dashboard.json``), the alarms (``template.yaml``)
and docs/operations.md are checked against: tests/unit/test_metrics_catalog.py derives the
metrics the code emits, from its source and by running it, and compares them with ``METRICS``.

Cardinality is bounded by construction, since every distinct set of dimension values is a
metric CloudWatch bills for:

- ``model`` and ``provider`` come from the deployment's model catalog (plus Parley's own
  guardrail model), ``route`` from the router's fixed route names, ``endpoint`` from the two
  chat endpoints, ``job`` from the job registry;
- ``error_code`` goes through ``bounded_error_code``: a code outside ``ERROR_CODES`` is
  ``other``;
- an org, user, conversation or request id is never a dimension (they are in the log line and
  the usage event, where they cost nothing per value).

Every dimension set includes ``service`` (``POWERTOOLS_SERVICE_NAME``) explicitly, so an alarm
can name its exact dimensions: CloudWatch matches a metric alarm to one exact dimension set.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = [
    "CHAT_USAGE_DIMENSION_SETS",
    "ERROR_CODES",
    "METRICS",
    "OTHER",
    "ROUTES",
    "Metric",
    "bounded_error_code",
    "bounded_route",
    "metric_named",
]

OTHER = "other"

# What a usage event's ``error_code`` may hold: every ParleyError's code (a test walks them
# all), the stream's own client disconnect, and the classifier call's fail-safe reasons.
ERROR_CODES = frozenset(
    {
        "bad_request",
        "client_disconnected",
        "configuration_error",
        "conflict",
        "conversation_busy",
        "forbidden",
        "guardrail_error",
        "guardrail_malformed",
        "guardrail_no_model",
        "guardrail_timeout",
        "idempotency_in_progress",
        "idempotency_key_reused",
        "insufficient_balance",
        "internal_error",
        "invalid_request",
        "model_not_configured",
        "model_unavailable",
        "not_found",
        "payload_too_large",
        "precondition_failed",
        "rate_limited",
        "service_unavailable",
        "spend_cap_reached",
        "unauthorized",
        "upstream_error",
        "upstream_rate_limited",
        "upstream_rejected",
        "upstream_stream_error",
        "invalid_model_output",
        "upstream_timeout",
        "upstream_unavailable",
    }
)

# parley.routing.plan.RouteName, and the guardrail classifier's own route (parley.chat.outcome).
ROUTES = frozenset(
    {"named", "light", "standard", "heavy", "long_context", "cheap", "smart", "guardrail"}
)


def bounded_error_code(code: str) -> str:
    return code if code in ERROR_CODES else OTHER


def bounded_route(route: str | None) -> str:
    return route if route in ROUTES else OTHER


@dataclass(frozen=True)
class Metric:
    name: str
    unit: str  # a CloudWatch unit, as EMF writes it: "Count", "Milliseconds"
    dimension_sets: tuple[tuple[str, ...], ...]
    emitted_by: str  # the module (and function) that emits it
    meaning: str


_S = "service"

# One usage event's document: the total, then the ways an operator narrows it down.
CHAT_USAGE_DIMENSION_SETS: tuple[tuple[str, ...], ...] = (
    (_S,),
    (_S, "endpoint"),
    (_S, "provider"),
    (_S, "provider", "model"),
    (_S, "route"),
)

_USAGE = "parley.chat.usage_records.Accounting (each usage event: one provider call)"
_JOB = "parley.apps.jobs.lambda_handler (each invocation that ran)"
_JOB_SETS = ((_S, "job"),)


def _usage(name: str, unit: str, meaning: str) -> Metric:
    return Metric(name, unit, CHAT_USAGE_DIMENSION_SETS, _USAGE, meaning)


def _job(name: str, meaning: str, unit: str = "Count") -> Metric:
    return Metric(name, unit, _JOB_SETS, _JOB, meaning)


METRICS: tuple[Metric, ...] = (
    _usage("ChatRequests", "Count", "provider calls (a cached answer or a refused call is one)"),
    _usage("ChatFailures", "Count", "provider calls that failed (0 or 1 each; Sum / ChatRequests)"),
    _usage("LatencyMs", "Milliseconds", "the request's duration, on each of its calls"),
    _usage("TimeToFirstTokenMs", "Milliseconds", "time to the call's first token, when it had one"),
    _usage("InputTokens", "Count", "prompt tokens of the call"),
    _usage("OutputTokens", "Count", "completion tokens of the call"),
    _usage("CostMicroUSD", "Count", "the call's cost in millionths of a dollar"),
    _usage("FailoverCalls", "Count", "calls made because an earlier model failed (0 or 1 each)"),
    _usage("CacheHits", "Count", "answers from the response cache (0 or 1 each)"),
    Metric(
        "ChatErrors",
        "Count",
        ((_S, "error_code"), (_S, "provider", "error_code")),
        "parley.chat.usage_records.Accounting (each failed usage event)",
        "failed calls by error code (bounded: unknown codes are `other`)",
    ),
    Metric(
        "BreakerOpens",
        "Count",
        ((_S,), (_S, "model")),
        "parley.routing.breaker.CircuitBreaker._open",
        "a model's circuit opened (tripped, or a failed probe opened it again)",
    ),
    Metric(
        "RateLimitRefusals",
        "Count",
        ((_S,), (_S, "scope")),
        "parley.chat.preparation.Preparation (the rate limiter refused: 429)",
        "chat requests refused by the user's or the org's rate limit (scope user or org)",
    ),
    Metric(
        "GuardRefusals",
        "Count",
        ((_S,), (_S, "reason")),
        "parley.chat.preparation.Preparation (the hold on the ledger refused)",
        "chat requests refused before the stream: insufficient_balance (402) or "
        "spend_cap_reached (429)",
    ),
    Metric(
        "GuardrailDecisions",
        "Count",
        ((_S, "action", "stage"),),
        "parley.chat.safety._emit_metrics (each guardrail decision)",
        "the crisis guardrail's decisions by action and stage",
    ),
    Metric(
        "GuardrailClassifierLatencyMs",
        "Milliseconds",
        ((_S,),),
        "parley.chat.safety._emit_metrics (the classifier model answered)",
        "the classifier model's latency",
    ),
    Metric(
        "GuardrailFailSafe",
        "Count",
        ((_S, "reason"),),
        "parley.chat.safety._emit_metrics (the classifier gave no verdict)",
        "the offline classifier decided because the model timed out, failed or answered "
        "malformed (reason)",
    ),
    _job("JobDurationMs", "the invocation's duration", unit="Milliseconds"),
    Metric(
        "JobFailures",
        "Count",
        _JOB_SETS,
        "parley.apps.jobs.lambda_handler (the invocation raised)",
        "job invocations that failed (Lambda retries them; the dead-letter queue gets the last)",
    ),
    _job("JobUsersProcessed", "learn-preferences: users looked at"),
    _job("JobUsersUpdated", "learn-preferences: users whose learned preferences changed"),
    _job("JobOrgHoursProcessed", "aggregate-usage: org-hours rebuilt"),
    _job("JobEventsRead", "aggregate-usage, provider-health: usage events read"),
    _job("JobFeedbackRead", "aggregate-usage: feedback records read"),
    _job("JobModelsReported", "provider-health: models whose health was reported"),
    _job("JobOpenCircuits", "provider-health: models whose circuit was open when it ran"),
    _job("JobBreakerTrips", "provider-health: circuit openings counted in the hour"),
)

_BY_NAME = {metric.name: metric for metric in METRICS}


def metric_named(name: str) -> Metric:
    return _BY_NAME[name]
