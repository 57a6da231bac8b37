"""What ConversationRepository does in DynamoDB beyond the shared contract
(test_conversations_contract.py): its tables, its indexes (the reply lookup, the activity
shards), and throttled or colliding transactions; against moto, tables made from
template.yaml."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

import pytest

from parley.auth import Identity
from parley.errors import NotFound, ServiceUnavailable
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
