"""After every provider call: one usage event in the usage store and one set of EMF metrics.

Metrics are flushed by each request itself. Under the Lambda Web Adapter there is no handler
for Powertools' decorator to wrap, and many requests share a process in ``parley dev``, so
each request fills its own ``EphemeralMetrics`` and prints it when done.
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

import anyio.to_thread
from aws_lambda_powertools.metrics import EphemeralMetrics, MetricUnit

from parley.errors import ParleyError
from parley.metrics_catalog import (
    CHAT_USAGE_DIMENSION_SETS,
    OTHER,
    bounded_error_code,
    bounded_route,
    metric_named,
)
from parley.telemetry import logger

if TYPE_CHECKING:
    from collections.abc import Sequence

    from parley.state.usage import UsageEvent, UsageStore

__all__ = ["Accounting"]


class Accounting:
    def __init__(self, usage: UsageStore, *, namespace: str, service: str) -> None:
        self._usage = usage
        self._namespace = namespace
        self._service = service

    async def record(self, event: UsageEvent) -> bool:
        """Store the usage event (once per request and attempt) and flush its metrics.
        A storage failure is logged, not raised: the answer has been given already."""
        self._flush_metrics(event)
        try:
            return await anyio.to_thread.run_sync(self._usage.record, event)
        except ParleyError as exc:
            logger.error(
                "Usage event not recorded",
                error=exc.code,
                request_id=event.request_id,
                model=event.model,
                input_tokens=event.input_tokens,
                output_tokens=event.output_tokens,
            )
            return False

    async def record_all(self, events: Sequence[UsageEvent]) -> None:
        """Every provider call of one request, stored concurrently."""
        await asyncio.gather(*(self.record(event) for event in events))

    def _flush_metrics(self, event: UsageEvent) -> None:
        # Dimension values are bounded (parley.metrics_catalog): models and providers from the
        # catalog, routes and error codes from fixed sets; never an org or a user.
        dimensions = {
            "endpoint": event.endpoint,
            "provider": event.provider,
            "model": event.model,
            "route": bounded_route(event.route),
        }
        metrics = self._document(dimensions, CHAT_USAGE_DIMENSION_SETS)
        metrics.add_metric(name="ChatRequests", unit=MetricUnit.Count, value=1)
        metrics.add_metric(
            name="ChatFailures", unit=MetricUnit.Count, value=0 if event.success else 1
        )
        metrics.add_metric(name="LatencyMs", unit=MetricUnit.Milliseconds, value=event.latency_ms)
        if event.ttft_ms is not None:
            metrics.add_metric(
                name="TimeToFirstTokenMs", unit=MetricUnit.Milliseconds, value=event.ttft_ms
            )
        metrics.add_metric(name="InputTokens", unit=MetricUnit.Count, value=event.input_tokens)
        metrics.add_metric(name="OutputTokens", unit=MetricUnit.Count, value=event.output_tokens)
        metrics.add_metric(name="CostMicroUSD", unit=MetricUnit.Count, value=event.cost_usd * 1e6)
        metrics.add_metric(name="FailoverCalls", unit=MetricUnit.Count, value=int(event.failover))
        metrics.add_metric(name="CacheHits", unit=MetricUnit.Count, value=int(event.cached))
        metrics.flush_metrics()
        if not event.success:
            # A document of its own: error_code is a dimension of this metric only.
            dimensions = {
                "provider": event.provider,
                "error_code": bounded_error_code(event.error_code or OTHER),
            }
            errors = self._document(dimensions, metric_named("ChatErrors").dimension_sets)
            errors.add_metric(name="ChatErrors", unit=MetricUnit.Count, value=1)
            errors.flush_metrics()

    def _document(
        self, values: dict[str, str], dimension_sets: Sequence[Sequence[str]]
    ) -> EphemeralMetrics:
        """An EMF document with each of ``dimension_sets`` (names, ``service`` among them)."""
        metrics = EphemeralMetrics(namespace=self._namespace, service=self._service)
        values = {**values, "service": self._service}
        first, *others = dimension_sets
        for name in first:
            metrics.add_dimension(name=name, value=values[name])
        for names in others:
            metrics.add_dimensions(**{name: values[name] for name in names})
        return metrics
