"""The function-URL events of tests/events/, each invoked as Lambda invokes it: the handler
template.yaml names (Mangum's), imported from the function's CodeUri, in the environment
``sam local`` gives it from tests/events/env.json, with a Lambda context; DynamoDB is moto."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import TYPE_CHECKING

import pytest

from parley.analytics.store import RollupRepository
from parley.auth.identity import Identity
from parley.ids import new_id
from parley.state.conversations import ConversationRepository
from tests.support.asgi import bearer
from tests.support.lambdas import Handler, LambdaContext, recorded_event
from tests.support.rollups import RollupDays, event
from tests.support.sam_local import invokes, template_handler

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator

    from mypy_boto3_dynamodb import DynamoDBClient

    from parley.config import Settings

ORG = "acme"


def token(user: str, scopes: str = "") -> str:
    return bearer(user, org_id=ORG, scopes=scopes)["Authorization"].removeprefix("Bearer ")


@pytest.fixture
def handler_of(
    settings: Settings, dynamodb: DynamoDBClient, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Callable[[str], Handler]]:
    opened: list[Iterator[Handler]] = []

    def load(logical_id: str) -> Handler:
        handlers = template_handler(logical_id, settings, monkeypatch)
        opened.append(handlers)
        return next(handlers)

    yield load
    for handlers in opened:
        handlers.close()


def context(function: str) -> LambdaContext:
    return LambdaContext(function_name=f"parley-{function}", remaining_ms=10_000)


@invokes("PreferencesFunction", "preferences_get_function_url", "preferences_put_function_url")
def test_preferences_get_then_put_with_its_etag(handler_of: Callable[[str], Handler]) -> None:
    handler = handler_of("PreferencesFunction")
    alice = token("alice")
    # GIVEN a user with no preferences yet: GET answers version 0
    got = handler(recorded_event("preferences_get_function_url", token=alice), context("prefs"))
    assert got["statusCode"] == 200, got
    assert got["headers"]["etag"] == '"0"'
    # WHEN the PUT event carries that ETag
    put = handler(
        recorded_event(
            "preferences_put_function_url", token=alice, if_match=got["headers"]["etag"]
        ),
        context("prefs"),
    )
    # THEN the preferences are stored as version 1
    assert put["statusCode"] == 200, put
    assert put["headers"]["etag"] == '"1"'
    assert json.loads(put["body"])["preferences"]["pictures"]["defaultStyle"] == "watercolor"


@invokes("FeedbackFunction", "feedback_function_url")
def test_feedback_on_a_stored_reply_is_created(
    handler_of: Callable[[str], Handler], settings: Settings, dynamodb: DynamoDBClient
) -> None:
    # GIVEN a reply stored as the chat function stores it
    owner = Identity(user_id="alice", org_id=ORG)
    conversations = ConversationRepository(settings.conversations_table, client=dynamodb)
    conversation_id = new_id()
    conversations.add_message(
        owner, conversation_id, role="user", content="Draw a lighthouse", new_conversation_title="x"
    )
    reply = conversations.add_message(
        owner,
        conversation_id,
        role="assistant",
        content="A watercolor.",
        metadata={"provider": "openai", "model": "gpt-4o-mini", "cost_usd": 0.001},
    )
    # WHEN the feedback event rates it
    handler = handler_of("FeedbackFunction")
    answered = handler(
        recorded_event("feedback_function_url", token=token("alice"), message_id=reply.id),
        context("feedback"),
    )
    # THEN it is recorded for that reply
    assert answered["statusCode"] == 201, answered
    assert json.loads(answered["body"])["message_id"] == reply.id


@invokes("AnalyticsFunction", "analytics_function_url")
def test_analytics_reads_the_rollups(
    handler_of: Callable[[str], Handler], settings: Settings, dynamodb: DynamoDBClient
) -> None:
    days = RollupDays()
    days.add(datetime.now(tz=UTC).date().isoformat(), *(event(ORG) for _ in range(3)))
    days.write(RollupRepository(settings.analytics_table, client=dynamodb))
    handler = handler_of("AnalyticsFunction")
    answered = handler(
        recorded_event("analytics_function_url", token=token("carol", "analytics:view")),
        context("analytics"),
    )
    assert answered["statusCode"] == 200, answered
    body = json.loads(answered["body"])
    assert body["days"] == 7
    assert body["summary"]["totalCalls"] == 3
