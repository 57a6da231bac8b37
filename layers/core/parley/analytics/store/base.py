"""The rollup store's interface: each org's rollups by hour and by day, its activity, and the
routing advice the recommender leaves for the request path.

A span (an hour ``yyyy-mm-ddTHH`` or a day ``yyyy-mm-dd``) is written whole: a write replaces
every series and activity chunk it names, so recomputing a span is harmless. A span's series
only grow as its events and feedback arrive, so a rewrite never leaves a stale series behind.
Rollups expire ``retention_days`` (400) after their span; reads never return an expired one.
Operations are synchronous and safe to call from several threads.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from parley.analytics.activity import Activity
from parley.analytics.rollup import SKETCHES

if TYPE_CHECKING:
    from collections.abc import Collection, Sequence

    from parley.analytics.rollup import SeriesRollup

__all__ = ["ROLLUP_RETENTION_DAYS", "RollupStore", "SpanRollups"]

ROLLUP_RETENTION_DAYS = 400


@dataclass
class SpanRollups:
    span: str  # yyyy-mm-ddTHH or yyyy-mm-dd
    rollups: list[SeriesRollup] = field(default_factory=list)
    activity: Activity = field(default_factory=Activity)


class RollupStore(ABC):
    @abstractmethod
    def put_hour(
        self, org_id: str, hour: str, rollups: Sequence[SeriesRollup], activity: Activity
    ) -> None:
        """Store one hour's rollups (``hour`` is ``yyyy-mm-ddTHH``), replacing what it had."""

    @abstractmethod
    def hours(self, org_id: str, day: str) -> list[SpanRollups]:
        """The stored hours of one UTC day, oldest first."""

    @abstractmethod
    def put_day(
        self, org_id: str, day: str, rollups: Sequence[SeriesRollup], activity: Activity
    ) -> None:
        """Store one day's rollups (the merge of its hours), replacing what it had."""

    @abstractmethod
    def days(
        self, org_id: str, first: str, last: str, *, sketches: Collection[str] = SKETCHES
    ) -> list[SpanRollups]:
        """The stored days from ``first`` to ``last`` (both ``yyyy-mm-dd``, inclusive),
        oldest first; a day with nothing stored is absent. Only the ``sketches`` named are
        decoded (``SeriesRollup.from_values``)."""

    @abstractmethod
    def put_advice(self, org_id: str, advice: dict[str, Any]) -> None:
        """Replace the org's routing advice (a JSON object the recommender wrote)."""

    @abstractmethod
    def advice(self, org_id: str) -> dict[str, Any] | None:
        """The org's routing advice, None when there is none."""
