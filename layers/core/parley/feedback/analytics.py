"""Feedback rates over a date range, per day, ISO week or month, and overall.

Each rate counts only the records that carry what it needs, and is ``null`` when none does:

    count                    records
    helpful_rate             thumbs up / records with thumbs
    average_rating           mean rating of records with a rating
    implicit_satisfaction    mean of the implicit scores (``parley.feedback.satisfaction``)
    continuation_rate        signals.continued true / records with that signal
    action_completion_rate   signals.action_completed true / records with that signal
    handoff_rate             signals.asked_for_human true / records with that signal

Rates are rounded to 4 places. A period is named by its first day (``yyyy-mm-dd``: the day,
the week's Monday, the month's 1st); every period the range touches is listed, empty or not.
Beside them, over the whole range: ``byModel``, the count, helpful rate, average rating and
implicit satisfaction of the replies of each model (and provider) rated, most rated first, and
``comments``, the records with a comment.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import TYPE_CHECKING, Any, Literal

if TYPE_CHECKING:
    from collections.abc import Iterable

    from parley.feedback.days import DayRange

__all__ = ["Period", "Tally", "period_start", "summarise"]

Period = Literal["day", "week", "month"]
_SIGNAL_RATES = {
    "continuation_rate": "continued",
    "action_completion_rate": "action_completed",
    "handoff_rate": "asked_for_human",
}


@dataclass
class Tally:
    count: int = 0
    thumbs: list[int] = field(default_factory=list)
    ratings: list[int] = field(default_factory=list)
    satisfaction: list[float] = field(default_factory=list)
    signals: dict[str, list[bool]] = field(
        default_factory=lambda: {name: [] for name in _SIGNAL_RATES.values()}
    )

    def add(self, record: dict[str, Any]) -> None:
        self.count += 1
        if record.get("thumbs") is not None:
            self.thumbs.append(int(record["thumbs"]))
        if record.get("rating") is not None:
            self.ratings.append(int(record["rating"]))
        if record.get("satisfaction") is not None:
            self.satisfaction.append(float(record["satisfaction"]))
        signals = record.get("signals") or {}
        for name, seen in self.signals.items():
            if isinstance(signals.get(name), bool):
                seen.append(signals[name])

    def metrics(self) -> dict[str, Any]:
        metrics: dict[str, Any] = {
            "count": self.count,
            "helpful_rate": _share([thumb == 1 for thumb in self.thumbs]),
            "average_rating": _mean(self.ratings),
            "implicit_satisfaction": _mean(self.satisfaction),
        }
        for rate, signal in _SIGNAL_RATES.items():
            metrics[rate] = _share(self.signals[signal])
        return metrics


def period_start(day: date, period: Period) -> date:
    if period == "week":
        return day - timedelta(days=day.weekday())
    if period == "month":
        return day.replace(day=1)
    return day


def summarise(records: Iterable[dict[str, Any]], days: DayRange, period: Period) -> dict[str, Any]:
    """Metrics per period and overall for records with a ``created_at`` inside ``days``."""
    periods: dict[date, Tally] = {}
    for day in days.days():
        periods.setdefault(period_start(date.fromisoformat(day), period), Tally())
    overall = Tally()
    models: dict[tuple[str | None, str | None], Tally] = {}
    comments = 0
    for record in records:
        created = date.fromisoformat(str(record["created_at"])[:10])
        tally = periods.get(period_start(created, period))
        if tally is None:
            continue
        tally.add(record)
        overall.add(record)
        models.setdefault((record.get("model"), record.get("provider")), Tally()).add(record)
        comments += bool(str(record.get("comment") or "").strip())
    return {
        "from": days.first.isoformat(),
        "to": days.last.isoformat(),
        "period": period,
        "overall": overall.metrics(),
        "periods": [
            {"period_start": start.isoformat(), **tally.metrics()}
            for start, tally in sorted(periods.items())
        ],
        "byModel": [
            {"model": model, "provider": provider, **_model_metrics(tally)}
            for (model, provider), tally in sorted(
                models.items(), key=lambda item: (-item[1].count, str(item[0]))
            )
        ],
        "comments": comments,
    }


def _model_metrics(tally: Tally) -> dict[str, Any]:
    metrics = tally.metrics()
    return {
        name: metrics[name]
        for name in ("count", "helpful_rate", "average_rating", "implicit_satisfaction")
    }


def _share(flags: list[bool]) -> float | None:
    return round(sum(flags) / len(flags), 4) if flags else None


def _mean(values: list[int] | list[float]) -> float | None:
    return round(sum(values) / len(values), 4) if values else None
