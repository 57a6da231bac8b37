"""The metric inventory (parley.metrics_catalog) is what the code emits: derived from the
source (every emitting call), and seen in the EMF the code prints when it runs.

The two refusal metrics, which need the whole preparation of a chat, are run in
tests/integration/test_chat_metrics.py against the same inventory."""

from __future__ import annotations

import ast
import re
import typing
from dataclasses import dataclass
from types import SimpleNamespace
from typing import TYPE_CHECKING, Any

import anyio
import pytest

from parley.chat.outcome import DISCONNECTED, GUARDRAIL_ROUTE
from parley.chat.safety import _emit_metrics
from parley.chat.usage_records import Accounting
from parley.guardrails.guard import FailSafe
from parley.hot.memory import MemoryHotStore
from parley.jobs.registry import JOBS
from parley.metrics_catalog import (
    ERROR_CODES,
    METRICS,
    OTHER,
    ROUTES,
    bounded_error_code,
    bounded_route,
)
from parley.routing.breaker import BreakerPolicy, CircuitBreaker
from parley.routing.plan import RouteName
from parley.state.usage import UsageEvent
from tests.conftest import REPO
from tests.support.emf import assert_declared, emf_documents, emitted
from tests.support.lambdas import LambdaContext
from tests.unit.test_error_codes import every_error_class

if TYPE_CHECKING:
    from pathlib import Path

PARLEY = REPO / "layers" / "core" / "parley"
# Calls that emit a metric, and where their name is: a keyword, or the first argument.
BY_KEYWORD = {"add_metric", "single_metric"}
BY_FIRST_ARGUMENT = {"emit_metric", "_metric"}
# Emitting calls whose name is not a literal: each job's own counts (by the registry), and the
# two helpers that pass their caller's literal on (their callers are scanned).
DYNAMIC = {("apps/jobs.py", "metric"), ("telemetry.py", "name"), ("chat/safety.py", "name")}


@dataclass(frozen=True)
class Emission:
    path: str
    name: str | None  # None: not a literal
    expression: str


def emissions(root: Path = PARLEY) -> list[Emission]:
    found = []
    for path in sorted(root.rglob("*.py")):
        tree = ast.parse(path.read_text(), filename=str(path))
        for node in ast.walk(tree):
            if not isinstance(node, ast.Call):
                continue
            func = node.func
            called = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", None)
            argument: ast.expr | None = None
            if called in BY_KEYWORD:
                argument = next((k.value for k in node.keywords if k.arg == "name"), None)
            elif called in BY_FIRST_ARGUMENT and node.args:
                argument = node.args[0]
            if argument is None:
                continue
            literal = isinstance(argument, ast.Constant) and isinstance(argument.value, str)
            found.append(
                Emission(
                    str(path.relative_to(root)),
                    argument.value if literal else None,  # type: ignore[union-attr]
                    ast.unparse(argument),
                )
            )
    return found


def test_the_source_emits_exactly_the_inventory() -> None:
    found = emissions()
    dynamic = {(e.path, e.expression) for e in found if e.name is None}
    assert dynamic == DYNAMIC, "a metric named by a variable: add it to the inventory's test"
    named = {e.name for e in found if e.name is not None}
    job_counts = {metric for job in JOBS.values() for metric in job.metrics.values()}
    assert named | job_counts == {metric.name for metric in METRICS}


def test_the_scan_finds_every_kind_of_call(tmp_path: Path) -> None:
    (tmp_path / "m.py").write_text(
        "m.add_metric(name='A', unit=u, value=1)\n"
        "with single_metric(name='B', unit=u, value=1): pass\n"
        "emit_metric('C', u, 1, {})\n"
        "_metric('D', u, 1)\n"
        "m.add_metric(name=variable, unit=u, value=1)\n"
        "print('E')\n"
    )
    found = emissions(tmp_path)
    assert sorted((e.name or "", e.expression) for e in found) == [
        ("", "variable"),
        ("A", "'A'"),
        ("B", "'B'"),
        ("C", "'C'"),
        ("D", "'D'"),
    ]


def usage_event(**changes: Any) -> UsageEvent:
    values: dict[str, Any] = {
        "request_id": "r1",
        "org_id": "acme",
        "user_id": "u1",
        "provider": "openai",
        "model": "gpt-4o-mini",
        "endpoint": "stream",
        "input_tokens": 12,
        "output_tokens": 30,
        "usage_estimated": False,
        "cost_usd": 0.0002,
        "latency_ms": 840.0,
        "success": True,
        "ttft_ms": 210.0,
        "route": "standard",
    }
    return UsageEvent(**{**values, **changes})


def run_the_emitters(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every emitting path but the chat's refusals, as production runs it."""
    # A usage event that succeeded, one that failed with a code nobody declared.
    accounting = Accounting(usage=None, namespace="Parley", service="parley")  # type: ignore[arg-type]
    accounting._flush_metrics(usage_event())
    accounting._flush_metrics(
        usage_event(success=False, error_code="brand_new_code", ttft_ms=None, route="org-route")
    )
    # A circuit that trips.
    breaker = CircuitBreaker(MemoryHotStore(), BreakerPolicy(min_requests=1))
    anyio.run(lambda: breaker.record("gpt-4o-mini", success=False))
    # The guardrail: a classifier that answered, one that timed out.
    verdict = SimpleNamespace(stage="model")
    _emit_metrics(
        SimpleNamespace(  # type: ignore[arg-type]
            action="safe_reply",
            verdict=verdict,
            judgement=SimpleNamespace(latency_ms=310.0),
            fail_safe=None,
        )
    )
    _emit_metrics(
        SimpleNamespace(  # type: ignore[arg-type]
            action="answer",
            verdict=SimpleNamespace(stage="offline"),
            judgement=None,
            fail_safe="timeout",
        )
    )
    # Each job's invocation that ran, and one that failed.
    from parley.apps import jobs

    def ran(job: Any, request: Any, *, observe: Any, **_: Any) -> dict[str, Any]:
        result = {key: 3 for key in job.metrics} | {"duration_ms": 1200}
        observe(result)
        return result

    context = LambdaContext()
    for name in JOBS:
        monkeypatch.setattr(jobs, "run_job", ran)
        jobs.lambda_handler(name, continuation=lambda _c: print)({}, context)

    def failed(*_: Any, **__: Any) -> dict[str, Any]:
        raise RuntimeError("the table is gone")

    monkeypatch.setattr(jobs, "run_job", failed)
    with pytest.raises(RuntimeError):
        jobs.lambda_handler("aggregate-usage", continuation=lambda _c: print)({}, context)


def test_what_the_code_prints_is_the_inventory(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    run_the_emitters(monkeypatch)
    documents = emf_documents(capsys.readouterr().out)
    found = emitted(documents)
    assert_declared(found)
    refusals = {"RateLimitRefusals", "GuardRefusals"}  # tests/integration/test_chat_metrics.py
    assert set(found) == {metric.name for metric in METRICS} - refusals
    assert {d["_aws"]["CloudWatchMetrics"][0]["Namespace"] for d in documents} == {"Parley"}
    # Bounded dimensions: an unknown code and an org's own route name are "other".
    errors = [d for d in documents if "ChatErrors" in d]
    assert [(d["error_code"], d["provider"]) for d in errors] == [(OTHER, "openai")]
    routes = {d["route"] for d in documents if "ChatRequests" in d}
    assert routes == {"standard", OTHER}
    # No document carries an org, a user or a request.
    for document in documents:
        assert not {"org_id", "user_id", "request_id", "org", "user"} & set(document)


def test_every_error_code_a_usage_event_may_carry_is_a_bounded_dimension_value() -> None:
    codes = {kind.code for kind in every_error_class()}
    fail_safes = {f"guardrail_{reason}" for reason in typing.get_args(FailSafe)}
    assert codes | fail_safes | {DISCONNECTED} == ERROR_CODES
    assert bounded_error_code("upstream_timeout") == "upstream_timeout"
    assert bounded_error_code("org-secret-123") == OTHER


def test_routes_are_the_routers_names_and_the_guardrails() -> None:
    assert set(typing.get_args(RouteName)) | {GUARDRAIL_ROUTE} == ROUTES
    assert bounded_route(None) == OTHER


def test_dimension_names_are_few_and_never_identify_a_tenant() -> None:
    names = {name for metric in METRICS for names in metric.dimension_sets for name in names}
    assert names == {
        "service",
        "endpoint",
        "provider",
        "model",
        "route",
        "error_code",
        "scope",
        "reason",
        "action",
        "stage",
        "job",
    }
    for metric in METRICS:
        assert all("service" in names for names in metric.dimension_sets), metric.name


def test_docs_operations_lists_every_metric_with_its_unit_and_dimensions() -> None:
    text = (REPO / "docs" / "operations.md").read_text()
    section = text[text.index("\n## Metrics") :]
    section = section[: section.find("\n## ", 1)]
    rows = {
        match[0]: (match[1], match[2])
        for match in re.findall(r"^\| `(\w+)` \| (\w+) \| ([^|]+) \|", section, re.MULTILINE)
    }
    for metric in METRICS:
        assert metric.name in rows, f"docs/operations.md#metrics: {metric.name}"
        unit, dimensions = rows[metric.name]
        assert unit == metric.unit, metric.name
        documented = {
            frozenset(re.findall(r"\w+", group)) for group in re.findall(r"`([^`]+)`", dimensions)
        }
        assert documented == {frozenset(names) for names in metric.dimension_sets}, metric.name
