"""What the chat and conversations APIs work with, installed by the app that serves them
(parley.apps)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Annotated

from parley.http.collaborators import collaborator

if TYPE_CHECKING:
    from parley.chat.idempotency.store import IdempotencyStore
    from parley.chat.pipeline import ChatService
    from parley.state.conversations import ConversationStore

__all__ = ["Chat", "ChatCollaborators"]


@dataclass(frozen=True)
class ChatCollaborators:
    service: ChatService
    idempotency: IdempotencyStore
    conversations: ConversationStore
    # Idle seconds after which a stream sends a `: ping` comment.
    heartbeat_seconds: float


Chat = Annotated[ChatCollaborators, collaborator(ChatCollaborators)]
