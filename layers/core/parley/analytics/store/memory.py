"""Rollups in memory: one process only (tests, a single development process). Values go
through the same plain form as the DynamoDB store's items, so what one returns the other would."""

from __future__ import annotations

import copy
import threading
import time
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from parley.analytics.activity import Activity
from parley.analytics.rollup import SKETCHES, SeriesRollup
from parley.analytics.store.base import ROLLUP_RETENTION_DAYS, RollupStore, SpanRollups

if TYPE_CHECKING:
    from collections.abc import Callable, Collection, Sequence

__all__ = ["MemoryRollupStore"]


class MemoryRollupStore(RollupStore):
    def __init__(
        self,
        *,
        retention_days: int = ROLLUP_RETENTION_DAYS,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._retention = timedelta(days=retention_days)
        self._clock = clock
        # (org, "hour"|"day", span) -> (rollup values, activity chunks)
        self._spans: dict[tuple[str, str, str], tuple[list[dict[str, Any]], list[dict[str, Any]]]]
        self._spans = {}
        self._advice: dict[str, dict[str, Any]] = {}
        self._lock = threading.Lock()

    def put_hour(
        self, org_id: str, hour: str, rollups: Sequence[SeriesRollup], activity: Activity
    ) -> None:
        self._put(org_id, "hour", hour, rollups, activity)

    def put_day(
        self, org_id: str, day: str, rollups: Sequence[SeriesRollup], activity: Activity
    ) -> None:
        self._put(org_id, "day", day, rollups, activity)

    def hours(self, org_id: str, day: str) -> list[SpanRollups]:
        return self._read(org_id, "hour", lambda span: span[:10] == day)

    def days(
        self, org_id: str, first: str, last: str, *, sketches: Collection[str] = SKETCHES
    ) -> list[SpanRollups]:
        return self._read(org_id, "day", lambda span: first <= span <= last, sketches)

    def put_advice(self, org_id: str, advice: dict[str, Any]) -> None:
        with self._lock:
            self._advice[org_id] = copy.deepcopy(advice)

    def advice(self, org_id: str) -> dict[str, Any] | None:
        with self._lock:
            found = self._advice.get(org_id)
            return copy.deepcopy(found) if found is not None else None

    def _put(
        self,
        org_id: str,
        kind: str,
        span: str,
        rollups: Sequence[SeriesRollup],
        activity: Activity,
    ) -> None:
        values = [rollup.to_values() for rollup in rollups]
        chunks = list(activity.chunks())
        with self._lock:
            stored_values, stored_chunks = self._spans.get((org_id, kind, span), ([], []))
            by_series = {value["series"]: value for value in stored_values}
            by_series.update({value["series"]: value for value in values})
            # A rewrite replaces the chunks it names; older ones beyond stay, as in DynamoDB.
            merged_chunks = chunks + stored_chunks[len(chunks) :]
            self._spans[(org_id, kind, span)] = (list(by_series.values()), merged_chunks)

    def _read(
        self,
        org_id: str,
        kind: str,
        wanted: Callable[[str], bool],
        sketches: Collection[str] = SKETCHES,
    ) -> list[SpanRollups]:
        now = datetime.fromtimestamp(self._clock(), tz=UTC)
        with self._lock:
            found = [
                (span, values, chunks)
                for (org, stored_kind, span), (values, chunks) in self._spans.items()
                if org == org_id and stored_kind == kind and wanted(span)
            ]
        return [
            SpanRollups(
                span,
                sorted(
                    (SeriesRollup.from_values(value, sketches=sketches) for value in values),
                    key=lambda rollup: rollup.series,
                ),
                Activity.from_chunks(chunks),
            )
            for span, values, chunks in sorted(found)
            if _span_end(span) + self._retention > now
        ]


def _span_end(span: str) -> datetime:
    if len(span) == 10:
        return datetime.fromisoformat(span).replace(tzinfo=UTC) + timedelta(days=1)
    return datetime.fromisoformat(f"{span}:00").replace(tzinfo=UTC) + timedelta(hours=1)
