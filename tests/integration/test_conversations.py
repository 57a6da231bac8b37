"""ConversationRepository against DynamoDB (moto server), tables made from template.yaml."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

import pytest

from parley.auth import Identity
from parley.errors import BadRequest, Conflict, NotFound
from parley.state.conversations import ConversationRepository
from parley.state.tables import create_tables, table_definitions
from parley.state.template import load_template
from tests.conftest import TEMPLATE

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


def test_creating_tables_again_leaves_existing_ones_alone(
    settings: Settings, dynamodb: DynamoDBClient, repo: ConversationRepository
) -> None:
    # `parley dev` against a persistent endpoint runs this at every start.
    kept = repo.create(ALICE, title="survives a restart")
    definitions = table_definitions(load_template(TEMPLATE))
    assert create_tables(dynamodb, settings, definitions) == []
    assert repo.get(ALICE, kept.id).title == "survives a restart"


def test_a_reply_is_found_by_id_alone_by_its_owner_only(repo: ConversationRepository) -> None:
    conversation = repo.create(ALICE)
    question = repo.add_message(ALICE, conversation.id, role="user", content="Hi?")
    reply = repo.add_message(ALICE, conversation.id, role="assistant", content="Hello.")
    found = repo.find_reply(ALICE, reply.id)
    assert (found.id, found.conversation_id, found.content) == (reply.id, conversation.id, "Hello.")
    assert repo.message_before(conversation.id, reply.id) == question
    assert repo.message_before(conversation.id, question.id) is None
    for stranger in (BOB, ALICE_ELSEWHERE):
        with pytest.raises(NotFound):
            repo.find_reply(stranger, reply.id)
    with pytest.raises(NotFound):  # only replies are indexed
        repo.find_reply(ALICE, question.id)


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
