"""What the alert rules compare: a scope's rollups of the last 24 hours and of the same 24
hours a week earlier, of today so far, and of the 7 days before today.

A scope is an org, or the deployment (every org whose rollups are given, merged). The
guardrail's classifier calls are left out: they are not answers (``Filters``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

from parley.analytics.window import Filters

if TYPE_CHECKING:
    from collections.abc import Iterable, Sequence

    from parley.analytics.rollup import SeriesRollup
    from parley.analytics.store import RollupStore

__all__ = ["RECENT_HOURS", "TRAILING_DAYS", "AlertWindows", "read_windows"]

RECENT_HOURS = 24
TRAILING_DAYS = 7
_ANSWERS = Filters(classifier_calls=False)


@dataclass
class AlertWindows:
    """Each window's rollups (one per series and span, not merged) and the spans it covers."""

    recent: list[SeriesRollup] = field(default_factory=list)
    week_before: list[SeriesRollup] = field(default_factory=list)
    today: list[SeriesRollup] = field(default_factory=list)
    trailing_days: dict[str, list[SeriesRollup]] = field(default_factory=dict)
    recent_span: tuple[str, str] = ("", "")  # first and last hour, yyyy-mm-ddTHH
    week_before_span: tuple[str, str] = ("", "")
    today_span: str = ""


def read_windows(store: RollupStore, org_ids: Sequence[str], *, now: float) -> AlertWindows:
    """The windows of ``org_ids`` (one org, or every org of the deployment), as of ``now``.
    Reads each org's hours of four UTC days and its days of the last week."""
    at = datetime.fromtimestamp(now, tz=UTC)
    last_hour = at.replace(minute=0, second=0, microsecond=0) - timedelta(hours=1)
    recent = _hours(last_hour, RECENT_HOURS)
    earlier = _hours(last_hour - timedelta(days=7), RECENT_HOURS)
    today = at.date()
    first_day = today - timedelta(days=TRAILING_DAYS)
    windows = AlertWindows(
        recent_span=(recent[0], recent[-1]),
        week_before_span=(earlier[0], earlier[-1]),
        today_span=today.isoformat(),
    )
    wanted_recent, wanted_earlier = set(recent), set(earlier)
    hour_days = sorted({hour[:10] for hour in (*recent, *earlier)})
    for org_id in org_ids:
        for day in hour_days:
            for span in store.hours(org_id, day):
                if span.span in wanted_recent:
                    windows.recent.extend(_answers(span.rollups))
                elif span.span in wanted_earlier:
                    windows.week_before.extend(_answers(span.rollups))
        for span in store.days(org_id, first_day.isoformat(), today.isoformat()):
            rollups = _answers(span.rollups)
            if span.span == windows.today_span:
                windows.today.extend(rollups)
            else:
                windows.trailing_days.setdefault(span.span, []).extend(rollups)
    return windows


def _hours(last: datetime, count: int) -> list[str]:
    """``count`` hours ending with ``last``, oldest first, as ``yyyy-mm-ddTHH``."""
    return [(last - timedelta(hours=back)).strftime("%Y-%m-%dT%H") for back in range(count)][::-1]


def _answers(rollups: Iterable[SeriesRollup]) -> list[SeriesRollup]:
    return [rollup for rollup in rollups if _ANSWERS.admit(rollup.series)]
