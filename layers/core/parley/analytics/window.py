"""A window of whole UTC days of one org's daily rollups, filtered and merged by any grouping.

The store is read once per window (``read_window``); every figure is then a merge of what was
read, so a query costs the days times the series stored, never the events behind them.
Grouping keeps a series' dimensions as a tuple of values (``UNKNOWN`` where a series has
none) and merges every rollup of a group into one, latency sketches included, so a merged
group's quantiles are those of all its calls.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import TYPE_CHECKING

from parley.analytics.activity import Activity
from parley.analytics.rollup import COUNTERS, SKETCHES, SeriesRollup
from parley.analytics.safety_marks import CLASSIFIER_ROUTE
from parley.analytics.series import DIMENSIONS, UNKNOWN, Series
from parley.analytics.sketches import merge_sketch

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable, Sequence

    from parley.analytics.store.base import RollupStore

__all__ = [
    "DEFAULT_DAYS",
    "LATENCY",
    "MAX_DAYS",
    "SKETCHES",
    "Day",
    "Filters",
    "Window",
    "WindowRollups",
    "group_rollups",
    "known",
    "merge_into",
    "merged",
    "read_window",
]

DEFAULT_DAYS = 30
# Rollups are kept 400 days (ROLLUP_RETENTION_DAYS): a longer window would read nothing more.
MAX_DAYS = 400

Group = tuple[str, ...]
# The sketches a rollup has. A window's merges keep ``LATENCY`` only: every figure's quantiles
# are latency's, and none reads time to first token yet.
LATENCY = ("latency",)


@dataclass(frozen=True)
class Window:
    """``days`` whole UTC days ending with ``last`` (today, by default)."""

    first: date
    last: date

    @classmethod
    def ending_today(cls, days: int, *, now: float) -> Window:
        last = datetime.fromtimestamp(now, tz=UTC).date()
        return cls(last - timedelta(days=days - 1), last)

    @property
    def days(self) -> int:
        return (self.last - self.first).days + 1

    def day_names(self) -> list[str]:
        """Each day as ``yyyy-mm-dd``, oldest first."""
        return [(self.first + timedelta(days=offset)).isoformat() for offset in range(self.days)]


@dataclass(frozen=True)
class Filters:
    """Series to keep: ``None`` keeps every value of its dimension."""

    task_type: str | None = None
    model: str | None = None
    # The crisis guardrail's classifier calls (route ``guardrail``) are not answers: the
    # models view and the recommender leave them out (False), the safety view reads them.
    classifier_calls: bool = True

    def admit(self, series: Series) -> bool:
        if not self.classifier_calls and series.route == CLASSIFIER_ROUTE:
            return False
        return (self.task_type is None or series.task_type == self.task_type) and (
            self.model is None or series.model == self.model
        )

    def as_dict(self) -> dict[str, str | None]:
        return {"task_type": self.task_type, "model": self.model}


@dataclass(frozen=True)
class Day:
    """One stored day: its rollups (those the window's filters admit) and its activity."""

    span: str
    rollups: list[SeriesRollup]
    activity: Activity


@dataclass
class WindowRollups:
    """What one read of a window found: each stored day's rollups (the filters' series only)
    and its activity (activity is per user, not per series, so it is never filtered)."""

    window: Window
    filters: Filters = field(default_factory=Filters)
    days: list[Day] = field(default_factory=list)
    _series: list[SeriesRollup] | None = field(default=None, init=False, repr=False)

    def narrowed(self, filters: Filters) -> WindowRollups:
        """The same days with only the series ``filters`` also admits."""
        days = [
            Day(
                day.span,
                [rollup for rollup in day.rollups if filters.admit(rollup.series)],
                day.activity,
            )
            for day in self.days
        ]
        both = Filters(
            task_type=filters.task_type or self.filters.task_type,
            model=filters.model or self.filters.model,
            classifier_calls=filters.classifier_calls and self.filters.classifier_calls,
        )
        return WindowRollups(self.window, both, days)

    def rollups(self) -> Iterable[SeriesRollup]:
        """One rollup per series: its days merged (computed once, then every grouping merges
        these, so the days are merged once whatever the groupings asked)."""
        if self._series is None:
            series = group_rollups(
                (rollup for day in self.days for rollup in day.rollups),
                DIMENSIONS,
                sketches=LATENCY,
            )
            self._series = list(series.values())
        return self._series

    def total(self) -> SeriesRollup:
        """Every rollup of the window in one."""
        return merged(self.rollups(), Series.of(), LATENCY)

    def by(self, *dimensions: str, quantiles: bool = True) -> dict[Group, SeriesRollup]:
        """The window's rollups merged per value of ``dimensions`` (see ``group_rollups``);
        without ``quantiles``, counts only."""
        return group_rollups(self.rollups(), dimensions, sketches=LATENCY if quantiles else ())

    def by_day(self) -> dict[str, SeriesRollup]:
        """Every day of the window, oldest first, with all its rollups merged (an empty
        rollup for a day with nothing stored)."""
        stored = {day.span: day for day in self.days}
        return {
            name: merged(stored[name].rollups if name in stored else (), Series.of(), LATENCY)
            for name in self.day_names()
        }

    def day_names(self) -> list[str]:
        return self.window.day_names()

    def activity(self, wanted: Callable[[str], bool] = lambda _day: True) -> Activity:
        """The union of the activity of the days ``wanted`` admits."""
        union = Activity()
        for day in self.days:
            if wanted(day.span):
                union.merge(day.activity)
        return union


def read_window(
    store: RollupStore, org_id: str, window: Window, filters: Filters | None = None
) -> WindowRollups:
    """One read of ``org_id``'s days in ``window``, keeping the series ``filters`` admit."""
    filters = filters or Filters()
    # Every figure read from a window needs the latency sketch only (quantiles of response
    # time); the time-to-first-token one is not decoded.
    stored = store.days(org_id, window.first.isoformat(), window.last.isoformat(), sketches=LATENCY)
    days = [
        Day(
            day.span,
            [rollup for rollup in day.rollups if filters.admit(rollup.series)],
            day.activity,
        )
        for day in stored
    ]
    return WindowRollups(window, filters, days)


def group_rollups(
    rollups: Iterable[SeriesRollup],
    dimensions: Sequence[str],
    *,
    sketches: Sequence[str] = SKETCHES,
) -> dict[Group, SeriesRollup]:
    """``rollups`` merged per tuple of the values of ``dimensions`` (names of ``Series``
    fields), in the order the groups are first seen; each merged rollup's series carries the
    group's values and ``UNKNOWN`` for the other dimensions. ``sketches``: those the merged
    rollups keep (the others are left out: a merge of sketches costs their bins, a merge of
    counts nothing)."""
    unknown = sorted(set(dimensions) - set(DIMENSIONS))
    if unknown:
        raise ValueError(f"not dimensions of a series: {unknown}")
    groups: dict[Group, SeriesRollup] = {}
    for rollup in rollups:
        key = tuple(getattr(rollup.series, name) for name in dimensions)
        merged = groups.get(key)
        if merged is None:
            merged = groups[key] = SeriesRollup(
                Series.of(**dict(zip(dimensions, key, strict=True)))
            )
        merge_into(merged, rollup, sketches)
    return groups


def merge_into(total: SeriesRollup, other: SeriesRollup, sketches: Sequence[str]) -> None:
    """``SeriesRollup.merge`` keeping only the sketches named (``merge_sketch``'s way)."""
    for name in COUNTERS:
        setattr(total, name, getattr(total, name) + getattr(other, name))
    for code, count in other.errors.items():
        total.errors[code] = total.errors.get(code, 0) + count
    for name in sketches:
        setattr(total, name, merge_sketch(getattr(total, name), getattr(other, name)))


def merged(
    rollups: Iterable[SeriesRollup], series: Series, sketches: Sequence[str] = SKETCHES
) -> SeriesRollup:
    """One rollup, labelled ``series``, holding every one of ``rollups``."""
    total = SeriesRollup(series)
    for rollup in rollups:
        merge_into(total, rollup, sketches)
    return total


def known(value: str) -> str | None:
    """A dimension's value as the API shows it: ``None`` for ``UNKNOWN``."""
    return None if value == UNKNOWN else value
