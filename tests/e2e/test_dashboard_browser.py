"""The dashboard in a real browser: Debian's Chromium, driven by Playwright, against the
analytics function's app (its API and the dashboard's router) served by uvicorn on loopback,
its rollups built from known usage events and feedback.

What a person would check: the summary cards say what the API says, every chart holds the
API's figures, the best model of each task is the one the data favours, the recommender's
advice is on the page, a refused token is a readable message, and values are text, never
markup. The page under its Content-Security-Policy logs no error and no request fails. A
screenshot goes to the test's directory and to bench/results/dashboard.png."""

from __future__ import annotations

import random
import shutil
from datetime import UTC, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import TYPE_CHECKING

import pytest

from parley.analytics.activity import Activity
from parley.analytics.rollup import SeriesRollup
from parley.analytics.series import Series
from parley.analytics.store import MemoryRollupStore
from parley.auth import mint_token
from parley.config import DEV_JWT_SECRET
from parley.state.usage import UsageEvent
from tests.conftest import REPO
from tests.support.browser import Watched, api, chart_data, load, settled, table_rows
from tests.support.devserver import DevServer
from tests.support.rollups import serve_analytics

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path

    from tests.support.servers import LiveServer


SCREENSHOT = REPO / "bench" / "results" / "dashboard.png"

ORG = "org-dash"
# Noon UTC: the window of DAYS whole days ends today.
NOW = datetime(2026, 11, 20, 12, 0, tzinfo=UTC).timestamp()
DAYS = 7

# model -> provider, and per task type how it does: (calls a day, latency ms, failure share,
# share of thumbs up among its rated replies). Each task has a clear best model.
MODELS = {
    "gpt-4.1-mini": "openai",
    "claude-haiku-4-5": "anthropic",
    "gemini-2.5-flash": "gemini",
}
PROFILES: dict[str, dict[str, tuple[int, float, float, float]]] = {
    "coding": {
        "gpt-4.1-mini": (6, 1400.0, 0.15, 0.45),
        "claude-haiku-4-5": (5, 900.0, 0.0, 0.95),
        "gemini-2.5-flash": (3, 1100.0, 0.3, 0.35),
    },
    "general_chat": {
        "gpt-4.1-mini": (9, 450.0, 0.0, 0.9),
        "claude-haiku-4-5": (3, 800.0, 0.1, 0.6),
        "gemini-2.5-flash": (4, 700.0, 0.2, 0.5),
    },
    "creative": {
        "gpt-4.1-mini": (2, 1600.0, 0.2, 0.4),
        "claude-haiku-4-5": (2, 1500.0, 0.1, 0.55),
        "gemini-2.5-flash": (5, 600.0, 0.0, 0.9),
    },
}
BEST = {
    "coding": "claude-haiku-4-5",
    "general_chat": "gpt-4.1-mini",
    "creative": "gemini-2.5-flash",
}

# The summary cards: the metric, and how the page shows it (dashboard.js's formatters).
CARDS = {
    "totalCalls": "count",
    "avgResponseTime": "ms",
    "p50": "ms",
    "p95": "ms",
    "p99": "ms",
    "successRate": "percent",
    "satisfactionRate": "percent",
    "avgTokens": "count",
    "totalCost": "usd",
    "cacheHitRate": "percent",
}


def _fixed(value: float, places: int) -> str:
    """JavaScript's ``value.toFixed(places)``: the exact double, ties away from zero."""
    return str(Decimal(value).quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP))


def shown(kind: str, value: float | None) -> str:
    """What the page shows for ``value``: a dash for a figure the API has not."""
    if value is None:
        return "—"
    if kind == "count":
        return f"{int(Decimal(value).quantize(Decimal(1), rounding=ROUND_HALF_UP)):,}"
    if kind == "ms":
        return shown("count", value) + " ms"
    if kind == "percent":
        return _fixed(value, 1) + "%"
    if kind == "usd":
        return "$" + _fixed(value, 2 if abs(value) >= 100 else 4)
    if kind == "score":
        return _fixed(value, 1)
    raise AssertionError(kind)


def day_names() -> list[str]:
    last = datetime.fromtimestamp(NOW, tz=UTC).date()
    return [(last - timedelta(days=offset)).isoformat() for offset in reversed(range(DAYS))]


def seed(store: MemoryRollupStore) -> None:
    """Each day's rollups from usage events and feedback, as the aggregation job stores them:
    every model's calls for every task type, some failed, some answered from the cache, most
    replies rated."""
    rng = random.Random(13)
    for index, day in enumerate(day_names()):
        start = datetime.fromisoformat(day).replace(tzinfo=UTC).timestamp() + 3600
        rollups: dict[Series, SeriesRollup] = {}
        activity = Activity()
        for task_type, models in PROFILES.items():
            for model, (per_day, latency, failures, liked) in models.items():
                # A busier day in the middle of the week, so the trend has a shape.
                for call in range(per_day + (index % 3)):
                    failed = rng.random() < failures
                    cached = not failed and call == 0 and index % 2 == 0
                    event = UsageEvent(
                        request_id=f"req-{day}-{task_type}-{model}-{call}",
                        org_id=ORG,
                        user_id=f"user-{call % 4}",
                        provider=MODELS[model],
                        model=model,
                        endpoint="stream",
                        input_tokens=0 if cached else rng.randint(200, 600),
                        output_tokens=0 if cached else rng.randint(50, 400),
                        usage_estimated=False,
                        cost_usd=0.0 if cached else round(rng.uniform(0.0002, 0.004), 6),
                        latency_ms=0.0 if failed else latency * rng.uniform(0.6, 1.6),
                        success=not failed,
                        ttft_ms=None if failed else latency * 0.3,
                        error_code="provider_timeout" if failed else None,
                        task_type=task_type,
                        conversation_id=f"conv-{call % 5}",
                        cached=cached,
                        route="light",
                        created_at=start + call * 60,
                    )
                    series = Series.from_event(event)
                    rollup = rollups.setdefault(series, SeriesRollup(series))
                    rollup.add_event(event)
                    activity.add_event(event)
                    if not failed and not cached and rng.random() < 0.8:
                        rollup.add_feedback({"thumbs": 1 if rng.random() < liked else -1})
        store.put_day(ORG, day, list(rollups.values()), activity)


# Another org whose model and task type are markup: the page must show them as text.
HOSTILE_ORG = "org-hostile"
HOSTILE_MODEL = '<img src=x onerror="window.pwned=1">'
HOSTILE_TASK = "<b>bold</b>"


def seed_hostile(store: MemoryRollupStore) -> None:
    series = Series.of(model=HOSTILE_MODEL, provider="openai", task_type=HOSTILE_TASK)
    rollup = SeriesRollup(series)
    activity = Activity()
    for call in range(6):
        event = UsageEvent(
            request_id=f"hostile-{call}",
            org_id=HOSTILE_ORG,
            user_id="user-h",
            provider="openai",
            model=HOSTILE_MODEL,
            endpoint="stream",
            input_tokens=100,
            output_tokens=50,
            usage_estimated=False,
            cost_usd=0.001,
            latency_ms=500.0 + call,
            success=True,
            task_type=HOSTILE_TASK,
            created_at=NOW - 60 * call,
        )
        rollup.add_event(event)
        activity.add_event(event)
    rollup.add_feedback({"thumbs": 1, "comment": "<script>window.pwned=2</script>"})
    store.put_day(HOSTILE_ORG, day_names()[-1], [rollup], activity)


def token(scopes: str = "analytics:view", org_id: str = ORG) -> str:
    return mint_token(DEV_JWT_SECRET, user_id="analyst", org_id=org_id, scopes=scopes)


@pytest.fixture(scope="module")
def server() -> Iterator[LiveServer]:
    store = MemoryRollupStore(clock=lambda: NOW)
    seed(store)
    seed_hostile(store)
    yield from serve_analytics(store, now=NOW)


def test_the_dashboard_shows_the_apis_figures(
    server: LiveServer, watched: Watched, tmp_path: Path
) -> None:
    bearer = token()
    body = api(server, f"/v1/analytics/models?days={DAYS}", bearer)
    page = load(watched, server, bearer, DAYS)
    assert page.evaluate("document.getElementById('dashboard').dataset.state") == "ready"
    assert page.is_hidden("#error")
    assert page.text_content("#range") == f"{body['from']} to {body['to']} ({DAYS} days, UTC)"

    # The cards: every figure of the summary, as the page formats it.
    summary = body["summary"]
    assert summary["totalCalls"] > 0
    for metric, kind in CARDS.items():
        value = page.text_content(f'[data-metric="{metric}"] .value')
        assert value == shown(kind, summary[metric]), metric

    # The charts hold the API's figures.
    by_model = body["byModel"]
    assert {m["model"] for m in by_model} == set(MODELS)
    models = [m["model"] for m in by_model]
    latency = chart_data(page, "chart-latency")
    assert latency["type"] == "bar"
    assert latency["labels"] == models
    assert latency["datasets"][0]["data"] == [m["avgResponseTime"] for m in by_model]
    assert latency["datasets"][1]["data"] == [m["p95"] for m in by_model]
    success = chart_data(page, "chart-success")
    assert success["labels"] == models
    assert success["datasets"][0]["data"] == [m["successRate"] for m in by_model]
    satisfaction = chart_data(page, "chart-satisfaction")
    assert satisfaction["datasets"][0]["data"] == [m["satisfactionRate"] for m in by_model]

    trends = body["trends"]
    assert [t["day"] for t in trends] == day_names()
    daily = chart_data(page, "chart-trends")
    assert daily["type"] == "line"
    assert daily["labels"] == day_names()
    assert daily["datasets"][0]["data"] == [t["totalCalls"] for t in trends]
    assert daily["datasets"][1]["data"] == [t["avgResponseTime"] for t in trends]
    rates = chart_data(page, "chart-trend-rates")
    assert rates["datasets"][0]["data"] == [t["successRate"] for t in trends]
    assert rates["datasets"][1]["data"] == [t["satisfactionRate"] for t in trends]

    tasks = chart_data(page, "chart-tasks")
    assert tasks["labels"] == [t["taskType"] for t in body["byTaskType"]]
    assert tasks["datasets"][0]["data"] == [t["totalCalls"] for t in body["byTaskType"]]
    assert set(tasks["labels"]) == set(PROFILES)

    # The tables.
    model_rows = table_rows(page, "models-table")
    assert [row[:3] for row in model_rows] == [
        [m["model"], m["provider"], shown("count", m["totalCalls"])] for m in by_model
    ]
    task_rows = table_rows(page, "tasks-table")
    assert [row[:2] for row in task_rows] == [
        [t["taskType"], shown("count", t["totalCalls"])] for t in body["byTaskType"]
    ]
    best = {b["taskType"]: b for b in body["bestByTask"]}
    assert {task: b["model"] for task, b in best.items()} == BEST
    assert table_rows(page, "best-table") == [
        [
            b["taskType"],
            b["model"],
            b["provider"],
            shown("score", b["qualityScore"]),
            shown("count", b["sampleSize"]),
        ]
        for b in body["bestByTask"]
    ]

    # The recommender's advice, one block per recommendation, naming its model.
    advice = page.locator("#advice .recommendation")
    assert advice.count() == len(body["recommendations"]) > 0
    for index, recommendation in enumerate(body["recommendations"]):
        block = advice.nth(index)
        assert block.locator("strong").text_content() == recommendation["model"]
        assert recommendation["reason"] in (block.text_content() or "")

    # Asking the recommender for one task type and priority shows its answer.
    page.select_option("#ask-task", "coding")
    page.select_option("#ask-priority", "quality")
    page.click("#ask-button")
    page.wait_for_selector("#answer .recommendation")
    asked = api(server, "/v1/analytics/recommendations?priority=quality&task_type=coding", bearer)
    answer = page.locator("#answer .recommendation")
    assert answer.locator("strong").text_content() == asked["model"] == BEST["coding"]

    page.screenshot(path=str(tmp_path / "dashboard.png"), full_page=True)
    SCREENSHOT.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(tmp_path / "dashboard.png", SCREENSHOT)
    assert watched.problems == []


def test_a_refused_token_is_a_readable_message(server: LiveServer, watched: Watched) -> None:
    page = load(watched, server, "not-a-token", DAYS)
    assert page.is_hidden("#dashboard")
    message = page.text_content("#error") or ""
    assert "token was refused (401" in message

    page.fill("#token", token(scopes=""))
    page.click("#load")
    page.locator("#error", has_text="403").wait_for()
    message = page.text_content("#error") or ""
    assert "may not read analytics (403" in message
    assert "analytics:view" in message
    assert page.is_hidden("#dashboard")

    # The refusals are the only problems the page saw: the browser logs each 4xx it fetched.
    assert all("401" in p or "403" in p for p in watched.problems), watched.problems


def test_the_token_stays_in_the_tab_and_loads_again(server: LiveServer, watched: Watched) -> None:
    bearer = token()
    page = load(watched, server, bearer, DAYS)
    assert page.evaluate("sessionStorage.getItem('parley.analytics.token')") == bearer
    assert page.evaluate("document.cookie") == ""
    page.reload()
    settled(page)
    assert page.get_attribute("#dashboard", "data-state") == "ready"
    assert page.input_value("#token") == bearer
    assert page.input_value("#days") == str(DAYS)
    assert watched.problems == []


def test_values_that_look_like_markup_are_shown_as_text(
    server: LiveServer, watched: Watched
) -> None:
    page = load(watched, server, token(org_id=HOSTILE_ORG), DAYS)
    assert page.evaluate("document.getElementById('dashboard').dataset.state") == "ready"
    assert table_rows(page, "models-table")[0][0] == HOSTILE_MODEL
    assert table_rows(page, "tasks-table")[0][0] == HOSTILE_TASK
    assert chart_data(page, "chart-latency")["labels"] == [HOSTILE_MODEL]
    assert page.evaluate("document.querySelectorAll('main img, main b, main script').length") == 0
    assert page.evaluate("window.pwned") is None
    assert watched.problems == []


def test_parley_dev_serves_the_dashboard_and_an_empty_org_reads_as_dashes(
    watched: Watched,
) -> None:
    # parley dev serves the sum of every function's parts, the dashboard's router with them;
    # its token may read analytics, and nothing has been used yet.
    dev = DevServer()
    try:
        page = load(watched, dev, dev.token, days=30)
        assert page.get_attribute("#dashboard", "data-state") == "ready"
        assert page.text_content('[data-metric="totalCalls"] .value') == "0"
        for metric in ("avgResponseTime", "p95", "successRate", "satisfactionRate"):
            assert page.text_content(f'[data-metric="{metric}"] .value') == "—", metric
        assert table_rows(page, "best-table") == [["No data for these days."]]
        assert chart_data(page, "chart-latency")["labels"] == []
        assert page.locator("#chart-latency").locator("xpath=../..").locator(".empty").count()
        assert watched.problems == []
        assert dev.errors == ""
    finally:
        assert dev.stop() == 0
