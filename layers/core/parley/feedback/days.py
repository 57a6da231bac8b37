"""The UTC days a feedback read covers: ``from``/``to`` inclusive, the last 7 days by default,
at most 92 (a quarter), so one request reads a bounded number of partitions."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from parley.errors import ValidationFailed

__all__ = ["DEFAULT_DAYS", "MAX_DAYS", "DayRange"]

DEFAULT_DAYS = 7
MAX_DAYS = 92


@dataclass(frozen=True)
class DayRange:
    first: date
    last: date

    @classmethod
    def parse(cls, first: date | None, last: date | None, *, now: float) -> DayRange:
        today = datetime.fromtimestamp(now, tz=UTC).date()
        try:
            last = last or (today if first is None else min(today, first + timedelta(MAX_DAYS - 1)))
            first = first or last - timedelta(days=DEFAULT_DAYS - 1)
        except OverflowError as exc:  # a range reaching past year 1 or 9999
            raise ValidationFailed("`from` and `to` must be days between 0001 and 9999.") from exc
        if first > last:
            raise ValidationFailed("`from` must not be after `to`.")
        if (last - first).days + 1 > MAX_DAYS:
            raise ValidationFailed(f"A range covers at most {MAX_DAYS} days.")
        return cls(first, last)

    def days(self) -> list[str]:
        """Each day as ``yyyy-mm-dd``, oldest first."""
        count = (self.last - self.first).days + 1
        return [(self.first + timedelta(days=offset)).isoformat() for offset in range(count)]
