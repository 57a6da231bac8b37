"""One contract, two backends: every ConversationStore behaves the same, in DynamoDB (moto on
loopback, tables made from template.yaml) and in memory. What only DynamoDB does (its
indexes, the reply lookup, throttling, collisions) is in test_conversations.py."""

from __future__ import annotations

import base64
import json
import math
import time
from typing import TYPE_CHECKING, Any

import pytest

from parley.auth import Identity
from parley.errors import BadRequest, Conflict, NotFound
from parley.ids import new_id
from parley.state.items import UnstorableValue
from tests.support.stores import BACKENDS, conversation_store

if TYPE_CHECKING:
    from parley.state.conversations import ConversationStore

ALICE = Identity(user_id="alice", org_id="acme")
BOB = Identity(user_id="bob", org_id="acme")
ALICE_ELSEWHERE = Identity(user_id="alice", org_id="other-org")


@pytest.fixture(params=BACKENDS)
def repo(request: pytest.FixtureRequest) -> ConversationStore:
    return conversation_store(request, request.param)


def test_a_new_conversation_can_be_read_back_by_its_owner(repo: ConversationStore) -> None:
    created = repo.create(ALICE, title="Trip planning")
    assert repo.get(ALICE, created.id) == created
    assert created.message_count == 0


@pytest.mark.parametrize("stranger", [BOB, ALICE_ELSEWHERE])
def test_another_users_conversation_looks_missing(
    repo: ConversationStore, stranger: Identity
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


def test_a_missing_conversation_is_not_found(repo: ConversationStore) -> None:
    with pytest.raises(NotFound):
        repo.get(ALICE, "01HZZZZZZZZZZZZZZZZZZZZZZZ")
    with pytest.raises(NotFound):
        repo.add_message(ALICE, "01HZZZZZZZZZZZZZZZZZZZZZZZ", role="user", content="hi")


def test_messages_are_stored_in_order_and_counted(repo: ConversationStore) -> None:
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


def test_recent_messages_returns_the_last_n_oldest_first(repo: ConversationStore) -> None:
    conversation = repo.create(ALICE)
    for index in range(7):
        repo.add_message(ALICE, conversation.id, role="user", content=f"message {index}")
    recent = repo.recent_messages(conversation.id, limit=5)
    assert [m.content for m in recent] == [f"message {index}" for index in range(2, 7)]
    # PARLEY_CONTEXT_MESSAGES=0: no context, on every backend (DynamoDB refuses a Limit of 0).
    assert repo.recent_messages(conversation.id, limit=0) == []


def test_a_message_id_cannot_be_stored_twice(repo: ConversationStore) -> None:
    conversation = repo.create(ALICE)
    first = repo.add_message(ALICE, conversation.id, role="user", content="once")
    with pytest.raises(Conflict):
        repo.add_message(ALICE, conversation.id, role="user", content="twice", message_id=first.id)
    loaded, messages = repo.get_with_messages(ALICE, conversation.id)
    assert [m.content for m in messages] == ["once"]
    assert loaded.message_count == 1  # the transaction wrote neither item


def test_listing_shows_only_the_owners_conversations_most_recent_first(
    repo: ConversationStore,
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


def test_listing_pages_with_a_cursor(repo: ConversationStore) -> None:
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


def test_a_cursor_from_another_users_listing_is_refused(repo: ConversationStore) -> None:
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
    repo: ConversationStore, change: Any
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
    repo: ConversationStore,
) -> None:
    made = [repo.create(ALICE, title=f"t{n}") for n in range(3)]
    _, cursor = repo.list_for_owner(ALICE, limit=1)
    assert cursor is not None
    moved = {**_decoded(cursor), "pk": {"S": "CONV#01JDQ7ZG7A2M4X5R6T8V9W0YZB"}}
    page, _ = repo.list_for_owner(ALICE, limit=5, cursor=_encoded(moved))
    assert {c.user_id for c in page} <= {"alice"}
    assert {c.id for c in page} <= {c.id for c in made}


def test_a_first_message_creates_its_conversation_in_the_same_write(
    repo: ConversationStore,
) -> None:
    conversation_id = new_id()
    first = repo.add_message(
        ALICE, conversation_id, role="user", content="Hello", new_conversation_title="Hello"
    )
    conversation, messages = repo.get_with_messages(ALICE, conversation_id)
    assert (conversation.title, conversation.message_count) == ("Hello", 1)
    assert conversation.created_at == conversation.updated_at == first.created_at
    assert messages == [first]
    assert repo.list_for_owner(ALICE)[0] == [conversation]
    # The id is taken now: opening it again writes neither the conversation nor the message.
    with pytest.raises(Conflict):
        repo.add_message(
            ALICE, conversation_id, role="user", content="Again", new_conversation_title="x"
        )
    assert repo.get_with_messages(ALICE, conversation_id) == (conversation, [first])


def test_messages_read_back_as_stored_values(repo: ConversationStore) -> None:
    conversation = repo.create(ALICE)
    metadata = {"ratio": 1.0, "tags": ("a", "b"), "nested": {"n": 2.5}, "none": None}
    written = repo.add_message(ALICE, conversation.id, role="user", content="hi", metadata=metadata)
    (read,) = repo.get_with_messages(ALICE, conversation.id)[1]
    # Numbers come back as the smallest type that holds them, sequences as lists.
    assert read.metadata == {"ratio": 1, "tags": ["a", "b"], "nested": {"n": 2.5}, "none": None}
    assert (read.id, read.content, read.role, read.status) == (written.id, "hi", "user", "complete")
    assert (read.created_at, read.feedback) == (written.created_at, None)


@pytest.mark.parametrize(
    "metadata",
    [{"cost": math.nan}, {"cost": math.inf}, {"big": 10**200}, {"text": "\ud800"}],
    ids=["nan", "infinity", "too large", "lone surrogate"],
)
def test_a_value_the_store_cannot_hold_is_a_422_and_nothing_is_written(
    repo: ConversationStore, metadata: dict[str, Any]
) -> None:
    conversation = repo.create(ALICE)
    with pytest.raises(UnstorableValue) as refused:
        repo.add_message(ALICE, conversation.id, role="user", content="x", metadata=metadata)
    assert refused.value.status == 422
    loaded, messages = repo.get_with_messages(ALICE, conversation.id)
    assert (loaded.message_count, messages) == (0, [])


def test_get_with_messages_returns_the_first_ones_up_to_the_limit(
    repo: ConversationStore,
) -> None:
    conversation = repo.create(ALICE)
    for index in range(4):
        repo.add_message(ALICE, conversation.id, role="user", content=f"m{index}")
    loaded, messages = repo.get_with_messages(ALICE, conversation.id, limit=2)
    assert [m.content for m in messages] == ["m0", "m1"]
    assert loaded.message_count == 4
    assert repo.recent_messages(new_id(), limit=5) == []  # no such conversation: nothing


def test_a_listing_that_ends_on_a_full_page_has_no_cursor_after_it(
    repo: ConversationStore,
) -> None:
    for _ in range(2):
        repo.create(ALICE)
    page, cursor = repo.list_for_owner(ALICE, limit=1)
    assert len(page) == 1
    assert cursor is not None
    last, after = repo.list_for_owner(ALICE, limit=1, cursor=cursor)
    assert len(last) == 1
    assert last[0].id != page[0].id
    assert after is None
