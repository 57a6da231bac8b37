"""The hourly provider health job (docs/operations.md#provider-health).

Each run reports the last complete UTC hour before its scheduled time: from the usage table's
hour index, every shard, it counts each provider model's calls, errors by code, latency and
time to first token (``figures``), and the same of the hour a week earlier as the baseline;
it reads each catalog model's circuit from the hot store (its state when the job runs, and
its openings in the hour); and it writes the hour whole (``store``). A model is reported when
it is in the catalog (a silent model shows as 0 calls) or had calls in either hour.

Recomputed from the raw events, as ``aggregate-usage`` is: a second run for an hour writes the
same records (the circuit's state aside, read when the run happens), so a redelivery, a retry
or a manual run is harmless. A model whose window an operator reset during the hour counts
only its calls from the reset on (``since``). The run reads two hours once and writes a few
dozen items, so it has no continuation: it ignores the deadline and always completes.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any, TypedDict

from parley.errors import BadRequest
from parley.operations.health.figures import Figures, change, figures_of
from parley.operations.health.hours import hour_start, reported_hour, week_before
from parley.operations.health.records import HealthRecord, HourSummary
from parley.routing.failover import breaker_key
from parley.state.hour_index import HOUR_SHARDS

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator, Mapping, Sequence

    from parley.operations.health.figures import ModelKey
    from parley.operations.health.store import HealthStore
    from parley.providers.catalog import Catalog, ModelSpec
    from parley.state.usage import UsageEvent, UsageStore

    # (breaker keys, hour) -> each key's snapshot (``breakers.breaker_snapshots``)
    ReadBreakers = Callable[[Sequence[str], str], Mapping[str, dict[str, Any] | None]]

__all__ = ["HealthResult", "ProviderHealthJob"]


class HealthResult(TypedDict):
    hour: str
    baseline_hour: str
    models: int
    events: int
    baseline_events: int
    open_circuits: int
    trips: int
    duration_ms: int
    complete: bool
    cursor: str | None


class ProviderHealthJob:
    def __init__(
        self,
        usage: UsageStore,
        health: HealthStore,
        catalog: Catalog,
        read_breakers: ReadBreakers,
        *,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._usage = usage
        self._health = health
        self._catalog = catalog
        self._read_breakers = read_breakers
        self._clock = clock

    def run(self, *, as_of: float, shards: Sequence[int] | None = None) -> HealthResult:
        """Report the hour before ``as_of``'s hour. ``shards`` must be left out: a model's
        calls are spread over every shard, and a record of some shards would be wrong."""
        if shards is not None and sorted(set(shards)) != list(range(HOUR_SHARDS)):
            raise BadRequest("provider-health reads every shard of the hour index; name none.")
        started = time.perf_counter()
        hour = reported_hour(as_of)
        baseline_hour = week_before(hour)
        since = self._resets_within(hour)
        current = figures_of(self._events(hour), since=since)
        baseline = figures_of(self._events(baseline_hour))
        specs: dict[ModelKey, ModelSpec] = {
            (spec.provider, spec.name): spec for spec in self._catalog.models
        }
        keys = sorted(specs.keys() | current.keys() | baseline.keys())
        circuits = self._read_breakers([breaker_key(spec) for spec in specs.values()], hour)
        records = []
        for provider, model in keys:
            spec = specs.get((provider, model))
            records.append(
                _record(
                    hour,
                    key=(provider, model),
                    figures=current.get((provider, model), Figures()),
                    baseline=(baseline_hour, baseline.get((provider, model), Figures())),
                    breaker=circuits.get(breaker_key(spec)) if spec is not None else None,
                    since=since.get(model),
                )
            )
        summary = HourSummary(
            hour=hour,
            baseline_hour=baseline_hour,
            computed_at=self._clock(),
            events=sum(figures.calls for figures in current.values()),
            baseline_events=sum(figures.calls for figures in baseline.values()),
            models=len(records),
        )
        self._health.put_hour(summary, records)
        return {
            "hour": hour,
            "baseline_hour": baseline_hour,
            "models": summary.models,
            "events": summary.events,
            "baseline_events": summary.baseline_events,
            "open_circuits": sum(
                1
                for record in records
                if record.breaker is not None and record.breaker["status"] != "closed"
            ),
            "trips": sum(record.breaker["trips"] for record in records if record.breaker),
            "duration_ms": round((time.perf_counter() - started) * 1000),
            "complete": True,
            "cursor": None,
        }

    def _events(self, hour: str) -> Iterator[UsageEvent]:
        for shard in range(HOUR_SHARDS):
            yield from self._usage.for_hour(hour, shard)

    def _resets_within(self, hour: str) -> dict[str, float]:
        """The models reset during ``hour``: their calls count from the reset on. A reset in a
        later hour leaves this one whole (it is history by then); one in an earlier hour
        needs no cut."""
        start = hour_start(hour)
        return {
            model: mark.at
            for model, mark in self._health.resets().items()
            if start <= mark.at < start + 3600
        }


def _record(
    hour: str,
    *,
    key: ModelKey,
    figures: Figures,
    baseline: tuple[str, Figures],
    breaker: dict[str, Any] | None,
    since: float | None,
) -> HealthRecord:
    now, then = figures.summary(), baseline[1].summary()
    return HealthRecord(
        hour=hour,
        provider=key[0],
        model=key[1],
        **now,
        baseline={"hour": baseline[0], **then},
        change=change(now, then),
        breaker=breaker,
        since=since,
    )
