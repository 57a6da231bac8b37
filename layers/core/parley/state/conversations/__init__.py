"""Conversations and their messages behind one small interface (``ConversationStore``), kept
in DynamoDB (``ConversationRepository``) or in memory (``MemoryConversationStore``)."""

from parley.state.conversations.base import (
    Conversation,
    ConversationBusy,
    ConversationStore,
    Message,
    MessageStatus,
    Role,
)
from parley.state.conversations.dynamodb import ConversationRepository, message_from_item
from parley.state.conversations.memory import MemoryConversationStore

__all__ = [
    "Conversation",
    "ConversationBusy",
    "ConversationRepository",
    "ConversationStore",
    "MemoryConversationStore",
    "Message",
    "MessageStatus",
    "Role",
    "message_from_item",
]
