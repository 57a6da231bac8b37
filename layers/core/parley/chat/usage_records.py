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
        metrics = EphemeralMetrics(namespace=self._namespace, service=self._service)
        metrics.add_dimension(name="model", value=event.model)
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
