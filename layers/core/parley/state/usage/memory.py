"""Usage events in memory: one process only (tests, a single development process).

Records are kept as the DynamoDB store keeps them: one per org, day and ``event_order``
(written once), values as DynamoDB gives them back (``latency_ms=12.0`` reads as ``12``), and
an expiry ``retention_days`` after the event that reads compare with the clock.
"""

from __future__ import annotations

import threading
import time
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any

from parley.clock import iso_from_epoch
from parley.state.hour_index import after_org_key, org_shard
from parley.state.items import from_item, to_item
from parley.state.usage.base import UsageEvent, UsageStore, event_order, usage_event

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator

__all__ = ["MemoryUsageStore"]


@dataclass(frozen=True)
class _Record:
    values: dict[str, Any]
    expires_at: int


class MemoryUsageStore(UsageStore):
    def __init__(self, *, retention_days: int = 90, clock: Callable[[], float] = time.time) -> None:
        self._retention_seconds = retention_days * 86_400
        self._clock = clock
        self._days: dict[tuple[str, str], dict[str, _Record]] = {}
        # Callers record from worker threads, several events of one request at once.
        self._lock = threading.Lock()

    def record(self, event: UsageEvent) -> bool:
        created = event.created_at or self._clock()
        stamp = iso_from_epoch(created)
        values = {k: v for k, v in asdict(event).items() if v is not None}
        stored = from_item(to_item({**values, "created_at": created}))
        record = _Record(stored, int(created + self._retention_seconds))
        with self._lock:
            day = self._days.setdefault((event.org_id, stamp[:10]), {})
            if day.setdefault(event_order(stamp, event), record) is not record:
                return False
        return True

    def for_org_day(self, org_id: str, day: str) -> list[UsageEvent]:
        now = int(self._clock())
        with self._lock:
            records = dict(self._days.get((org_id, day), {}))
        return [
            usage_event(records[order].values)
            for order in sorted(records)
            if records[order].expires_at > now
        ]

    def for_hour(
        self, hour: str, shard: int, *, after_org: str | None = None
    ) -> Iterator[UsageEvent]:
        now = int(self._clock())
        with self._lock:
            found = [
                (org_id, order, record)
                for (org_id, day), records in self._days.items()
                if day == hour[:10] and org_shard(org_id) == shard
                for order, record in records.items()
                if order[:13] == hour and record.expires_at > now
            ]
        found.sort(key=lambda entry: (f"{entry[0]}#", entry[1]))
        return (
            usage_event(record.values)
            for org_id, _, record in found
            if after_org is None or f"{org_id}#" > after_org_key(after_org)
        )
