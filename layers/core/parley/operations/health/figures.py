"""An hour of usage events as each provider model's health figures, and their change against
a baseline hour (pure).

What counts, as in the rollups (``parley.analytics.rollup``): ``calls`` are provider calls,
retries and failovers included, never cached answers (no provider was asked); ``errors``
counts the failed ones by error code; latency and time to first token are of answered calls
only (a failure's time says nothing of how fast the model answers), in DDSketches (1%
relative accuracy, bounded memory whatever the traffic).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from parley.analytics.sketches import new_sketch, quantile

if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping

    from ddsketch.ddsketch import BaseDDSketch

    from parley.state.usage import UsageEvent

__all__ = ["Figures", "ModelKey", "change", "figures_of"]

ModelKey = tuple[str, str]  # (provider, model): the catalog name stands for both, as circuits


@dataclass
class Figures:
    """One provider model's calls over a span."""

    calls: int = 0
    successes: int = 0
    errors: dict[str, int] = field(default_factory=dict)
    latency: BaseDDSketch | None = None
    ttft: BaseDDSketch | None = None

    def add(self, event: UsageEvent) -> None:
        self.calls += 1
        if not event.success:
            code = event.error_code or "unknown"
            self.errors[code] = self.errors.get(code, 0) + 1
            return
        self.successes += 1
        self.latency = _added(self.latency, event.latency_ms)
        if event.ttft_ms is not None:
            self.ttft = _added(self.ttft, event.ttft_ms)

    @property
    def error_rate(self) -> float | None:
        return _rate(self.calls - self.successes, self.calls)

    def summary(self) -> dict[str, Any]:
        """The figures as a health record keeps them: rates 0-1, times in milliseconds,
        ``None`` where nothing counts."""
        return {
            "calls": self.calls,
            "successes": self.successes,
            "error_rate": self.error_rate,
            "errors": dict(sorted(self.errors.items())),
            "error_rates": {
                code: _rate(count, self.calls) for code, count in sorted(self.errors.items())
            },
            "latency_ms": {"p50": _ms(self.latency, 0.5), "p95": _ms(self.latency, 0.95)},
            "ttft_ms": {"p95": _ms(self.ttft, 0.95)},
        }


def figures_of(
    events: Iterable[UsageEvent], *, since: Mapping[str, float] | None = None
) -> dict[ModelKey, Figures]:
    """The provider calls among ``events`` per (provider, model). A model named in ``since``
    counts only its events from that moment (epoch seconds) on: an operator reset its
    health window then."""
    since = since or {}
    found: dict[ModelKey, Figures] = {}
    for event in events:
        if event.cached:
            continue
        start = since.get(event.model)
        if start is not None and event.created_at < start:
            continue
        found.setdefault((event.provider, event.model), Figures()).add(event)
    return found


def change(current: Mapping[str, Any], baseline: Mapping[str, Any]) -> dict[str, float | None]:
    """How ``current`` (a ``Figures.summary``) moved from ``baseline``: calls and p95s as
    ratios (2.0: twice the baseline's), the error rate as a difference of rates (0.04: four
    points more); ``None`` where either side has nothing to compare."""
    return {
        "calls_ratio": _ratio(current["calls"], baseline["calls"]),
        "error_rate_delta": _delta(current["error_rate"], baseline["error_rate"]),
        "latency_p95_ratio": _ratio(current["latency_ms"]["p95"], baseline["latency_ms"]["p95"]),
        "ttft_p95_ratio": _ratio(current["ttft_ms"]["p95"], baseline["ttft_ms"]["p95"]),
    }


def _added(sketch: BaseDDSketch | None, value: float) -> BaseDDSketch:
    sketch = sketch if sketch is not None else new_sketch()
    sketch.add(max(0.0, value))
    return sketch


def _ms(sketch: BaseDDSketch | None, q: float) -> float | None:
    value = quantile(sketch, q)
    return None if value is None else round(value, 1)


def _rate(part: int, whole: int) -> float | None:
    return round(part / whole, 4) if whole else None


def _ratio(now: float | None, then: float | None) -> float | None:
    if now is None or not then:
        return None
    return round(now / then, 3)


def _delta(now: float | None, then: float | None) -> float | None:
    if now is None or then is None:
        return None
    return round(now - then, 4)
