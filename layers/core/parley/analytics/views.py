"""The dashboard's views of one window (``window``), each the answer of one endpoint:

* ``performance``: per day, latency (mean, p95), input and output tokens, cost, success rate;
* ``usage``: per model, cost, tokens and cost per request, latency; the same per panel and
  model (a request is a provider call or an answer from the cache, as ``metrics`` counts);
* ``engagement``: active users per day and per ISO week, conversations and requests per user,
  and week-over-week retention: the share of the previous ISO week's users active in the
  week of the window's last day (so far, while that week runs);
* ``features``: per panel, calls and requests, and its share of the requests;
* ``complexity``: per tier, its share of the requests, satisfaction, cost and cost per
  request, and the share of the requests on the light tier;
* ``savings``: what the window's tokens cost, against what the same tokens would have cost on
  the ``smart`` route's first model at the catalog's prices.

A panel or tier a series does not carry is ``null``.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import TYPE_CHECKING, Any

from parley.analytics.metrics import figures, milliseconds, money, percent, total_calls
from parley.analytics.overview import window_keys
from parley.analytics.series import UNKNOWN
from parley.analytics.window import Window, known

if TYPE_CHECKING:
    from collections.abc import Iterable

    from parley.analytics.activity import Activity, UserActivity
    from parley.analytics.rollup import SeriesRollup
    from parley.analytics.window import WindowRollups
    from parley.providers.catalog import ModelSpec

__all__ = [
    "TIER_ORDER",
    "complexity",
    "engagement",
    "engagement_window",
    "features",
    "performance",
    "savings",
    "usage",
]

TIER_ORDER = ("light", "standard", "heavy")


def performance(found: WindowRollups) -> dict[str, Any]:
    return {
        **window_keys(found),
        "summary": _performance(found.total()),
        "daily": [{"day": day, **_performance(rollup)} for day, rollup in found.by_day().items()],
    }


def usage(found: WindowRollups) -> dict[str, Any]:
    by_model = [
        {"model": known(model), "provider": known(provider), **_usage(rollup)}
        for (model, provider), rollup in found.by("model", "provider").items()
    ]
    by_panel = [
        {"panel": known(panel), "model": known(model), "provider": known(provider), **_usage(r)}
        for (panel, model, provider), r in found.by("panel", "model", "provider").items()
    ]
    return {
        **window_keys(found),
        "byModel": sorted(by_model, key=lambda row: (-row["totalCalls"], str(row["model"]))),
        "byPanel": sorted(
            by_panel,
            key=lambda row: (str(row["panel"]), -row["totalCalls"], str(row["model"])),
        ),
    }


def engagement_window(window: Window) -> Window:
    """The days engagement reads: ``window`` and, before it, back to the Monday of the ISO
    week before its last day's (what retention compares)."""
    previous = _monday(window.last) - timedelta(days=7)
    return Window(min(window.first, previous), window.last)


def engagement(found: WindowRollups, window: Window) -> dict[str, Any]:
    """``found``: ``engagement_window(window)`` read; the figures are ``window``'s, but for
    retention, which needs the week before."""
    first, last = window.first.isoformat(), window.last.isoformat()
    inside = found.activity(lambda day: first <= day <= last)
    stored = {day.span: day.activity for day in found.days}
    daily: list[dict[str, Any]] = []
    for day in window.day_names():
        activity = stored.get(day)
        users = activity.active_users if activity else 0
        daily.append(
            {
                "day": day,
                "activeUsers": users,
                "conversations": activity.conversations if activity else 0,
                "requests": _requests(activity.users.values()) if activity else 0,
            }
        )
    weeks = sorted({_monday(date.fromisoformat(day)) for day in window.day_names()})
    weekly: list[dict[str, Any]] = []
    for monday in weeks:
        week = _week(found, monday, within=window)
        weekly.append(
            {
                "week": monday.isoformat(),
                "activeUsers": week.active_users,
                "conversations": week.conversations,
                "conversationsPerUser": _per(week.conversations, week.active_users),
            }
        )
    this_monday = _monday(window.last)
    this_week = _week(found, this_monday)
    last_week = _week(found, this_monday - timedelta(days=7))
    retained = len(set(last_week.users) & set(this_week.users))
    requests = _requests(inside.users.values())
    return {
        **window_keys(found) | {"days": window.days, "from": first},
        "summary": {
            "activeUsers": inside.active_users,
            "dailyActiveUsers": _per(sum(row["activeUsers"] for row in daily), len(daily)),
            "weeklyActiveUsers": this_week.active_users,
            "conversations": inside.conversations,
            "conversationsPerUser": _per(inside.conversations, inside.active_users),
            "requests": requests,
            "requestsPerUser": _per(requests, inside.active_users),
            "retention": {
                "week": this_monday.isoformat(),
                "previousWeek": (this_monday - timedelta(days=7)).isoformat(),
                "previousWeekUsers": last_week.active_users,
                "retainedUsers": retained,
                "retentionRate": percent(retained, last_week.active_users),
            },
        },
        "daily": daily,
        "weekly": weekly,
    }


def features(found: WindowRollups) -> dict[str, Any]:
    panels = found.by("panel", quantiles=False)
    requests = sum(rollup.requests for rollup in panels.values())
    rows = [
        {
            "panel": known(panel),
            "totalCalls": total_calls(rollup),
            "requests": rollup.requests,
            "share": percent(rollup.requests, requests),
            "satisfactionRate": percent(rollup.positive, rollup.judged),
            "feedbackCount": rollup.feedback,
        }
        for (panel,), rollup in panels.items()
    ]
    return {
        **window_keys(found),
        "requests": requests,
        "panels": sorted(rows, key=lambda row: (-row["requests"], str(row["panel"]))),
    }


def complexity(found: WindowRollups) -> dict[str, Any]:
    tiers = found.by("tier", quantiles=False)
    requests = sum(rollup.requests for rollup in tiers.values())
    rows = [
        {
            "tier": known(tier),
            "requests": rollup.requests,
            "share": percent(rollup.requests, requests),
            "satisfactionRate": percent(rollup.positive, rollup.judged),
            "totalCost": money(rollup.cost_usd),
            "costPerRequest": (
                round(rollup.cost_usd / rollup.requests, 8) if rollup.requests else None
            ),
        }
        for (tier,), rollup in tiers.items()
    ]
    light = tiers.get(("light",))
    return {
        **window_keys(found),
        "requests": requests,
        "lightShare": percent(light.requests if light else 0, requests),
        "tiers": sorted(rows, key=lambda row: _tier_place(row["tier"])),
    }


def savings(found: WindowRollups, smart: ModelSpec | None) -> dict[str, Any]:
    """``smart``: the ``smart`` route's first model for the org (None: it has none)."""
    total = found.total()
    actual = total.cost_usd
    smart_cost = (
        None
        if smart is None
        else (
            total.input_tokens * smart.input_price_per_mtok
            + total.output_tokens * smart.output_price_per_mtok
        )
        / 1_000_000
    )
    return {
        **window_keys(found),
        "smartModel": smart.name if smart else None,
        "inputTokens": total.input_tokens,
        "outputTokens": total.output_tokens,
        "actualCost": money(actual),
        "smartCost": None if smart_cost is None else money(smart_cost),
        "saved": None if smart_cost is None else money(smart_cost - actual),
        "savedRate": None if smart_cost is None else percent(smart_cost - actual, smart_cost),
    }


def _performance(rollup: SeriesRollup) -> dict[str, Any]:
    shown = figures(rollup)
    return {
        "totalCalls": shown["totalCalls"],
        "avgResponseTime": shown["avgResponseTime"],
        "p95": shown["p95"],
        "inputTokens": rollup.input_tokens,
        "outputTokens": rollup.output_tokens,
        "totalCost": shown["totalCost"],
        "successRate": shown["successRate"],
    }


def _usage(rollup: SeriesRollup) -> dict[str, Any]:
    shown = figures(rollup)
    calls = total_calls(rollup)
    return {
        "totalCalls": calls,
        "totalCost": shown["totalCost"],
        "tokens": rollup.tokens,
        "tokensPerRequest": shown["avgTokens"],
        "costPerRequest": round(rollup.cost_usd / calls, 8) if calls else None,
        "avgResponseTime": shown["avgResponseTime"],
        "p95": milliseconds(shown["p95"]),
    }


def _requests(users: Iterable[UserActivity]) -> int:
    return sum(user.requests for user in users)


def _week(found: WindowRollups, monday: date, *, within: Window | None = None) -> Activity:
    """The activity of the ISO week starting ``monday`` (only its days ``within``)."""
    first, last = monday, monday + timedelta(days=6)
    if within is not None:
        first, last = max(first, within.first), min(last, within.last)
    start, end = first.isoformat(), last.isoformat()
    return found.activity(lambda day: start <= day <= end)


def _monday(day: date) -> date:
    return day - timedelta(days=day.weekday())


def _per(part: int, whole: int) -> float | None:
    return round(part / whole, 2) if whole else None


def _tier_place(tier: str | None) -> tuple[int, str]:
    if tier in TIER_ORDER:
        return TIER_ORDER.index(tier), tier or ""
    return len(TIER_ORDER) + (tier is None or tier == UNKNOWN), tier or ""
