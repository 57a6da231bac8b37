"""One hour of one org shard, org by org: the usage events and the feedback records (each
sorted by org, as the hour index gives them) walked side by side into each org's rollups."""

from __future__ import annotations

from dataclasses import dataclass, field
from itertools import groupby
from typing import TYPE_CHECKING, Any

from parley.analytics.activity import Activity
from parley.analytics.rollup import SeriesRollup
from parley.analytics.series import Series

if TYPE_CHECKING:
    from collections.abc import Iterable, Iterator

    from parley.state.usage import UsageEvent

__all__ = ["OrgHour", "org_hours", "rollup_day"]


@dataclass
class OrgHour:
    org_id: str
    rollups: dict[Series, SeriesRollup] = field(default_factory=dict)
    activity: Activity = field(default_factory=Activity)
    events: int = 0
    feedback: int = 0

    def rollup(self, series: Series) -> SeriesRollup:
        found = self.rollups.get(series)
        if found is None:
            found = self.rollups[series] = SeriesRollup(series)
        return found


def org_hours(
    events: Iterable[UsageEvent], feedback: Iterable[dict[str, Any]]
) -> Iterator[OrgHour]:
    """Each org's hour, in org order (the order of the hour index: ``<org>#`` keys)."""
    by_org_events = groupby(events, key=lambda event: event.org_id)
    by_org_feedback = groupby(feedback, key=lambda record: str(record["org_id"]))
    next_events = next(by_org_events, None)
    next_feedback = next(by_org_feedback, None)
    while next_events is not None or next_feedback is not None:
        org = min(
            (group[0] for group in (next_events, next_feedback) if group is not None),
            key=lambda org_id: f"{org_id}#",
        )
        hour = OrgHour(org)
        if next_events is not None and next_events[0] == org:
            for event in next_events[1]:
                hour.rollup(Series.from_event(event)).add_event(event)
                hour.activity.add_event(event)
                hour.events += 1
            next_events = next(by_org_events, None)
        if next_feedback is not None and next_feedback[0] == org:
            for record in next_feedback[1]:
                hour.rollup(_feedback_series(record)).add_feedback(record)
                hour.feedback += 1
            next_feedback = next(by_org_feedback, None)
        yield hour


def rollup_day(hours: Iterable[tuple[list[SeriesRollup], Activity]]) -> OrgHour:
    """A day's rollups: its hours merged series by series, its activity the union."""
    day = OrgHour("")
    for rollups, activity in hours:
        for rollup in rollups:
            day.rollup(rollup.series).merge(rollup)
        day.activity.merge(activity)
    return day


def _feedback_series(record: dict[str, Any]) -> Series:
    return Series.of(
        model=record.get("model"),
        provider=record.get("provider"),
        task_type=record.get("task_type"),
        panel=record.get("panel"),
        route=record.get("route"),
        tier=record.get("tier"),
        endpoint=record.get("endpoint"),
        guardrail=record.get("guardrail"),  # the rated reply's guardrail mark, if it had one
    )
