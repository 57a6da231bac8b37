"""Issue 13's "done when", end to end on `parley dev` as a user runs it: traffic over two
catalog models on two fake upstreams with different latencies and error rates, with feedback;
one `parley jobs run aggregate-usage`; then an analytics API whose counts and costs equal a
direct computation over the raw events, whose p95 is within 1% of the exact one, whose
`bestByTask` names the model that is truly better; and, with learned routing on, that model
first in the chain for that task type."""

from __future__ import annotations

import asyncio
import math
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import httpx
import pytest
import yaml

from parley.state.usage import UsageEvent, UsageRepository
from tests.conftest import REPO
from tests.fakes.scripts import Script
from tests.fakes.upstreams import FakeUpstream
from tests.support.asgi import bearer
from tests.support.browser import Watched, chart_data, chromium, load, table_rows
from tests.support.chat import Streamed, stream_chat
from tests.support.devserver import DevServer, run_job

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path


ORG = "analytics-org"
SCOPES = "org:manage analytics:view"
ADMIN = bearer("root", org_id=ORG, scopes=SCOPES)
SLOW, FAST = "gpt-4.1", "claude-haiku-4-5"
CHAIN = [SLOW, FAST]
CODING = "Fix the bug in this Python function that parses dates, request {n}"


@pytest.fixture(scope="module")
def upstreams() -> Iterator[tuple[FakeUpstream, FakeUpstream]]:
    slow, fast = FakeUpstream().start(), FakeUpstream().start()
    yield slow, fast
    slow.stop()
    fast.stop()


def catalog(path: Path, slow: FakeUpstream, fast: FakeUpstream) -> Path:
    """The two models as the shipped catalog has them (names, providers, prices), each on its
    own fake upstream."""
    shipped = yaml.safe_load((REPO / "layers/core/parley/providers/models.yaml").read_text())
    by_name = {model["name"]: model for model in shipped["models"]}
    models = [
        {**by_name[SLOW], "base_url": slow.openai_base_url, "api_key_env": "FAKE_KEY"},
        {**by_name[FAST], "base_url": fast.anthropic_base_url, "api_key_env": "FAKE_KEY"},
    ]
    path.write_text(yaml.safe_dump({"default_model": SLOW, "models": models}))
    return path


@pytest.fixture(scope="module")
def dev_server(
    upstreams: tuple[FakeUpstream, FakeUpstream], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[DevServer]:
    slow, fast = upstreams
    # gpt-4.1 answers after 150 ms and fails one request in three; haiku after 20 ms, always.
    ok_slow = Script(first_chunk_delay=0.15, usage=(40, 12))
    slow.script(SLOW, *([ok_slow, ok_slow, Script(http_status=400)] * 20), ok_slow)
    fast.script(FAST, Script(first_chunk_delay=0.02, usage=(40, 10)))
    folder = tmp_path_factory.mktemp("analytics-loop")
    server = DevServer(
        folder / "parley-dev.log",
        PARLEY_MODELS_FILE=str(catalog(folder / "models.yaml", slow, fast)),
        FAKE_KEY="fake-key",
    )
    yield server
    assert server.stop() == 0


def chat(server: DevServer, body: dict[str, Any]) -> Streamed:
    streamed = asyncio.run(stream_chat(server.url, body, user="root", org=ORG))
    assert streamed.status == 200, streamed.body
    assert streamed.types[0] == "meta"
    return streamed


def raw_events(server: DevServer) -> list[UsageEvent]:
    """Every usage event of the org today, read from the dev server's DynamoDB."""
    today = datetime.now(UTC).date().isoformat()
    return UsageRepository("parley-usage", client=server.dynamodb()).for_org_day(ORG, today)


def exact_p95(latencies: list[float]) -> float:
    """The value at rank 0.95 x (n - 1) (the sketch's definition: numpy's "lower")."""
    ordered = sorted(latencies)
    return ordered[math.floor(0.95 * (len(ordered) - 1))]


def test_analytics_follow_the_traffic_and_learned_routing_follows_the_analytics(
    dev_server: DevServer, tmp_path: Path
) -> None:
    api = httpx.Client(base_url=dev_server.url, headers=ADMIN, timeout=30)
    # GIVEN an org whose tiers all try gpt-4.1, then claude-haiku-4-5 (and whose user may send
    # this test's requests within a minute)
    tiers = {tier: {"models": CHAIN} for tier in ("light", "standard", "heavy")}
    patched = api.patch(
        "/v1/org/settings",
        json={"tiers": tiers, "rate_limits": {"user_per_minute": 100}},
        headers={"Content-Type": "application/merge-patch+json"},
    )
    assert patched.status_code == 200, patched.text
    # WHEN coding requests are routed (gpt-4.1 first, haiku when it fails), some name haiku,
    # one is asked twice (the second is a cached answer), and users rate the replies
    replies: dict[str, list[str]] = {SLOW: [], FAST: []}
    bodies = [{"message": CODING.format(n=n)} for n in range(12)]
    bodies += [{"message": CODING.format(n=100 + n), "model": FAST} for n in range(8)]
    # deterministic answers are cached: the second time is answered from the cache
    bodies += [{"message": CODING.format(n=500), "model": FAST, "temperature": 0}] * 2
    for body in bodies:
        streamed = chat(dev_server, body)
        assert streamed.types[-1] == "done", streamed.body
        done = streamed.of("done")[0]
        replies[done["model"]].append(done["message_id"])
    for model, thumbs in ((FAST, 1), (SLOW, -1)):
        for message_id in replies[model][:5]:
            rated = api.post("/v1/feedback", json={"message_id": message_id, "thumbs": thumbs})
            assert rated.status_code == 201, rated.text

    # AND the job runs once
    result = run_job(dev_server, "aggregate-usage")
    assert result["complete"]
    events = raw_events(dev_server)
    assert result["events"] == len(events)
    assert result["feedback"] == 10

    # THEN the API's counts and costs are those of the raw events
    answer = api.get("/v1/analytics/models", params={"days": 7})
    assert answer.status_code == 200, answer.text
    analytics = answer.json()
    summary = analytics["summary"]
    assert summary["totalCalls"] == len(events)
    assert summary["totalCost"] == pytest.approx(sum(e.cost_usd for e in events), abs=1e-6)
    assert summary["cacheHitRate"] > 0
    by_model = {row["model"]: row for row in analytics["byModel"]}
    for model in CHAIN:
        mine = [e for e in events if e.model == model]
        answered = [e.latency_ms for e in mine if e.success and not e.cached]
        row = by_model[model]
        assert row["totalCalls"] == len(mine)
        assert row["totalCost"] == pytest.approx(sum(e.cost_usd for e in mine), abs=1e-6)
        # and each model's p95 is within 1% of the exact p95 of its answered calls (plus the
        # 0.05 ms of the API's rounding to a tenth of a millisecond)
        exact = exact_p95(answered)
        assert abs(row["p95"] - exact) <= 0.01 * exact + 0.05, (row["p95"], exact)
    failed = [e for e in events if e.model == SLOW and not e.cached and not e.success]
    assert failed, "gpt-4.1 should have failed some calls"
    assert by_model[SLOW]["successRate"] < 100 == by_model[FAST]["successRate"]
    # and the best model for coding is the one that is faster, never fails and is liked
    best = {row["taskType"]: row for row in analytics["bestByTask"]}
    assert best["coding"]["model"] == FAST
    advised = api.get(
        "/v1/analytics/recommendations", params={"task_type": "coding", "priority": "balanced"}
    ).json()
    assert advised["model"] == FAST
    assert advised["source"] == "data"

    # AND the dashboard shows it in Chromium: its charts hold the API's figures and its table
    # of the best model per task names haiku for coding
    # (Playwright's sync API runs an event loop in this thread while the browser is open.)
    with contextmanager(chromium)() as browser:
        watched = Watched(browser)
        token = ADMIN["Authorization"].removeprefix("Bearer ")
        page = load(watched, dev_server, token, 7)
        latency = chart_data(page, "chart-latency")
        models = analytics["byModel"]
        assert latency["labels"] == [row["model"] for row in models]
        assert latency["datasets"][0]["data"] == [row["avgResponseTime"] for row in models]
        best_rows = {row[0]: row[1] for row in table_rows(page, "best-table")}
        assert best_rows["coding"] == FAST
        page.screenshot(path=str(tmp_path / "analytics-loop.png"), full_page=True)
        assert watched.problems == []
        watched.close()

    # WHEN the org turns learned routing on (no exploration, so the test is deterministic)
    turned_on = api.patch(
        "/v1/org/settings",
        json={"learned_routing": {"enabled": True, "exploration": 0}},
        headers={"Content-Type": "application/merge-patch+json"},
    )
    assert turned_on.status_code == 200, turned_on.text
    # THEN the next coding request tries haiku first, and says why
    routed = chat(dev_server, {"message": CODING.format(n=999)})
    route = routed.of("meta")[0]["route"]
    assert route["task_type"] == "coding"
    assert route["model"] == FAST
    assert route["fallbacks"] == [SLOW]
    assert f"learned routing: {FAST} first for coding" in route["reason"]
