"""Daily rollups built the way the aggregation job builds them: usage events fed through
``SeriesRollup.add_event`` (and ``Activity.add_event``), feedback through ``add_feedback`` on
the rated reply's series, one span per org and day, then written to a rollup store."""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from parley.analytics.activity import Activity
from parley.analytics.rollup import SeriesRollup
from parley.analytics.series import Series
from parley.state.usage import UsageEvent

if TYPE_CHECKING:
    from collections.abc import Iterator

    from parley.analytics.store import RollupStore
    from tests.support.servers import LiveServer

__all__ = ["RollupDays", "event", "serve_analytics"]

_ids = itertools.count()


def event(org_id: str = "acme", **values: Any) -> UsageEvent:
    """A successful streamed call of gpt-4.1-mini for general_chat on the light tier, 100
    tokens in and 200 out in 800 ms, unless ``values`` say otherwise."""
    defaults: dict[str, Any] = {
        "request_id": f"req-{next(_ids)}",
        "org_id": org_id,
        "user_id": "alice",
        "provider": "openai",
        "model": "gpt-4.1-mini",
        "endpoint": "stream",
        "input_tokens": 100,
        "output_tokens": 200,
        "usage_estimated": False,
        "cost_usd": 0.00036,
        "latency_ms": 800.0,
        "ttft_ms": 150.0,
        "success": True,
        "task_type": "general_chat",
        "panel": "pictures",
        "route": "light",
        "tier": "light",
        "conversation_id": "conv-1",
    }
    return UsageEvent(**(defaults | values))


@dataclass
class RollupDays:
    """Events and feedback by org and day, kept as the job keeps them."""

    spans: dict[tuple[str, str], tuple[dict[Series, SeriesRollup], Activity]] = field(
        default_factory=dict
    )
    events: list[tuple[str, UsageEvent]] = field(default_factory=list)
    ratings: list[tuple[str, UsageEvent, dict[str, Any]]] = field(default_factory=list)

    def add(self, day: str, *events: UsageEvent) -> None:
        for found in events:
            rollups, activity = self._span(found.org_id, day)
            series = Series.from_event(found)
            rollups.setdefault(series, SeriesRollup(series)).add_event(found)
            activity.add_event(found)
            self.events.append((day, found))

    def feedback(self, day: str, rated: UsageEvent, record: dict[str, Any]) -> None:
        """Feedback on the reply ``rated`` gave (filed under its series, as the job does)."""
        rollups, _ = self._span(rated.org_id, day)
        series = Series.from_event(rated)
        rollups.setdefault(series, SeriesRollup(series)).add_feedback(record)
        self.ratings.append((day, rated, record))

    def write(self, store: RollupStore) -> None:
        for (org_id, day), (rollups, activity) in sorted(self.spans.items()):
            store.put_day(org_id, day, list(rollups.values()), activity)

    def _span(self, org_id: str, day: str) -> tuple[dict[Series, SeriesRollup], Activity]:
        return self.spans.setdefault((org_id, day), ({}, Activity()))


def serve_analytics(store: RollupStore, *, now: float) -> Iterator[LiveServer]:
    """The analytics app on ``store``, its clock at ``now``, on a live loopback server (a
    fixture's body: ``yield from serve_analytics(...)``); stopped after."""
    from parley.apps.analytics import create_analytics_app
    from parley.config import Settings
    from parley.state.versioned import MemoryVersionedItems
    from tests.support.servers import LiveServer

    app = create_analytics_app(
        Settings(env="development"),
        rollups=store,
        documents=MemoryVersionedItems(),
        environ={},
        clock=lambda: now,
    )
    live = LiveServer(app).start()
    yield live
    live.stop()
