"""The dashboard's Safety section in a real browser (Debian's Chromium, driven by Playwright),
against the analytics function's app on loopback, its rollups built from usage events and
feedback as the aggregation job builds them: guardrail decisions on some days, the classifier
model's calls (a few failed), thumbs down on safe replies. The cards, the chart and the table
say what ``GET /v1/analytics/safety`` says, and the page logs no error. A screenshot goes to
the test's directory and to bench/results/dashboard-safety.png."""

from __future__ import annotations

import shutil
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

import pytest

from parley.analytics.safety_marks import guardrail_mark
from parley.analytics.store import MemoryRollupStore
from parley.auth import mint_token
from parley.config import DEV_JWT_SECRET
from tests.conftest import REPO
from tests.support.browser import Watched, api, chart_data, load, table_rows
from tests.support.rollups import RollupDays, event, serve_analytics

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path

    from tests.support.servers import LiveServer


SCREENSHOT = REPO / "bench" / "results" / "dashboard-safety.png"
ORG = "org-safety"
NOW = datetime(2026, 11, 20, 12, 0, tzinfo=UTC).timestamp()
DAYS = 7


def day_names() -> list[str]:
    last = datetime.fromtimestamp(NOW, tz=UTC).date()
    return [(last - timedelta(days=offset)).isoformat() for offset in reversed(range(DAYS))]


def seed(store: MemoryRollupStore) -> None:
    """Every other day: ordinary requests, a few decisions of each kind, the classifier's
    calls (one timed out on the busiest day), and a thumb down on one safe reply."""
    days = RollupDays()
    for index, day in enumerate(day_names()):
        days.add(day, *(event(ORG) for _ in range(20 + index)))
        if index % 2:
            continue
        decisions = [
            ("safe_reply", "suicide", "model"),
            ("safe_reply", "self_harm", "model"),
            ("resources", "third_party", "model"),
            ("none", "none", "model"),
        ][: 1 + index // 2]
        for action, category, stage in decisions:
            marked = event(ORG, guardrail=guardrail_mark(action, category, stage))
            days.add(day, marked)
            if action == "safe_reply" and index == 4:
                days.feedback(day, marked, {"thumbs": -1})
        for call in range(len(decisions)):
            days.add(
                day,
                event(
                    ORG,
                    model="gemini-2.5-flash-lite",
                    provider="gemini",
                    route="guardrail",
                    task_type="guardrail",
                    attempt=1,
                    latency_ms=300.0 + 40 * call,
                ),
            )
        if index == 6:
            days.add(day, event(ORG, guardrail=guardrail_mark("safe_reply", "suicide", "offline")))
            days.add(
                day,
                event(
                    ORG,
                    model="gemini-2.5-flash-lite",
                    provider="gemini",
                    route="guardrail",
                    task_type="guardrail",
                    attempt=1,
                    success=False,
                    error_code="guardrail_timeout",
                    latency_ms=1500.0,
                ),
            )
    days.write(store)


@pytest.fixture(scope="module")
def server() -> Iterator[LiveServer]:
    store = MemoryRollupStore(clock=lambda: NOW)
    seed(store)
    yield from serve_analytics(store, now=NOW)


def test_the_safety_section_shows_the_safety_views_figures(
    server: LiveServer, watched: Watched, tmp_path: Path
) -> None:
    bearer = mint_token(DEV_JWT_SECRET, user_id="analyst", org_id=ORG, scopes="analytics:view")
    body = api(server, f"/v1/analytics/safety?days={DAYS}", bearer)
    summary = body["summary"]
    assert summary["decisions"]["total"] == 11
    assert summary["classifier"]["failSafe"]["timeout"] == 1
    assert summary["falsePositiveReports"]["total"] == 2

    page = load(watched, server, bearer, DAYS)
    assert page.evaluate("document.getElementById('dashboard').dataset.state") == "ready"

    def card(name: str) -> str | None:
        return page.text_content(f'[data-safety="{name}"] .value')

    assert card("decisions") == "11"
    assert card("safeReplies") == str(summary["decisions"]["byAction"]["safe_reply"])
    assert card("resources") == str(summary["decisions"]["byAction"]["resources"])
    assert card("offline") == "1"
    assert card("classifierCalls") == str(summary["classifier"]["calls"])
    assert card("classifierP95") == f"{round(summary['classifier']['p95']):,} ms"
    assert card("failSafe") == "1"
    assert card("failSafeRate") == f"{summary['classifier']['failSafeRate']:.1f}%"
    assert card("falsePositives") == "2"
    assert card("falsePositiveRate") == f"{summary['falsePositiveReports']['rate']:.1f}%"

    # The chart: each day's hits, stacked by category.
    chart = chart_data(page, "chart-safety")
    assert chart["labels"] == day_names()
    daily = body["daily"]
    for dataset, category in zip(
        chart["datasets"], ("suicide", "self_harm", "third_party"), strict=True
    ):
        assert dataset["data"] == [d["hits"]["byCategory"][category] for d in daily]

    # The table: the days with a decision or a classifier call.
    active = [d for d in daily if d["decisions"]["total"] or d["classifier"]["calls"]]
    rows = table_rows(page, "safety-table")
    assert [row[:3] for row in rows] == [
        [d["day"], str(d["decisions"]["total"]), str(d["hits"]["total"])] for d in active
    ]
    assert rows[-1][7] == "1"  # the timeout, on the last day

    page.screenshot(path=str(tmp_path / "dashboard-safety.png"), full_page=True)
    SCREENSHOT.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(tmp_path / "dashboard-safety.png", SCREENSHOT)
    assert watched.problems == []
