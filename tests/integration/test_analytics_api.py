"""The analytics API in process, on daily rollups fed with usage events and feedback as the
aggregation job feeds them (memory stores, a fixed clock): analysts only, their own org only,
422 for bad parameters, every figure equal to the same computation done directly over the
events fed (p95 within DDSketch's 1% of the exact one), the recommender from data and from the
rules, the dashboard views; and the Lambda handler on DynamoDB with a function-URL event."""

from __future__ import annotations

import json
import math
import random
from datetime import UTC, date, datetime, timedelta
from typing import TYPE_CHECKING, Any

import pytest

from parley.analytics.store import MemoryRollupStore, RollupRepository
from parley.apps.analytics import create_analytics_app
from parley.config import Settings
from parley.providers.catalog import load_catalog
from parley.state.versioned import MemoryVersionedItems
from tests.support.asgi import bearer, client_for
from tests.support.lambdas import Handler, LambdaContext, function_handler, recorded_event
from tests.support.rollups import RollupDays, event

if TYPE_CHECKING:
    from collections.abc import AsyncIterator, Iterator

    import httpx
    from mypy_boto3_dynamodb import DynamoDBClient

    from parley.state.usage import UsageEvent

pytestmark = pytest.mark.anyio

ORG = "acme"
NOW = 1_796_126_400.0  # 2026-12-01T12:00:00Z, a Tuesday
TODAY = date(2026, 12, 1)
ANALYST = bearer("carol", org_id=ORG, scopes="analytics:view")
USER = bearer("alice", org_id=ORG)
OUTSIDE_ANALYST = bearer("mallory", org_id="other-org", scopes="analytics:view")
CATALOG = load_catalog()
ENDPOINTS = (
    "models",
    "recommendations",
    "performance",
    "usage",
    "engagement",
    "features",
    "complexity",
    "savings",
    "safety",
)
# Base latency (ms) per model: haiku fast, gpt-4.1 slow.
MODELS = {"claude-haiku-4-5": 500.0, "gpt-4.1": 1800.0, "gpt-4.1-mini": 900.0}
TASKS = ("general_chat", "coding")
USERS = ("alice", "bob", "carol", "dave", "erin")


def traffic() -> RollupDays:
    """Twelve days of calls, every other day, of three models on two task types (a few
    failures, failovers and cache hits, feedback on some replies), and two calls of
    ``reasoning``: too few to rank."""
    rng = random.Random(13)
    days = RollupDays()
    for offset in range(0, 12, 2):
        day = (TODAY - timedelta(days=offset)).isoformat()
        for model, base in MODELS.items():
            provider = CATALOG.get(model).provider  # type: ignore[union-attr]
            for task in TASKS:
                for _ in range(rng.randint(4, 9)):
                    failed = rng.random() < 0.08
                    found = event(
                        ORG,
                        model=model,
                        provider=provider,
                        task_type=task,
                        user_id=rng.choice(USERS),
                        conversation_id=f"conv-{rng.randint(1, 12)}",
                        panel=rng.choice(("pictures", "travel", None)),
                        tier="light" if task == "general_chat" else "standard",
                        route="light" if task == "general_chat" else "standard",
                        input_tokens=rng.randint(50, 400),
                        output_tokens=rng.randint(50, 900),
                        cost_usd=round(rng.uniform(0.0001, 0.01), 6),
                        latency_ms=round(rng.lognormvariate(math.log(base), 0.4), 1),
                        success=not failed,
                        error_code="upstream_error" if failed else None,
                        attempt=1 if rng.random() < 0.1 else 0,
                        failover=rng.random() < 0.05,
                    )
                    days.add(day, found)
                    if found.success and rng.random() < 0.4:
                        days.feedback(day, found, {"thumbs": rng.choice((1, 1, 1, -1))})
                if rng.random() < 0.5:
                    days.add(
                        day,
                        event(
                            ORG,
                            model=model,
                            provider=provider,
                            task_type=task,
                            cached=True,
                            input_tokens=0,
                            output_tokens=0,
                            cost_usd=0.0,
                            latency_ms=3.0,
                        ),
                    )
    days.add(
        TODAY.isoformat(),
        *(event(ORG, model="gpt-4.1", task_type="reasoning", tier="heavy") for _ in range(2)),
    )
    return days


@pytest.fixture
def fed() -> RollupDays:
    return traffic()


@pytest.fixture
async def http(fed: RollupDays) -> AsyncIterator[httpx.AsyncClient]:
    store = MemoryRollupStore(clock=lambda: NOW)
    fed.write(store)
    # Another org's traffic, which acme's analysts must never see.
    other = RollupDays()
    other.add(TODAY.isoformat(), *(event("other-org", model="gpt-5") for _ in range(9)))
    other.write(store)
    app = create_analytics_app(
        Settings(env="development"),
        rollups=store,
        documents=MemoryVersionedItems(),
        environ={"OPENAI_API_KEY": "sk-test"},  # only OpenAI's models can be called
        clock=lambda: NOW,
    )
    async with client_for(app) as client:
        yield client


# the direct computation ----------------------------------------------------------------------


def expected(events: list[UsageEvent], ratings: list[dict[str, Any]]) -> dict[str, Any]:
    """The summary's figures computed straight from the events and the feedback."""
    provider_calls = [e for e in events if not e.cached]
    answered = [e for e in provider_calls if e.success]
    latencies = sorted(e.latency_ms for e in answered)
    judged = [r for r in ratings if r.get("thumbs") is not None or r.get("rating") is not None]
    total = len(provider_calls) + sum(e.cached for e in events)
    return {
        "totalCalls": total,
        "avgResponseTime": round(sum(latencies) / len(latencies), 1) if latencies else None,
        "successRate": round(100 * len(answered) / len(provider_calls), 2)
        if provider_calls
        else None,
        "satisfactionRate": round(100 * sum(r.get("thumbs") == 1 for r in judged) / len(judged), 2)
        if judged
        else None,
        "avgTokens": round(sum(e.input_tokens + e.output_tokens for e in events) / total, 1)
        if total
        else None,
        "totalCost": round(sum(e.cost_usd for e in events), 6),
        "cacheHitRate": round(
            100 * sum(e.cached for e in events) / sum(e.attempt == 0 for e in events), 2
        ),
        "latencies": latencies,
    }


def exact_quantile(values: list[float], q: float) -> float:
    """The order statistic a quantile names (DDSketch's rank: q x (n - 1), rounded down)."""
    return values[math.floor(q * (len(values) - 1))]


def assert_matches(shown: dict[str, Any], want: dict[str, Any]) -> None:
    for key in (
        "totalCalls",
        "avgResponseTime",
        "successRate",
        "satisfactionRate",
        "avgTokens",
        "totalCost",
        "cacheHitRate",
    ):
        assert shown[key] == pytest.approx(want[key], abs=1e-9), key
    for key, q in (("p50", 0.5), ("p95", 0.95), ("p99", 0.99)):
        exact = exact_quantile(want["latencies"], q)
        assert abs(shown[key] - exact) <= 0.01 * exact + 0.05, (key, shown[key], exact)


# access and parameters -----------------------------------------------------------------------


async def test_every_endpoint_needs_a_token_with_analytics_view(http: httpx.AsyncClient) -> None:
    for name in ENDPOINTS:
        path = f"/v1/analytics/{name}"
        assert (await http.get(path)).status_code == 401
        refused = await http.get(path, headers=USER)
        assert refused.status_code == 403, name
        assert refused.json()["error"]["code"] == "forbidden"
        assert (await http.get(path, headers=ANALYST)).status_code == 200, name


@pytest.mark.parametrize(
    "params",
    [
        {"days": "0"},
        {"days": "401"},
        {"days": "-3"},
        {"days": "thirty"},
        {"days": "1.5"},
        {"days": "1e309"},
        {"group_by": "colour"},
        {"priority": "fast"},
        {"task_type": "coding; drop"},
        {"task_type": "x" * 101},
        {"model": "gpt 4"},
    ],
)
async def test_bad_parameters_are_422_in_the_error_shape(
    http: httpx.AsyncClient, params: dict[str, str]
) -> None:
    for name in ENDPOINTS:
        if set(params) - {"days"} and name not in {"models", "recommendations"}:
            continue  # the views take days only (others are ignored)
        if "group_by" in params and name != "models":
            continue
        if "priority" in params and name != "recommendations":
            continue
        if "model" in params and name != "models":
            continue
        response = await http.get(f"/v1/analytics/{name}", headers=ANALYST, params=params)
        assert response.status_code == 422, (name, params, response.text)
        error = response.json()["error"]
        assert error["code"] == "invalid_request"
        assert error["details"]


async def test_empty_filters_are_no_filters(http: httpx.AsyncClient) -> None:
    plain = (await http.get("/v1/analytics/models", headers=ANALYST)).json()
    empty = await http.get(
        "/v1/analytics/models", headers=ANALYST, params={"task_type": "", "model": ""}
    )
    assert empty.status_code == 200
    assert empty.json() == plain
    assert plain["filters"] == {"task_type": None, "model": None}


# the models endpoint ---------------------------------------------------------------------------


async def test_the_figures_are_those_of_the_events_fed(
    http: httpx.AsyncClient, fed: RollupDays
) -> None:
    response = await http.get("/v1/analytics/models", headers=ANALYST)
    assert response.status_code == 200, response.text
    body = response.json()
    assert (body["days"], body["from"], body["to"]) == (30, "2026-11-02", "2026-12-01")
    assert body["group_by"] == "model"
    events = [e for _, e in fed.events]
    ratings = [r for _, _, r in fed.ratings]
    assert_matches(body["summary"], expected(events, ratings))

    assert [row["model"] for row in body["byModel"]] == sorted(
        (row["model"] for row in body["byModel"]),
        key=lambda m: -next(r["totalCalls"] for r in body["byModel"] if r["model"] == m),
    )
    for row in body["byModel"]:
        mine = [e for e in events if e.model == row["model"]]
        liked = [r for _, rated, r in fed.ratings if rated.model == row["model"]]
        assert row["provider"] == mine[0].provider
        assert row["feedbackCount"] == len(liked)
        assert_matches(row, expected(mine, liked))
    for row in body["byTaskType"]:
        mine = [e for e in events if e.task_type == row["taskType"]]
        liked = [r for _, rated, r in fed.ratings if rated.task_type == row["taskType"]]
        assert row["totalCalls"] == expected(mine, liked)["totalCalls"]
        assert row["satisfactionRate"] == expected(mine, liked)["satisfactionRate"]
    assert {row["provider"] for row in body["byProvider"]} == {"openai", "anthropic"}
    assert body["groups"] == body["byModel"]

    trends = body["trends"]
    assert [t["day"] for t in trends] == [
        (date(2026, 11, 2) + timedelta(days=n)).isoformat() for n in range(30)
    ]
    for trend in trends:
        mine = [e for day, e in fed.events if day == trend["day"]]
        if not mine:
            assert trend["totalCalls"] == 0
            assert trend["tokens"] == 0
            assert trend["avgResponseTime"] is None
            assert trend["successRate"] is None
            assert trend["satisfactionRate"] is None
            continue
        want = expected(mine, [r for day, _, r in fed.ratings if day == trend["day"]])
        assert trend["totalCalls"] == want["totalCalls"]
        assert trend["avgResponseTime"] == want["avgResponseTime"]
        assert trend["tokens"] == sum(e.input_tokens + e.output_tokens for e in mine)
        exact = exact_quantile(want["latencies"], 0.95)
        assert abs(trend["p95"] - exact) <= 0.01 * exact + 0.05


async def test_groups_and_filters(http: httpx.AsyncClient, fed: RollupDays) -> None:
    by_time = (
        await http.get(
            "/v1/analytics/models", headers=ANALYST, params={"group_by": "time", "days": "7"}
        )
    ).json()
    assert len(by_time["groups"]) == 7
    assert [g["day"] for g in by_time["groups"]] == [t["day"] for t in by_time["trends"]]
    by_provider = (
        await http.get("/v1/analytics/models", headers=ANALYST, params={"group_by": "provider"})
    ).json()
    assert by_provider["groups"] == by_provider["byProvider"]

    coding = (
        await http.get(
            "/v1/analytics/models",
            headers=ANALYST,
            params={"task_type": "coding", "model": "gpt-4.1", "days": "7"},
        )
    ).json()
    assert coding["filters"] == {"task_type": "coding", "model": "gpt-4.1"}
    first = (TODAY - timedelta(days=6)).isoformat()
    mine = [
        e
        for day, e in fed.events
        if day >= first and e.task_type == "coding" and e.model == "gpt-4.1"
    ]
    liked = [
        r
        for day, rated, r in fed.ratings
        if day >= first and rated.task_type == "coding" and rated.model == "gpt-4.1"
    ]
    assert_matches(coding["summary"], expected(mine, liked))
    assert [row["model"] for row in coding["byModel"]] == ["gpt-4.1"]
    # The recommendation still chooses among every model of the task type.
    [advice] = coding["recommendations"]
    assert advice["taskType"] == "coding"
    assert advice["source"] == "data"
    assert len(advice["alternatives"]) == 2


async def test_recommendations_and_the_best_model_per_task(http: httpx.AsyncClient) -> None:
    body = (await http.get("/v1/analytics/models", headers=ANALYST)).json()
    by_task = {r["taskType"]: r for r in body["recommendations"]}
    assert set(by_task) == {"general_chat", "coding", "reasoning"}
    assert all(r["priority"] == "balanced" for r in by_task.values())
    assert by_task["general_chat"]["source"] == "data"
    assert by_task["general_chat"]["model"] in MODELS
    # Two calls of reasoning, on the heavy tier: the heavy chain with an OpenAI key is gpt-5.
    reasoning = by_task["reasoning"]
    assert reasoning["source"] == "rules"
    assert reasoning["model"] == "gpt-5"
    assert "heavy chain" in reasoning["reason"]
    assert {b["taskType"] for b in body["bestByTask"]} == {"general_chat", "coding"}
    for best in body["bestByTask"]:
        assert best["sampleSize"] >= 5
        assert set(best) == {"taskType", "model", "provider", "qualityScore", "sampleSize"}


@pytest.mark.parametrize("priority", ["speed", "quality", "cost", "balanced"])
async def test_the_recommendations_endpoint_answers_each_priority(
    http: httpx.AsyncClient, fed: RollupDays, priority: str
) -> None:
    response = await http.get(
        "/v1/analytics/recommendations",
        headers=ANALYST,
        params={"task_type": "general_chat", "priority": priority},
    )
    assert response.status_code == 200, response.text
    answer = response.json()
    assert set(answer) == {
        "taskType",
        "priority",
        "source",
        "model",
        "provider",
        "confidence",
        "reason",
        "metrics",
        "alternatives",
        "insights",
    }
    assert (answer["taskType"], answer["priority"], answer["source"]) == (
        "general_chat",
        priority,
        "data",
    )
    assert set(answer["metrics"]) == {
        "avgResponseTime",
        "successRate",
        "satisfactionRate",
        "qualityScore",
        "costPerAnswer",
        "sampleSize",
    }
    assert 0 <= answer["confidence"] <= 100
    ranked = [answer, *answer["alternatives"]]
    assert {r["model"] for r in ranked} == set(MODELS)
    figure = {
        "speed": lambda r: r["metrics"]["avgResponseTime"],
        "quality": lambda r: -r["metrics"]["qualityScore"],
        "cost": lambda r: r["metrics"]["costPerAnswer"],
    }.get(priority)
    if figure is not None:
        assert [figure(r) for r in ranked] == sorted(figure(r) for r in ranked)
    if priority == "speed":
        assert answer["model"] == "claude-haiku-4-5"
        assert any("faster than gpt-4.1 for general_chat" in s for s in answer["insights"])
    for shown in ranked:  # the cost of getting an answer: every call's tokens, per answer
        spec = CATALOG.get(shown["model"])
        assert spec is not None
        mine = [
            e
            for _, e in fed.events
            if (e.model, e.task_type, e.cached) == (shown["model"], "general_chat", False)
        ]
        cost = sum(
            e.input_tokens * spec.input_price_per_mtok
            + e.output_tokens * spec.output_price_per_mtok
            for e in mine
        )
        per_answer = cost / 1e6 / sum(e.success for e in mine)
        assert shown["metrics"]["costPerAnswer"] == pytest.approx(per_answer, abs=1e-8)


async def test_too_few_calls_are_answered_by_the_rules(http: httpx.AsyncClient) -> None:
    answer = (
        await http.get(
            "/v1/analytics/recommendations", headers=ANALYST, params={"task_type": "reasoning"}
        )
    ).json()
    assert answer["source"] == "rules"
    assert answer["model"] == "gpt-5"
    assert answer["metrics"]["sampleSize"] == 0  # gpt-5 has none; gpt-4.1 had the two
    assert "the most is 2 for gpt-4.1" in answer["reason"]
    # The rules chose, not the data: no confidence, for the first or its alternatives.
    assert {r["confidence"] for r in (answer, *answer["alternatives"])} == {0.0}
    unseen = (
        await http.get(
            "/v1/analytics/recommendations", headers=ANALYST, params={"task_type": "creative"}
        )
    ).json()
    # Never seen: the standard tier, whose chain with only an OpenAI key is gpt-4.1.
    assert (unseen["source"], unseen["model"]) == ("rules", "gpt-4.1")
    assert "none recorded" in unseen["reason"]


async def test_another_org_sees_none_of_it(http: httpx.AsyncClient) -> None:
    models = (await http.get("/v1/analytics/models", headers=OUTSIDE_ANALYST)).json()
    assert [row["model"] for row in models["byModel"]] == ["gpt-5"]
    assert models["summary"]["totalCalls"] == 9
    usage = (await http.get("/v1/analytics/usage", headers=OUTSIDE_ANALYST)).json()
    assert {row["model"] for row in usage["byModel"]} == {"gpt-5"}
    engagement = (await http.get("/v1/analytics/engagement", headers=OUTSIDE_ANALYST)).json()
    assert engagement["summary"]["activeUsers"] == 1
    nobody = bearer("nobody", org_id="empty-org", scopes="analytics:view")
    for name in ENDPOINTS:
        response = await http.get(f"/v1/analytics/{name}", headers=nobody)
        assert response.status_code == 200, name
    empty = (await http.get("/v1/analytics/models", headers=nobody)).json()
    assert empty["summary"]["totalCalls"] == 0
    assert empty["byModel"] == []
    assert empty["recommendations"] == []
    assert all(t["totalCalls"] == 0 for t in empty["trends"])


# the dashboard views -----------------------------------------------------------------------------


async def test_the_views_add_up_to_the_events(http: httpx.AsyncClient, fed: RollupDays) -> None:
    events = [e for _, e in fed.events]
    params = {"days": "14"}
    performance = (
        await http.get("/v1/analytics/performance", headers=ANALYST, params=params)
    ).json()
    assert len(performance["daily"]) == 14
    assert sum(d["inputTokens"] for d in performance["daily"]) == sum(
        e.input_tokens for e in events
    )
    assert performance["summary"]["totalCost"] == round(sum(e.cost_usd for e in events), 6)

    usage = (await http.get("/v1/analytics/usage", headers=ANALYST, params=params)).json()
    for row in usage["byModel"]:
        mine = [e for e in events if e.model == row["model"]]
        assert row["tokens"] == sum(e.input_tokens + e.output_tokens for e in mine)
        assert row["costPerRequest"] == round(sum(e.cost_usd for e in mine) / len(mine), 8)
    assert sum(r["totalCalls"] for r in usage["byPanel"]) == len(events)

    features = (await http.get("/v1/analytics/features", headers=ANALYST, params=params)).json()
    firsts = [e for e in events if e.attempt == 0]
    assert features["requests"] == len(firsts)
    pictures = next(p for p in features["panels"] if p["panel"] == "pictures")
    assert pictures["requests"] == sum(e.panel == "pictures" for e in firsts)
    assert sum(p["share"] for p in features["panels"]) == pytest.approx(100, abs=0.05)

    complexity = (await http.get("/v1/analytics/complexity", headers=ANALYST, params=params)).json()
    light = sum(e.tier == "light" for e in firsts)
    assert complexity["lightShare"] == round(100 * light / len(firsts), 2)

    savings = (await http.get("/v1/analytics/savings", headers=ANALYST, params=params)).json()
    gpt5 = CATALOG.get("gpt-5")
    assert gpt5 is not None
    smart = (
        sum(e.input_tokens for e in events) * gpt5.input_price_per_mtok
        + sum(e.output_tokens for e in events) * gpt5.output_price_per_mtok
    ) / 1e6
    actual = sum(e.cost_usd for e in events)
    assert savings["smartModel"] == "gpt-5"
    assert savings["smartCost"] == round(smart, 6)
    assert savings["saved"] == round(smart - actual, 6)
    assert savings["savedRate"] == round(100 * (smart - actual) / smart, 2)

    engagement = (await http.get("/v1/analytics/engagement", headers=ANALYST, params=params)).json()
    assert engagement["summary"]["activeUsers"] == len({e.user_id for e in firsts})
    this_week = {e.user_id for day, e in fed.events if day >= "2026-11-30" and e.attempt == 0}
    last_week = {
        e.user_id for day, e in fed.events if "2026-11-23" <= day <= "2026-11-29" and e.attempt == 0
    }
    retention = engagement["summary"]["retention"]
    assert retention["previousWeekUsers"] == len(last_week)
    assert retention["retainedUsers"] == len(this_week & last_week)
    assert [d["activeUsers"] for d in engagement["daily"]] == [
        len({e.user_id for day, e in fed.events if day == d["day"] and e.attempt == 0})
        for d in engagement["daily"]
    ]


# the Lambda handler ----------------------------------------------------------------------------


@pytest.fixture
def handler(
    settings: Settings, dynamodb: DynamoDBClient, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Handler]:
    """functions/analytics/app.py's handler, imported as Lambda does, with this test's tables."""
    yield from function_handler("analytics", "app", "handler", settings, monkeypatch)


def test_the_mangum_handler_reads_rollups_from_dynamodb(
    handler: Handler, settings: Settings, dynamodb: DynamoDBClient
) -> None:
    today = datetime.now(tz=UTC).date().isoformat()
    days = RollupDays()
    days.add(today, *(event(ORG, latency_ms=100.0 * n) for n in range(1, 8)))
    days.write(RollupRepository(settings.analytics_table, client=dynamodb))
    token = ANALYST["Authorization"].removeprefix("Bearer ")
    response = handler(
        recorded_event("analytics_function_url", token=token),
        LambdaContext(function_name="parley-analytics", remaining_ms=30_000),
    )
    assert response["statusCode"] == 200, response
    body = json.loads(response["body"])
    assert body["days"] == 7
    assert body["summary"]["totalCalls"] == 7
    assert body["summary"]["avgResponseTime"] == 400.0
    assert body["byModel"][0]["model"] == "gpt-4.1-mini"
