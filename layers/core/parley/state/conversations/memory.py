"""Conversations in memory: one process only (tests, a single development process).

It keeps the DynamoDB store's contract exactly where a caller can see it: the same ids and
timestamps, values stored as DynamoDB would store them (``to_item``'s checks and its round trip,
so an unstorable value is the same 422 and ``1.0`` reads back as ``1``), messages ordered by
id, the owner's list ordered by last activity, and page cursors in the same form, checked by
the same ``decode_cursor``. A page ends with a cursor only when more conversations follow.
"""

from __future__ import annotations

import copy
import threading
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

from parley.clock import now_iso
from parley.errors import Conflict, NotFound
from parley.ids import new_id
from parley.state.conversation_keys import (
    OWNER_PAGE_KEY,
    conversation_pk,
    message_sk,
    owner_key,
    owner_sort_key,
)
from parley.state.conversations.base import (
    Conversation,
    ConversationStore,
    Message,
    MessageStatus,
    Role,
    new_conversation,
    new_message,
)
from parley.state.items import from_item, to_item
from parley.state.paging import decode_cursor, encode_cursor

if TYPE_CHECKING:
    from parley.auth.identity import Identity

__all__ = ["MemoryConversationStore"]


@dataclass
class _Thread:
    """A conversation and its messages, keyed by their sort key (``MSG#<id>``)."""

    conversation: Conversation
    messages: dict[str, Message] = field(default_factory=dict)

    def ordered(self) -> list[Message]:
        # Copies, as every read of a table is: what a caller changes is not stored.
        return [_copy(self.messages[key]) for key in sorted(self.messages)]


class MemoryConversationStore(ConversationStore):
    def __init__(self) -> None:
        self._threads: dict[str, _Thread] = {}
        # Callers run each operation in a worker thread: writes must not interleave.
        self._lock = threading.Lock()

    def create(self, owner: Identity, *, title: str = "") -> Conversation:
        conversation = new_conversation(owner, new_id(), _stored(title=title)["title"], now_iso())
        with self._lock:
            if conversation.id in self._threads:
                raise Conflict("That conversation id is taken.")
            self._threads[conversation.id] = _Thread(conversation)
        return conversation

    def get(self, owner: Identity, conversation_id: str) -> Conversation:
        with self._lock:
            return self._owned(owner, conversation_id).conversation

    def get_with_messages(
        self, owner: Identity, conversation_id: str, *, limit: int = 100
    ) -> tuple[Conversation, list[Message]]:
        with self._lock:
            thread = self._owned(owner, conversation_id)
            return thread.conversation, thread.ordered()[:limit]

    def list_for_owner(
        self, owner: Identity, *, limit: int = 20, cursor: str | None = None
    ) -> tuple[list[Conversation], str | None]:
        partition = owner_key(owner.org_id, owner.user_id)
        start = decode_cursor(cursor, attributes=OWNER_PAGE_KEY, partition=("gsi1pk", partition))
        with self._lock:
            owned = [t.conversation for t in self._threads.values() if _owns(owner, t.conversation)]
        owned.sort(key=_activity_order, reverse=True)
        if start is not None:  # the page goes on after the cursor's place, wherever that is
            after = start["gsi1sk"]["S"]
            owned = [c for c in owned if _activity_order(c) < after]
        page = owned[:limit]
        if len(owned) <= limit:
            return page, None
        last = page[-1]
        key = {
            "pk": conversation_pk(last.id),
            "sk": "META",
            "gsi1pk": partition,
            "gsi1sk": _activity_order(last),
        }
        return page, encode_cursor({name: {"S": value} for name, value in key.items()})

    def add_message(
        self,
        owner: Identity,
        conversation_id: str,
        *,
        role: Role,
        content: str,
        status: MessageStatus = "complete",
        metadata: dict[str, Any] | None = None,
        message_id: str | None = None,
        new_conversation_title: str | None = None,
    ) -> Message:
        message = new_message(
            conversation_id,
            role=role,
            content=content,
            status=status,
            metadata=metadata,
            message_id=message_id,
            now=now_iso(),
        )
        stored = _stored(content=content, metadata=message.metadata, title=new_conversation_title)
        kept = replace(message, content=stored["content"], metadata=stored["metadata"])
        with self._lock:
            if new_conversation_title is not None:
                if conversation_id in self._threads:
                    raise Conflict("That conversation id is taken.")
                opened = new_conversation(
                    owner, conversation_id, stored["title"], message.created_at
                )
                thread = _Thread(replace(opened, message_count=1))
                thread.messages[message_sk(message.id)] = kept
                self._threads[conversation_id] = thread
                return message
            thread = self._owned(owner, conversation_id)
            if message_sk(message.id) in thread.messages:
                raise Conflict(f"Message {message.id} already exists.")
            thread.messages[message_sk(message.id)] = kept
            count = thread.conversation.message_count + 1
            thread.conversation = replace(
                thread.conversation, updated_at=message.created_at, message_count=count
            )
        return message

    def recent_messages(self, conversation_id: str, *, limit: int) -> list[Message]:
        with self._lock:
            messages = (
                [] if (thread := self._threads.get(conversation_id)) is None else thread.ordered()
            )
        return messages[max(0, len(messages) - limit) :]

    def _owned(self, owner: Identity, conversation_id: str) -> _Thread:
        thread = self._threads.get(conversation_id)
        if thread is None or not _owns(owner, thread.conversation):
            raise NotFound("No such conversation.")
        return thread


def _copy(message: Message) -> Message:
    return replace(message, metadata=copy.deepcopy(message.metadata))


def _stored(**values: Any) -> dict[str, Any]:
    """``values`` as DynamoDB would give them back, refused as it would refuse them."""
    return from_item(to_item(values))


def _owns(owner: Identity, conversation: Conversation) -> bool:
    return conversation.org_id == owner.org_id and conversation.user_id == owner.user_id


def _activity_order(conversation: Conversation) -> str:
    return owner_sort_key(conversation.updated_at, conversation.id)
