"""One series' figures over one hour or one day, built from usage events and feedback records,
merged from smaller spans, and stored as one item (``to_values`` / ``from_values``).

Counts and sums add; latency and time-to-first-token are DDSketches (``sketches``), which
merge. What each count means:

* ``calls``: provider calls (every attempt, retries and failovers included), not cached
  answers; ``successes`` of them answered, ``errors`` counts the others by error code;
* ``requests``: the requests this series answered or tried first (a request's first attempt);
* ``failovers``: calls made because an earlier call of the request failed;
* ``cache_hits``: requests answered from the response cache (no provider call, no tokens);
* tokens and ``cost_usd`` of every call, cached answers' zero included;
* ``latency`` and ``ttft``: of answered calls only (a failure's time says nothing of how fast
  the model answers), in milliseconds; ``latency_ms_sum`` is their sum;
* feedback, counted in the hour it was given, on the series of the reply it rates:
  ``feedback`` records, ``positive`` (thumbs up or a rating of 4 or 5) of those that say
  (``judged``: a thumb or a rating), ``negative`` (a thumb down or a rating of 1 or 2, when
  not positive: a 3 is neither), ``thumbs_up``/``thumbs_down``, ``ratings`` and
  ``rating_sum``, ``satisfaction_count``/``satisfaction_sum`` (implicit satisfaction, 0 to 1) and
  ``comments``.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from typing import TYPE_CHECKING, Any

from parley.analytics.series import Series
from parley.analytics.sketches import decode_sketch, encode_sketch, new_sketch

if TYPE_CHECKING:
    from collections.abc import Collection, Iterable

    from ddsketch.ddsketch import BaseDDSketch

    from parley.state.usage import UsageEvent

__all__ = ["COUNTERS", "SKETCHES", "SeriesRollup", "merge_rollups"]

# The distributions a rollup keeps, by attribute name.
SKETCHES: tuple[str, ...] = ("latency", "ttft")


@dataclass
class SeriesRollup:
    series: Series
    calls: int = 0
    successes: int = 0
    requests: int = 0
    failovers: int = 0
    cache_hits: int = 0
    input_tokens: int = 0
    output_tokens: int = 0
    cost_usd: float = 0.0
    latency_ms_sum: float = 0.0
    ttft_ms_sum: float = 0.0
    feedback: int = 0
    judged: int = 0
    positive: int = 0
    negative: int = 0
    thumbs_up: int = 0
    thumbs_down: int = 0
    ratings: int = 0
    rating_sum: int = 0
    satisfaction_count: int = 0
    satisfaction_sum: float = 0.0
    comments: int = 0
    # Feedback whose implicit signals say whether the user asked for a human, and those that
    # did (the handoff rate the alerts watch).
    handoff_signals: int = 0
    handoffs: int = 0
    # Requests whose smart defaults held a learned value (learned-preference coverage).
    learned_defaults: int = 0
    errors: dict[str, int] = field(default_factory=dict)
    latency: BaseDDSketch | None = None
    ttft: BaseDDSketch | None = None

    # -- building ---------------------------------------------------------------------------

    def add_event(self, event: UsageEvent) -> None:
        if event.attempt == 0:
            self.requests += 1
            self.learned_defaults += event.learned_defaults
        self.input_tokens += event.input_tokens
        self.output_tokens += event.output_tokens
        self.cost_usd += event.cost_usd
        if event.cached:
            self.cache_hits += 1
            return
        self.calls += 1
        self.failovers += int(event.failover)
        if not event.success:
            code = event.error_code or "unknown"
            self.errors[code] = self.errors.get(code, 0) + 1
            return
        self.successes += 1
        self.latency_ms_sum += event.latency_ms
        self.latency = _added(self.latency, event.latency_ms)
        if event.ttft_ms is not None:
            self.ttft_ms_sum += event.ttft_ms
            self.ttft = _added(self.ttft, event.ttft_ms)

    def add_feedback(self, record: dict[str, Any]) -> None:
        """One feedback record (FeedbackTable's form: thumbs, rating, satisfaction, comment)."""
        self.feedback += 1
        thumbs, rating = record.get("thumbs"), record.get("rating")
        if thumbs is not None or rating is not None:
            self.judged += 1
            if thumbs == 1 or int(rating or 0) >= 4:
                self.positive += 1
            elif thumbs == -1 or (rating is not None and int(rating) <= 2):
                self.negative += 1
        if thumbs == 1:
            self.thumbs_up += 1
        elif thumbs == -1:
            self.thumbs_down += 1
        if rating is not None:
            self.ratings += 1
            self.rating_sum += int(rating)
        if record.get("satisfaction") is not None:
            self.satisfaction_count += 1
            self.satisfaction_sum += float(record["satisfaction"])
        if record.get("comment"):
            self.comments += 1
        signals = record.get("signals")
        asked = signals.get("asked_for_human") if isinstance(signals, dict) else None
        if isinstance(asked, bool):
            self.handoff_signals += 1
            self.handoffs += asked

    def merge(self, other: SeriesRollup) -> None:
        """Add ``other`` (of any series: the caller decides what a merge groups) into this."""
        for name in COUNTERS:
            setattr(self, name, getattr(self, name) + getattr(other, name))
        for code, count in other.errors.items():
            self.errors[code] = self.errors.get(code, 0) + count
        self.latency = _merged(self.latency, other.latency)
        self.ttft = _merged(self.ttft, other.ttft)

    # -- reading ----------------------------------------------------------------------------

    @property
    def answered(self) -> int:
        """Calls with a latency in the sketch: the successes."""
        return self.successes

    @property
    def tokens(self) -> int:
        return self.input_tokens + self.output_tokens

    # -- storing ----------------------------------------------------------------------------

    def to_values(self) -> dict[str, Any]:
        """Plain values for one stored item (sketches as bytes, zero counts left out)."""
        values: dict[str, Any] = {**self.series.dimensions(), "series": self.series.key()}
        values.update({name: getattr(self, name) for name in COUNTERS if getattr(self, name)})
        if self.errors:
            values["errors"] = dict(self.errors)
        if self.latency is not None:
            values["latency"] = encode_sketch(self.latency)
        if self.ttft is not None:
            values["ttft"] = encode_sketch(self.ttft)
        return values

    @classmethod
    def from_values(
        cls, values: dict[str, Any], *, sketches: Collection[str] = SKETCHES
    ) -> SeriesRollup:
        """The rollup ``to_values`` stored; only the ``sketches`` named are decoded (the
        others are None): decoding costs a sketch's bins, and most reads need one."""
        rollup = cls(Series.from_key(values["series"]))
        for name in COUNTERS:
            if name in values:
                setattr(rollup, name, values[name])
        rollup.errors = {code: int(count) for code, count in values.get("errors", {}).items()}
        if "latency" in sketches:
            rollup.latency = _decoded(values.get("latency"))
        if "ttft" in sketches:
            rollup.ttft = _decoded(values.get("ttft"))
        return rollup


COUNTERS: tuple[str, ...] = tuple(
    f.name for f in fields(SeriesRollup) if f.name not in {"series", "errors", "latency", "ttft"}
)


def merge_rollups(rollups: Iterable[SeriesRollup], series: Series) -> SeriesRollup:
    """One rollup, labelled ``series``, holding every one of ``rollups``."""
    total = SeriesRollup(series)
    for rollup in rollups:
        total.merge(rollup)
    return total


def _added(sketch: BaseDDSketch | None, value: float) -> BaseDDSketch:
    sketch = sketch if sketch is not None else new_sketch()
    sketch.add(max(0.0, value))
    return sketch


def _merged(mine: BaseDDSketch | None, theirs: BaseDDSketch | None) -> BaseDDSketch | None:
    if theirs is None or theirs.count == 0:
        return mine
    if mine is None:
        mine = new_sketch()
    mine.merge(theirs)
    return mine


def _decoded(data: Any) -> BaseDDSketch | None:
    if data is None:
        return None
    raw = getattr(data, "value", data)  # boto3's Binary, or bytes
    return decode_sketch(bytes(raw))
