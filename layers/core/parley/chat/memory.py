"""Conversation memory: the last N messages as context, and storing each exchange.

The conversation store (DynamoDB, deployed) is the source of truth. A copy of each
conversation's recent messages lives in the hot store for ``context_cache_seconds`` under a key
derived from the owner, so a cache hit is both the context and proof of ownership, in one read.
The cache is only an optimisation: when the hot store fails, memory falls back to the store and
the chat goes on.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

import anyio.to_thread

from parley.errors import ParleyError
from parley.providers.base import ChatMessage
from parley.telemetry import logger

if TYPE_CHECKING:
    from parley.auth.identity import Identity
    from parley.hot.base import HotStore
    from parley.state.conversations import ConversationStore, MessageStatus, Role

__all__ = ["ConversationMemory"]

_TITLE_LENGTH = 80


class ConversationMemory:
    def __init__(
        self,
        conversations: ConversationStore,
        hot: HotStore,
        *,
        context_messages: int,
        cache_seconds: int,
    ) -> None:
        self._conversations = conversations
        self._hot = hot
        self._limit = context_messages
        self._cache_seconds = cache_seconds

    async def context(self, owner: Identity, conversation_id: str) -> list[ChatMessage]:
        """The conversation's last messages, oldest first. NotFound when it is not the
        owner's (or does not exist)."""
        cached = await self._cached(owner, conversation_id)
        if cached is not None:
            return cached
        # Ownership first: recent_messages reads by conversation id alone.
        await anyio.to_thread.run_sync(self._conversations.get, owner, conversation_id)
        messages = await anyio.to_thread.run_sync(
            lambda: self._conversations.recent_messages(conversation_id, limit=self._limit)
        )
        history = [ChatMessage(m.role, m.content) for m in messages]
        await self._cache(owner, conversation_id, history)
        return history

    async def store(
        self,
        owner: Identity,
        conversation_id: str,
        *,
        role: Role,
        content: str,
        message_id: str,
        status: MessageStatus = "complete",
        metadata: dict[str, Any] | None = None,
        new_conversation: bool = False,
    ) -> None:
        """Write one message; the first message of a new conversation also creates it."""
        title = " ".join(content.split())[:_TITLE_LENGTH] if new_conversation else None

        def write() -> None:
            self._conversations.add_message(
                owner,
                conversation_id,
                role=role,
                content=content,
                status=status,
                metadata=metadata,
                message_id=message_id,
                new_conversation_title=title,
            )

        await anyio.to_thread.run_sync(write)

    async def remember(
        self, owner: Identity, conversation_id: str, history: list[ChatMessage]
    ) -> None:
        """Refresh the cached context after an exchange was stored."""
        await self._cache(owner, conversation_id, history[-self._limit :] if self._limit else [])

    async def _cached(self, owner: Identity, conversation_id: str) -> list[ChatMessage] | None:
        try:
            raw = await self._hot.get(_key(owner, conversation_id))
        except ParleyError as exc:
            logger.warning("Context cache unavailable; reading DynamoDB", error=exc.code)
            return None
        if raw is None:
            return None
        return [ChatMessage(item["role"], item["content"]) for item in json.loads(raw)]

    async def _cache(
        self, owner: Identity, conversation_id: str, history: list[ChatMessage]
    ) -> None:
        payload = json.dumps([{"role": m.role, "content": m.content} for m in history])
        try:
            await self._hot.set(_key(owner, conversation_id), payload, self._cache_seconds)
        except ParleyError as exc:
            logger.warning("Context cache unavailable; not cached", error=exc.code)


def _key(owner: Identity, conversation_id: str) -> str:
    return f"ctx:{owner.org_id}:{owner.user_id}:{conversation_id}"
