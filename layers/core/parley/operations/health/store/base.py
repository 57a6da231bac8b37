"""The health store's interface: each hour's records (written whole by the job), each model's
last reset, and the audit of resets.

An hour is replaced whole by each run for it, so running an hour again is harmless. Hours
expire ``retention_days`` (400) after they end, as rollups do; reads never return an expired
one. Reset marks and audit entries never expire. Operations are synchronous and safe to call
from several threads.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Sequence

    from parley.operations.health.records import (
        AuditEntry,
        HealthHour,
        HealthRecord,
        HourSummary,
        ResetMark,
    )

__all__ = ["HEALTH_RETENTION_DAYS", "HealthStore"]

HEALTH_RETENTION_DAYS = 400


class HealthStore(ABC):
    @abstractmethod
    def put_hour(self, summary: HourSummary, records: Sequence[HealthRecord]) -> None:
        """Store ``summary.hour``'s records, replacing whatever the hour had."""

    @abstractmethod
    def hour(self, hour: str) -> HealthHour | None:
        """One hour (``yyyy-mm-ddTHH``) as stored, records by provider and model; None when
        it was never computed (or has expired)."""

    @abstractmethod
    def latest_hour(self) -> str | None:
        """The newest hour stored, None when there is none."""

    @abstractmethod
    def record_reset(self, entry: AuditEntry) -> None:
        """The model's reset mark (``entry.mark()``, replacing its last) and the audit entry,
        both or neither."""

    @abstractmethod
    def resets(self) -> dict[str, ResetMark]:
        """Each model's last reset, by model."""

    @abstractmethod
    def audit(self, *, limit: int) -> list[AuditEntry]:
        """The last ``limit`` audit entries, newest first."""
