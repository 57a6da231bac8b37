"""The conversation store's interface: conversations, their messages in order, and each
owner's list of them, most recently active first.

Ownership is checked on every access that names an owner: a conversation of another user is
reported exactly like a missing one (NotFound). Operations are synchronous, because the
DynamoDB store blocks; async callers run them in a worker thread, so every backend must be safe
to call from several threads at once.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

from parley.errors import Conflict
from parley.ids import new_id

if TYPE_CHECKING:
    from parley.auth.identity import Identity

__all__ = [
    "Conversation",
    "ConversationBusy",
    "ConversationStore",
    "Message",
    "MessageStatus",
    "Role",
    "new_conversation",
    "new_message",
]

Role = Literal["user", "assistant", "system"]
MessageStatus = Literal["complete", "incomplete"]


class ConversationBusy(Conflict):
    code = "conversation_busy"
    retryable = True
    default_message = "Another request is writing this conversation; retry shortly."

    def __init__(self) -> None:
        super().__init__(retry_after=1.0)


@dataclass(frozen=True)
class Conversation:
    id: str
    org_id: str
    user_id: str
    title: str
    created_at: str
    updated_at: str
    message_count: int


@dataclass(frozen=True)
class Message:
    id: str
    conversation_id: str
    role: Role
    content: str
    status: MessageStatus
    created_at: str
    metadata: dict[str, Any] = field(default_factory=dict)
    # The latest feedback on a reply (``parley.feedback``): thumbs, rating, satisfaction.
    feedback: dict[str, Any] | None = None


class ConversationStore(ABC):
    @abstractmethod
    def create(self, owner: Identity, *, title: str = "") -> Conversation:
        """A new, empty conversation of ``owner``."""

    @abstractmethod
    def get(self, owner: Identity, conversation_id: str) -> Conversation:
        """The owner's conversation; NotFound when it is missing or another user's."""

    @abstractmethod
    def get_with_messages(
        self, owner: Identity, conversation_id: str, *, limit: int = 100
    ) -> tuple[Conversation, list[Message]]:
        """The conversation and its first ``limit`` messages, oldest first."""

    @abstractmethod
    def list_for_owner(
        self, owner: Identity, *, limit: int = 20, cursor: str | None = None
    ) -> tuple[list[Conversation], str | None]:
        """The owner's conversations, most recently active first, and the next page's cursor
        (None on the last page). A cursor that is not one this owner's listing gave, or that
        was changed, is BadRequest (400)."""

    @abstractmethod
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
        """Store a message and touch its conversation (its activity time and message count),
        both or neither. NotFound when the conversation is missing or another user's;
        Conflict when ``message_id`` exists. With ``new_conversation_title`` the conversation
        is created by the same write (Conflict if that id exists), so a first message never
        exists without its conversation, nor a conversation without its first message."""

    @abstractmethod
    def recent_messages(self, conversation_id: str, *, limit: int) -> list[Message]:
        """The last ``limit`` messages, oldest first. The caller has checked ownership."""


def new_conversation(owner: Identity, conversation_id: str, title: str, now: str) -> Conversation:
    """An empty conversation of ``owner``, made at ``now``."""
    return Conversation(
        id=conversation_id,
        org_id=owner.org_id,
        user_id=owner.user_id,
        title=title,
        created_at=now,
        updated_at=now,
        message_count=0,
    )


def new_message(
    conversation_id: str,
    *,
    role: Role,
    content: str,
    status: MessageStatus,
    metadata: dict[str, Any] | None,
    message_id: str | None,
    now: str,
) -> Message:
    """The message ``add_message`` stores, made at ``now`` (with a new id unless one is
    given)."""
    return Message(
        id=message_id or new_id(),
        conversation_id=conversation_id,
        role=role,
        content=content,
        status=status,
        created_at=now,
        metadata=dict(metadata or {}),
    )
