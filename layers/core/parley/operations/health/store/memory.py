"""Health records in memory: one process only (tests, a single development process). Records
are kept as their documents, copied both ways, so what one returns the other would."""

from __future__ import annotations

import copy
import threading
import time
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from parley.operations.health.records import (
    AuditEntry,
    HealthHour,
    HealthRecord,
    HourSummary,
    ResetMark,
)
from parley.operations.health.store.base import HEALTH_RETENTION_DAYS, HealthStore

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence

__all__ = ["MemoryHealthStore"]


class MemoryHealthStore(HealthStore):
    def __init__(
        self,
        *,
        retention_days: int = HEALTH_RETENTION_DAYS,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._retention = timedelta(days=retention_days)
        self._clock = clock
        # hour -> (summary document, record documents by provider and model)
        self._hours: dict[str, tuple[dict[str, Any], list[dict[str, Any]]]] = {}
        self._resets: dict[str, dict[str, Any]] = {}
        self._audit: list[dict[str, Any]] = []
        self._lock = threading.Lock()

    def put_hour(self, summary: HourSummary, records: Sequence[HealthRecord]) -> None:
        ordered = sorted(records, key=lambda record: (record.provider, record.model))
        documents = [record.document() for record in ordered]
        with self._lock:
            self._hours[summary.hour] = (summary.document(), copy.deepcopy(documents))

    def hour(self, hour: str) -> HealthHour | None:
        with self._lock:
            found = copy.deepcopy(self._hours.get(hour)) if self._live(hour) else None
        if found is None:
            return None
        summary, records = found
        return HealthHour(
            HourSummary.from_document(summary),
            [HealthRecord.from_document(record) for record in records],
        )

    def latest_hour(self) -> str | None:
        with self._lock:
            live = [hour for hour in self._hours if self._live(hour)]
        return max(live, default=None)

    def record_reset(self, entry: AuditEntry) -> None:
        with self._lock:
            self._resets[entry.model] = entry.mark().document()
            self._audit.append(copy.deepcopy(entry.document()))

    def resets(self) -> dict[str, ResetMark]:
        with self._lock:
            marks = [ResetMark.from_document(dict(mark)) for mark in self._resets.values()]
        return {mark.model: mark for mark in marks}

    def audit(self, *, limit: int) -> list[AuditEntry]:
        with self._lock:
            # Audit ids sort by the time they were made (parley.ids), as DynamoDB's keys do.
            entries = sorted(self._audit, key=lambda entry: entry["audit_id"], reverse=True)
            newest = copy.deepcopy(entries[:limit])
        return [AuditEntry.from_document(entry) for entry in newest]

    def _live(self, hour: str) -> bool:
        if hour not in self._hours:
            return False
        end = datetime.fromisoformat(f"{hour}:00").replace(tzinfo=UTC) + timedelta(hours=1)
        return end + self._retention > datetime.fromtimestamp(self._clock(), tz=UTC)
