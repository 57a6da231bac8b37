"""ConversationRepository against DynamoDB (moto server), tables made from template.yaml."""

from __future__ import annotations

import base64
import json
import time
from typing import TYPE_CHECKING, Any

import pytest

from parley.auth import Identity
from parley.errors import BadRequest, Conflict, NotFound, ServiceUnavailable
from parley.ids import new_id
from parley.state.conversations import ConversationBusy, ConversationRepository
from parley.state.replies import Replies
from parley.state.tables import create_tables, table_definitions
from parley.state.template import load_template
from tests.conftest import TEMPLATE
from tests.support.clients import ClientProxy, TransactionsCancelled

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

    from parley.config import Settings

ALICE = Identity(user_id="alice", org_id="acme")
BOB = Identity(user_id="bob", org_id="acme")
ALICE_ELSEWHERE = Identity(user_id="alice", org_id="other-org")


@pytest.fixture
def repo(settings: Settings, dynamodb: DynamoDBClient) -> ConversationRepository:
    return ConversationRepository(settings.conversations_table, client=dynamodb)


def test_a_new_conversation_can_be_read_back_by_its_owner(repo: ConversationRepository) -> None:
    created = repo.create(ALICE, title="Trip planning")
    assert repo.get(ALICE, created.id) == created
    assert created.message_count == 0


@pytest.mark.parametrize("stranger", [BOB, ALICE_ELSEWHERE])
def test_another_users_conversation_looks_missing(
    repo: ConversationRepository, stranger: Identity
) -> None:
    created = repo.create(ALICE)
    with pytest.raises(NotFound):
        repo.get(stranger, created.id)
    with pytest.raises(NotFound):
        repo.get_with_messages(stranger, created.id)
    with pytest.raises(NotFound):
        repo.add_message(stranger, created.id, role="user", content="let me in")
    # and nothing was written by the refused attempt
    assert repo.get_with_messages(ALICE, created.id)[1] == []


def test_a_missing_conversation_is_not_found(repo: ConversationRepository) -> None:
    with pytest.raises(NotFound):
        repo.get(ALICE, "01HZZZZZZZZZZZZZZZZZZZZZZZ")
    with pytest.raises(NotFound):
        repo.add_message(ALICE, "01HZZZZZZZZZZZZZZZZZZZZZZZ", role="user", content="hi")


def test_messages_are_stored_in_order_and_counted(repo: ConversationRepository) -> None:
    conversation = repo.create(ALICE)
    asked = repo.add_message(ALICE, conversation.id, role="user", content="What is DynamoDB?")
    answered = repo.add_message(
        ALICE,
        conversation.id,
        role="assistant",
        content="A key-value database",
        status="incomplete",
        metadata={"model": "local", "cost_usd": 0.0012, "tokens": 7},
    )
    loaded, messages = repo.get_with_messages(ALICE, conversation.id)
    assert [m.id for m in messages] == [asked.id, answered.id]
    assert messages[1].status == "incomplete"
    assert messages[1].metadata == {"model": "local", "cost_usd": 0.0012, "tokens": 7}
    assert loaded.message_count == 2
    assert loaded.updated_at >= conversation.updated_at


def test_recent_messages_returns_the_last_n_oldest_first(repo: ConversationRepository) -> None:
    conversation = repo.create(ALICE)
    for index in range(7):
        repo.add_message(ALICE, conversation.id, role="user", content=f"message {index}")
    recent = repo.recent_messages(conversation.id, limit=5)
    assert [m.content for m in recent] == [f"message {index}" for index in range(2, 7)]


def test_a_message_id_cannot_be_stored_twice(repo: ConversationRepository) -> None:
    conversation = repo.create(ALICE)
    first = repo.add_message(ALICE, conversation.id, role="user", content="once")
    with pytest.raises(Conflict):
        repo.add_message(ALICE, conversation.id, role="user", content="twice", message_id=first.id)
    loaded, messages = repo.get_with_messages(ALICE, conversation.id)
    assert [m.content for m in messages] == ["once"]
    assert loaded.message_count == 1  # the transaction wrote neither item


def test_listing_shows_only_the_owners_conversations_most_recent_first(
    repo: ConversationRepository,
) -> None:
    first = repo.create(ALICE, title="first")
    second = repo.create(ALICE, title="second")
    repo.create(BOB, title="bob's")
    time.sleep(0.002)  # activity times have millisecond resolution
    repo.add_message(ALICE, first.id, role="user", content="bump first to the top")
    listed, cursor = repo.list_for_owner(ALICE)
    assert [c.title for c in listed] == ["first", "second"]
    assert cursor is None
    assert {c.id for c in listed} == {first.id, second.id}


def test_listing_pages_with_a_cursor(repo: ConversationRepository) -> None:
    titles = [f"c{index}" for index in range(5)]
    for title in titles:
        repo.create(ALICE, title=title)
    seen: list[str] = []
    cursor = None
    while True:
        page, cursor = repo.list_for_owner(ALICE, limit=2, cursor=cursor)
        seen += [c.title for c in page]
        if cursor is None:
            break
    assert sorted(seen) == titles
    assert len(seen) == len(set(seen))


def test_a_cursor_from_another_users_listing_is_refused(repo: ConversationRepository) -> None:
    for _ in range(3):
        repo.create(BOB)
    _, bobs_cursor = repo.list_for_owner(BOB, limit=1)
    assert bobs_cursor is not None
    with pytest.raises(BadRequest):
        repo.list_for_owner(ALICE, cursor=bobs_cursor)
    with pytest.raises(BadRequest):
        repo.list_for_owner(ALICE, cursor="%%%not-base64%%%")


def _decoded(cursor: str) -> dict[str, Any]:
    return json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))


def _encoded(key: object) -> str:
    return base64.urlsafe_b64encode(json.dumps(key).encode()).decode().rstrip("=")


@pytest.mark.parametrize(
    "change",
    [
        pytest.param(lambda key: {**key, "gsi1sk": {"N": "1"}}, id="a sort key as a number"),
        pytest.param(lambda key: {**key, "sk": {"B": "AAAA"}}, id="a key as binary"),
        pytest.param(lambda key: {**key, "sk": {"S": ["META"]}}, id="a value that is a list"),
        pytest.param(lambda key: {**key, "gsi1sk": {"S": ""}}, id="an empty value"),
        pytest.param(lambda key: {**key, "gsi1sk": {"S": "a" * 1025}}, id="a value too long"),
        pytest.param(lambda key: {**key, "gsi1sk": {"S": "\ud800"}}, id="a lone surrogate"),
        pytest.param(lambda key: {**key, "gsi1sk": {"S": "x", "N": "1"}}, id="two types"),
        pytest.param(lambda key: {k: v for k, v in key.items() if k != "sk"}, id="missing sk"),
        pytest.param(lambda key: {**key, "extra": {"S": "x"}}, id="an extra attribute"),
        pytest.param(lambda key: [key], id="not an object"),
    ],
)
def test_a_cursor_is_checked_whole_before_dynamodb_sees_it(
    repo: ConversationRepository, change: Any
) -> None:
    # GIVEN the caller's own cursor, WHEN one part of it is changed, THEN it is a 400 (moto,
    # handed such a start key, fails with a 500 of its own: the check must come first).
    for _ in range(3):
        repo.create(ALICE)
    _, cursor = repo.list_for_owner(ALICE, limit=1)
    assert cursor is not None
    with pytest.raises(BadRequest, match="cursor"):
        repo.list_for_owner(ALICE, cursor=_encoded(change(_decoded(cursor))))


def test_a_cursor_naming_a_conversation_that_is_gone_still_pages_the_callers_own(
    repo: ConversationRepository,
) -> None:
    made = [repo.create(ALICE, title=f"t{n}") for n in range(3)]
    _, cursor = repo.list_for_owner(ALICE, limit=1)
    assert cursor is not None
    moved = {**_decoded(cursor), "pk": {"S": "CONV#01JDQ7ZG7A2M4X5R6T8V9W0YZB"}}
    page, _ = repo.list_for_owner(ALICE, limit=5, cursor=_encoded(moved))
    assert {c.user_id for c in page} <= {"alice"}
    assert {c.id for c in page} <= {c.id for c in made}


def test_creating_tables_again_leaves_existing_ones_alone(
    settings: Settings, dynamodb: DynamoDBClient, repo: ConversationRepository
) -> None:
    # `parley dev` against a persistent endpoint runs this at every start.
    kept = repo.create(ALICE, title="survives a restart")
    definitions = table_definitions(load_template(TEMPLATE))
    assert create_tables(dynamodb, settings, definitions) == []
    assert repo.get(ALICE, kept.id).title == "survives a restart"


def test_a_reply_is_found_by_id_alone_by_its_owner_only(
    repo: ConversationRepository, settings: Settings, dynamodb: DynamoDBClient
) -> None:
    conversation = repo.create(ALICE)
    question = repo.add_message(ALICE, conversation.id, role="user", content="Hi?")
    reply = repo.add_message(ALICE, conversation.id, role="assistant", content="Hello.")
    replies = Replies(settings.conversations_table, client=dynamodb)
    found = replies.find(ALICE, reply.id)
    assert (found.id, found.conversation_id, found.content) == (reply.id, conversation.id, "Hello.")
    assert replies.question(conversation.id, reply.id) == question
    assert replies.question(conversation.id, question.id) is None
    for stranger in (BOB, ALICE_ELSEWHERE):
        with pytest.raises(NotFound):
            replies.find(stranger, reply.id)
    with pytest.raises(NotFound):  # only replies are indexed
        replies.find(ALICE, question.id)


def test_a_conversation_is_listed_under_its_last_days_activity_shard(
    repo: ConversationRepository, settings: Settings, dynamodb: DynamoDBClient
) -> None:
    from parley.state.conversation_keys import (
        ACTIVITY_INDEX,
        activity_key,
        activity_owner,
        activity_shard,
    )
    from parley.state.items import from_item, to_item

    conversation = repo.create(ALICE)
    repo.add_message(ALICE, conversation.id, role="user", content="Hi")
    day = time.strftime("%Y-%m-%d", time.gmtime())
    items = dynamodb.query(
        TableName=settings.conversations_table,
        IndexName=ACTIVITY_INDEX,
        KeyConditionExpression="gsi2pk = :day",
        ExpressionAttributeValues=to_item(
            {":day": activity_key(day, activity_shard("acme", "alice"))}
        ),
    )["Items"]
    entries = [from_item(item) for item in items]
    assert [activity_owner(entry["gsi2sk"]) for entry in entries] == [("acme", "alice")]
    assert entries[0]["pk"] == f"CONV#{conversation.id}"


class IndexLags(ClientProxy):
    """A client whose reply-index queries find nothing for the first ``misses`` calls, as a
    GSI does before it has caught up with a write."""

    def __init__(self, client: DynamoDBClient, misses: int) -> None:
        super().__init__(client)
        self.misses = misses
        self.index_queries = 0

    def query(self, **request: Any) -> Any:
        if request.get("IndexName") == "gsi2":
            self.index_queries += 1
            if self.index_queries <= self.misses:
                return {"Items": [], "Count": 0}
        return self._client.query(**request)


@pytest.mark.parametrize(
    ("misses", "age_seconds", "found", "slept"),
    [
        (2, 0.0, True, [0.1, 0.2]),  # a fresh reply the index has not caught up with
        (10, 0.0, False, [0.1, 0.2, 0.4, 0.8]),  # fresh, but the index never shows it
        (10, 60.0, False, []),  # an old reply missing from the index is missing
    ],
)
def test_a_fresh_reply_is_looked_up_again_while_the_index_catches_up(
    repo: ConversationRepository,
    settings: Settings,
    dynamodb: DynamoDBClient,
    misses: int,
    age_seconds: float,
    found: bool,
    slept: list[float],
) -> None:
    conversation = repo.create(ALICE)
    reply = repo.add_message(ALICE, conversation.id, role="assistant", content="Done.")
    lagging = IndexLags(dynamodb, misses)
    sleeps: list[float] = []
    replies = Replies(
        settings.conversations_table,
        client=lagging,  # type: ignore[arg-type]
        clock=lambda: time.time() + age_seconds,
        sleep=sleeps.append,
    )
    if found:
        assert replies.find(ALICE, reply.id).id == reply.id
    else:
        with pytest.raises(NotFound):
            replies.find(ALICE, reply.id)
    assert sleeps == slept


@pytest.mark.parametrize("throttled", ["ThrottlingError", "ProvisionedThroughputExceeded"])
def test_a_throttled_message_write_is_a_503_like_every_other_transaction(
    settings: Settings, dynamodb: DynamoDBClient, throttled: str
) -> None:
    repo = ConversationRepository(
        settings.conversations_table, client=TransactionsCancelled(dynamodb, throttled)
    )
    with pytest.raises(ServiceUnavailable) as refused:
        repo.add_message(ALICE, new_id(), role="user", content="hi", new_conversation_title="t")
    assert refused.value.status == 503
    assert refused.value.retryable


def test_a_write_that_collides_with_another_is_tried_again(
    settings: Settings, dynamodb: DynamoDBClient
) -> None:
    colliding = TransactionsCancelled(dynamodb, "TransactionConflict", times=2)
    repo = ConversationRepository(settings.conversations_table, client=colliding)
    message = repo.add_message(
        ALICE, new_id(), role="user", content="hi", new_conversation_title="t"
    )
    assert colliding.calls == 3
    assert repo.get_with_messages(ALICE, message.conversation_id)[1][0].content == "hi"


def test_a_write_that_keeps_colliding_is_a_retryable_409(
    settings: Settings, dynamodb: DynamoDBClient
) -> None:
    repo = ConversationRepository(
        settings.conversations_table, client=TransactionsCancelled(dynamodb, "TransactionConflict")
    )
    with pytest.raises(ConversationBusy) as refused:
        repo.add_message(ALICE, new_id(), role="user", content="hi", new_conversation_title="t")
    assert (refused.value.status, refused.value.retryable) == (409, True)
