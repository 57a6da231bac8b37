"""The safety view end to end: flagged messages through the chat app (its stores on DynamoDB,
the main model and the classifier model on the fake upstream), feedback on the replies, the
aggregate-usage job over the usage and feedback tables' hour index, then
``GET /v1/analytics/safety`` answering from the rollups it wrote."""

from __future__ import annotations

import json
import time
from typing import TYPE_CHECKING, Any

import pytest

from parley.analytics.job import AggregateUsageJob
from parley.analytics.sources import FeedbackHoursTable
from parley.analytics.store import RollupRepository
from parley.apps.analytics import create_analytics_app
from parley.apps.stores import dynamodb_stores
from parley.auth.identity import Identity
from parley.config import Settings
from parley.feedback.repository import FeedbackRepository
from parley.feedback.schemas import FeedbackRequest
from parley.state.usage import UsageRepository
from parley.state.versioned import MemoryVersionedItems
from tests.fakes.upstreams import Script
from tests.support.asgi import bearer, client_for
from tests.support.chat import stream_chat
from tests.support.guardrails import CRISIS_EN, CRISIS_ES, THIRD_PARTY, verdict

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

    from tests.fakes.upstreams import FakeUpstream
    from tests.support.chat import MemoryChat, StartMemoryChat, Streamed

pytestmark = pytest.mark.anyio

ORG = "default"
OWNER = Identity(user_id="user-1", org_id=ORG)
ANALYST = bearer("carol", org_id=ORG, scopes="analytics:view")
MAIN_ANSWER = "An ordinary answer."
ORDINARY = "What is the capital of France?"


@pytest.fixture
def chat(
    start_memory_chat: StartMemoryChat,
    upstream: FakeUpstream,
    settings: Settings,
    dynamodb: DynamoDBClient,
) -> MemoryChat:
    chat = start_memory_chat(stores=dynamodb_stores(settings, dynamodb))
    upstream.script(chat.models["m-openai"], Script(chunks=[MAIN_ANSWER]))
    return chat


async def chat_through(chat: MemoryChat, message: str) -> Streamed:
    streamed = await stream_chat(chat, {"message": message})
    assert streamed.status == 200, streamed.events
    assert streamed.types[-1] == "done"
    return streamed


def rate(settings: Settings, dynamodb: DynamoDBClient, streamed: Streamed, **given: Any) -> None:
    """Feedback on the reply ``streamed`` stored, as the feedback function stores it."""
    feedback = FeedbackRepository(
        settings.feedback_table, settings.conversations_table, client=dynamodb
    )
    meta, done = streamed.events[0], streamed.of("done")[0]
    body = FeedbackRequest(
        message_id=done["message_id"], conversation_id=meta["conversation_id"], **given
    )
    feedback.submit(OWNER, body)


async def views(settings: Settings, dynamodb: DynamoDBClient, *names: str) -> dict[str, Any]:
    """The aggregate-usage job run, then each named view of the last two days."""
    rollups = RollupRepository(settings.analytics_table, client=dynamodb)
    job = AggregateUsageJob(
        UsageRepository(settings.usage_table, client=dynamodb),
        FeedbackHoursTable(settings.feedback_table, client=dynamodb),
        rollups,
    )
    job.run(deadline=None, as_of=time.time())
    app = create_analytics_app(
        Settings(env="development"), rollups=rollups, documents=MemoryVersionedItems(), environ={}
    )
    shown = {}
    async with client_for(app) as client:
        for name in names:
            # Two days: the requests and the run may straddle midnight UTC.
            response = await client.get(f"/v1/analytics/{name}?days=2", headers=ANALYST)
            assert response.status_code == 200, response.text
            shown[name] = response.json()
    return shown


async def test_the_safety_view_counts_what_the_guardrail_did_in_the_chat(
    chat: MemoryChat, upstream: FakeUpstream, settings: Settings, dynamodb: DynamoDBClient
) -> None:
    # GIVEN the org's classifier model, whose verdicts are, in turn: a crisis, nonsense (so
    # the offline classifier decides), someone else at risk, and a message it clears
    admin = bearer("admin", scopes="org:manage")
    async with chat.client() as client:
        response = await client.patch(
            "/v1/org/settings",
            json={"guardrails": {"classifier_model": "m-gemini"}},
            headers=admin,
        )
    assert response.status_code == 200, response.text
    upstream.script(
        chat.models["m-gemini"],
        verdict(True, 0.93, "suicide"),
        Script(chunks=["I think this user is fine."]),
        verdict(False, 0.9, "third_party"),
        verdict(False, 0.9, "none"),
    )
    # WHEN four flagged messages and an ordinary one are sent, the first safe reply is rated
    # down (a report of a false positive) and the answer with resources too (which is not)
    crisis = await chat_through(chat, CRISIS_EN)
    offline = await chat_through(chat, CRISIS_ES)
    helper = await chat_through(chat, THIRD_PARTY)
    cleared = await chat_through(chat, CRISIS_EN)
    await chat_through(chat, ORDINARY)
    assert [s.of("guardrail")[0]["stage"] for s in (crisis, offline, helper)] == [
        "model",
        "offline",
        "model",
    ]
    assert cleared.of("guardrail") == []
    rate(settings, dynamodb, crisis, thumbs=-1, comment="I was quoting a song")
    rate(settings, dynamodb, offline, rating=5)
    rate(settings, dynamodb, helper, thumbs=-1)
    # AND the aggregate-usage job runs
    both = await views(settings, dynamodb, "safety", "models")
    shown = both["safety"]
    # The classifier's calls are not answers: the models view has none of them.
    models = both["models"]
    assert "guardrail" not in [row["taskType"] for row in models["byTaskType"]]
    assert "m-gemini" not in [row["model"] for row in models["byModel"]]

    # THEN the view counts each decision once, under its action, category and stage
    summary = shown["summary"]
    assert summary["decisions"] == {
        "total": 4,
        "byAction": {"safe_reply": 2, "resources": 1, "none": 1},
        "byCategory": {"suicide": 2, "self_harm": 0, "third_party": 1, "none": 1},
        "byStage": {"model": 3, "offline": 1},
    }
    assert summary["hits"] == {
        "total": 3,
        "byCategory": {"suicide": 2, "self_harm": 0, "third_party": 1},
    }
    # The classifier model was called for each flagged message; one answer was nonsense.
    classifier = summary["classifier"]
    assert (classifier["calls"], classifier["answered"]) == (4, 3)
    assert classifier["failSafe"] == {"total": 1, "timeout": 0, "error": 0, "malformed": 1}
    assert classifier["failSafeRate"] == 25.0
    assert classifier["avgResponseTime"] > 0
    assert classifier["p95"] > 0
    assert classifier["totalCost"] > 0
    # One report of a false positive: the thumb down on the safe reply, not the one on the
    # answer with resources; the 5 on the other safe reply was judged, and is no report.
    assert summary["falsePositiveReports"] == {
        "total": 1,
        "byCategory": {"suicide": 1, "self_harm": 0},
        "judged": 2,
        "rate": 50.0,
    }
    # The days add up to the window, and nothing of a message (nor a comment) is in it.
    assert sum(day["decisions"]["total"] for day in shown["daily"]) == 4
    text = json.dumps(shown)
    for quoted in ("pills", "viviendo", "friend", "France", "song"):
        assert quoted not in text
