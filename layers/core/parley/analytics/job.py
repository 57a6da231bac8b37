"""The hourly aggregation job: usage events and feedback in, rollups out (docs/operations.md).

Each run recomputes, from the raw events, its scheduled hour so far and the
``LOOKBACK_HOURS`` hours that closed before it: for every org of every shard it rebuilds the
hour's rollups from the hour index of the usage and feedback tables (``sources``), stores them
whole (replacing what the hour had) and merges the org's day from its stored hours; then,
once for each org it rebuilt, it refreshes the org's routing advice.
Recomputing rather than counting increments is what makes the job safe to run twice (a second
delivery, a retry, ``parley jobs run`` by hand) and correct for what arrives late: an event
whose write reached the index after its hour's first run, or a run that failed, is in the next
runs' recomputation of that hour. Feedback counts in the hour it was given (a rating the next
day is the next day's), on the series of the reply it rates. A day is merged each time one of
its hours is recomputed, so its last merge comes with its last hour's last recomputation (a
day is final by 03:05 UTC the next day: the 01:05 run is the daily merge the schedule
promises, and the two after it fold in what reached the index late).

The deadline is checked before each org after the first: every invocation makes progress, and
one that stops returns the cursor of the next org (``complete`` false). The counts:
``processed`` org-hours rebuilt (``updated`` the same: each is rewritten), ``events`` and
``feedback`` read, ``orgs`` distinct orgs, ``hours`` the hours recomputed.
"""

from __future__ import annotations

import base64
import binascii
import json
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any, TypedDict

from parley.analytics.aggregation import org_hours, rollup_day
from parley.errors import BadRequest
from parley.state.hour_index import HOUR_SHARDS
from parley.telemetry import logger

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence

    from parley.analytics.aggregation import OrgHour
    from parley.analytics.sources import FeedbackHours
    from parley.analytics.store import RollupStore
    from parley.providers.catalog import Catalog
    from parley.state.usage import UsageStore

__all__ = [
    "ADVICE_WINDOW_DAYS",
    "LOOKBACK_HOURS",
    "AggregateUsageJob",
    "AggregationResult",
    "RoutingAdvisor",
    "hours_to_recompute",
]

# Closed hours recomputed by each run besides its own: the one that just closed and two more.
LOOKBACK_HOURS = 3
# Seconds of the runner's margin after the deadline that refreshing advice may still use.
ADVICE_GRACE_SECONDS = 20.0
# The routing advice looks at this many days of rollups.
ADVICE_WINDOW_DAYS = 30


class AggregationResult(TypedDict):
    processed: int
    updated: int
    events: int
    feedback: int
    orgs: int
    hours: list[str]
    duration_ms: int
    complete: bool
    cursor: str | None


@dataclass(frozen=True)
class _Position:
    """Just after ``org`` in ``shard`` of ``hour`` (None: at the shard's start)."""

    hour: str
    shard: int
    org: str | None

    def encode(self) -> str:
        raw = json.dumps({"hour": self.hour, "shard": self.shard, "org": self.org})
        return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")

    @classmethod
    def decode(cls, cursor: str, *, hours: Sequence[str], shards: Sequence[int]) -> _Position:
        try:
            raw = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
            org = raw["org"]
            position = cls(
                hour=str(raw["hour"]),
                shard=int(raw["shard"]),
                org=None if org is None else str(org),
            )
        except (binascii.Error, ValueError, TypeError, KeyError, UnicodeDecodeError) as exc:
            raise BadRequest("The job cursor is not valid.") from exc
        if position.hour not in hours or position.shard not in shards:
            raise BadRequest("The job cursor belongs to another run (hour or shards).")
        return position


@dataclass
class _Tally:
    processed: int = 0
    events: int = 0
    feedback: int = 0
    orgs: set[str] = field(default_factory=set)


class AggregateUsageJob:
    def __init__(
        self,
        usage: UsageStore,
        feedback: FeedbackHours,
        rollups: RollupStore,
        *,
        advise: Callable[[str, RollupStore, float], dict[str, Any] | None] | None = None,
        clock: Callable[[], float] = time.time,
        timer: Callable[[], float] = time.monotonic,
        lookback_hours: int = LOOKBACK_HOURS,
    ) -> None:
        self._usage = usage
        self._feedback = feedback
        self._rollups = rollups
        self._advise = advise  # the org's routing advice from its stored days; None: none
        self._clock = clock
        self._timer = timer
        self._lookback = lookback_hours
        # The orgs the last run rebuilt rollups of (what the alerts then evaluate).
        self.orgs_updated: list[str] = []

    def run(
        self,
        *,
        deadline: float | None,
        as_of: float | None = None,
        hours: Sequence[str] | None = None,
        shards: Sequence[int] | None = None,
        cursor: str | None = None,
    ) -> AggregationResult:
        """One invocation: ``as_of``'s hour and the closed hours before it (or exactly
        ``hours``, ``yyyy-mm-ddTHH``), the orgs of ``shards`` (default: all), from ``cursor``."""
        started = time.perf_counter()
        chosen_hours = (
            sorted(hours)
            if hours
            else hours_to_recompute(self._clock() if as_of is None else as_of, self._lookback)
        )
        chosen_shards = sorted(set(range(HOUR_SHARDS) if shards is None else shards))
        if any(not 0 <= shard < HOUR_SHARDS for shard in chosen_shards):
            raise BadRequest(f"Shards are 0 to {HOUR_SHARDS - 1}.")
        start = (
            _Position.decode(cursor, hours=chosen_hours, shards=chosen_shards) if cursor else None
        )
        tally = _Tally()
        stopped: _Position | None = None
        for hour, shard in ((hour, shard) for hour in chosen_hours for shard in chosen_shards):
            if start is not None and (hour, shard) < (start.hour, start.shard):
                continue
            resuming = start is not None and (hour, shard) == (start.hour, start.shard)
            after = start.org if start is not None and resuming else None
            stopped = self._shard(hour, shard, after=after, deadline=deadline, tally=tally)
            if stopped is not None:
                break
        # Once per org and invocation, after all its hours: the advice reads 30 days. Past the
        # deadline (and a little of the margin kept after it) the rest wait for the next run.
        for org_id in sorted(tally.orgs):
            if deadline is not None and self._timer() >= deadline + ADVICE_GRACE_SECONDS:
                logger.warning("Routing advice left for the next run", orgs=len(tally.orgs))
                break
            self._refresh_advice(org_id)
        self.orgs_updated = sorted(tally.orgs)
        return self._result(tally, chosen_hours, started, stopped)

    def _shard(
        self, hour: str, shard: int, *, after: str | None, deadline: float | None, tally: _Tally
    ) -> _Position | None:
        """Rebuild each org of one hour and shard; the position to continue from when the
        deadline passed first."""
        events = self._usage.for_hour(hour, shard, after_org=after)
        feedback = self._feedback.for_hour(hour, shard, after_org=after)
        last = after
        for org_hour in org_hours(events, feedback):
            if tally.processed and deadline is not None and self._timer() >= deadline:
                # Nothing of this org is written yet: the next invocation rebuilds it whole.
                return _Position(hour, shard, last)
            self._store(hour, org_hour)
            tally.processed += 1
            tally.events += org_hour.events
            tally.feedback += org_hour.feedback
            tally.orgs.add(org_hour.org_id)
            last = org_hour.org_id
        return None

    def _store(self, hour: str, org_hour: OrgHour) -> None:
        org_id, day = org_hour.org_id, hour[:10]
        self._rollups.put_hour(org_id, hour, list(org_hour.rollups.values()), org_hour.activity)
        merged = rollup_day(
            (span.rollups, span.activity) for span in self._rollups.hours(org_id, day)
        )
        self._rollups.put_day(org_id, day, list(merged.rollups.values()), merged.activity)

    def _refresh_advice(self, org_id: str) -> None:
        if self._advise is None:
            return
        try:
            advice = self._advise(org_id, self._rollups, self._clock())
        except Exception:  # noqa: BLE001 - advice is optional; the rollups are stored
            logger.exception("Routing advice not computed", org_id=org_id)
            return
        if advice is not None:
            self._rollups.put_advice(org_id, advice)

    def _result(
        self, tally: _Tally, hours: list[str], started: float, stopped: _Position | None
    ) -> AggregationResult:
        return {
            "processed": tally.processed,
            "updated": tally.processed,
            "events": tally.events,
            "feedback": tally.feedback,
            "orgs": len(tally.orgs),
            "hours": hours,
            "duration_ms": round((time.perf_counter() - started) * 1000),
            "complete": stopped is None,
            "cursor": None if stopped is None else stopped.encode(),
        }


class RoutingAdvisor:
    """The org's routing advice from its last ``ADVICE_WINDOW_DAYS`` stored days (the
    recommender's balanced ranking per task type), for ``AggregateUsageJob(advise=...)``."""

    def __init__(self, catalog: Catalog, *, window_days: int = ADVICE_WINDOW_DAYS) -> None:
        self._catalog = catalog
        self._window = window_days

    def __call__(self, org_id: str, rollups: RollupStore, now: float) -> dict[str, Any] | None:
        from parley.analytics.recommender import rank_for_routing

        today = datetime.fromtimestamp(now, tz=UTC).date()
        first = today - timedelta(days=self._window - 1)
        days = rollups.days(org_id, first.isoformat(), today.isoformat())
        if not days:
            return None
        return rank_for_routing(days, catalog=self._catalog, now=now, window_days=self._window)


def hours_to_recompute(reference: float, lookback: int) -> list[str]:
    """``reference``'s UTC hour (``yyyy-mm-ddTHH``, so far) and the ``lookback`` hours that
    closed before it, oldest first."""
    this_hour = datetime.fromtimestamp(reference, tz=UTC).replace(minute=0, second=0, microsecond=0)
    return [
        (this_hour - timedelta(hours=back)).strftime("%Y-%m-%dT%H")
        for back in range(lookback, -1, -1)
    ]
